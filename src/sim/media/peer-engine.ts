// What the two media engines (h264-engine.ts, vp8-engine.ts) share behind the `MediaEngine`
// contract: one peer per consumer session and its bookkeeping (open, end on failure, close all),
// the test pattern and tone they send, the meter of what consumers sent back, and the pump — its
// tickers and run clock — which starts when a peer goes live and stops when the last live one
// goes. A codec engine extends it with its peer type, what a tick sends and its codec set-up; this
// file owns no codec and no PeerConnection.
import type { Logger } from '../../logging/logger.ts';
import type { ProducerSession, ProducerSessionHandlers } from '../signalling-in-process.ts';
import { type ReceivedAudioSummary, ReceivedAudioMeter } from './audio-meter.ts';
import { type MediaEngine, type VideoGeometry, settle } from './media-engine.ts';
import { MediaTicker, type TickInfo } from './media-ticker.ts';
import { TestPattern, type TestPatternScene } from './test-pattern.ts';
import type { CameraScene, WorldCamera } from './world-scene.ts';
import { DEFAULT_TONE, type Tone, ToneSource } from './tone-source.ts';

/** What the engine needs of a codec's peer. */
export interface EnginePeer {
  readonly session: ProducerSession;
  readonly handlers: ProducerSessionHandlers;
  /** Media flows to it (and it is not closed). */
  readonly live: boolean;
  close(): void;
}

/** The peer events every engine answers the same way; a codec's peer events extend these. */
export interface PeerLifecycleEvents<P> {
  onLive(peer: P): void;
  /** The PeerConnection failed or closed on its own: the engine ends the session. */
  onBroken(peer: P, state: string): void;
  onEnded(peer: P): void;
}

export interface PeerEngineOptions {
  readonly log: Logger;
  readonly geometry: VideoGeometry;
  /** Sample rate the tone is generated at. */
  readonly toneSampleRate: number;
  /** Period of the audio ticks, in ms. */
  readonly audioTickMs: number;
  /** Enables the `world` scene. */
  readonly world?: WorldCamera | undefined;
}

/** The test pattern's picture for one video tick, and its media time. */
export interface DueFrame {
  readonly image: Uint8Array;
  /** Media time of the frame: ms since the engine was created. */
  readonly mediaMs: number;
}

export abstract class PeerEngine<P extends EnginePeer> implements MediaEngine {
  protected readonly log: Logger;
  protected readonly geometry: VideoGeometry;
  protected readonly tone: ToneSource;
  protected readonly meter = new ReceivedAudioMeter();
  /** onLive / onBroken / onEnded, for the codec's peer events. */
  protected readonly lifecycle: PeerLifecycleEvents<P>;
  readonly #peers = new Set<P>();
  readonly #pattern: TestPattern;
  readonly #videoTicker: MediaTicker;
  /** Every ticker of the pump, started and stopped in this order (video and audio first). */
  readonly #tickers: MediaTicker[] = [];
  readonly #createdMs = performance.now();
  #scene: CameraScene = 'moving';
  readonly #world: WorldCamera | undefined;
  /** Media time (ms since the engine was created) at which the current pump run started. */
  #runOffsetMs = 0;
  /** Frame counter at the start of the current run (the pattern's counter keeps counting across runs). */
  #frameBase = 0;
  #framesThisRun = 0;
  #closed = false;

