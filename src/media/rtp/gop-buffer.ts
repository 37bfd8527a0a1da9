// The frames a decoder needs to show the newest picture: everything since the last keyframe
// ("decode lazily from the last keyframe", h264-webrtc.md §1). Owns only that bounded list;
// it does not decide what a keyframe is (the depacketizers do) and never decodes. When a GOP is
// longer than the bound the oldest frames are evicted and counted, which makes the list start
// without a keyframe until the next one arrives.

import type { VideoFrame } from './video-frame.ts';

/**
 * Frames kept. The wireless robot sends an IDR every 60 frames with a GOP of at most 256
 * (reachy-daemon-api.md §9.1); 300 frames (10 s at 30 fps) holds either with room to spare.
 */
export const GOP_MAX_FRAMES = 300;
/**
 * Bytes kept. 10 s at the robot's 5 Mbit/s is ~6 MB; 16 MiB leaves headroom for bitrate
 * overshoot while stopping a hostile or runaway stream from growing memory without bound.
 */
export const GOP_MAX_BYTES = 16 * 1024 * 1024;

export interface GopLimits {
  readonly maxFrames?: number;
  readonly maxBytes?: number;
}

export class GopBuffer {
  readonly #maxFrames: number;
  readonly #maxBytes: number;
  #frames: VideoFrame[] = [];
  #bytes = 0;
  #evicted = 0;

  constructor(limits: GopLimits = {}) {
    this.#maxFrames = Math.max(1, limits.maxFrames ?? GOP_MAX_FRAMES);
    this.#maxBytes = limits.maxBytes ?? GOP_MAX_BYTES;
  }

  /** Frames since the last keyframe, oldest first (a copy of the list; the frames are shared). */
  frames(): readonly VideoFrame[] {
    return [...this.#frames];
  }

  get byteLength(): number {
    return this.#bytes;
  }

  /** Frames evicted by the bounds since this buffer was created. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Adds a frame; a keyframe starts a new GOP. Returns how many old frames were evicted. */
  add(frame: VideoFrame): number {
    if (frame.keyframe) this.clear();
    this.#frames.push(frame);
    this.#bytes += frame.data.length;
    let evicted = 0;
    while (this.#frames.length > 1 && (this.#frames.length > this.#maxFrames || this.#bytes > this.#maxBytes)) {
      const oldest = this.#frames.shift();
      if (oldest === undefined) break;
      this.#bytes -= oldest.data.length;
      evicted++;
    }
    this.#evicted += evicted;
    return evicted;
  }

  clear(): void {
    this.#frames = [];
    this.#bytes = 0;
  }
}
