// Planar I420 (YUV 4:2:0, what H.264 decoders hand out) → interleaved 8-bit RGB with fixed-point
// lookup tables, at full size and box-shrunk to half and quarter: in WebAssembly SIMD (i420-simd.ts)
// when the sides allow, else in plain JS, the same bytes either way. Owns the plane layout
// and the colour matrix; does not own validation of untrusted input (the frame encoder checks lengths
// first) nor any decoding of compressed video. Spec: reference-driver.md §5.1 (the encoder takes
// interleaved RGB), h264-webrtc.md §3.1 (libyuv-style BT.601 limited range is what WebRTC assumes).
import { convertSimd, type FixedCoefficients } from './i420-simd.ts';

/** Studio-swing ("limited range") matrices; H.264 from cameras is limited range unless flagged. */
export type YuvMatrix = 'bt601' | 'bt709';

/**
 * Default matrix: BT.601, the one libyuv's I420ToARGB (and so most WebRTC stacks) uses when the
 * stream carries no colour description; pass 'bt709' when the decoder reports it.
 */
export const DEFAULT_YUV_MATRIX: YuvMatrix = 'bt601';

/** Fixed-point scale of the lookup tables: 2^10 keeps every product in int32 and the error < 1 LSB. */
const FIXED_SHIFT = 10;
const FIXED_ONE = 1 << FIXED_SHIFT;
const FIXED_HALF = FIXED_ONE >> 1;
/**
 * Extra bits of the integer coefficients each table entry is computed from, (k · x + 2^11) >> 12
 * with k = round(c · 2^(10+12)): the arithmetic the SIMD loops do in i32 lanes, so the tables and
 * those loops agree by construction. 12 is the most that keeps k · x in int32 (2.112 · 2^22 · 128
 * < 2^31); each entry is within one 1/1024 step of the coefficient's exact product.
 */
const COEFFICIENT_SHIFT = 12;

/** Coefficients of R = Ys + rv·V', G = Ys − gu·U' − gv·V', B = Ys + bu·U' for limited-range input. */
const COEFFICIENTS: Readonly<Record<YuvMatrix, { readonly rv: number; readonly gu: number; readonly gv: number; readonly bu: number }>> = {
  bt601: { rv: 1.596, gu: 0.392, gv: 0.813, bu: 2.017 },
  bt709: { rv: 1.793, gu: 0.213, gv: 0.533, bu: 2.112 },
};
/** Luma scale of limited range: 255 / (235 − 16). */
const Y_SCALE = 255 / 219;

interface Tables {
  readonly y: Int32Array;
  readonly rv: Int32Array;
  readonly gu: Int32Array;
  readonly gv: Int32Array;
  readonly bu: Int32Array;
  /** Luma of a 2×2 block indexed by the sum of its four samples (0..1020), the rounding folded in. */
  readonly ySum: Int32Array;
  /** Luma of a 4×4 block indexed by the sum of its sixteen samples (0..4080), the rounding folded in. */
  readonly ySum16: Int32Array;
}

const tableCache = new Map<YuvMatrix, Tables>();
const coefficientCache = new Map<YuvMatrix, FixedCoefficients>();

/** The integer coefficients of `matrix` (luma, then the four chroma terms), scaled by 2^(10+12). */
export function fixedCoefficients(matrix: YuvMatrix): FixedCoefficients {
  const cached = coefficientCache.get(matrix);
  if (cached) return cached;
  const c = COEFFICIENTS[matrix];
  const scale = FIXED_ONE * 2 ** COEFFICIENT_SHIFT;
  const k = { y: Math.round(Y_SCALE * scale), rv: Math.round(c.rv * scale), gu: Math.round(c.gu * scale), gv: Math.round(c.gv * scale), bu: Math.round(c.bu * scale) };
  coefficientCache.set(matrix, k);
  return k;
}

/** One table entry: (k · x + 2^11) >> 12, exact in int32 for |x| ≤ 239 (the luma offset's range). */
function entry(k: number, x: number): number {
  return (k * x + (1 << (COEFFICIENT_SHIFT - 1))) >> COEFFICIENT_SHIFT;
}

