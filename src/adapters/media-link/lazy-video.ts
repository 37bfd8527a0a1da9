// The receive side of one video m-line: RTP → the codec's depacketizer (whose GOP buffer is the only
// frame store) → a decoder that runs only when a picture is asked for, fed just the GOP frames not
// fed yet ("decode lazily from the last keyframe", h264-webrtc.md §1, §3.2), in slices
// (DECODE_SLICE_MS) and, for DECODE_AHEAD_MS after a request, ahead as frames arrive (issue 11).
// Owns the decoder's lifetime, the record of what it was fed, the wait for a first keyframe and the
// serialisation of requests. Sends no RTCP: `push` says when a PLI is due and the caller sends it.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import * as Result from 'effect/Result';
import { type DecodedVideoFrame, MediaLinkClosed, MediaTransportFailed, NoFrameYet } from '../../media/media-link.ts';
import { createH264Depacketizer } from '../../media/rtp/h264-depacketizer.ts';
import { NACK_GIVE_UP_MS, NACK_REORDER_WINDOW_PACKETS } from '../../media/rtp/nack-tracker.ts';
import type { VideoDepacketizer } from '../../media/rtp/video-depacketizer.ts';
import type { VideoCodec, VideoFrame } from '../../media/rtp/video-frame.ts';
import { createVp8Depacketizer } from '../../media/rtp/vp8-depacketizer.ts';
import type { VideoDecoder } from './video-decoder.ts';

/**
 * Longest stretch of synchronous decoding before yielding to the event loop: 8 ms is ~8 frames at
 * 720p here (a few on a Pi), short enough for 20 ms audio pacing and RPC traffic to keep flowing.
 */
export const DECODE_SLICE_MS = 8;

/**
 * How long after a picture was asked for arriving frames are decoded ahead: an agent polling
 * captures, or a motion monitor, asks again within a few seconds, and each capture then skips the
 * decode of the frames since the previous one (~1 ms per 720p frame here). Past it decoding stops,
 * so a link streaming without captures costs no decoding (each 720p frame is ~3 % of a core at 30 fps).
 */
export const DECODE_AHEAD_MS = 3_000;

/**
 * The decoder's module (node-av: FFmpeg's libraries, ~80 JS modules and ~20 MB of mapped code) is
 * loaded by the first picture asked for, not when the link comes up: a driver streaming without
 * captures never loads it, and start-up with media does not wait for it (bench/startup.ts).
 */
let decoderModule: Promise<typeof import('./video-decoder.ts')> | undefined;

export type LatestFrameResult = Result.Result<DecodedVideoFrame, NoFrameYet | MediaLinkClosed | MediaTransportFailed>;

export interface LazyVideoCounters {
  readonly packets: number;
  readonly frames: number;
  readonly keyframes: number;
  readonly decodedFrames: number;
}

export interface LazyVideoOptions {
  readonly codec: VideoCodec;
  /** The negotiated payload type; other packets on the m-line are ignored. */
  readonly payloadType: number;
  /**
   * Lost packets are asked for again (NACK): the reorder buffer then holds later packets behind a
   * hole for NACK_GIVE_UP_MS (window NACK_REORDER_WINDOW_PACKETS) before declaring the loss.
   */
  readonly nack?: boolean;
  /** `Date.now()` the session came up, for NoFrameYet.sessionAgeMs. */
  readonly sessionStartedAt: () => number;
  /** Decode-ahead window after each request (default DECODE_AHEAD_MS; 0 turns it off). */
  readonly decodeAheadMs?: number;
  /** Monotonic clock in ms for the window (default performance.now; tests step their own). */
  readonly now?: () => number;
}

interface Waiter {
  readonly resolve: () => void;
}

export class LazyVideo {
  readonly codec: VideoCodec;
  readonly #depacketizer: VideoDepacketizer;
  readonly #sessionStartedAt: () => number;
  #decoder: VideoDecoder | null = null;
  /** The last GOP frame fed to the decoder (frames are shared with the depacketizer's GOP). */
  #lastFed: VideoFrame | null = null;
  /** The frame whose decode produced the decoder's newest picture. */
  #pictureOf: VideoFrame | null = null;
  #waiters = new Set<Waiter>();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #decodeAheadMs: number;
  readonly #now: () => number;
  /** Until when (#now) arriving frames are decoded ahead; set by each request. */
  #aheadUntil = Number.NEGATIVE_INFINITY;
  /** A decode-ahead run is queued and has not started yet (one covers every frame pushed meanwhile). */
  #aheadQueued = false;
  #packets = 0;
  #frames = 0;
  #keyframes = 0;
  #closed = false;

