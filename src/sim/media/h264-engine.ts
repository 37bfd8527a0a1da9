// The wireless robot's media (reachy-daemon-api.md §9.1, h264-webrtc.md §2): one shared pipeline —
// test pattern → libx264 (constrained baseline, 2 slices, IDR every 60 frames) → RFC 6184 RTP, and
// tone → Opus 20 ms → RTP — fanned out to every live consumer's node-datachannel PeerConnection,
// as the robot pre-encodes once upstream of webrtcsink. A PLI/FIR from any consumer forces the next
// picture to be an IDR for everyone (the shared-encoder behaviour §5.3 describes). The pump runs
// only while a session's video track is open; each run starts a fresh encoder, so the first live
// viewer's first frame is an IDR. Owns the per-mode pipeline and the peers; not signalling.
import { Result } from 'effect';
import { createLogger } from '../../logging/logger.ts';
import type { ProducerSession, ProducerSessionHandlers } from '../signalling-in-process.ts';
import { type ReceivedAudioSummary, ReceivedAudioMeter } from './audio-meter.ts';
import { H264Encoder } from './h264-encoder.ts';
import { H264Peer, type H264PeerEvents, type H264StreamIds } from './h264-peer.ts';
import { H264RtpPacketizer } from './h264-rtp-packetizer.ts';
import { type MediaEngine, type VideoGeometry, settle } from './media-engine.ts';
import { MediaTicker, type TickInfo } from './media-ticker.ts';
import { OPUS_FRAME_MS, OPUS_SAMPLE_RATE, OpusToneEncoder } from './opus-audio.ts';
import { RtpWriter, randomSsrc } from './rtp-writer.ts';
import { TestPattern, type TestPatternScene } from './test-pattern.ts';
import { DEFAULT_TONE, type Tone, ToneSource } from './tone-source.ts';

/** Dynamic payload types of the offer: 96 for H.264 (webrtcsink's first video PT), 111 for Opus (the browsers' usual). */
export const H264_PAYLOAD_TYPE = 96;
export const OPUS_PAYLOAD_TYPE = 111;
export const VIDEO_CLOCK_RATE = 90_000;
/**
 * Opus packets sent late to catch up after a stalled event loop: up to 100 ms (5 packets) so a
 * short hiccup is inaudible to the consumer's jitter buffer; longer stalls are skipped, like a
 * capture device overrunning.
 */
export const MAX_AUDIO_CATCH_UP_PACKETS = 5;

export class H264Engine implements MediaEngine {
  readonly #log = createLogger('sim:media:h264');
  readonly #geometry: VideoGeometry;
  readonly #peers = new Set<H264Peer>();
  readonly #pattern: TestPattern;
  readonly #tone = new ToneSource(OPUS_SAMPLE_RATE, DEFAULT_TONE);
  readonly #opus = new OpusToneEncoder(this.#tone);
  readonly #meter = new ReceivedAudioMeter();
  readonly #ids: H264StreamIds;
  readonly #videoWriter: RtpWriter;
  readonly #audioWriter: RtpWriter;
  readonly #packetizer = new H264RtpPacketizer();
  readonly #videoTicker: MediaTicker;
  readonly #audioTicker: MediaTicker;
  readonly #events: H264PeerEvents;
  readonly #createdMs = performance.now();
  #encoder: H264Encoder | null = null;
  #scene: TestPatternScene = 'moving';
  #forceIdr = false;
  #keyframeRequests = 0;
  /** Media time (ms since the engine was created) at which the current pump run started. */
  #runOffsetMs = 0;
  /** Frame counter at the start of the current run (the pattern's counter keeps counting across runs). */
  #frameBase = 0;
  #framesThisRun = 0;
  #closed = false;

