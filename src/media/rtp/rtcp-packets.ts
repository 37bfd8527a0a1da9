// The RTCP a video receiver writes and the one it reads (RFC 3550 §6.4, RFC 4585 §6): generic
// NACK (PT 205, FMT 1: PID + BLP pairs), PLI (PT 206, FMT 1), a receiver report with one report
// block, the sender reports' NTP time (for LSR/DLSR), and the walk over a compound datagram that
// every RTCP reader here and in the emulator uses. Packets are sent alone, as reduced-size
// RTCP (RFC 5506, `a=rtcp-rsize`, which WebRTC peers offer and accept). Owns the byte layouts
// only; which sequence numbers to ask for is nack-tracker.ts's, the report's numbers are
// receiver-statistics.ts's, and sending is the adapter's. Never throws on malformed input.
import { sequenceAdd, sequenceDiff } from './sequence-number.ts';

const RTCP_VERSION_BITS = 0x80;
const PT_SENDER_REPORT = 200;
const PT_RECEIVER_REPORT = 201;
const PT_TRANSPORT_FEEDBACK = 205;
const PT_PAYLOAD_FEEDBACK = 206;
const FMT_GENERIC_NACK = 1;
const FMT_PLI = 1;
/** Common feedback header: RTCP header + sender SSRC + media source SSRC (RFC 4585 §6.1). */
const FEEDBACK_HEADER_BYTES = 12;
/** One NACK FCI: PID (16 bits) + BLP (16 bits) (RFC 4585 §6.2.1). */
const NACK_FCI_BYTES = 4;
/** The PID plus the 16 following sequence numbers BLP can flag. */
const NACK_FCI_SPAN = 17;
/** Report block (RFC 3550 §6.4.1): SSRC, fraction+cumulative lost, highest seq, jitter, LSR, DLSR. */
const REPORT_BLOCK_BYTES = 24;
const RR_HEADER_BYTES = 8;
/** SR sender info starts after the header and SSRC; the NTP timestamp comes first (RFC 3550 §6.4.1). */
const SR_NTP_OFFSET = 8;
const SR_MIN_BYTES = 28;

/** Lengths count 32-bit words minus one (RFC 3550 §6.4.1). */
function writeHeader(packet: Buffer, countOrFmt: number, type: number): void {
  packet[0] = RTCP_VERSION_BITS | (countOrFmt & 0x1f);
  packet[1] = type;
  packet.writeUInt16BE(packet.length / 4 - 1, 2);
}

/**
 * The (PID, BLP) pairs covering `sequences` (any order, duplicates ignored), oldest first. Order is
 * taken relative to the first one given: the lists a receiver keeps span far less than 2^15.
 */
export function nackItems(sequences: readonly number[]): Array<{ readonly pid: number; readonly blp: number }> {
  const reference = sequences[0] ?? 0;
  const sorted = [...new Set(sequences)].sort((a, b) => sequenceDiff(a, reference) - sequenceDiff(b, reference));
  const items: Array<{ pid: number; blp: number }> = [];
  for (const sequence of sorted) {
    const last = items[items.length - 1];
    const offset = last === undefined ? -1 : sequenceDiff(sequence, last.pid);
    if (last !== undefined && offset >= 1 && offset < NACK_FCI_SPAN) last.blp |= 1 << (offset - 1);
    else items.push({ pid: sequence, blp: 0 });
  }
  return items;
}

/** One generic NACK asking `mediaSsrc` again for `sequences`; null when the list is empty. */
export function genericNackPacket(senderSsrc: number, mediaSsrc: number, sequences: readonly number[]): Buffer | null {
  const items = nackItems(sequences);
  if (items.length === 0) return null;
  const packet = Buffer.alloc(FEEDBACK_HEADER_BYTES + NACK_FCI_BYTES * items.length);
  writeHeader(packet, FMT_GENERIC_NACK, PT_TRANSPORT_FEEDBACK);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  items.forEach((item, i) => {
    packet.writeUInt16BE(item.pid, FEEDBACK_HEADER_BYTES + NACK_FCI_BYTES * i);
    packet.writeUInt16BE(item.blp, FEEDBACK_HEADER_BYTES + NACK_FCI_BYTES * i + 2);
  });
  return packet;
}