  constructor(options: LazyVideoOptions) {
    this.codec = options.codec;
    const depacketizerOptions = {
      payloadType: options.payloadType,
      ...(options.nack === true && { reorderWindowPackets: NACK_REORDER_WINDOW_PACKETS, reorderMaxWaitMs: NACK_GIVE_UP_MS }),
    };
    this.#depacketizer = options.codec === 'h264' ? createH264Depacketizer(depacketizerOptions) : createVp8Depacketizer(depacketizerOptions);
    this.#sessionStartedAt = options.sessionStartedAt;
    this.#decodeAheadMs = Math.max(0, options.decodeAheadMs ?? DECODE_AHEAD_MS);
    this.#now = options.now ?? (() => performance.now());
  }

  /** One RTP packet off the video track. Answers whether a PLI should be sent now (already rate-limited). */
  push(packet: Uint8Array, arrivalMs: number): { readonly pli: boolean } {
    if (this.#closed) return { pli: false };
    this.#packets++;
    let pli = false;
    let keyframe = false;
    let frame = false;
    for (const event of this.#depacketizer.push(packet, arrivalMs)) {
      if (event.type === 'pli') pli = true;
      else if (event.type === 'frame') {
        frame = true;
        this.#frames++;
        if (event.frame.keyframe) {
          this.#keyframes++;
          keyframe = true;
        }
      }
    }
    if (keyframe) this.#wake();
    if (frame) this.#decodeAheadIfRecent();
    return { pli };
  }

  /** Within the window after a request: queue one decode of the frames not fed yet. */
  #decodeAheadIfRecent(): void {
    if (this.#aheadQueued || this.#decoder === null || this.#now() >= this.#aheadUntil) return;
    this.#aheadQueued = true;
    this.#queue = this.#queue
      .then(() => {
        this.#aheadQueued = false;
        // The answer is left for the next request; a failure here recurs there if it matters.
        return this.#feedPending();
      })
      .catch(() => undefined);
  }

  counters(): LazyVideoCounters {
    return { packets: this.#packets, frames: this.#frames, keyframes: this.#keyframes, decodedFrames: this.#decoder?.decodedFrames ?? 0 };
  }

  /** The newest picture; requests run one at a time, in call order. */
  latestFrame(waitMs: number): Promise<LatestFrameResult> {
    const run = this.#queue.then(async () => {
      const answer = await this.#latest(waitMs);
      if (this.#decodeAheadMs > 0) this.#aheadUntil = this.#now() + this.#decodeAheadMs;
      return answer;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stops taking packets, wakes waiters (they answer MediaLinkClosed). The decoder is kept until `release()`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
  }

  /** Frees the decoder once no request is running (call after close()). */
  async release(): Promise<void> {
    this.close();
    await this.#queue;
    this.#decoder?.close();
    this.#decoder = null;
  }

  async #latest(waitMs: number): Promise<LatestFrameResult> {
    const deadline = performance.now() + Math.max(0, Number.isFinite(waitMs) ? waitMs : 0);
    for (;;) {
      if (this.#closed) return Result.fail(new MediaLinkClosed({ message: 'the media link is closed' }));
      const decoded = await this.#decodeAvailable();
      if (decoded !== null) return decoded;
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        const ageMs = Math.max(0, Date.now() - this.#sessionStartedAt());
        return Result.fail(new NoFrameYet({ message: `no ${this.codec} keyframe received yet (link up ${ageMs} ms)`, sessionAgeMs: ageMs }));
      }
      await this.#waitForKeyframe(remaining);
    }
  }

  /** Decodes the GOP frames not fed yet; null when there is nothing decodable (no keyframe yet). */
  async #decodeAvailable(): Promise<LatestFrameResult | null> {
    const fed = await this.#feedPending();
    if (fed === null) return null;
    if (Result.isResult(fed)) return fed;
    return this.#answer(fed.lastError);
  }

  /**
   * Feeds the decoder the GOP frames not fed yet: null when nothing is decodable, a failure when the
   * link closed or the decoder cannot open, else the last decode error of this run (if any).
   */
  async #feedPending(): Promise<LatestFrameResult | { readonly lastError: MediaTransportFailed | null } | null> {
    let lastError: MediaTransportFailed | null = null;
    let sliceStart = performance.now();
    for (;;) {
      if (this.#closed) return Result.fail(new MediaLinkClosed({ message: 'the media link closed during decoding' }));
      const gop = this.#depacketizer.gop();
      const pending = this.#pendingFrames(gop);
      if (pending === null) return null;
      if (pending.length === 0) break;
      if (this.#decoder === null) {
        const opened = await this.#openDecoder();
        if (Result.isFailure(opened)) return Result.fail(opened.failure);
        continue; // the first open may have waited for the module: plan again from the GOP as it is now
      }
      const decoder = this.#decoder;
      let yielded = false;
      for (const frame of pending) {
        const fed = decoder.decode(frame.data);
        this.#lastFed = frame;
        if (Result.isFailure(fed)) lastError = fed.failure;
        else if (fed.success > 0) this.#pictureOf = frame;
        if (performance.now() - sliceStart >= DECODE_SLICE_MS) {
          await yieldToEventLoop();
          sliceStart = performance.now();
          yielded = true;
          break; // the GOP may have moved on meanwhile: plan again
        }
      }
      if (!yielded) break;
    }
    return { lastError };
  }

  /**
   * The GOP frames to feed, oldest first: those after the last fed one, or the whole GOP from a new
   * keyframe (resetting the decoder). Null when the GOP cannot be decoded: empty, or it lost its
   * keyframe to the buffer bound after the last fed frame was evicted.
   */
  #pendingFrames(gop: readonly VideoFrame[]): readonly VideoFrame[] | null {
    if (gop.length === 0) return null;
    const fedAt = this.#lastFed === null ? -1 : gop.lastIndexOf(this.#lastFed);
    if (fedAt >= 0) return gop.slice(fedAt + 1);
    const first = gop[0] as VideoFrame;
    if (!first.keyframe) return null;
    this.#decoder?.reset();
    this.#lastFed = null;
    this.#pictureOf = null;
    return gop;
  }

  async #openDecoder(): Promise<Result.Result<VideoDecoder, MediaTransportFailed>> {
    if (this.#decoder !== null) return Result.succeed(this.#decoder);
    let VideoDecoder: typeof import('./video-decoder.ts').VideoDecoder;
    try {
      ({ VideoDecoder } = await (decoderModule ??= import('./video-decoder.ts')));
    } catch (error) {
      decoderModule = undefined;
      return Result.fail(new MediaTransportFailed({ stage: 'decode', message: `the video decoder could not be loaded: ${error instanceof Error ? error.message : String(error)}` }));
    }
    const opened = VideoDecoder.open(this.codec);
    if (Result.isSuccess(opened)) this.#decoder = opened.success;
    return opened;
  }

  #answer(lastError: MediaTransportFailed | null): LatestFrameResult | null {
    const decoder = this.#decoder;
    const source = this.#pictureOf;
    if (decoder === null || source === null) {
      if (lastError !== null) return Result.fail(lastError);
      return this.#lastFed === null ? null : Result.fail(new MediaTransportFailed({ stage: 'decode', message: `the ${this.codec} decoder produced no picture from the GOP` }));
    }
    // The decoder copies each picture out once; asking again for the same picture is cheap.
    const picture = decoder.picture();
    if (picture === null) return null;
    if (Result.isFailure(picture)) return Result.fail(picture.failure);
    const { data, width, height, matrix, release } = picture.success;
    const frame: DecodedVideoFrame = {
      pixelFormat: 'i420',
      data,
      width,
      height,
      ...(matrix !== undefined && { matrix }),
      ...(release !== undefined && { release }),
      codec: this.codec,
      receivedAt: source.receivedMs,
    };
    return Result.succeed(frame);
  }

  #waitForKeyframe(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.resolve, ms);
      this.#waiters.add(waiter);
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }
}
