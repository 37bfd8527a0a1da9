// The emulator's WebRTC producer — the fake robot's camera, microphone and speaker — as one facade
// over the two engines: `h264` (the wireless robot: libx264 over node-datachannel) and `vp8` (a
// Lite: wrtc). It registers with the emulator's signalling server as the in-process producer
// `{ name: "reachymini" }` (reachy-daemon-api.md §9.2) and gives each consumer session its own
// PeerConnection that offers once. Owns attach/detach (what media acquire/release and the daemon's
// life do), option validation and the public API; the media pipelines live in the engines, and only
// the engine of the mode asked for is loaded (vp8 needs wrtc, not FFmpeg nor node-datachannel).
import { createLogger } from '../../logging/logger.ts';
import type { ProducerRegistration, SignallingServer } from '../signalling-server.ts';
import type { ReceivedAudioSummary } from './audio-meter.ts';
import { MAX_VIDEO_LOSS, type MediaEngine, type VideoGeometry } from './media-engine.ts';
import { TEST_PATTERN_SCENES } from './test-pattern.ts';
import { knownIntrinsics, scaleIntrinsics } from '../../media/camera-intrinsics.ts';
import type { Mat3 } from '../../robot/pose-math.ts';
import { WorldScene, type CameraScene } from './world-scene.ts';
import type { Tone } from './tone-source.ts';

export type { ReceivedAudioSummary } from './audio-meter.ts';
export type { TestPatternScene } from './test-pattern.ts';
export type { CameraScene } from './world-scene.ts';
export type { Tone } from './tone-source.ts';

export type SimMediaMode = 'vp8' | 'h264';

export interface SimMediaProducerOptions {
  readonly mode: SimMediaMode;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  /**
   * The head's present orientation (world ← head) and the daemon's camera specs name: enables the
   * `world` scene, rendered with that camera's intrinsics scaled to the stream size.
   */
  readonly camera?: { readonly specsName: string; readonly headRotation: () => Mat3 };
  /** The first scene; default 'moving'. */
  readonly scene?: CameraScene;
}

export interface SimMediaProducer {
  readonly mode: SimMediaMode;
  /**
   * Registers as the in-process producer `{ name: 'reachymini' }`; idempotent (re-attaching elsewhere
   * detaches first). Without `server`, re-attaches to the last server (throws if there was none).
   */
  attach(server?: SignallingServer): void;
  /** Unregisters: every session ends and its PeerConnection closes (what release / daemon stop does). */
  detach(): void;
  readonly attached: boolean;
  /** The microphone signal; default 440 Hz at amplitude 0.3; null is silence. */
  setTone(tone: Tone | null): void;
  /** The camera scene; default 'moving'. `world` needs the `camera` option (the head pose). */
  setScene(scene: CameraScene): void;
  /** true: no more video frames while the session, audio and signalling stay up (a frozen producer). */
  freezeVideo(frozen: boolean): void;
  /** What consumers sent to the speaker: total sample frames, and RMS / frequency over the last `windowMs`. */
  receivedAudio(windowMs?: number): ReceivedAudioSummary;
  sessionCount(): number;
  /** Keyframe requests (PLI/FIR) honoured. */
  readonly keyframeRequests: number;
  /**
   * h264 mode: the camera link loses each video packet with probability `rate` (0..0.5; 0 ends it),
   * retransmissions included, picked by a generator seeded with `seed` so runs repeat. Throws in
   * vp8 mode (libwebrtc sends its own packets).
   */
  setVideoLoss(rate: number, seed?: number): void;
  /** Video packets resent as RTX in answer to NACKs (h264 mode; null in vp8 mode). */
  readonly retransmissions: number | null;
  /** How each consumer session ended: its `endSession` first, or its transport's death first. */
  readonly sessionEnds: ReadonlyArray<{ readonly sessionId: string; readonly by: 'endSession' | 'transport' }>;
  /** Detaches, closes every PeerConnection, stops the pump and frees the codecs. Final. */
  close(): Promise<void>;
}

/** The robot's producer name (`webrtcsink meta=name=reachymini`, §9.1). */
export const PRODUCER_META_NAME = 'reachymini';
/** The wireless robot's camera stream: 1280×720@30 (§9.3 default resolution, h264-webrtc.md §2). */
export const WIRELESS_VIDEO: VideoGeometry = { width: 1280, height: 720, fps: 30 };
/**
 * The Lite's stream in the emulator: 640×480@15. libwebrtc's VP8 software encode costs a fraction
 * of 720p30's, which matters on the 2-core CI box; the driver's code paths do not depend on size.
 */
export const LITE_VIDEO: VideoGeometry = { width: 640, height: 480, fps: 15 };
/** Frame-rate bounds: below 1 fps nothing looks live; 60 fps is the fastest camera mode (§9.3). */
export const FPS_RANGE = { min: 1, max: 60 } as const;

