// The codec-independent receive pipeline behind every VideoDepacketizer: RTP parse (RFC 3550) →
// SSRC / payload-type filter → reorder window and loss detection → grouping by RTP timestamp and
// marker bit → the codec's FrameAssembler → keyframe gating → GOP buffer, with rate-limited PLI
// requests while a keyframe is needed (h264-webrtc.md §5.1 item 3, §5.3). Owns that policy and
// the counters; it does not know any payload format (the assembler does) and sends nothing.
// Loss policy: reordering inside the reorder window is repaired; beyond it a hole is a gap. A frame
// that lost or got a malformed packet is dropped whole and frames are skipped until the next
// keyframe, so `gop()` always holds a chain a decoder can follow.

import type { FrameAssembler } from './frame-assembler.ts';
import { GopBuffer } from './gop-buffer.ts';
import { PliLimiter } from './pli-limiter.ts';
import { ReorderBuffer } from './reorder-buffer.ts';
import { parseRtpPacket, type RtpPacket } from './rtp-packet.ts';
import type {
  DepacketizerEvent,
  DepacketizerOptions,
  DepacketizerStats,
  FrameDropReason,
  PacketRejectReason,
  PliReason,
  VideoDepacketizer,
} from './video-depacketizer.ts';
import type { VideoCodec, VideoFrame } from './video-frame.ts';

/**
 * Largest frame assembled. A 720p IDR at 5 Mbit/s is 70–150 KB (h264-webrtc.md §5.1) and a 4K
 * keyframe stays well under 2 MB; 4 MiB keeps real frames while capping what a hostile stream
 * that never sets the marker bit can make us hold.
 */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

interface OpenFrame {
  readonly timestamp: number;
  readonly ssrc: number;
  readonly firstSequence: number;
  lastSequence: number;
  packets: number;
  bytes: number;
  lastArrivalMs: number;
  broken: 'corrupt' | 'too-large' | undefined;
}

type MutableStats = { -readonly [K in keyof DepacketizerStats]: DepacketizerStats[K] };

function zeroStats(): MutableStats {
  return { packets: 0, rejected: 0, late: 0, lost: 0, framesEmitted: 0, keyframes: 0, framesDropped: 0, pliRequests: 0, gopEvicted: 0 };
}

export class RtpVideoReceiver<R extends PacketRejectReason, D extends FrameDropReason> implements VideoDepacketizer {
  readonly codec: VideoCodec;
  readonly #assembler: FrameAssembler<R, D>;
  readonly #options: DepacketizerOptions;
  readonly #reorder: ReorderBuffer<RtpPacket>;
  readonly #pli: PliLimiter;
  readonly #gop: GopBuffer;
  readonly #maxFrameBytes: number;
  #ssrc: number | undefined;
  #open: OpenFrame | undefined;
  #awaitingKeyframe = true;
  #stats = zeroStats();

