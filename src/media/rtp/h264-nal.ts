// H.264 NAL unit header facts the depacketizer needs (H.264 §7.3.1, §7.4.1.2, Table 7-1;
// RFC 6184 §5.3): the type numbers, which types are slices, and whether a slice is the first one
// of an IDR picture (first_mb_in_slice, §7.3.3, read past emulation-prevention bytes). Owns no
// state; RTP payload formats are in h264-payload.ts, access units in h264-access-unit.ts.

import { RbspBitReader } from './h264-rbsp-reader.ts';

export const NAL_TYPE_NON_IDR_SLICE = 1;
export const NAL_TYPE_IDR_SLICE = 5;
export const NAL_TYPE_SPS = 7;
export const NAL_TYPE_PPS = 8;
export const NAL_TYPE_AUD = 9;
/** Types 1–23 are H.264 NAL units; 24–29 are RFC 6184 packetization units; 0, 30, 31 are undefined. */
export const NAL_TYPE_MAX_SINGLE = 23;
export const NAL_TYPE_STAP_A = 24;
export const NAL_TYPE_FU_A = 28;

export const NAL_FORBIDDEN_BIT = 0x80;
export const NAL_TYPE_MASK = 0x1f;

export function nalType(header: number): number {
  return header & NAL_TYPE_MASK;
}

/** Coded slice types (non-IDR, data partitions A–C, IDR): the VCL NAL units of Table 7-1. */
export function isSliceNal(type: number): boolean {
  return type >= NAL_TYPE_NON_IDR_SLICE && type <= NAL_TYPE_IDR_SLICE;
}

export function isParameterSetNal(type: number): boolean {
  return type === NAL_TYPE_SPS || type === NAL_TYPE_PPS;
}

/** first_mb_in_slice of a slice NAL unit (header byte included), or undefined when truncated. */
export function firstMbInSlice(nal: Uint8Array): number | undefined {
  return new RbspBitReader(nal, 1).readUe();
}

/** An IDR slice that starts the picture: decoding can begin at its access unit. */
export function isIdrPictureStart(nal: Uint8Array): boolean {
  const header = nal[0];
  return header !== undefined && nalType(header) === NAL_TYPE_IDR_SLICE && firstMbInSlice(nal) === 0;
}
