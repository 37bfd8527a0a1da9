// H.264 → RTP payloads as the wireless robot's `rtph264pay config-interval=-1` sends them
// (h264-webrtc.md §2, §5.2; RFC 6184 packetization-mode 1): Annex-B access units are split into
// NAL units, each goes out as a single-NAL-unit packet or, when larger than the payload budget, as
// FU-A fragments (§5.8); the latest SPS and PPS are repeated in front of *every* IDR slice, so a
// two-slice IDR carries them twice; the marker bit ends the access unit. No STAP-A aggregation.
// Owns the payload layout only; RTP headers are rtp-writer.ts's.
import { NAL_TYPE_FU_A, NAL_TYPE_IDR_SLICE, NAL_TYPE_PPS, NAL_TYPE_SPS, isSliceNal, nalType } from '../../media/rtp/h264-nal.ts';

/**
 * Largest RTP payload: a 1200-byte packet (rtph264pay `mtu` as webrtcsink sets it, and libwebrtc's
 * default) minus the 12-byte RTP header; safely under any path MTU once SRTP and UDP/IP are added.
 */
export const H264_MAX_RTP_PAYLOAD = 1200 - 12;
/** FU indicator + FU header (RFC 6184 §5.8). */
const FU_A_HEADER_BYTES = 2;
const FU_START = 0x80;
const FU_END = 0x40;

/** NAL units of an Annex-B byte stream (3- or 4-byte start codes), without the start codes. */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  const starts: { at: number; codeBytes: number }[] = [];
  for (let i = 0; i + 2 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0) {
      if (stream[i + 2] === 1) {
        starts.push({ at: i, codeBytes: 3 });
        i += 2;
      } else if (stream[i + 2] === 0 && stream[i + 3] === 1) {
        starts.push({ at: i, codeBytes: 4 });
        i += 3;
      }
    }
  }
  const nals: Uint8Array[] = [];
  for (let k = 0; k < starts.length; k++) {
    const start = starts[k];
    if (!start) continue;
    let end = starts[k + 1]?.at ?? stream.length;
    // Trailing zero bytes belong to the next start code's zero_byte or are trailing_zero_8bits.
    while (end > start.at + start.codeBytes && stream[end - 1] === 0) end--;
    if (end > start.at + start.codeBytes) nals.push(stream.subarray(start.at + start.codeBytes, end));
  }
  return nals;
}

function fragment(nal: Uint8Array, maxPayload: number): Uint8Array[] {
  const header = nal[0] ?? 0;
  const indicator = (header & 0xe0) | NAL_TYPE_FU_A;
  const type = nalType(header);
  const chunk = maxPayload - FU_A_HEADER_BYTES;
  const payloads: Uint8Array[] = [];
  for (let offset = 1; offset < nal.length; offset += chunk) {
    const end = Math.min(offset + chunk, nal.length);
    const payload = new Uint8Array(FU_A_HEADER_BYTES + end - offset);
    payload[0] = indicator;
    payload[1] = (offset === 1 ? FU_START : 0) | (end === nal.length ? FU_END : 0) | type;
    payload.set(nal.subarray(offset, end), FU_A_HEADER_BYTES);
    payloads.push(payload);
  }
  return payloads;
}

/** Stateful across access units: remembers the stream's latest SPS/PPS to repeat them. */
export class H264RtpPacketizer {
  readonly maxPayload: number;
  #sps: Uint8Array | null = null;
  #pps: Uint8Array | null = null;

  constructor(maxPayload: number = H264_MAX_RTP_PAYLOAD) {
    if (!Number.isInteger(maxPayload) || maxPayload < 16) throw new RangeError(`max RTP payload must be an integer ≥ 16, got ${maxPayload}`);
    this.maxPayload = maxPayload;
  }

  /** The RTP payloads of one access unit, in order; the last one takes the marker bit. */
  payloads(accessUnit: Uint8Array): Uint8Array[] {
    const out: NalOut = { nals: [], sinceSlice: new Set() };
    for (const nal of splitAnnexB(accessUnit)) {
      const type = nalType(nal[0] ?? 0);
      if (type === NAL_TYPE_SPS) this.#sps = nal;
      else if (type === NAL_TYPE_PPS) this.#pps = nal;
      if (type === NAL_TYPE_IDR_SLICE && this.#sps && this.#pps) {
        // config-interval=-1: SPS and PPS in front of every IDR slice, unless they are already there.
        if (!out.sinceSlice.has(NAL_TYPE_SPS)) emit(out, this.#sps);
        if (!out.sinceSlice.has(NAL_TYPE_PPS)) emit(out, this.#pps);
      }
      emit(out, nal);
    }
    const payloads: Uint8Array[] = [];
    for (const nal of out.nals) {
      if (nal.length <= this.maxPayload) payloads.push(nal);
      else payloads.push(...fragment(nal, this.maxPayload));
    }
    return payloads;
  }
}

interface NalOut {
  readonly nals: Uint8Array[];
  /** NAL types emitted since the last slice. */
  readonly sinceSlice: Set<number>;
}

function emit(out: NalOut, nal: Uint8Array): void {
  const type = nalType(nal[0] ?? 0);
  out.nals.push(nal);
  if (isSliceNal(type)) out.sinceSlice.clear();
  else out.sinceSlice.add(type);
}