/** The sequence numbers a generic NACK asks for (reading one back: tests, the emulator). */
export function nackedSequences(packet: Uint8Array): number[] {
  if (packet.length < FEEDBACK_HEADER_BYTES || packet[1] !== PT_TRANSPORT_FEEDBACK || ((packet[0] ?? 0) & 0x1f) !== FMT_GENERIC_NACK) return [];
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const end = Math.min(packet.length, (view.getUint16(2) + 1) * 4);
  const out: number[] = [];
  for (let at = FEEDBACK_HEADER_BYTES; at + NACK_FCI_BYTES <= end; at += NACK_FCI_BYTES) {
    const pid = view.getUint16(at);
    const blp = view.getUint16(at + 2);
    out.push(pid);
    for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) out.push(sequenceAdd(pid, bit + 1));
  }
  return out;
}

/** A PLI (12 bytes) asking `mediaSsrc` for a keyframe (RFC 4585 §6.3.1). */
export function pliPacket(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(FEEDBACK_HEADER_BYTES);
  writeHeader(packet, FMT_PLI, PT_PAYLOAD_FEEDBACK);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  return packet;
}

export interface ReportBlock {
  readonly ssrc: number;
  /** Lost since the last report, as a fraction of 256 (0..255). */
  readonly fractionLost: number;
  /** Cumulative lost, clamped to the signed 24-bit field. */
  readonly cumulativeLost: number;
  readonly extendedHighestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  readonly jitter: number;
  /** Middle 32 bits of the last SR's NTP time, 0 if none. */
  readonly lastSr: number;
  /** Since that SR, in 1/65536 s, 0 if none. */
  readonly delaySinceLastSr: number;
}

const CUMULATIVE_MAX = 0x7f_ffff;
const CUMULATIVE_MIN = -0x80_0000;

/** A receiver report from `senderSsrc` with one report block (RFC 3550 §6.4.2). */
export function receiverReportPacket(senderSsrc: number, block: ReportBlock): Buffer {
  const packet = Buffer.alloc(RR_HEADER_BYTES + REPORT_BLOCK_BYTES);
  writeHeader(packet, 1, PT_RECEIVER_REPORT);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  const at = RR_HEADER_BYTES;
  packet.writeUInt32BE(block.ssrc >>> 0, at);
  const cumulative = Math.max(CUMULATIVE_MIN, Math.min(CUMULATIVE_MAX, Math.round(block.cumulativeLost)));
  packet.writeUInt32BE((((Math.max(0, Math.min(255, block.fractionLost)) & 0xff) << 24) | (cumulative & 0xff_ffff)) >>> 0, at + 4);
  packet.writeUInt32BE(block.extendedHighestSequence >>> 0, at + 8);
  packet.writeUInt32BE(Math.max(0, Math.round(block.jitter)) >>> 0, at + 12);
  packet.writeUInt32BE(block.lastSr >>> 0, at + 16);
  packet.writeUInt32BE(block.delaySinceLastSr >>> 0, at + 20);
  return packet;
}

export interface SenderReportInfo {
  readonly ssrc: number;
  /** Middle 32 bits of its NTP timestamp: the LSR a report block echoes. */
  readonly ntpMiddle: number;
}

/** One packet of a compound RTCP datagram: its header fields and where it lies. */
export interface RtcpPacketView {
  readonly view: DataView;
  readonly offset: number;
  /** Bytes, header included (the header's length field, in 32-bit words minus one). */
  readonly length: number;
  readonly type: number;
  /** The header's low five bits: FMT for feedback, the report count otherwise. */
  readonly fmt: number;
}

/** The packets of a (compound) RTCP datagram in order; a bad version or a truncated packet ends the walk. */
export function* rtcpPackets(rtcp: Uint8Array): Generator<RtcpPacketView> {
  const view = new DataView(rtcp.buffer, rtcp.byteOffset, rtcp.byteLength);
  let offset = 0;
  while (offset + 4 <= rtcp.length) {
    const first = view.getUint8(offset);
    if (first >> 6 !== 2) return;
    const length = (view.getUint16(offset + 2) + 1) * 4;
    if (offset + length > rtcp.length) return;
    yield { view, offset, length, type: view.getUint8(offset + 1), fmt: first & 0x1f };
    offset += length;
  }
}

/** The sender reports inside a (compound) RTCP packet; a truncated packet ends the walk. */
export function senderReports(rtcp: Uint8Array): SenderReportInfo[] {
  const out: SenderReportInfo[] = [];
  for (const { view, offset, length, type } of rtcpPackets(rtcp)) {
    if (type !== PT_SENDER_REPORT || length < SR_MIN_BYTES) continue;
    const ntpSeconds = view.getUint32(offset + SR_NTP_OFFSET);
    const ntpFraction = view.getUint32(offset + SR_NTP_OFFSET + 4);
    out.push({ ssrc: view.getUint32(offset + 4), ntpMiddle: (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0 });
  }
  return out;
}