  constructor(geometry: VideoGeometry) {
    this.#geometry = geometry;
    this.#pattern = new TestPattern(geometry.width, geometry.height);
    this.#ids = {
      videoPayloadType: H264_PAYLOAD_TYPE,
      audioPayloadType: OPUS_PAYLOAD_TYPE,
      videoSsrc: randomSsrc(),
      audioSsrc: randomSsrc(),
      cname: `reachymini-${randomSsrc().toString(16)}`,
    };
    this.#videoWriter = new RtpWriter({ payloadType: H264_PAYLOAD_TYPE, ssrc: this.#ids.videoSsrc, clockRate: VIDEO_CLOCK_RATE });
    this.#audioWriter = new RtpWriter({ payloadType: OPUS_PAYLOAD_TYPE, ssrc: this.#ids.audioSsrc, clockRate: OPUS_SAMPLE_RATE });
    this.#videoTicker = new MediaTicker(1000 / geometry.fps, (tick) => this.#videoTick(tick));
    this.#audioTicker = new MediaTicker(OPUS_FRAME_MS, (tick) => this.#audioTick(tick));
    this.#events = {
      onLive: () => this.#startPump(),
      onBroken: (peer, state) => {
        this.#log.info('consumer peer connection lost, ending its session', { sessionId: peer.session.sessionId, state });
        this.#remove(peer, true);
      },
      onKeyframeRequest: (_peer, request) => {
        if (request.mediaSsrc !== this.#ids.videoSsrc) return;
        this.#keyframeRequests++;
        this.#forceIdr = true;
      },
      onAudio: (_peer, audio) => this.#meter.push(audio.pcm, audio.channels, audio.sampleRate),
      onEnded: (peer) => this.#remove(peer, false),
    };
  }

  get keyframeRequests(): number {
    return this.#keyframeRequests;
  }

  openSession(session: ProducerSession): ProducerSessionHandlers {
    if (this.#closed) throw new Error('media engine closed');
    const peer = new H264Peer(session, this.#ids, this.#events, this.#log);
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

  /** Peers whose video is flowing. */
  #livePeers(): H264Peer[] {
    return [...this.#peers].filter((peer) => peer.live);
  }

  #remove(peer: H264Peer, endSession: boolean): void {
    if (!this.#peers.delete(peer)) return;
    // §5.4: stop feeding first (the peer is out of the fan-out set, and the pump stops when it was
    // the last), then close the PeerConnection.
    if (this.#livePeers().length === 0) this.#stopPump();
    peer.close();
    if (endSession) peer.session.end();
    this.#log.debug('consumer session closed', { sessionId: peer.session.sessionId });
  }

  #startPump(): void {
    if (this.#closed || this.#videoTicker.running) return;
    const opened = H264Encoder.open(this.#geometry);
    if (Result.isFailure(opened)) {
      this.#log.error('H.264 encoder unavailable: video will not flow', { error: opened.failure });
      return;
    }
    this.#encoder = opened.success;
    this.#runOffsetMs = performance.now() - this.#createdMs;
    this.#frameBase += this.#framesThisRun;
    this.#framesThisRun = 0;
    this.#forceIdr = false;
    this.#videoTicker.start();
    this.#audioTicker.start();
    this.#log.debug('media pump started', { ...this.#geometry });
  }

  #stopPump(): void {
    this.#videoTicker.stop();
    this.#audioTicker.stop();
    this.#encoder?.close();
    this.#encoder = null;
  }

  #videoTick(tick: TickInfo): void {
    const encoder = this.#encoder;
    if (!encoder) return;
    const frameIndex = this.#frameBase + tick.index;
    this.#framesThisRun = tick.index + 1;
    const mediaMs = this.#runOffsetMs + tick.mediaTimeMs;
    const forceIdr = this.#forceIdr;
    this.#forceIdr = false;
    const encoded = encoder.encode(this.#pattern.render(this.#scene, mediaMs, frameIndex), forceIdr);
    if (Result.isFailure(encoded)) {
      this.#log.warn('H.264 encode failed, frame dropped', { error: encoded.failure });
      return;
    }
    const accessUnit = encoded.success;
    if (!accessUnit) return;
    const timestamp = this.#videoWriter.timestampAt(mediaMs);
    const payloads = this.#packetizer.payloads(accessUnit.data);
    const packets = payloads.map((payload, i) => this.#videoWriter.packet(payload, timestamp, i === payloads.length - 1));
    for (const peer of this.#livePeers()) peer.sendVideo(packets);
  }

  #audioTick(tick: TickInfo): void {
    const count = 1 + Math.min(tick.skipped, MAX_AUDIO_CATCH_UP_PACKETS);
    const peers = this.#livePeers();
    for (let k = count - 1; k >= 0; k--) {
      const packetIndex = tick.index - k;
      const payload = this.#opus.next();
      const packet = this.#audioWriter.packet(payload, this.#audioWriter.timestampAt(this.#runOffsetMs + packetIndex * OPUS_FRAME_MS), false);
      for (const peer of peers) peer.sendAudio(packet);
    }
  }
}
