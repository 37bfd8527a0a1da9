// The wireless robot's media (reachy-daemon-api.md §9.1, h264-webrtc.md §2): one shared pipeline
// — test pattern → libx264 (constrained baseline, 2 slices, IDR every 60 frames) → RFC 6184 RTP, and
// tone → Opus 20 ms → RTP — fanned out to every consumer's PeerConnection, as the robot encodes once
// upstream of webrtcsink. A PLI/FIR from any consumer makes the next picture an IDR for all (§5.3);
// a NACK is answered as RTX from a short history (RFC 4588); `setVideoLoss` drops video at random.
// The pump runs only while a session's video is open, each run with a fresh encoder (first frame an
// IDR). Owns the H.264/Opus pipeline; not the peers and pump clock (peer-engine.ts), not signalling.
import * as Result from 'effect/Result';
import { parseRtpPacket } from '../../media/rtp/rtp-packet.ts';
import { createLogger } from '../../logging/logger.ts';
import type { ProducerSession } from '../signalling-in-process.ts';
import type { NackRequest } from './rtcp-feedback.ts';
import { H264Encoder } from './h264-encoder.ts';
import { H264Peer, type H264PeerEvents, type H264StreamIds } from './h264-peer.ts';
import { H264RtpPacketizer } from './h264-rtp-packetizer.ts';
import type { VideoGeometry } from './media-engine.ts';
import type { WorldCamera } from './world-scene.ts';
import type { TickInfo } from './media-ticker.ts';
import { OPUS_FRAME_MS, OPUS_SAMPLE_RATE, OpusToneEncoder } from './opus-audio.ts';
import { PeerEngine } from './peer-engine.ts';
import { RtpWriter, randomSsrc } from './rtp-writer.ts';
import { mulberry32 } from '../seeded-random.ts';

/** Dynamic payload types of the offer: 96 for H.264 (webrtcsink's first video PT), 111 for Opus (the browsers' usual). */
export const H264_PAYLOAD_TYPE = 96;
export const OPUS_PAYLOAD_TYPE = 111;
/** RTX for H.264, as in webrtcsink's offers (97, apt=96). */
export const RTX_PAYLOAD_TYPE = 97;
/**
 * Sent video packets kept for retransmission: ~1 s of 720p at 5 Mbit/s, well past any consumer's
 * NACK give-up (the driver's is 150 ms), so every timely request can be answered.
 */
export const RTX_HISTORY_PACKETS = 512;
export const VIDEO_CLOCK_RATE = 90_000;
/**
 * Opus packets sent late to catch up after a stalled event loop: up to 100 ms (5 packets) so a
 * short hiccup is inaudible to the consumer's jitter buffer; longer stalls are skipped, like a
 * capture device overrunning.
 */
export const MAX_AUDIO_CATCH_UP_PACKETS = 5;

export class H264Engine extends PeerEngine<H264Peer> {
  readonly #opus = new OpusToneEncoder(this.tone);
  readonly #ids: H264StreamIds;
  readonly #videoWriter: RtpWriter;
  readonly #audioWriter: RtpWriter;
  readonly #rtxWriter: RtpWriter;
  /** Sequence number → sent packet, oldest first (Map insertion order), at most RTX_HISTORY_PACKETS. */
  readonly #history = new Map<number, Buffer>();
  #videoLoss = 0;
  #random: () => number = Math.random;
  #retransmissions = 0;
  readonly #packetizer = new H264RtpPacketizer();
  readonly #events: H264PeerEvents;
  #encoder: H264Encoder | null = null;
  #forceIdr = false;
  #keyframeRequests = 0;

