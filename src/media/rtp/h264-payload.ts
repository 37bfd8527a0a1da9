// RFC 6184 RTP payload parsing for one packet, packetization-mode 1 (non-interleaved), which is
// what WebRTC and GStreamer's rtph264pay send: single NAL unit packets (§5.6), STAP-A (§5.7.1)
// and FU-A (§5.8). Owns only "what does this one payload contain"; reassembling FU-A runs and
// grouping NAL units into access units is h264-access-unit.ts. Interleaved-mode units (STAP-B,
// MTAP, FU-B) and undefined types are rejected; hostile input yields a reason, never a throw.

import {
  NAL_FORBIDDEN_BIT,
  NAL_TYPE_FU_A,
  NAL_TYPE_MAX_SINGLE,
  NAL_TYPE_STAP_A,
  nalType,
} from './h264-nal.ts';

/** STAP-A: 1-byte header, then 16-bit size + NAL unit, repeated (RFC 6184 §5.7.1). */
const STAP_A_SIZE_BYTES = 2;
/** FU indicator + FU header (RFC 6184 §5.8). */
const FU_A_HEADER_BYTES = 2;
const FU_START_BIT = 0x80;
const FU_END_BIT = 0x40;
const NAL_F_NRI_MASK = 0xe0;

export type H264PayloadRejectReason =
  | 'h264-empty-payload'
  | 'h264-forbidden-bit'
  | 'h264-unsupported-nal-type'
  | 'h264-stap-a-truncated'
  | 'h264-stap-a-empty-unit'
  | 'h264-stap-a-nested'
  | 'h264-fu-a-truncated'
  | 'h264-fu-a-start-and-end'
  | 'h264-fu-a-bad-type';

export type H264Payload =
  /** Complete NAL units (views into the payload), from a single NAL unit packet or a STAP-A. */
  | { readonly kind: 'nal-units'; readonly units: readonly Uint8Array[] }
  /** One FU-A fragment; `nalHeader` is the reconstructed header of the fragmented NAL unit. */
  | {
      readonly kind: 'fragment';
      readonly nalHeader: number;
      readonly start: boolean;
      readonly end: boolean;
      readonly data: Uint8Array;
    };

export type H264PayloadResult =
  | { readonly ok: true; readonly payload: H264Payload }
  | { readonly ok: false; readonly reason: H264PayloadRejectReason };

function reject(reason: H264PayloadRejectReason): H264PayloadResult {
  return { ok: false, reason };
}

/** A NAL unit type a sender may put in a single packet, a STAP-A unit or an FU-A (1–23). */
function isSingleNalType(type: number): boolean {
  return type >= 1 && type <= NAL_TYPE_MAX_SINGLE;
}

export function parseH264Payload(payload: Uint8Array): H264PayloadResult {
  const header = payload[0];
  if (header === undefined) return reject('h264-empty-payload');
  if ((header & NAL_FORBIDDEN_BIT) !== 0) return reject('h264-forbidden-bit');
  const type = nalType(header);
  if (isSingleNalType(type)) return { ok: true, payload: { kind: 'nal-units', units: [payload] } };
  if (type === NAL_TYPE_STAP_A) return parseStapA(payload);
  if (type === NAL_TYPE_FU_A) return parseFuA(payload, header);
  return reject('h264-unsupported-nal-type');
}

function parseStapA(payload: Uint8Array): H264PayloadResult {
  const units: Uint8Array[] = [];
  let offset = 1;
  while (offset < payload.length) {
    if (offset + STAP_A_SIZE_BYTES > payload.length) return reject('h264-stap-a-truncated');
    const size = ((payload[offset] ?? 0) << 8) | (payload[offset + 1] ?? 0);
    offset += STAP_A_SIZE_BYTES;
    if (size === 0) return reject('h264-stap-a-empty-unit');
    if (offset + size > payload.length) return reject('h264-stap-a-truncated');
    const unit = payload.subarray(offset, offset + size);
    const unitHeader = unit[0] ?? 0;
    if ((unitHeader & NAL_FORBIDDEN_BIT) !== 0) return reject('h264-forbidden-bit');
    if (!isSingleNalType(nalType(unitHeader))) return reject('h264-stap-a-nested');
    units.push(unit);
    offset += size;
  }
  if (units.length === 0) return reject('h264-stap-a-truncated');
  return { ok: true, payload: { kind: 'nal-units', units } };
}

function parseFuA(payload: Uint8Array, indicator: number): H264PayloadResult {
  if (payload.length < FU_A_HEADER_BYTES) return reject('h264-fu-a-truncated');
  const fuHeader = payload[1] ?? 0;
  const start = (fuHeader & FU_START_BIT) !== 0;
  const end = (fuHeader & FU_END_BIT) !== 0;
  // "The Start bit and End bit MUST NOT both be set to one in the same FU header" (§5.8).
  if (start && end) return reject('h264-fu-a-start-and-end');
  const type = nalType(fuHeader);
  if (!isSingleNalType(type)) return reject('h264-fu-a-bad-type');
  return {
    ok: true,
    payload: {
      kind: 'fragment',
      nalHeader: (indicator & NAL_F_NRI_MASK) | type,
      start,
      end,
      data: payload.subarray(FU_A_HEADER_BYTES),
    },
  };
}
