// A small sender for the depacketizer tests, written from the RFCs independently of src/media/rtp:
// RTP headers (RFC 3550 §5.1), H.264 NAL units with Exp-Golomb slice headers and emulation
// prevention (H.264 §7.4.1, §9.1), RFC 6184 single NAL / STAP-A / FU-A packets and RFC 7741 VP8
// payload descriptors. Test code only.

export interface RtpFields {
  readonly sequence: number;
  readonly timestamp: number;
  readonly marker?: boolean;
  readonly payloadType?: number;
  readonly ssrc?: number;
  readonly csrcs?: readonly number[];
  /** Profile id and 32-bit words of the header extension. */
  readonly extension?: { readonly profile: number; readonly words: readonly number[] };
  /** Padding bytes to add (the last one holds the count). */
  readonly padding?: number;
}

export const TEST_SSRC = 0x11223344;
export const TEST_PT = 96;

export function rtp(fields: RtpFields, payload: Uint8Array): Uint8Array {
  const csrcs = fields.csrcs ?? [];
  const extWords = fields.extension?.words ?? [];
  const padding = fields.padding ?? 0;
  const headerLength = 12 + 4 * csrcs.length + (fields.extension ? 4 + 4 * extWords.length : 0);
  const out = new Uint8Array(headerLength + payload.length + padding);
  const view = new DataView(out.buffer);
  out[0] = 0x80 | (padding > 0 ? 0x20 : 0) | (fields.extension ? 0x10 : 0) | csrcs.length;
  out[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType ?? TEST_PT);
  view.setUint16(2, fields.sequence & 0xffff);
  view.setUint32(4, fields.timestamp >>> 0);
  view.setUint32(8, fields.ssrc ?? TEST_SSRC);
  let offset = 12;
  for (const csrc of csrcs) {
    view.setUint32(offset, csrc);
    offset += 4;
  }
  if (fields.extension) {
    view.setUint16(offset, fields.extension.profile);
    view.setUint16(offset + 2, extWords.length);
    offset += 4;
    for (const word of extWords) {
      view.setUint32(offset, word);
      offset += 4;
    }
  }
  out.set(payload, offset);
  if (padding > 0) out[out.length - 1] = padding;
  return out;
}

// ---- H.264 bitstream -------------------------------------------------------------------------

export class BitWriter {
  readonly #bits: number[] = [];

  bit(b: number): this {
    this.#bits.push(b & 1);
    return this;
  }

