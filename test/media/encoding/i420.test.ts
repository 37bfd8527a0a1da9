// I420 → RGB conversion (src/media/encoding/i420.ts, BT.601 / BT.709 limited range): reference
// colours, plane layout with odd sides, saturation at the ends of the range, the half (2×2) and
// quarter (4×4) box shrinks against the full conversion, and writing into a lent buffer (issue 11).
// The WebAssembly SIMD path against these loops is i420-simd.test.ts; the frame encoder that takes
// the RGB (reference-driver.md §5.1) is frame-encoding.test.ts.
import { describe, expect, test } from 'vitest';
import { i420ByteLength, i420ToRgb, i420ToRgbHalf, i420ToRgbQuarter, quarterConvertible } from '../../../src/media/encoding/i420.ts';
import { flatI420 } from './frames.ts';

function pixel(y: number, u: number, v: number, matrix?: 'bt601' | 'bt709'): number[] {
  const frame = flatI420(2, 2, y, u, v);
  return [...i420ToRgb(frame.data, 2, 2, matrix).subarray(0, 3)];
}

function near(actual: number[], expected: number[], tolerance = 2): void {
  actual.forEach((value, i) => expect(Math.abs(value - (expected[i] as number))).toBeLessThanOrEqual(tolerance));
}

describe('i420ToRgb', () => {
  test('studio-swing black, white and grey', () => {
    expect(pixel(16, 128, 128)).toEqual([0, 0, 0]);
    expect(pixel(235, 128, 128)).toEqual([255, 255, 255]);
    near(pixel(126, 128, 128), [128, 128, 128], 1);
  });

  test('BT.601 primaries', () => {
    near(pixel(81, 90, 240), [255, 0, 0]);
    near(pixel(145, 54, 34), [0, 255, 0]);
    near(pixel(41, 240, 110), [0, 0, 255]);
  });

  test('BT.709 primaries', () => {
    near(pixel(63, 102, 240, 'bt709'), [255, 0, 0]);
    near(pixel(173, 42, 26, 'bt709'), [0, 255, 0]);
    near(pixel(32, 240, 118, 'bt709'), [0, 0, 255]);
  });

  test('out-of-range input saturates instead of wrapping', () => {
    expect(pixel(0, 128, 128)).toEqual([0, 0, 0]);
    const [r0, , b0] = pixel(0, 0, 0);
    expect([r0, b0]).toEqual([0, 0]);
    const [r1, , b1] = pixel(255, 255, 255);
    expect([r1, b1]).toEqual([255, 255]);
  });

  test('each 2×2 block shares one chroma sample; odd sides round the chroma planes up', () => {
    const width = 3;
    const height = 3;
    expect(i420ByteLength(width, height)).toBe(9 + 2 * 4);
    const data = Buffer.alloc(i420ByteLength(width, height));
    data.fill(126, 0, 9);
    // U plane 2×2: only the bottom-right sample (covering pixel (2,2)) is strongly blue.
    data.set([128, 128, 128, 240], 9);
    data.set([128, 128, 128, 128], 13);
    const rgb = i420ToRgb(data, width, height);
    const at = (x: number, y: number) => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
    near(at(0, 0), [128, 128, 128], 1);
    near(at(1, 1), [128, 128, 128], 1);
    expect(at(2, 2)[2]).toBe(255);
    expect(at(2, 1)[2]).toBe(128);
  });

  test('odd widths convert the last column too', () => {
    const data = Buffer.alloc(i420ByteLength(5, 1));
    data.fill(235, 0, 5);
    data.fill(128, 5);
    expect([...i420ToRgb(data, 5, 1)]).toEqual(new Array(15).fill(255));
  });
});

