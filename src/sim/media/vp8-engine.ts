// The Lite robot's media (reachy-daemon-api.md §9.1: webrtcsink encodes whatever codec the consumer
// picks; here VP8): one shared RTCVideoSource fed with the test pattern at the frame rate and one
// shared RTCAudioSource fed with the tone in 10 ms chunks, each consumer's wrtc PeerConnection
// taking a track from both, so frames and audio are made once per tick for every session.
// libwebrtc encodes per connection and honours PLIs itself; `keyframeRequests` sums the senders'
// PLI/FIR counters, polled while sessions are live. The pump runs only while a session is
// connected. Owns the lite pipeline; the sessions' peers and the pump's clock are peer-engine.ts's;
// not signalling.
import { createLogger } from '../../logging/logger.ts';
import type { ProducerSession } from '../signalling-in-process.ts';
import type { VideoGeometry } from './media-engine.ts';
import type { WorldCamera } from './world-scene.ts';
import type { TickInfo } from './media-ticker.ts';
import { PeerEngine } from './peer-engine.ts';
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

export class Vp8Engine extends PeerEngine<Vp8Peer> {
  readonly #videoSource: WrtcVideoSource;
  readonly #audioSource: WrtcAudioSource;
  readonly #events: Vp8PeerEvents;
  /** PLI/FIR counts of peers already closed. */
  #retiredKeyframeRequests = 0;

  constructor(geometry: VideoGeometry, world?: WorldCamera) {
    super({ log: createLogger('sim:media:vp8'), geometry, toneSampleRate: LITE_AUDIO_SAMPLE_RATE, audioTickMs: LITE_AUDIO_CHUNK_MS, world });
    this.#videoSource = new wrtc.nonstandard.RTCVideoSource();
    this.#audioSource = new wrtc.nonstandard.RTCAudioSource();
    this.pumpTicker(KEYFRAME_STATS_POLL_MS, () => {
      for (const peer of this.peers) if (peer.live) void peer.refreshKeyframeRequests();
    });
    this.#events = {
      ...this.lifecycle,
      onAudio: (_peer, audio) => {
        // libwebrtc plays out 10 ms chunks continuously, all-zero when nothing arrives: those are not
        // audio a consumer sent, so they are not counted (the wireless engine counts decoded packets).
        if (audio.samples.some((sample) => sample !== 0)) this.meter.push(audio.samples, audio.channelCount, audio.sampleRate);
      },
    };
  }

  /** libwebrtc answers NACKs itself; its count is not gathered here. */
  override get retransmissions(): null {
    return null;
  }

  /** libwebrtc sends its own packets: there is no place to lose some on purpose. */
  override setVideoLoss(_rate: number, _seed: number): void {
    throw new Error('simulated video loss needs the h264 media mode (in vp8 mode libwebrtc sends the packets)');
  }

  override get keyframeRequests(): number {
    let total = this.#retiredKeyframeRequests;
    for (const peer of this.peers) total += peer.keyframeRequests;
    return total;
  }

  protected override createPeer(session: ProducerSession): Vp8Peer {
    return new Vp8Peer(session, { video: this.#videoSource, audio: this.#audioSource }, this.#events, this.log);
  }

  protected override retire(peer: Vp8Peer): void {
    this.#retiredKeyframeRequests += peer.keyframeRequests;
  }

  protected override videoTick(tick: TickInfo): void {
    const { width, height } = this.geometry;
    const data = this.dueFrame(tick).image;
    this.#videoSource.onFrame({ width, height, data });
  }

  protected override audioTick(tick: TickInfo): void {
    const count = 1 + Math.min(tick.skipped, MAX_LITE_AUDIO_CATCH_UP_CHUNKS);
    for (let k = 0; k < count; k++) {
      const samples = this.tone.read(LITE_AUDIO_CHUNK_FRAMES, LITE_AUDIO_CHANNELS);
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