function tablesFor(matrix: YuvMatrix): Tables {
  const cached = tableCache.get(matrix);
  if (cached) return cached;
  const k = fixedCoefficients(matrix);
  const y = new Int32Array(256);
  const rv = new Int32Array(256);
  const gu = new Int32Array(256);
  const gv = new Int32Array(256);
  const bu = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    // The rounding half is folded into the luma table so the inner loop is add + shift only.
    y[i] = entry(k.y, i - 16) + FIXED_HALF;
    rv[i] = entry(k.rv, i - 128);
    gu[i] = entry(k.gu, i - 128);
    gv[i] = entry(k.gv, i - 128);
    bu[i] = entry(k.bu, i - 128);
  }
  const ySum = new Int32Array(1021);
  for (let sum = 0; sum < ySum.length; sum++) ySum[sum] = y[(sum + 2) >> 2] as number;
  const ySum16 = new Int32Array(4081);
  for (let sum = 0; sum < ySum16.length; sum++) ySum16[sum] = y[(sum + 8) >> 4] as number;
  const tables = { y, rv, gu, gv, bu, ySum, ySum16 };
  tableCache.set(matrix, tables);
  return tables;
}

/** Bytes of an I420 picture: a full Y plane and two quarter chroma planes (odd sides round up). */
export function i420ByteLength(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** `into` when it has exactly `bytes` bytes (a buffer lent for reuse), else a new buffer. */
function outputBuffer(bytes: number, into: Buffer | undefined): Buffer {
  return into !== undefined && into.length === bytes ? into : Buffer.allocUnsafe(bytes);
}

/**
 * Converts an I420 picture (Y plane, then U, then V; chroma planes ceil(w/2) × ceil(h/2), tightly
 * packed) into width × height × 3 RGB: into `into` when it is exactly that size, else a new buffer.
 * The caller guarantees `data.length` equals `i420ByteLength(width, height)`. A width that is a
 * multiple of 16 goes to the SIMD loop (16 pixels a step, the same arithmetic).
 */
export function i420ToRgb(data: Uint8Array, width: number, height: number, matrix: YuvMatrix = DEFAULT_YUV_MATRIX, into?: Buffer): Buffer {
  const target = outputBuffer(width * height * 3, into);
  if (convertSimd('full', data, width, height, fixedCoefficients(matrix), target)) return target;
  return i420ToRgbJs(data, width, height, matrix, target);
}

/** i420ToRgb in JavaScript only: pictures the SIMD loop does not take (width not a multiple of 16), and its reference. */
export function i420ToRgbJs(data: Uint8Array, width: number, height: number, matrix: YuvMatrix = DEFAULT_YUV_MATRIX, into?: Buffer): Buffer {
  const { y: Y, rv: RV, gu: GU, gv: GV, bu: BU } = tablesFor(matrix);
  const chromaWidth = Math.ceil(width / 2);
  const uOffset = width * height;
  const vOffset = uOffset + chromaWidth * Math.ceil(height / 2);
  const out = outputBuffer(width * height * 3, into);
  // A clamped view does the 0..255 saturation of each store for free.
  const rgb = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  for (let row = 0; row < height; row++) {
    let yi = row * width;
    let o = yi * 3;
    let ci = (row >> 1) * chromaWidth;
    let col = 0;
    // Two pixels per chroma sample: look the chroma terms up once per pair.
    for (; col + 1 < width; col += 2, ci++) {
      const u = data[uOffset + ci] as number;
      const v = data[vOffset + ci] as number;
      const r = RV[v] as number;
      const g = (GU[u] as number) + (GV[v] as number);
      const b = BU[u] as number;
      let ys = Y[data[yi++] as number] as number;
      rgb[o] = (ys + r) >> FIXED_SHIFT;
      rgb[o + 1] = (ys - g) >> FIXED_SHIFT;
      rgb[o + 2] = (ys + b) >> FIXED_SHIFT;
      ys = Y[data[yi++] as number] as number;
      rgb[o + 3] = (ys + r) >> FIXED_SHIFT;
      rgb[o + 4] = (ys - g) >> FIXED_SHIFT;
      rgb[o + 5] = (ys + b) >> FIXED_SHIFT;
      o += 6;
    }
    if (col < width) {
      const u = data[uOffset + ci] as number;
      const v = data[vOffset + ci] as number;
      const ys = Y[data[yi] as number] as number;
      rgb[o] = (ys + (RV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 1] = (ys - (GU[u] as number) - (GV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 2] = (ys + (BU[u] as number)) >> FIXED_SHIFT;
    }
  }
  return out;
}

/**
 * Converts an I420 picture with even sides to RGB at half size (width/2 × height/2): each output
 * pixel is the 2×2 luma average with its one chroma sample — a box pre-shrink like the one libvips
 * applies before its kernel when downscaling, done where it is cheapest (a quarter of the pixels,
 * no chroma upsampling). Only for outputs no larger than half the input. When the planes allow it
 * (width a multiple of 4, buffer 4-byte aligned) luma is read 32 bits (two blocks' rows) and chroma
 * 16 bits (two samples) at a time — the sum of bytes does not depend on byte order — and every
 * table is 1–4 kB (cache-resident): ~25 % faster than 16-bit luma reads with a 256 kB combined
 * green table, the same bytes out (issue 11). A width that is a multiple of 16 goes to the SIMD loop
 * (i420-simd.wat: 8 pixels a step, the same arithmetic), 1.1–1.9 → 0.33–0.38 ms for 720p with its copies.
 * Written into `into` when it is exactly the output size.
 */
export function i420ToRgbHalf(data: Uint8Array, width: number, height: number, matrix: YuvMatrix = DEFAULT_YUV_MATRIX, into?: Buffer): Buffer {
  const target = outputBuffer((width >> 1) * (height >> 1) * 3, into);
  if (convertSimd('half', data, width, height, fixedCoefficients(matrix), target)) return target;
  return i420ToRgbHalfJs(data, width, height, matrix, target);
}

/** i420ToRgbHalf in JavaScript only: the path of pictures the SIMD loop does not take, and its reference. */
export function i420ToRgbHalfJs(data: Uint8Array, width: number, height: number, matrix: YuvMatrix = DEFAULT_YUV_MATRIX, into?: Buffer): Buffer {
  const tables = tablesFor(matrix);
  const halfWidth = width >> 1;
  const halfHeight = height >> 1;
  const uOffset = width * height;
  const vOffset = uOffset + halfWidth * halfHeight;
  const target = outputBuffer(halfWidth * halfHeight * 3, into);
  const rgb = new Uint8ClampedArray(target.buffer, target.byteOffset, target.length);
  if (data.byteOffset % 4 !== 0 || width % 4 !== 0) {
    halfBytewise(data, halfWidth, halfHeight, data.subarray(uOffset, vOffset), data.subarray(vOffset, vOffset + halfWidth * halfHeight), rgb, tables);
    return target;
  }
  const { rv: RV, gu: GU, gv: GV, bu: BU, ySum: YSUM } = tables;
  const luma = new Uint32Array(data.buffer, data.byteOffset, uOffset >> 2);
  // halfWidth is even, so both chroma planes start 2-byte aligned and hold whole sample pairs.
  const U = new Uint16Array(data.buffer, data.byteOffset + uOffset, (halfWidth * halfHeight) >> 1);
  const V = new Uint16Array(data.buffer, data.byteOffset + vOffset, (halfWidth * halfHeight) >> 1);
  const quarterWidth = width >> 2;
  let o = 0;
  let ci = 0;
  for (let row = 0; row < halfHeight; row++) {
    // A luma row is `quarterWidth` 32-bit words; each word holds the top (or bottom) row of two blocks.
    let top = 2 * row * quarterWidth;
    let bottom = top + quarterWidth;
    const end = ci + (halfWidth >> 1);
    for (; ci < end; ci++) {
      const a = luma[top++] as number;
      const b = luma[bottom++] as number;
      const ys0 = YSUM[(a & 0xff) + ((a >> 8) & 0xff) + (b & 0xff) + ((b >> 8) & 0xff)] as number;
      const ys1 = YSUM[((a >> 16) & 0xff) + (a >>> 24) + ((b >> 16) & 0xff) + (b >>> 24)] as number;
      const uPair = U[ci] as number;
      const vPair = V[ci] as number;
      let u = uPair & 0xff;
      let v = vPair & 0xff;
      rgb[o] = (ys0 + (RV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 1] = (ys0 - (GU[u] as number) - (GV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 2] = (ys0 + (BU[u] as number)) >> FIXED_SHIFT;
      u = uPair >> 8;
      v = vPair >> 8;
      rgb[o + 3] = (ys1 + (RV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 4] = (ys1 - (GU[u] as number) - (GV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 5] = (ys1 + (BU[u] as number)) >> FIXED_SHIFT;
      o += 6;
    }
  }
  return target;
}

/** i420ToRgbHalf for planes that cannot be read in words (unaligned view, width not a multiple of 4). */
function halfBytewise(data: Uint8Array, halfWidth: number, halfHeight: number, U: Uint8Array, V: Uint8Array, rgb: Uint8ClampedArray, tables: Tables): void {
  const { rv: RV, gu: GU, gv: GV, bu: BU, ySum: YSUM } = tables;
  const width = halfWidth * 2;
  let o = 0;
  let ci = 0;
  for (let row = 0; row < halfHeight; row++) {
    let top = 2 * row * width;
    let bottom = top + width;
    const end = ci + halfWidth;
    for (; ci < end; ci++) {
      const ys = YSUM[(data[top] as number) + (data[top + 1] as number) + (data[bottom] as number) + (data[bottom + 1] as number)] as number;
      top += 2;
      bottom += 2;
      const u = U[ci] as number;
      const v = V[ci] as number;
      rgb[o] = (ys + (RV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 1] = (ys - (GU[u] as number) - (GV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 2] = (ys + (BU[u] as number)) >> FIXED_SHIFT;
      o += 3;
    }
  }
}

/** Whether i420ToRgbQuarter can take these planes: sides multiples of 4 and the buffer 4-byte aligned (word reads). */
export function quarterConvertible(data: Uint8Array, width: number, height: number): boolean {
  return width % 4 === 0 && height % 4 === 0 && data.byteOffset % 4 === 0;
}

/**
 * Converts an I420 picture to RGB at a quarter of its size (width/4 × height/4): each output pixel is
 * the 4×4 luma average with its 2×2 chroma average — the box pre-shrink libvips applies before its
 * kernel, done where it is cheapest. For thumbnails (issue 11): sharp then only encodes, where a
 * half-size picture cost it a Lanczos pass of ~1.1 ms. Requires quarterConvertible(); luma is read
 * 32 bits (one block's row) and chroma 16 bits (one block's row) at a time. A width that is a
 * multiple of 16 goes to the SIMD loop (i420-simd.wat, the same arithmetic). Written into `into`
 * when it is exactly the output size.
 */
export function i420ToRgbQuarter(data: Uint8Array, width: number, height: number, matrix: YuvMatrix = DEFAULT_YUV_MATRIX, into?: Buffer): Buffer {
  const target = outputBuffer((width >> 2) * (height >> 2) * 3, into);
  if (convertSimd('quarter', data, width, height, fixedCoefficients(matrix), target)) return target;
  return i420ToRgbQuarterJs(data, width, height, matrix, target);
}

/** i420ToRgbQuarter in JavaScript only (requires quarterConvertible()): the fallback and the SIMD loop's reference. */
export function i420ToRgbQuarterJs(data: Uint8Array, width: number, height: number, matrix: YuvMatrix = DEFAULT_YUV_MATRIX, into?: Buffer): Buffer {
  const { rv: RV, gu: GU, gv: GV, bu: BU, ySum16: YSUM } = tablesFor(matrix);
  const blocks = width >> 2;
  const outHeight = height >> 2;
  const uOffset = width * height;
  const vOffset = uOffset + (width >> 1) * (height >> 1);
  const target = outputBuffer(blocks * outHeight * 3, into);
  const rgb = new Uint8ClampedArray(target.buffer, target.byteOffset, target.length);
  // A luma row is `blocks` 32-bit words, a chroma row `blocks` 16-bit pairs: one of each per block.
  const luma = new Uint32Array(data.buffer, data.byteOffset, uOffset >> 2);
  const U = new Uint16Array(data.buffer, data.byteOffset + uOffset, (vOffset - uOffset) >> 1);
  const V = new Uint16Array(data.buffer, data.byteOffset + vOffset, (vOffset - uOffset) >> 1);
  let o = 0;
  for (let row = 0; row < outHeight; row++) {
    let l = 4 * row * blocks;
    let c = 2 * row * blocks;
    for (let x = 0; x < blocks; x++, l++, c++) {
      const w0 = luma[l] as number;
      const w1 = luma[l + blocks] as number;
      const w2 = luma[l + 2 * blocks] as number;
      const w3 = luma[l + 3 * blocks] as number;
      // Bytes summed in two 16-bit lanes (each at most 8 × 255), then the lanes folded.
      const lanes =
        (w0 & 0x00ff00ff) + ((w0 >>> 8) & 0x00ff00ff) + (w1 & 0x00ff00ff) + ((w1 >>> 8) & 0x00ff00ff) +
        (w2 & 0x00ff00ff) + ((w2 >>> 8) & 0x00ff00ff) + (w3 & 0x00ff00ff) + ((w3 >>> 8) & 0x00ff00ff);
      const ys = YSUM[(lanes & 0xffff) + (lanes >>> 16)] as number;
      const u0 = U[c] as number;
      const u1 = U[c + blocks] as number;
      const v0 = V[c] as number;
      const v1 = V[c + blocks] as number;
      const u = ((u0 & 0xff) + (u0 >> 8) + (u1 & 0xff) + (u1 >> 8) + 2) >> 2;
      const v = ((v0 & 0xff) + (v0 >> 8) + (v1 & 0xff) + (v1 >> 8) + 2) >> 2;
      rgb[o] = (ys + (RV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 1] = (ys - (GU[u] as number) - (GV[v] as number)) >> FIXED_SHIFT;
      rgb[o + 2] = (ys + (BU[u] as number)) >> FIXED_SHIFT;
      o += 3;
    }
  }
  return target;
}