function geometryFor(options: SimMediaProducerOptions): VideoGeometry {
  const defaults = options.mode === 'h264' ? WIRELESS_VIDEO : LITE_VIDEO;
  const geometry = { width: options.width ?? defaults.width, height: options.height ?? defaults.height, fps: options.fps ?? defaults.fps };
  for (const side of ['width', 'height'] as const) {
    const value = geometry[side];
    if (!Number.isInteger(value) || value < 16 || value > 4096 || value % 2 !== 0) throw new RangeError(`${side} must be an even integer in 16..4096, got ${value}`);
  }
  if (!Number.isFinite(geometry.fps) || geometry.fps < FPS_RANGE.min || geometry.fps > FPS_RANGE.max) {
    throw new RangeError(`fps must be in ${FPS_RANGE.min}..${FPS_RANGE.max}, got ${geometry.fps}`);
  }
  return geometry;
}

class Producer implements SimMediaProducer {
  readonly mode: SimMediaMode;
  readonly #engine: MediaEngine;
  readonly #log = createLogger('sim:media');
  #server: SignallingServer | null = null;
  #lastServer: SignallingServer | null = null;
  #registration: ProducerRegistration | null = null;
  #closed = false;

  constructor(options: SimMediaProducerOptions, engine: MediaEngine) {
    this.mode = options.mode;
    this.#engine = engine;
    if (options.scene) this.setScene(options.scene);
  }

  get attached(): boolean {
    return this.#registration !== null;
  }

  get sessionEnds(): ReadonlyArray<{ readonly sessionId: string; readonly by: 'endSession' | 'transport' }> {
    return this.#engine.sessionEnds;
  }

  get keyframeRequests(): number {
    return this.#engine.keyframeRequests;
  }

  get retransmissions(): number | null {
    return this.#engine.retransmissions;
  }

  setVideoLoss(rate: number, seed = 1): void {
    if (!Number.isFinite(rate) || rate < 0 || rate > MAX_VIDEO_LOSS) throw new RangeError(`video loss must be in 0..${MAX_VIDEO_LOSS}, got ${rate}`);
    this.#engine.setVideoLoss(rate, seed);
  }

  attach(target?: SignallingServer): void {
    if (this.#closed) throw new Error('media producer closed');
    const server = target ?? this.#lastServer;
    if (!server) throw new Error('media producer: attach() needs a signalling server the first time');
    if (this.#registration && this.#server === server) return;
    this.detach();
    this.#registration = server.registerProducer({
      meta: { name: PRODUCER_META_NAME },
      onStartSession: (session) => this.#engine.openSession(session),
    });
    this.#server = server;
    this.#lastServer = server;
    this.#log.debug('media producer attached', { mode: this.mode, url: server.url, peerId: this.#registration.peerId });
  }

  detach(): void {
    const registration = this.#registration;
    if (!registration) return;
    this.#registration = null;
    this.#server = null;
    // The server ends every session (consumers get endSession); our side closes the PeerConnections.
    registration.unregister();
    this.#engine.closeAllSessions();
    this.#log.debug('media producer detached', { mode: this.mode });
  }

  setTone(tone: Tone | null): void {
    this.#engine.setTone(tone);
  }

  setScene(scene: CameraScene): void {
    if (scene !== 'world' && !TEST_PATTERN_SCENES.includes(scene)) throw new RangeError(`scene must be one of ${[...TEST_PATTERN_SCENES, 'world'].join(', ')}, got ${String(scene)}`);
    this.#engine.setScene(scene);
  }

  freezeVideo(frozen: boolean): void {
    this.#engine.freezeVideo(frozen);
  }

  receivedAudio(windowMs?: number): ReceivedAudioSummary {
    return this.#engine.receivedAudio(windowMs);
  }

  sessionCount(): number {
    return this.#engine.sessionCount();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.detach();
    await this.#engine.close();
  }
}

/** Validates the options, loads the mode's engine (its native WebRTC stack and codecs) and builds the producer. */
export async function createSimMediaProducer(options: SimMediaProducerOptions): Promise<SimMediaProducer> {
  if (options.mode !== 'h264' && options.mode !== 'vp8') throw new RangeError(`media mode must be 'h264' or 'vp8', got ${String(options.mode)}`);
  const geometry = geometryFor(options);
  const camera = options.camera;
  const world = camera
    ? { scene: new WorldScene(scaleIntrinsics(knownIntrinsics(camera.specsName), geometry.width, geometry.height)), headRotation: camera.headRotation }
    : undefined;
  const engine = options.mode === 'h264' ? new (await import('./h264-engine.ts')).H264Engine(geometry, world) : new (await import('./vp8-engine.ts')).Vp8Engine(geometry, world);
  return new Producer(options, engine);
}
