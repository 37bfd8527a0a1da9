// Reads the requests out of (compound) RTCP a consumer sends on the video m-line: keyframe
// requests — PLI (RFC 4585 §6.3.1, PT 206 FMT 1) and FIR (RFC 5104 §4.3.1, PT 206 FMT 4) — and
// retransmission requests — generic NACK (RFC 4585 §6.2.1, PT 205 FMT 1) — with the media SSRC
// they name. Everything else (receiver reports, REMB, SDES) is skipped. Never throws on malformed
// input: a truncated packet ends the walk (rtcpPackets, shared with the driver's RTCP reader). Owns
// no reaction (the engine forces an IDR or resends); the PLI a consumer writes is rtcp-packets.ts's.
import { nackedSequences, rtcpPackets } from '../../media/rtp/rtcp-packets.ts';

export type KeyframeRequestKind = 'pli' | 'fir';

export interface KeyframeRequest {
  readonly kind: KeyframeRequestKind;
  readonly senderSsrc: number;
  /** The SSRC whose keyframe is asked for (for FIR: each FCI entry's SSRC). */
  readonly mediaSsrc: number;
}

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
  const requests: KeyframeRequest[] = [];
  for (const { view, offset, length, type, fmt } of rtcpPackets(rtcp)) {
    if (type !== PT_PAYLOAD_SPECIFIC_FEEDBACK || length < FEEDBACK_HEADER_BYTES) continue;
    const senderSsrc = view.getUint32(offset + 4);
    if (fmt === FMT_PLI) requests.push({ kind: 'pli', senderSsrc, mediaSsrc: view.getUint32(offset + 8) });
    else if (fmt === FMT_FIR) {
      for (let fci = offset + FEEDBACK_HEADER_BYTES; fci + FIR_FCI_BYTES <= offset + length; fci += FIR_FCI_BYTES) {
        requests.push({ kind: 'fir', senderSsrc, mediaSsrc: view.getUint32(fci) });
      }
    }
  }
  return requests;
}

export interface NackRequest {
  readonly mediaSsrc: number;
  readonly sequences: readonly number[];
}

/** The generic NACKs in a (compound) RTCP packet. */
export function nackRequests(rtcp: Uint8Array): NackRequest[] {
  const requests: NackRequest[] = [];
  for (const { view, offset, length, type, fmt } of rtcpPackets(rtcp)) {
    if (type !== PT_TRANSPORT_FEEDBACK || fmt !== FMT_GENERIC_NACK || length < FEEDBACK_HEADER_BYTES) continue;
    requests.push({ mediaSsrc: view.getUint32(offset + 8), sequences: nackedSequences(rtcp.subarray(offset, offset + length)) });
  }
  return requests;
}
