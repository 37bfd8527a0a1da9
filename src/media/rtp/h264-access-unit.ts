// Builds one H.264 access unit per RTP timestamp from RFC 6184 payloads: FU-A reassembly (§5.8),
// the stream clean-ups of h264-webrtc.md §5.2 (SPS/PPS after the first slice are dropped, because
// rtph264pay config-interval=-1 repeats them before every IDR slice) and keyframe detection
// (§5.1 item 3: an IDR slice with first_mb_in_slice 0). Output is Annex-B with 4-byte start codes.
// Owns the latest SPS/PPS, re-inserted before an IDR that arrives without them. It does not
// order packets, handle loss or gate on keyframes (rtp-video-receiver.ts does).

import type { AssembledFrame, FrameAssembler, FrameNotAssembled } from './frame-assembler.ts';
import {
  NAL_TYPE_SPS,
  isIdrPictureStart,
  isParameterSetNal,
  isSliceNal,
  nalType,
} from './h264-nal.ts';
import { parseH264Payload, type H264PayloadRejectReason } from './h264-payload.ts';

/** Annex-B start code put before every NAL unit (H.264 Annex B.1; the 4-byte form is always valid). */
export const ANNEX_B_START_CODE: Uint8Array = Uint8Array.of(0, 0, 0, 1);

export type H264RejectReason =
  | H264PayloadRejectReason
  /** A new FU-A run or a whole NAL unit arrived before the open run's end fragment. */
  | 'h264-fu-a-unterminated'
  /** A continuation fragment names another NAL unit type than its run's start fragment. */
  | 'h264-fu-a-type-mismatch';

export type H264FrameDropReason =
  /** An FU-A run lacks its start (joined mid-NAL) or its end. */
  | 'h264-incomplete'
  /** Only non-VCL units (e.g. parameter sets sent on their own timestamp): nothing to decode. */
  | 'h264-no-slice'
  /** An IDR without SPS/PPS, and none seen before: a decoder could not start from it. */
  | 'h264-missing-parameter-sets';

interface OpenFragment {
  readonly header: number;
  readonly chunks: Uint8Array[];
  bytes: number;
}

function annexB(nals: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const nal of nals) total += ANNEX_B_START_CODE.length + nal.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const nal of nals) {
    out.set(ANNEX_B_START_CODE, offset);
    offset += ANNEX_B_START_CODE.length;
    out.set(nal, offset);
    offset += nal.length;
  }
  return out;
}

function joinFragment(fragment: OpenFragment): Uint8Array {
  const nal = new Uint8Array(1 + fragment.bytes);
  nal[0] = fragment.header;
  let offset = 1;
  for (const chunk of fragment.chunks) {
    nal.set(chunk, offset);
    offset += chunk.length;
  }
  return nal;
}

export class H264AccessUnitAssembler implements FrameAssembler<H264RejectReason, H264FrameDropReason> {
  #nals: Uint8Array[] = [];
  #fragment: OpenFragment | undefined;
  #incomplete = false;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;

  begin(): void {
    this.#nals = [];
    this.#fragment = undefined;
    this.#incomplete = false;
  }

  add(payload: Uint8Array): H264RejectReason | undefined {
    const parsed = parseH264Payload(payload);
    if (!parsed.ok) return parsed.reason;
    const unit = parsed.payload;
    if (unit.kind === 'nal-units') {
      if (this.#fragment !== undefined) return 'h264-fu-a-unterminated';
      this.#nals.push(...unit.units);
      return undefined;
    }
    if (unit.start) {
      if (this.#fragment !== undefined) return 'h264-fu-a-unterminated';
      this.#fragment = { header: unit.nalHeader, chunks: [unit.data], bytes: unit.data.length };
      return undefined;
    }
    const fragment = this.#fragment;
    if (fragment === undefined) {
      // The run's start fragment was never seen (joined mid-NAL): this access unit cannot be used.
      this.#incomplete = true;
      return undefined;
    }
    if (nalType(fragment.header) !== nalType(unit.nalHeader)) return 'h264-fu-a-type-mismatch';
    fragment.chunks.push(unit.data);
    fragment.bytes += unit.data.length;
    if (unit.end) {
      this.#nals.push(joinFragment(fragment));
      this.#fragment = undefined;
    }
    return undefined;
  }

  finish(): AssembledFrame | FrameNotAssembled<H264FrameDropReason> {
    if (this.#incomplete || this.#fragment !== undefined) return { ok: false, reason: 'h264-incomplete', broken: true };
    const kept: Uint8Array[] = [];
    let firstSlice = -1;
    let keyframe = false;
    let hasSps = false;
    let hasPps = false;
    for (const nal of this.#nals) {
      const type = nalType(nal[0] ?? 0);
      if (isParameterSetNal(type)) {
        // §5.2: a parameter set after a slice would start a new access unit for strict decoders.
        if (firstSlice >= 0) continue;
        if (type === NAL_TYPE_SPS) {
          hasSps = true;
          this.#sps = nal.slice();
        } else {
          hasPps = true;
          this.#pps = nal.slice();
        }
      }
      if (isSliceNal(type)) {
        if (firstSlice < 0) firstSlice = kept.length;
        if (!keyframe && isIdrPictureStart(nal)) keyframe = true;
      }
      kept.push(nal);
    }
    if (firstSlice < 0) return { ok: false, reason: 'h264-no-slice', broken: false };
    if (keyframe && !(hasSps && hasPps)) {
      const missing: Uint8Array[] = [];
      if (!hasSps && this.#sps !== undefined) missing.push(this.#sps);
      if (!hasPps && this.#pps !== undefined) missing.push(this.#pps);
      const needed = (hasSps ? 0 : 1) + (hasPps ? 0 : 1);
      if (missing.length < needed) return { ok: false, reason: 'h264-missing-parameter-sets', broken: true };
      kept.splice(firstSlice, 0, ...missing);
    }
    return { ok: true, data: annexB(kept), keyframe };
  }
}

