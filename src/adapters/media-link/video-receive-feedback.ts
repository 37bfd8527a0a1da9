// The RTCP side of receiving the robot's video (RFC 3550 §6.4, RFC 4585, RFC 4588): it sorts what
// arrives on the video track — media RTP (passed on), RTX retransmissions (unwrapped back into
// the media packets they carry; bandwidth probes dropped), RTCP (sender reports kept for
// LSR/DLSR) — and writes what a receiver owes the sender: generic NACKs for missing packets on
// the nack-tracker.ts schedule (only when NACK was negotiated), a receiver report every
// RECEIVER_REPORT_INTERVAL_MS, and PLIs when the caller asks. Owns the timers and the counters;
// the packet layouts and the schedule are the pure modules', ordering and keyframe policy the
// depacketizer's, and the socket libdatachannel's.
import { NackTracker } from '../../media/rtp/nack-tracker.ts';
import { genericNackPacket, pliPacket, receiverReportPacket, senderReports } from '../../media/rtp/rtcp-packets.ts';
import { ReceiverStatistics } from '../../media/rtp/receiver-statistics.ts';
import { parseRtpPacket } from '../../media/rtp/rtp-packet.ts';
import { rtpSsrc, unwrapRtx } from '../../media/rtp/rtx-packet.ts';

/**
 * Receiver reports: once a second, libwebrtc's video default and what webrtcsink's sender gets
 * from a browser; its loss-based rate control and RTT need them, and they cost ~50 bytes each.
 */
export const RECEIVER_REPORT_INTERVAL_MS = 1_000;
/** Video RTP clock (RFC 6184 §8.1, RFC 7741 §6.1), for the jitter in receiver reports. */
const VIDEO_CLOCK_RATE_HZ = 90_000;
/** RTCP packet types 192–223 sit where an RTP header has marker + payload type (RFC 5761 §4). */
const RTCP_TYPE_MIN = 192;
const RTCP_TYPE_MAX = 223;

export interface VideoReceiveFeedbackOptions {
  readonly mediaPayloadType: number;
  /** The negotiated RTX payload type (apt = mediaPayloadType), or null without RTX. */
  readonly rtxPayloadType: number | null;
  /** Generic NACK negotiated: holes are asked for again. */
  readonly nack: boolean;
  /** Our SSRC as the sender of this RTCP. */
  readonly senderSsrc: number;
  /** Writes one RTCP packet on the video track; false when it could not go out. */
  readonly send: (packet: Buffer) => boolean;
}

export interface VideoReceiveCounters {
  /** NACK packets sent, and the sequence numbers they asked for (retries included). */
  readonly nackSent: number;
  readonly nackedPackets: number;
  /** RTX packets that carried a media packet (bandwidth probes not counted). */
  readonly rtxReceived: number;
  /** Holes filled after a NACK or by a late original. */
  readonly recoveredPackets: number;
  /** Holes given up (the depacketizer then asks for a keyframe). */
  readonly unrecoveredPackets: number;
  readonly receiverReportsSent: number;
}

export class VideoReceiveFeedback {
  readonly #options: VideoReceiveFeedbackOptions;
  readonly #tracker: NackTracker | null;
  #stats: ReceiverStatistics | null = null;
  #mediaSsrc: number | null = null;
  #nackTimer: NodeJS.Timeout | null = null;
  #nackTimerAt = Infinity;
  readonly #reportTimer: NodeJS.Timeout;
  #nackSent = 0;
  #rtxReceived = 0;
  #reportsSent = 0;
  #closed = false;

  constructor(options: VideoReceiveFeedbackOptions) {
    this.#options = options;
    this.#tracker = options.nack ? new NackTracker() : null;
    this.#reportTimer = setInterval(() => this.#sendReport(), RECEIVER_REPORT_INTERVAL_MS);
  }