  constructor(geometry: VideoGeometry, world?: WorldCamera) {
    super({ log: createLogger('sim:media:h264'), geometry, toneSampleRate: OPUS_SAMPLE_RATE, audioTickMs: OPUS_FRAME_MS, world });
    this.#ids = {
      videoPayloadType: H264_PAYLOAD_TYPE,
      audioPayloadType: OPUS_PAYLOAD_TYPE,
      videoSsrc: randomSsrc(),
      rtxPayloadType: RTX_PAYLOAD_TYPE,
      rtxSsrc: randomSsrc(),
      audioSsrc: randomSsrc(),
      cname: `reachymini-${randomSsrc().toString(16)}`,
    };
    this.#videoWriter = new RtpWriter({ payloadType: H264_PAYLOAD_TYPE, ssrc: this.#ids.videoSsrc, clockRate: VIDEO_CLOCK_RATE });
    this.#audioWriter = new RtpWriter({ payloadType: OPUS_PAYLOAD_TYPE, ssrc: this.#ids.audioSsrc, clockRate: OPUS_SAMPLE_RATE });
    this.#rtxWriter = new RtpWriter({ payloadType: RTX_PAYLOAD_TYPE, ssrc: this.#ids.rtxSsrc, clockRate: VIDEO_CLOCK_RATE });
    this.#events = {
      ...this.lifecycle,
      onKeyframeRequest: (_peer, request) => {
        if (request.mediaSsrc !== this.#ids.videoSsrc) return;
        this.#keyframeRequests++;
        this.#forceIdr = true;
      },
      onNack: (peer, request) => this.#resend(peer, request),
      onAudio: (_peer, audio) => this.meter.push(audio.pcm, audio.channels, audio.sampleRate),
    };
  }

  /** Video packets resent as RTX so far. */
  override get retransmissions(): number {
    return this.#retransmissions;
  }

  /** Each video packet (retransmissions included) is lost with probability `rate`, drawn from a generator seeded with `seed`. */
  override setVideoLoss(rate: number, seed: number): void {
    this.#videoLoss = rate;
    this.#random = mulberry32(seed);
  }

  #survivors(packets: readonly Buffer[]): Buffer[] {
    return this.#videoLoss <= 0 ? [...packets] : packets.filter(() => this.#random() >= this.#videoLoss);
  }

  #remember(packets: readonly Buffer[]): void {
    for (const packet of packets) {
      const sequence = packet.readUInt16BE(2);
      this.#history.delete(sequence);
      this.#history.set(sequence, packet);
    }
    for (const sequence of this.#history.keys()) {
      if (this.#history.size <= RTX_HISTORY_PACKETS) break;
      this.#history.delete(sequence);
    }
  }

  /** Answers a NACK: each packet still in the history goes out again as RTX (OSN + original payload). */
  #resend(peer: H264Peer, request: NackRequest): void {
    if (request.mediaSsrc !== this.#ids.videoSsrc) return;
    const packets: Buffer[] = [];
    for (const sequence of request.sequences) {
      const original = this.#history.get(sequence);
      const parsed = original === undefined ? null : parseRtpPacket(original);
      if (parsed === null || !parsed.ok) continue;
      const payload = new Uint8Array(2 + parsed.packet.payload.length);
      payload[0] = sequence >> 8;
      payload[1] = sequence & 0xff;
      payload.set(parsed.packet.payload, 2);
      packets.push(this.#rtxWriter.packet(payload, parsed.packet.timestamp, parsed.packet.marker));
    }
    this.#retransmissions += packets.length;
    peer.sendVideo(this.#survivors(packets));
  }

  override get keyframeRequests(): number {
    return this.#keyframeRequests;
  }

  protected override createPeer(session: ProducerSession): H264Peer {
    return new H264Peer(session, this.#ids, this.#events, this.log);
  }

  /** Each run starts a fresh encoder, so the first live viewer's first frame is an IDR. */
  protected override beforeRun(): boolean {
    const opened = H264Encoder.open(this.geometry);
    if (Result.isFailure(opened)) {
      this.log.error('H.264 encoder unavailable: video will not flow', { error: opened.failure });
      return false;
    }
    this.#encoder = opened.success;
    this.#forceIdr = false;
    return true;
  }

  protected override afterRun(): void {
    this.#encoder?.close();
    this.#encoder = null;
  }

  protected override videoTick(tick: TickInfo): void {
    const encoder = this.#encoder;
    if (!encoder) return;
    const { image, mediaMs } = this.dueFrame(tick);
    const forceIdr = this.#forceIdr;
    this.#forceIdr = false;
    const encoded = encoder.encode(image, forceIdr);
    if (Result.isFailure(encoded)) {
      this.log.warn('H.264 encode failed, frame dropped', { error: encoded.failure });
      return;
    }
    const accessUnit = encoded.success;
    if (!accessUnit) return;
    const timestamp = this.#videoWriter.timestampAt(mediaMs);
    const payloads = this.#packetizer.payloads(accessUnit.data);
    const packets = payloads.map((payload, i) => this.#videoWriter.packet(payload, timestamp, i === payloads.length - 1));
    this.#remember(packets);
    for (const peer of this.livePeers()) peer.sendVideo(this.#survivors(packets));
  }

  protected override audioTick(tick: TickInfo): void {
    const count = 1 + Math.min(tick.skipped, MAX_AUDIO_CATCH_UP_PACKETS);
    const peers = this.livePeers();
    for (let k = count - 1; k >= 0; k--) {
      const packetIndex = tick.index - k;
      const payload = this.#opus.next();
      const packet = this.#audioWriter.packet(payload, this.#audioWriter.timestampAt(this.runOffsetMs + packetIndex * OPUS_FRAME_MS), false);
      for (const peer of peers) peer.sendAudio(packet);
    }
  }
}