describe('i420ToRgbHalf', () => {
  test('each output pixel is the 2×2 luma average with its own chroma sample', () => {
    const width = 4;
    const height = 2;
    const data = Buffer.alloc(i420ByteLength(width, height));
    // Left block luma 16,16,235,235 → average 126 (grey); right block all 235 (white).
    data.set([16, 16, 235, 235, 235, 235, 235, 235], 0);
    data.set([128, 128], 8);
    data.set([128, 128], 10);
    const rgb = i420ToRgbHalf(data, width, height);
    expect(rgb.length).toBe(2 * 1 * 3);
    near([...rgb.subarray(0, 3)], [128, 128, 128], 1);
    expect([...rgb.subarray(3, 6)]).toEqual([255, 255, 255]);
  });

  test('agrees with a 2×2 average of the full conversion on smooth content', () => {
    const frame = flatI420(64, 32, 81, 90, 240);
    const half = i420ToRgbHalf(frame.data, 64, 32);
    const full = i420ToRgb(frame.data, 64, 32);
    near([...half.subarray(0, 3)], [...full.subarray(0, 3)], 1);
    expect(half.length).toBe(32 * 16 * 3);
  });

  test('every pixel is the full conversion of its block\'s rounded luma average and chroma, word-read (width 4k) or not (4k+2)', () => {
    for (const [width, height] of [[64, 30], [66, 30]] as const) {
      const bytes = i420ByteLength(width, height);
      const data = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) data[i] = (i * 53 + (i >> 5) * 7) % 256;
      const [hw, hh] = [width / 2, height / 2];
      const half = i420ToRgbHalf(data, width, height);
      for (let by = 0; by < hh; by++) {
        for (let bx = 0; bx < hw; bx++) {
          const at = (x: number, y: number) => data[y * width + x] as number;
          const sum = at(2 * bx, 2 * by) + at(2 * bx + 1, 2 * by) + at(2 * bx, 2 * by + 1) + at(2 * bx + 1, 2 * by + 1);
          const c = by * hw + bx;
          const one = i420ToRgb(Uint8Array.of((sum + 2) >> 2, data[width * height + c] as number, data[width * height + hw * hh + c] as number), 1, 1);
          expect([...half.subarray(3 * c, 3 * c + 3)], `${width}×${height} block ${bx},${by}`).toEqual([...one]);
        }
      }
    }
  });

  test('the same bytes from an aligned buffer and from an odd-offset view, for both matrices', () => {
    const width = 64;
    const height = 32;
    const bytes = i420ByteLength(width, height);
    const aligned = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) aligned[i] = (i * 37 + (i >> 7) * 11) % 256;
    const shifted = Buffer.alloc(bytes + 1);
    aligned.copy(shifted, 1);
    const oddView = shifted.subarray(1);
    for (const matrix of ['bt601', 'bt709'] as const) {
      const reference = i420ToRgbHalf(aligned, width, height, matrix);
      expect(i420ToRgbHalf(oddView, width, height, matrix).equals(reference)).toBe(true);
    }
  });
});


describe('conversion into a lent buffer (issue 11: no fresh pages per capture)', () => {
  const width = 64;
  const height = 32;
  const data = Buffer.alloc(i420ByteLength(width, height));
  for (let i = 0; i < data.length; i++) data[i] = (i * 29 + (i >> 6) * 13) % 256;

  test('a buffer of exactly the output size is written and returned, with the bytes a new buffer gets', () => {
    for (const [convert, bytes] of [[i420ToRgbHalf, (width / 2) * (height / 2) * 3], [i420ToRgb, width * height * 3]] as const) {
      const lent = Buffer.alloc(bytes, 7);
      const out = convert(data, width, height, 'bt709', lent);
      expect(out).toBe(lent);
      expect(out.equals(convert(data, width, height, 'bt709'))).toBe(true);
    }
  });

  test('a buffer of another size is left alone and a new one is returned', () => {
    const wrong = Buffer.alloc(10, 7);
    const out = i420ToRgbHalf(data, width, height, 'bt601', wrong);
    expect(out).not.toBe(wrong);
    expect([...wrong]).toEqual(new Array(10).fill(7));
    expect(out.length).toBe((width / 2) * (height / 2) * 3);
  });
});

describe('i420ToRgbQuarter', () => {
  test('every pixel is the full conversion of its 4×4 block\'s rounded luma average and 2×2 chroma average', () => {
    const [width, height] = [64, 24];
    const bytes = i420ByteLength(width, height);
    const data = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) data[i] = (i * 59 + (i >> 4) * 5) % 256;
    expect(quarterConvertible(data, width, height)).toBe(true);
    for (const matrix of ['bt601', 'bt709'] as const) {
      const quarter = i420ToRgbQuarter(data, width, height, matrix);
      expect(quarter.length).toBe((width / 4) * (height / 4) * 3);
      const [cw, ch] = [width / 2, height / 2];
      const chroma = (plane: number, x: number, y: number) => data[width * height + plane * cw * ch + y * cw + x] as number;
      for (let by = 0; by < height / 4; by++) {
        for (let bx = 0; bx < width / 4; bx++) {
          let sum = 0;
          for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) sum += data[(4 * by + dy) * width + 4 * bx + dx] as number;
          const avg = (plane: number) => (chroma(plane, 2 * bx, 2 * by) + chroma(plane, 2 * bx + 1, 2 * by) + chroma(plane, 2 * bx, 2 * by + 1) + chroma(plane, 2 * bx + 1, 2 * by + 1) + 2) >> 2;
          const one = i420ToRgb(Uint8Array.of((sum + 8) >> 4, avg(0), avg(1)), 1, 1, matrix);
          const c = by * (width / 4) + bx;
          expect([...quarter.subarray(3 * c, 3 * c + 3)], `${matrix} block ${bx},${by}`).toEqual([...one]);
        }
      }
    }
  });

  test('only for sides that are multiples of 4 in a 4-byte aligned buffer', () => {
    expect(quarterConvertible(Buffer.alloc(i420ByteLength(64, 24)), 64, 24)).toBe(true);
    expect(quarterConvertible(Buffer.alloc(i420ByteLength(66, 24)), 66, 24)).toBe(false);
    expect(quarterConvertible(Buffer.alloc(i420ByteLength(64, 26)), 64, 26)).toBe(false);
    expect(quarterConvertible(Buffer.alloc(i420ByteLength(64, 24) + 1).subarray(1), 64, 24)).toBe(false);
  });
});
