// Reads the requests out of (compound) RTCP a consumer sends on the video m-line: keyframe
// requests — PLI (RFC 4585 §6.3.1, PT 206 FMT 1) and FIR (RFC 5104 §4.3.1, PT 206 FMT 4) — and
// retransmission requests — generic NACK (RFC 4585 §6.2.1, PT 205 FMT 1) — with the media SSRC
// they name. Everything else (receiver reports, REMB, SDES) is skipped. Never throws on malformed
// input: a truncated packet ends the walk. Owns no reaction (the engine forces an IDR or resends).
import { nackedSequences } from '../../media/rtp/rtcp-packets.ts';

export type KeyframeRequestKind = 'pli' | 'fir';

export interface KeyframeRequest {
  readonly kind: KeyframeRequestKind;
  readonly senderSsrc: number;
  /** The SSRC whose keyframe is asked for (for FIR: each FCI entry's SSRC). */
  readonly mediaSsrc: number;
}

const RTCP_HEADER_BYTES = 4;
const PT_PAYLOAD_SPECIFIC_FEEDBACK = 206;
const PT_TRANSPORT_FEEDBACK = 205;
const FMT_GENERIC_NACK = 1;
const FMT_PLI = 1;
const FMT_FIR = 4;
/** Common feedback header: RTCP header + sender SSRC + media source SSRC (RFC 4585 §6.1). */
const FEEDBACK_HEADER_BYTES = 12;
/** FIR FCI: SSRC + sequence number + 3 reserved bytes (RFC 5104 §4.3.1.1). */
const FIR_FCI_BYTES = 8;

export function keyframeRequests(rtcp: Uint8Array): KeyframeRequest[] {
  const view = new DataView(rtcp.buffer, rtcp.byteOffset, rtcp.byteLength);
  const requests: KeyframeRequest[] = [];
  let offset = 0;
  while (offset + RTCP_HEADER_BYTES <= rtcp.length) {
    const first = view.getUint8(offset);
    if (first >> 6 !== 2) break;
    const fmt = first & 0x1f;
    const type = view.getUint8(offset + 1);
    const length = (view.getUint16(offset + 2) + 1) * 4;
    if (offset + length > rtcp.length) break;
    if (type === PT_PAYLOAD_SPECIFIC_FEEDBACK && length >= FEEDBACK_HEADER_BYTES) {
      const senderSsrc = view.getUint32(offset + 4);
      if (fmt === FMT_PLI) requests.push({ kind: 'pli', senderSsrc, mediaSsrc: view.getUint32(offset + 8) });
      else if (fmt === FMT_FIR) {
        for (let fci = offset + FEEDBACK_HEADER_BYTES; fci + FIR_FCI_BYTES <= offset + length; fci += FIR_FCI_BYTES) {
          requests.push({ kind: 'fir', senderSsrc, mediaSsrc: view.getUint32(fci) });
        }
      }
    }
    offset += length;
  }
  return requests;
}

export interface NackRequest {
  readonly mediaSsrc: number;
  readonly sequences: readonly number[];
}

/** The generic NACKs in a (compound) RTCP packet. */
export function nackRequests(rtcp: Uint8Array): NackRequest[] {
  const view = new DataView(rtcp.buffer, rtcp.byteOffset, rtcp.byteLength);
  const requests: NackRequest[] = [];
  let offset = 0;
  while (offset + RTCP_HEADER_BYTES <= rtcp.length) {
    const first = view.getUint8(offset);
    if (first >> 6 !== 2) break;
    const length = (view.getUint16(offset + 2) + 1) * 4;
    if (offset + length > rtcp.length) break;
    if (view.getUint8(offset + 1) === PT_TRANSPORT_FEEDBACK && (first & 0x1f) === FMT_GENERIC_NACK && length >= FEEDBACK_HEADER_BYTES) {
      requests.push({ mediaSsrc: view.getUint32(offset + 8), sequences: nackedSequences(rtcp.subarray(offset, offset + length)) });
    }
    offset += length;
  }
  return requests;
}

/** A PLI packet (12 bytes) asking `mediaSsrc` for a keyframe: what a consumer sends. */
export function pliPacket(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(FEEDBACK_HEADER_BYTES);
  packet[0] = 0x80 | FMT_PLI;
  packet[1] = PT_PAYLOAD_SPECIFIC_FEEDBACK;
  packet.writeUInt16BE(FEEDBACK_HEADER_BYTES / 4 - 1, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  return packet;
}
