// The Lite robot's media (reachy-daemon-api.md §9.1: webrtcsink encodes whatever codec the consumer
// picks; here VP8): one shared RTCVideoSource fed with the test pattern at the frame rate and one
// shared RTCAudioSource fed with the tone in 10 ms chunks, each consumer's wrtc PeerConnection
// taking a track from both, so frames and audio are made once per tick for every session.
// libwebrtc encodes per connection and honours PLIs itself; `keyframeRequests` sums the senders'
// PLI/FIR counters, polled while sessions are live. The pump runs only while a session is
// connected. Owns the lite pipeline and its peers; not signalling.
import { createLogger } from '../../logging/logger.ts';
import type { ProducerSession, ProducerSessionHandlers } from '../signalling-in-process.ts';
import { type ReceivedAudioSummary, ReceivedAudioMeter } from './audio-meter.ts';
import { type MediaEngine, type VideoGeometry, settle } from './media-engine.ts';
import { MediaTicker, type TickInfo } from './media-ticker.ts';
import { TestPattern, type TestPatternScene } from './test-pattern.ts';
import { DEFAULT_TONE, type Tone, ToneSource } from './tone-source.ts';
import { Vp8Peer, type Vp8PeerEvents } from './vp8-peer.ts';
import { wrtc, type WrtcAudioSource, type WrtcVideoSource } from './wrtc-api.ts';

export const LITE_AUDIO_SAMPLE_RATE = 48_000;
/** RTCAudioSource takes exactly 10 ms per `onData` call (libwebrtc's audio frame). */
export const LITE_AUDIO_CHUNK_MS = 10;
const LITE_AUDIO_CHUNK_FRAMES = (LITE_AUDIO_SAMPLE_RATE * LITE_AUDIO_CHUNK_MS) / 1000;
/** Mono capture: libwebrtc's Opus encoder sends mono unless the answer asks for stereo. */
export const LITE_AUDIO_CHANNELS = 1;
/** Chunks sent late to catch up after a stall (100 ms); beyond that the gap is skipped. */
export const MAX_LITE_AUDIO_CATCH_UP_CHUNKS = 10;
/** How often the senders' PLI/FIR counters are read while sessions are live: cheap, and fresh enough for tests polling at 1 s. */
export const KEYFRAME_STATS_POLL_MS = 250;

export class Vp8Engine implements MediaEngine {
  readonly #log = createLogger('sim:media:vp8');
  readonly #geometry: VideoGeometry;
  readonly #peers = new Set<Vp8Peer>();
  readonly #pattern: TestPattern;
  readonly #tone = new ToneSource(LITE_AUDIO_SAMPLE_RATE, DEFAULT_TONE);
  readonly #meter = new ReceivedAudioMeter();
  readonly #videoSource: WrtcVideoSource;
  readonly #audioSource: WrtcAudioSource;
  readonly #videoTicker: MediaTicker;
  readonly #audioTicker: MediaTicker;
  readonly #statsTicker: MediaTicker;
  readonly #events: Vp8PeerEvents;
  readonly #createdMs = performance.now();
  #scene: TestPatternScene = 'moving';
  #runOffsetMs = 0;
  #frameBase = 0;
  #framesThisRun = 0;
  /** PLI/FIR counts of peers already closed. */
  #retiredKeyframeRequests = 0;
  #closed = false;

  constructor(geometry: VideoGeometry) {
    this.#geometry = geometry;
    this.#pattern = new TestPattern(geometry.width, geometry.height);
    this.#videoSource = new wrtc.nonstandard.RTCVideoSource();
    this.#audioSource = new wrtc.nonstandard.RTCAudioSource();
    this.#videoTicker = new MediaTicker(1000 / geometry.fps, (tick) => this.#videoTick(tick));
    this.#audioTicker = new MediaTicker(LITE_AUDIO_CHUNK_MS, (tick) => this.#audioTick(tick));
    this.#statsTicker = new MediaTicker(KEYFRAME_STATS_POLL_MS, () => {
      for (const peer of this.#peers) if (peer.live) void peer.refreshKeyframeRequests();
    });
    this.#events = {
      onLive: () => this.#startPump(),
      onBroken: (peer, state) => {
        this.#log.info('consumer peer connection lost, ending its session', { sessionId: peer.session.sessionId, state });
        this.#remove(peer, true);
      },
      onAudio: (_peer, audio) => {
        // libwebrtc plays out 10 ms chunks continuously, all-zero when nothing arrives: those are not
        // audio a consumer sent, so they are not counted (the wireless engine counts decoded packets).
        if (audio.samples.some((sample) => sample !== 0)) this.#meter.push(audio.samples, audio.channelCount, audio.sampleRate);
      },
      onEnded: (peer) => this.#remove(peer, false),
    };
  }

  get keyframeRequests(): number {
    let total = this.#retiredKeyframeRequests;
    for (const peer of this.#peers) total += peer.keyframeRequests;
    return total;
  }

  openSession(session: ProducerSession): ProducerSessionHandlers {
    if (this.#closed) throw new Error('media engine closed');
    const peer = new Vp8Peer(session, { video: this.#videoSource, audio: this.#audioSource }, this.#events, this.#log);
    this.#peers.add(peer);
    this.#log.debug('consumer session opened', { sessionId: session.sessionId, consumerId: session.consumerId });
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
    this.#tone.setTone(tone);
  }

  setScene(scene: TestPatternScene): void {
    this.#scene = scene;
  }

  receivedAudio(windowMs?: number): ReceivedAudioSummary {
    return this.#meter.summary(windowMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.closeAllSessions();
    await settle();
  }

  #remove(peer: Vp8Peer, endSession: boolean): void {
    if (!this.#peers.delete(peer)) return;
    if (![...this.#peers].some((other) => other.live)) this.#stopPump();
    this.#retiredKeyframeRequests += peer.keyframeRequests;
    peer.close();
    if (endSession) peer.session.end();
    this.#log.debug('consumer session closed', { sessionId: peer.session.sessionId });
  }

  #startPump(): void {
    if (this.#closed || this.#videoTicker.running) return;
    this.#runOffsetMs = performance.now() - this.#createdMs;
    this.#frameBase += this.#framesThisRun;
    this.#framesThisRun = 0;
    this.#videoTicker.start();
    this.#audioTicker.start();
    this.#statsTicker.start();
    this.#log.debug('media pump started', { ...this.#geometry });
  }

  #stopPump(): void {
    this.#videoTicker.stop();
    this.#audioTicker.stop();
    this.#statsTicker.stop();
  }

  #videoTick(tick: TickInfo): void {
    this.#framesThisRun = tick.index + 1;
    const { width, height } = this.#geometry;
    const data = this.#pattern.render(this.#scene, this.#runOffsetMs + tick.mediaTimeMs, this.#frameBase + tick.index);
    this.#videoSource.onFrame({ width, height, data });
  }

  #audioTick(tick: TickInfo): void {
    const count = 1 + Math.min(tick.skipped, MAX_LITE_AUDIO_CATCH_UP_CHUNKS);
    for (let k = 0; k < count; k++) {
      const samples = this.#tone.read(LITE_AUDIO_CHUNK_FRAMES, LITE_AUDIO_CHANNELS);
      this.#audioSource.onData({
        samples,
        sampleRate: LITE_AUDIO_SAMPLE_RATE,
        bitsPerSample: 16,
        channelCount: LITE_AUDIO_CHANNELS,
        numberOfFrames: LITE_AUDIO_CHUNK_FRAMES,
      });
    }
  }
}
