// Builds one VP8 frame per RTP timestamp from RFC 7741 payloads (§4.4: the frame is the
// concatenation of the payloads after their descriptors, starting at the packet with S=1 and
// PartID 0) and tells key frames apart (§4.3: P bit 0 in the first payload header byte, checked
// against the key-frame start code of RFC 6386 §9.1). Owns only that; ordering, loss, gating and
// the GOP are rtp-video-receiver.ts.

import type { AssembledFrame, FrameAssembler, FrameNotAssembled } from './frame-assembler.ts';
import { parseVp8PayloadDescriptor, type Vp8DescriptorRejectReason } from './vp8-payload-descriptor.ts';

/** P bit of the first payload header byte: 0 means key frame (inverse key frame flag, §4.3). */
const INVERSE_KEY_FRAME_BIT = 0x01;
/** Key frames carry 3 header bytes, the start code and 2×2 bytes of size (RFC 6386 §9.1). */
const KEY_FRAME_HEADER_BYTES = 10;
const KEY_FRAME_START_CODE = [0x9d, 0x01, 0x2a] as const;
const KEY_FRAME_START_CODE_OFFSET = 3;

export type Vp8RejectReason =
  | Vp8DescriptorRejectReason
  /** P bit says key frame but the start code or the size bytes are missing. */
  | 'vp8-bad-keyframe-header'
  /** A second "S=1, PartID 0" packet within the same timestamp. */
  | 'vp8-duplicate-frame-start';

export type Vp8FrameDropReason =
  /** The first packet of the frame was never seen (joined mid-frame). */
  'vp8-incomplete';

function isKeyFrameHeaderValid(data: Uint8Array): boolean {
  if (data.length < KEY_FRAME_HEADER_BYTES) return false;
  return KEY_FRAME_START_CODE.every((byte, i) => data[KEY_FRAME_START_CODE_OFFSET + i] === byte);
}

export class Vp8FrameAssembler implements FrameAssembler<Vp8RejectReason, Vp8FrameDropReason> {
  #parts: Uint8Array[] = [];
  #bytes = 0;
  #keyframe = false;
  #incomplete = false;

  begin(): void {
    this.#parts = [];
    this.#bytes = 0;
    this.#keyframe = false;
    this.#incomplete = false;
  }

  add(payload: Uint8Array): Vp8RejectReason | undefined {
    const parsed = parseVp8PayloadDescriptor(payload);
    if (!parsed.ok) return parsed.reason;
    const { start, partitionId, data } = parsed.descriptor;
    if (this.#incomplete) return undefined;
    const frameStart = start && partitionId === 0;
    if (this.#parts.length === 0) {
      if (!frameStart) {
        this.#incomplete = true;
        return undefined;
      }
      const keyframe = ((data[0] ?? INVERSE_KEY_FRAME_BIT) & INVERSE_KEY_FRAME_BIT) === 0;
      if (keyframe && !isKeyFrameHeaderValid(data)) return 'vp8-bad-keyframe-header';
      this.#keyframe = keyframe;
    } else if (frameStart) {
      return 'vp8-duplicate-frame-start';
    }
    this.#parts.push(data);
    this.#bytes += data.length;
    return undefined;
  }

  finish(): AssembledFrame | FrameNotAssembled<Vp8FrameDropReason> {
    if (this.#incomplete || this.#parts.length === 0) return { ok: false, reason: 'vp8-incomplete', broken: true };
    const out = new Uint8Array(this.#bytes);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return { ok: true, data: out, keyframe: this.#keyframe };
  }
}
