// RFC 7741 §4.2 VP8 payload descriptor parsing for one RTP payload: X, N, S, PartID and the
// extension fields (PictureID in its 7- or 15-bit form, TL0PICIDX, TID/Y, KEYIDX). Owns only the
// descriptor; frame reassembly and key-frame detection are vp8-frame.ts. Reserved bits are
// ignored as the RFC requires of receivers; truncated input yields a reason, never a throw.

const X_BIT = 0x80;
const N_BIT = 0x20;
const S_BIT = 0x10;
const PART_ID_MASK = 0x07;
const I_BIT = 0x80;
const L_BIT = 0x40;
const T_BIT = 0x20;
const K_BIT = 0x10;
/** M bit of the first PictureID byte: the PictureID is 15 bits long (§4.2). */
const PICTURE_ID_LONG_BIT = 0x80;

export type Vp8DescriptorRejectReason = 'vp8-empty-payload' | 'vp8-descriptor-truncated' | 'vp8-no-data';

export interface Vp8PayloadDescriptor {
  /** N: the frame can be discarded without affecting later frames. */
  readonly nonReference: boolean;
  /** S: this packet starts a VP8 partition. */
  readonly start: boolean;
  readonly partitionId: number;
  readonly pictureId: number | undefined;
  readonly pictureIdBits: 7 | 15 | undefined;
  readonly tl0PicIdx: number | undefined;
  readonly temporalLayer: number | undefined;
  /** Y: layer sync bit (present with TID). */
  readonly layerSync: boolean | undefined;
  readonly keyIndex: number | undefined;
  /** The VP8 payload after the descriptor (a view, never empty). */
  readonly data: Uint8Array;
}

export type Vp8DescriptorResult =
  | { readonly ok: true; readonly descriptor: Vp8PayloadDescriptor }
  | { readonly ok: false; readonly reason: Vp8DescriptorRejectReason };

function reject(reason: Vp8DescriptorRejectReason): Vp8DescriptorResult {
  return { ok: false, reason };
}

export function parseVp8PayloadDescriptor(payload: Uint8Array): Vp8DescriptorResult {
  const first = payload[0];
  if (first === undefined) return reject('vp8-empty-payload');
  let offset = 1;
  let pictureId: number | undefined;
  let pictureIdBits: 7 | 15 | undefined;
  let tl0PicIdx: number | undefined;
  let temporalLayer: number | undefined;
  let layerSync: boolean | undefined;
  let keyIndex: number | undefined;
  if ((first & X_BIT) !== 0) {
    const ext = payload[offset++];
    if (ext === undefined) return reject('vp8-descriptor-truncated');
    if ((ext & I_BIT) !== 0) {
      const high = payload[offset++];
      if (high === undefined) return reject('vp8-descriptor-truncated');
      if ((high & PICTURE_ID_LONG_BIT) !== 0) {
        const low = payload[offset++];
        if (low === undefined) return reject('vp8-descriptor-truncated');
        pictureId = ((high & 0x7f) << 8) | low;
        pictureIdBits = 15;
      } else {
        pictureId = high;
        pictureIdBits = 7;
      }
    }
    if ((ext & L_BIT) !== 0) {
      tl0PicIdx = payload[offset++];
      if (tl0PicIdx === undefined) return reject('vp8-descriptor-truncated');
    }
    if ((ext & (T_BIT | K_BIT)) !== 0) {
      const tk = payload[offset++];
      if (tk === undefined) return reject('vp8-descriptor-truncated');
      if ((ext & T_BIT) !== 0) {
        temporalLayer = tk >> 6;
        layerSync = (tk & 0x20) !== 0;
      }
      if ((ext & K_BIT) !== 0) keyIndex = tk & 0x1f;
    }
  }
  if (offset >= payload.length) return reject('vp8-no-data');
  return {
    ok: true,
    descriptor: {
      nonReference: (first & N_BIT) !== 0,
      start: (first & S_BIT) !== 0,
      partitionId: first & PART_ID_MASK,
      pictureId,
      pictureIdBits,
      tl0PicIdx,
      temporalLayer,
      layerSync,
      keyIndex,
      data: payload.subarray(offset),
    },
  };
}