  constructor(options: PeerEngineOptions) {
    this.log = options.log;
    this.geometry = options.geometry;
    this.tone = new ToneSource(options.toneSampleRate, DEFAULT_TONE);
    this.#pattern = new TestPattern(options.geometry.width, options.geometry.height);
    this.#world = options.world;
    this.#videoTicker = this.pumpTicker(1000 / options.geometry.fps, (tick) => {
      if (!this.videoFrozen) this.videoTick(tick);
    });
    this.pumpTicker(options.audioTickMs, (tick) => this.audioTick(tick));
    this.lifecycle = {
      onLive: () => this.#startPump(),
      onBroken: (peer, state) => {
        this.log.info('consumer peer connection lost, ending its session', { sessionId: peer.session.sessionId, state });
        if (this.#peers.has(peer)) this.sessionEnds.push({ sessionId: peer.session.sessionId, by: 'transport' });
        this.#remove(peer, true);
      },
      onEnded: (peer) => {
        if (this.#peers.has(peer)) this.sessionEnds.push({ sessionId: peer.session.sessionId, by: 'endSession' });
        this.#remove(peer, false);
      },
    };
  }

  abstract get keyframeRequests(): number;
  abstract get retransmissions(): number | null;
  abstract setVideoLoss(rate: number, seed: number): void;

  /** How each consumer session ended: its `endSession` arrived first, or its transport died first. */
  readonly sessionEnds: Array<{ readonly sessionId: string; readonly by: 'endSession' | 'transport' }> = [];

  openSession(session: ProducerSession): ProducerSessionHandlers {
    if (this.#closed) throw new Error('media engine closed');
    const peer = this.createPeer(session);
    this.#peers.add(peer);
    this.log.debug('consumer session opened', { sessionId: session.sessionId, consumerId: session.consumerId });
    return peer.handlers;
  }

  closeAllSessions(): void {
    this.#stopPump();
    for (const peer of [...this.#peers]) this.#remove(peer, false);
  }

  sessionCount(): number {
    return this.#peers.size;
  }

  setTone(tone: Tone | null): void {
    this.tone.setTone(tone);
  }

  setScene(scene: CameraScene): void {
    if (scene === 'world' && !this.#world) throw new RangeError('the world scene needs the head pose (an emulator-attached producer)');
    this.#scene = scene;
  }

  /** A frozen camera: video ticks send nothing (audio and the session go on). */
  videoFrozen = false;

  freezeVideo(frozen: boolean): void {
    this.videoFrozen = frozen;
  }

  receivedAudio(windowMs?: number): ReceivedAudioSummary {
    return this.meter.summary(windowMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.closeAllSessions();
    await settle();
  }

  /** Builds the session's peer (it makes the offer); its events must include `lifecycle`. */
  protected abstract createPeer(session: ProducerSession): P;
  /** One video tick of a pump run: typically `dueFrame(tick)`, encoded or handed to a source. */
  protected abstract videoTick(tick: TickInfo): void;
  protected abstract audioTick(tick: TickInfo): void;

  /** Before a pump run starts (codecs up); false keeps the pump stopped. */
  protected beforeRun(): boolean {
    return true;
  }

  /** After the pump's tickers stopped (codecs down). */
  protected afterRun(): void {}

  /** A peer leaves the set; it is closed right after. */
  protected retire(_peer: P): void {}

  /** Every peer with a session (live or not). */
  protected get peers(): ReadonlySet<P> {
    return this.#peers;
  }

  /** Peers whose media is flowing. */
  protected livePeers(): P[] {
    return [...this.#peers].filter((peer) => peer.live);
  }

  /** Media time at which the current pump run started (ms since the engine was created). */
  protected get runOffsetMs(): number {
    return this.#runOffsetMs;
  }

  /** A ticker that runs with the pump, after the ones made before it. */
  protected pumpTicker(periodMs: number, onTick: (tick: TickInfo) => void): MediaTicker {
    const ticker = new MediaTicker(periodMs, onTick);
    this.#tickers.push(ticker);
    return ticker;
  }

  /** The test pattern at video tick `tick` of this run; counts the frame in the run. */
  protected dueFrame(tick: TickInfo): DueFrame {
    const frameIndex = this.#frameBase + tick.index;
    this.#framesThisRun = tick.index + 1;
    const mediaMs = this.#runOffsetMs + tick.mediaTimeMs;
    const world = this.#world;
    if (this.#scene === 'world' && world) return { image: world.scene.render(world.headRotation()), mediaMs };
    return { image: this.#pattern.render(this.#scene === 'world' ? 'moving' : this.#scene, mediaMs, frameIndex), mediaMs };
  }

  #remove(peer: P, endSession: boolean): void {
    if (!this.#peers.delete(peer)) return;
    // h264-webrtc.md §5.4: stop feeding first (the peer is out of the fan-out set, and the pump
    // stops when it was the last live one), then close the PeerConnection.
    if (this.livePeers().length === 0) this.#stopPump();
    this.retire(peer);
    peer.close();
    if (endSession) peer.session.end();
    this.log.debug('consumer session closed', { sessionId: peer.session.sessionId });
  }

  #startPump(): void {
    if (this.#closed || this.#videoTicker.running) return;
    if (!this.beforeRun()) return;
    this.#runOffsetMs = performance.now() - this.#createdMs;
    this.#frameBase += this.#framesThisRun;
    this.#framesThisRun = 0;
    for (const ticker of this.#tickers) ticker.start();
    this.log.debug('media pump started', { ...this.geometry });
  }

  #stopPump(): void {
    for (const ticker of this.#tickers) ticker.stop();
    this.afterRun();
  }
}