  bits(value: number, count: number): this {
    for (let i = count - 1; i >= 0; i--) this.bit(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  /** Exp-Golomb ue(v): (leading zeros) 1 (suffix), codeNum + 1 written in binary. */
  ue(value: number): this {
    const codePlusOne = value + 1;
    let length = 0;
    while (2 ** (length + 1) <= codePlusOne) length++;
    for (let i = 0; i < length; i++) this.bit(0);
    return this.bits(codePlusOne, length + 1);
  }

  /** rbsp_trailing_bits: a 1 then zeros to the byte boundary. */
  bytes(): Uint8Array {
    const bits = [...this.#bits, 1];
    while (bits.length % 8 !== 0) bits.push(0);
    const out = new Uint8Array(bits.length / 8);
    bits.forEach((b, i) => {
      out[i >> 3]! |= b << (7 - (i & 7));
    });
    return out;
  }
}

/** Inserts emulation-prevention bytes: 00 00 0x (x ≤ 3) becomes 00 00 03 0x. */
export function escapeRbsp(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** Deterministic filler so every test sees the same bytes. */
export function filler(length: number, seed: number): number[] {
  const out: number[] = [];
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(x & 0xff);
  }
  return out;
}

export function nal(header: number, rbsp: Uint8Array): Uint8Array {
  return Uint8Array.from([header, ...escapeRbsp(rbsp)]);
}

/** Synthetic SPS (profile 66 constrained baseline, level 31, sps id 0). */
export function sps(variant = 0): Uint8Array {
  const w = new BitWriter().bits(66, 8).bits(0xc0, 8).bits(31, 8).ue(0).ue(variant).ue(0);
  return nal(0x67, w.bytes());
}

export function pps(): Uint8Array {
  return nal(0x68, new BitWriter().ue(0).ue(0).bit(0).bit(0).ue(0).bytes());
}

/** A slice: first_mb_in_slice, slice_type, pic_parameter_set_id, then `bodyBytes` of filler. */
function slice(header: number, firstMb: number, sliceType: number, bodyBytes: number, seed: number): Uint8Array {
  const w = new BitWriter().ue(firstMb).ue(sliceType).ue(0);
  for (const byte of filler(bodyBytes, seed)) w.bits(byte, 8);
  return nal(header, w.bytes());
}

export function idrSlice(firstMb: number, bodyBytes = 40, seed = 1): Uint8Array {
  return slice(0x65, firstMb, 7, bodyBytes, seed);
}

export function nonIdrSlice(firstMb: number, bodyBytes = 40, seed = 2): Uint8Array {
  return slice(0x41, firstMb, 5, bodyBytes, seed);
}

export function annexB(nals: readonly Uint8Array[]): Uint8Array {
  const out: number[] = [];
  for (const n of nals) out.push(0, 0, 0, 1, ...n);
  return Uint8Array.from(out);
}

// ---- RFC 6184 packetization ------------------------------------------------------------------

export function stapA(nals: readonly Uint8Array[]): Uint8Array {
  const nri = Math.max(...nals.map((n) => n[0]! & 0x60));
  const out: number[] = [nri | 24];
  for (const n of nals) out.push(n.length >> 8, n.length & 0xff, ...n);
  return Uint8Array.from(out);
}

/** FU-A fragments of one NAL unit, each carrying at most `chunk` bytes of the NAL payload. */
export function fuA(unit: Uint8Array, chunk: number): Uint8Array[] {
  const header = unit[0]!;
  const body = unit.subarray(1);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < body.length; offset += chunk) {
    const start = offset === 0;
    const end = offset + chunk >= body.length;
    const fuHeader = (start ? 0x80 : 0) | (end ? 0x40 : 0) | (header & 0x1f);
    out.push(Uint8Array.from([(header & 0xe0) | 28, fuHeader, ...body.subarray(offset, offset + chunk)]));
  }
  return out;
}

export type H264Mode = 'single' | 'stap-a' | 'fu-a';

/**
 * Payloads for one access unit: NAL units that fit `mtu` go alone ('single') or are aggregated
 * ('stap-a'); bigger ones are fragmented. 'fu-a' fragments every NAL unit longer than `mtu`.
 */
export function packetizeH264(nals: readonly Uint8Array[], mode: H264Mode, mtu = 1200): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  const flush = (): void => {
    if (pending.length === 1) out.push(pending[0]!);
    else if (pending.length > 1) out.push(stapA(pending));
    pending = [];
  };
  for (const n of nals) {
    if (n.length > mtu) {
      flush();
      out.push(...fuA(n, mtu - 2));
    } else if (mode === 'stap-a') {
      const size = 1 + [...pending, n].reduce((sum, p) => sum + 2 + p.length, 0);
      if (size > mtu) flush();
      pending.push(n);
    } else {
      out.push(n);
    }
  }
  flush();
  return out;
}

/** RTP packets of one frame, consecutive sequence numbers from `sequence`, marker on the last. */
export function framePackets(payloads: readonly Uint8Array[], sequence: number, timestamp: number, fields: Partial<RtpFields> = {}): Uint8Array[] {
  return payloads.map((payload, i) =>
    rtp({ ...fields, sequence: (sequence + i) & 0xffff, timestamp, marker: i === payloads.length - 1 }, payload),
  );
}

// ---- RFC 7741 VP8 ----------------------------------------------------------------------------

export interface Vp8DescriptorFields {
  readonly start: boolean;
  readonly partitionId?: number;
  readonly nonReference?: boolean;
  readonly pictureId?: { readonly value: number; readonly bits: 7 | 15 };
  readonly tl0PicIdx?: number;
  readonly temporal?: { readonly tid: number; readonly y: boolean };
  readonly keyIndex?: number;
}

export function vp8Descriptor(f: Vp8DescriptorFields): number[] {
  const extended = f.pictureId !== undefined || f.tl0PicIdx !== undefined || f.temporal !== undefined || f.keyIndex !== undefined;
  const out = [(extended ? 0x80 : 0) | (f.nonReference ? 0x20 : 0) | (f.start ? 0x10 : 0) | (f.partitionId ?? 0)];
  if (!extended) return out;
  out.push(
    (f.pictureId ? 0x80 : 0) | (f.tl0PicIdx !== undefined ? 0x40 : 0) | (f.temporal ? 0x20 : 0) | (f.keyIndex !== undefined ? 0x10 : 0),
  );
  if (f.pictureId?.bits === 7) out.push(f.pictureId.value & 0x7f);
  if (f.pictureId?.bits === 15) out.push(0x80 | ((f.pictureId.value >> 8) & 0x7f), f.pictureId.value & 0xff);
  if (f.tl0PicIdx !== undefined) out.push(f.tl0PicIdx);
  if (f.temporal || f.keyIndex !== undefined) {
    out.push(((f.temporal?.tid ?? 0) << 6) | (f.temporal?.y ? 0x20 : 0) | ((f.keyIndex ?? 0) & 0x1f));
  }
  return out;
}

/** A synthetic VP8 frame: 3-byte frame tag (P bit 0 for key frames), start code and size for key frames. */
export function vp8FrameBytes(keyframe: boolean, length: number, seed = 3): Uint8Array {
  const tag = [keyframe ? 0x10 : 0x11, 0x02, 0x00];
  const head = keyframe ? [...tag, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01] : tag;
  return Uint8Array.from([...head, ...filler(Math.max(0, length - head.length), seed)]);
}

/** RFC 7741 payloads of one frame, one partition, `chunk` bytes of frame data per packet. */
export function packetizeVp8(frame: Uint8Array, chunk: number, descriptor: Omit<Vp8DescriptorFields, 'start'> = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < frame.length; offset += chunk) {
    out.push(Uint8Array.from([...vp8Descriptor({ ...descriptor, start: offset === 0 }), ...frame.subarray(offset, offset + chunk)]));
  }
  return out;
}
