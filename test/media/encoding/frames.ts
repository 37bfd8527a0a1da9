// Synthetic frames for the encoding tests: flat colours, a gradient and seeded noise, in
// interleaved grey/RGB/RGBA and planar I420, and `jsonBytes` (compact-JSON UTF-8 length, as
// reference-driver.md §5.1 measures `rpc_json_bytes`). Deterministic (xorshift32), so failures
// reproduce. Test data only: no assertions; the picture the emulator streams is
// src/sim/media/test-pattern.ts.

/** Fills `out` with seeded pseudo-random bytes (xorshift32). */
export function fillNoise(out: Uint8Array, seed: number): Uint8Array {
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function noiseFrame(width: number, height: number, channels: 1 | 3 | 4, seed = 1): { data: Buffer; width: number; height: number; channels: 1 | 3 | 4 } {
  return { data: fillNoise(Buffer.alloc(width * height * channels), seed) as Buffer, width, height, channels };
}

/** A horizontal/vertical gradient: compressible, with structure a resize has to keep. */
export function gradientFrame(width: number, height: number, channels: 1 | 3 | 4): { data: Buffer; width: number; height: number; channels: 1 | 3 | 4 } {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) data[o + c] = c === 3 ? 255 : ((x * 255) / Math.max(1, width - 1) + c * 40 + (y * 64) / Math.max(1, height)) & 0xff;
    }
  }
  return { data, width, height, channels };
}

/** A flat I420 picture of one (Y, U, V) colour. */
export function flatI420(width: number, height: number, y: number, u: number, v: number): { pixelFormat: 'i420'; data: Buffer; width: number; height: number } {
  const lumaBytes = width * height;
  const chromaBytes = Math.ceil(width / 2) * Math.ceil(height / 2);
  const data = Buffer.alloc(lumaBytes + 2 * chromaBytes);
  data.fill(y, 0, lumaBytes);
  data.fill(u, lumaBytes, lumaBytes + chromaBytes);
  data.fill(v, lumaBytes + chromaBytes);
  return { pixelFormat: 'i420', data, width, height };
}

/** Compact-JSON UTF-8 length, the way the wire measures a reply. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** An I420 picture with luma and chroma gradients (structure in every plane). */
export function gradientI420(width: number, height: number): { pixelFormat: 'i420'; data: Buffer; width: number; height: number } {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const data = Buffer.alloc(width * height + 2 * cw * ch);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = 16 + Math.round((219 * x) / Math.max(1, width - 1));
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      data[width * height + y * cw + x] = 16 + Math.round((224 * y) / Math.max(1, ch - 1));
      data[width * height + cw * ch + y * cw + x] = 240 - Math.round((224 * x) / Math.max(1, cw - 1));
    }
  }
  return { pixelFormat: 'i420', data, width, height };
}