  constructor(codec: VideoCodec, assembler: FrameAssembler<R, D>, options: DepacketizerOptions = {}) {
    this.codec = codec;
    this.#assembler = assembler;
    this.#options = options;
    this.#reorder = new ReorderBuffer<RtpPacket>({
      ...(options.reorderWindowPackets !== undefined && { windowPackets: options.reorderWindowPackets }),
      ...(options.reorderMaxWaitMs !== undefined && { maxWaitMs: options.reorderMaxWaitMs }),
    });
    this.#pli = new PliLimiter(options.pliMinIntervalMs);
    this.#gop = new GopBuffer({
      ...(options.gopMaxFrames !== undefined && { maxFrames: options.gopMaxFrames }),
      ...(options.gopMaxBytes !== undefined && { maxBytes: options.gopMaxBytes }),
    });
    this.#maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.#ssrc = options.ssrc;
  }

  get awaitingKeyframe(): boolean {
    return this.#awaitingKeyframe;
  }

  gop(): readonly VideoFrame[] {
    return this.#gop.frames();
  }

  stats(): DepacketizerStats {
    return { ...this.#stats };
  }

  reset(): void {
    this.#reorder.reset();
    this.#pli.reset();
    this.#gop.clear();
    this.#ssrc = this.#options.ssrc;
    this.#open = undefined;
    this.#awaitingKeyframe = true;
    this.#stats = zeroStats();
  }

  push(packet: Uint8Array, arrivalMs: number): readonly DepacketizerEvent[] {
    const events: DepacketizerEvent[] = [];
    this.#stats.packets++;
    const parsed = parseRtpPacket(packet);
    if (!parsed.ok) {
      this.#reject(parsed.reason, undefined, events);
      return events;
    }
    const rtp = parsed.packet;
    if (this.#options.payloadType !== undefined && rtp.payloadType !== this.#options.payloadType) {
      this.#reject('unexpected-payload-type', rtp.sequenceNumber, events);
      return events;
    }
    if (this.#ssrc === undefined) this.#ssrc = rtp.ssrc;
    else if (rtp.ssrc !== this.#ssrc) {
      this.#reject('unexpected-ssrc', rtp.sequenceNumber, events);
      return events;
    }
    for (const out of this.#reorder.push(rtp.sequenceNumber, rtp, arrivalMs)) {
      switch (out.kind) {
        case 'packet':
          this.#onPacket(out.item, arrivalMs, events);
          break;
        case 'gap':
          this.#stats.lost += out.lost;
          events.push({ type: 'gap', firstMissing: out.firstMissing, lastMissing: out.lastMissing, lost: out.lost });
          this.#onLoss(arrivalMs, events);
          break;
        case 'resync':
          events.push({ type: 'resync', sequence: out.sequence });
          this.#onLoss(arrivalMs, events);
          break;
        case 'late':
          this.#stats.late++;
          events.push({ type: 'late', sequence: out.sequence });
          break;
      }
    }
    return events;
  }

  #reject(reason: PacketRejectReason, sequence: number | undefined, events: DepacketizerEvent[]): void {
    this.#stats.rejected++;
    events.push({ type: 'rejected', reason, sequence });
  }

  #requestPli(reason: PliReason, nowMs: number, events: DepacketizerEvent[]): void {
    if (!this.#pli.request(nowMs)) return;
    this.#stats.pliRequests++;
    events.push({ type: 'pli', reason });
  }

  #onLoss(nowMs: number, events: DepacketizerEvent[]): void {
    if (this.#open !== undefined) this.#open.broken ??= 'corrupt';
    this.#awaitingKeyframe = true;
    this.#requestPli('loss', nowMs, events);
  }

  #onPacket(rtp: RtpPacket, arrivalMs: number, events: DepacketizerEvent[]): void {
    // Padding-only packets (bandwidth probes) carry no media but keep the sequence continuous.
    if (rtp.payload.length === 0) return;
    if (this.#open !== undefined && this.#open.timestamp !== rtp.timestamp) this.#finish(arrivalMs, events);
    let open = this.#open;
    if (open === undefined) {
      open = {
        timestamp: rtp.timestamp,
        ssrc: rtp.ssrc,
        firstSequence: rtp.sequenceNumber,
        lastSequence: rtp.sequenceNumber,
        packets: 0,
        bytes: 0,
        lastArrivalMs: arrivalMs,
        broken: undefined,
      };
      this.#open = open;
      this.#assembler.begin();
    }
    open.lastSequence = rtp.sequenceNumber;
    open.packets++;
    open.lastArrivalMs = arrivalMs;
    open.bytes += rtp.payload.length;
    if (open.broken === undefined) {
      if (open.bytes > this.#maxFrameBytes) open.broken = 'too-large';
      else {
        const malformed = this.#assembler.add(rtp.payload);
        if (malformed !== undefined) {
          this.#reject(malformed, rtp.sequenceNumber, events);
          open.broken = 'corrupt';
        }
      }
    }
    if (rtp.marker) this.#finish(arrivalMs, events);
  }

  #drop(open: OpenFrame, reason: FrameDropReason, events: DepacketizerEvent[]): void {
    this.#stats.framesDropped++;
    events.push({
      type: 'frame-dropped',
      reason,
      timestamp: open.timestamp,
      firstSequence: open.firstSequence,
      lastSequence: open.lastSequence,
    });
  }

  #finish(nowMs: number, events: DepacketizerEvent[]): void {
    const open = this.#open;
    if (open === undefined) return;
    this.#open = undefined;
    if (open.broken !== undefined) {
      this.#drop(open, open.broken, events);
      this.#onLoss(nowMs, events);
      return;
    }
    const assembled = this.#assembler.finish();
    if (!assembled.ok) {
      this.#drop(open, assembled.reason, events);
      if (assembled.broken) this.#onLoss(nowMs, events);
      return;
    }
    if (this.#awaitingKeyframe && !assembled.keyframe) {
      this.#drop(open, 'awaiting-keyframe', events);
      this.#requestPli('awaiting-keyframe', nowMs, events);
      return;
    }
    if (assembled.keyframe) {
      this.#awaitingKeyframe = false;
      this.#stats.keyframes++;
    }
    const frame: VideoFrame = {
      codec: this.codec,
      data: assembled.data,
      keyframe: assembled.keyframe,
      timestamp: open.timestamp,
      ssrc: open.ssrc,
      firstSequence: open.firstSequence,
      lastSequence: open.lastSequence,
      packets: open.packets,
      receivedMs: open.lastArrivalMs,
    };
    this.#stats.framesEmitted++;
    events.push({ type: 'frame', frame });
    const evicted = this.#gop.add(frame);
    if (evicted > 0) {
      this.#stats.gopEvicted += evicted;
      events.push({ type: 'gop-evicted', frames: evicted });
      this.#requestPli('gop-overflow', nowMs, events);
    }
  }
}