  /** One message off the video track: the media packet to depacketize, or null (RTCP, probe, foreign). */
  onMessage(message: Buffer, nowMs: number): Uint8Array | null {
    if (this.#closed) return null;
    const second = message[1] ?? 0;
    if (second >= RTCP_TYPE_MIN && second <= RTCP_TYPE_MAX) {
      this.#onRtcp(message, nowMs);
      return null;
    }
    const payloadType = second & 0x7f;
    if (payloadType === this.#options.rtxPayloadType) return this.#onRtx(message, nowMs);
    if (payloadType !== this.#options.mediaPayloadType) return message;
    if (this.#mediaSsrc === null) this.#mediaSsrc = rtpSsrc(message);
    this.#observe(message, nowMs, false);
    return message;
  }

  /** Sends a PLI for the media stream (RFC 4585 §6.3.1); false before its SSRC is known or when it failed. */
  requestKeyframe(): boolean {
    const ssrc = this.#mediaSsrc;
    if (this.#closed || ssrc === null) return false;
    return this.#options.send(pliPacket(this.#options.senderSsrc, ssrc));
  }

  counters(): VideoReceiveCounters {
    const tracked = this.#tracker?.stats();
    return {
      nackSent: this.#nackSent,
      nackedPackets: tracked?.requested ?? 0,
      rtxReceived: this.#rtxReceived,
      recoveredPackets: tracked?.recovered ?? 0,
      unrecoveredPackets: tracked?.givenUp ?? 0,
      receiverReportsSent: this.#reportsSent,
    };
  }

  /** Stops the timers; nothing is sent afterwards. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#reportTimer);
    if (this.#nackTimer !== null) clearTimeout(this.#nackTimer);
    this.#nackTimer = null;
  }

  #onRtx(message: Buffer, nowMs: number): Uint8Array | null {
    const ssrc = this.#mediaSsrc;
    if (ssrc === null) return null;
    const unwrapped = unwrapRtx(message, { mediaPayloadType: this.#options.mediaPayloadType, mediaSsrc: ssrc });
    if (!unwrapped.ok) return null;
    this.#rtxReceived++;
    this.#observe(unwrapped.packet, nowMs, true);
    return unwrapped.packet;
  }

  #observe(packet: Uint8Array, nowMs: number, repaired: boolean): void {
    const parsed = parseRtpPacket(packet);
    if (!parsed.ok || parsed.packet.ssrc !== this.#mediaSsrc) return;
    const { sequenceNumber, timestamp, ssrc } = parsed.packet;
    const kind = this.#tracker?.received(sequenceNumber, nowMs);
    // Senders also resend packets that were not lost (libwebrtc probes bandwidth with them): only
    // a retransmission that filled a hole counts as received, or the reports would show "negative loss".
    if (!repaired || kind === 'recovered') {
      this.#stats ??= new ReceiverStatistics(ssrc, VIDEO_CLOCK_RATE_HZ);
      this.#stats.received(sequenceNumber, timestamp, nowMs, repaired);
    }
    if (kind !== undefined) this.#scheduleNacks(nowMs);
  }

  #scheduleNacks(nowMs: number): void {
    const next = this.#tracker?.nextDueMs() ?? null;
    if (next === null || next >= this.#nackTimerAt) return;
    if (this.#nackTimer !== null) clearTimeout(this.#nackTimer);
    this.#nackTimerAt = next;
    this.#nackTimer = setTimeout(() => this.#sendNacks(), Math.max(0, next - nowMs));
  }

  #sendNacks(): void {
    this.#nackTimer = null;
    this.#nackTimerAt = Infinity;
    const tracker = this.#tracker;
    const ssrc = this.#mediaSsrc;
    if (this.#closed || tracker === null || ssrc === null) return;
    const nowMs = Date.now();
    const packet = genericNackPacket(this.#options.senderSsrc, ssrc, tracker.due(nowMs));
    if (packet !== null && this.#options.send(packet)) this.#nackSent++;
    this.#scheduleNacks(nowMs);
  }

  #onRtcp(message: Buffer, nowMs: number): void {
    for (const report of senderReports(message)) {
      if (report.ssrc === this.#mediaSsrc) this.#stats?.senderReport(report.ntpMiddle, nowMs);
    }
  }

  #sendReport(): void {
    const block = this.#stats?.report(Date.now());
    if (this.#closed || block === undefined || block === null) return;
    if (this.#options.send(receiverReportPacket(this.#options.senderSsrc, block))) this.#reportsSent++;
  }
}
