// The WebAssembly SIMD conversions against the JavaScript loops they replace: the committed
// binary is the .wat's current compile, every fitting picture gives the same bytes both ways (seeded
// noise, extremes, both matrices, unaligned views), the tables stay within one 1/1024 step of the
// exact coefficients, and without WebAssembly the JavaScript converts.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { BINARY_MODULE_PATH, binaryModuleText, compileWat, WAT_PATH } from '../../../scripts/build-wasm.ts';
import { fixedCoefficients, i420ByteLength, i420ToRgb, i420ToRgbJs, i420ToRgbHalf, i420ToRgbHalfJs, i420ToRgbQuarter, i420ToRgbQuarterJs, type YuvMatrix } from '../../../src/media/encoding/i420.ts';
import { convertSimd, fitsSimd, SIMD_MEMORY_LIMIT_BYTES } from '../../../src/media/encoding/i420-simd.ts';
import { fillNoise } from './frames.ts';

const MATRICES: ReadonlyArray<YuvMatrix> = ['bt601', 'bt709'];

function noiseI420(width: number, height: number, seed: number): Buffer {
  return fillNoise(Buffer.alloc(i420ByteLength(width, height)), seed) as Buffer;
}

function simd(kind: 'full' | 'half' | 'quarter', data: Uint8Array, width: number, height: number, matrix: YuvMatrix): Buffer {
  const scale = kind === 'full' ? 1 : kind === 'half' ? 2 : 4;
  const target = Buffer.alloc((width / scale) * (height / scale) * 3, 0xaa);
  expect(convertSimd(kind, data, width, height, fixedCoefficients(matrix), target)).toBe(true);
  return target;
}

describe('the compiled module', () => {
  test('i420-simd-binary.ts is the current compile of i420-simd.wat (run `npm run wasm` after editing the .wat)', async () => {
    const binary = await compileWat(readFileSync(WAT_PATH, 'utf8'));
    expect(readFileSync(BINARY_MODULE_PATH, 'utf8')).toBe(binaryModuleText(binary));
  });

  test('which pictures the loops take', () => {
    expect([fitsSimd('half', 1280, 720), fitsSimd('half', 1920, 1080), fitsSimd('half', 1288, 720), fitsSimd('half', 1280, 721), fitsSimd('half', 0, 2)]).toEqual([true, true, false, false, false]);
    expect([fitsSimd('quarter', 1280, 720), fitsSimd('quarter', 1280, 722), fitsSimd('quarter', 1272, 720)]).toEqual([true, false, false]);
    expect([fitsSimd('full', 1280, 720), fitsSimd('full', 1280, 721), fitsSimd('full', 1288, 720)]).toEqual([true, true, false]);
  });
});

describe('SIMD and JavaScript agree byte for byte', () => {
  const sizes: ReadonlyArray<readonly [number, number]> = [[16, 4], [32, 8], [48, 12], [64, 36], [1280, 720]];

  test.each(sizes)('half size, %i×%i, seeded noise, both matrices', (width, height) => {
    for (const matrix of MATRICES) {
      for (const seed of [1, 2, 3]) {
        const data = noiseI420(width, height, seed * width + height);
        expect(simd('half', data, width, height, matrix).equals(i420ToRgbHalfJs(data, width, height, matrix)), `${matrix} seed ${seed}`).toBe(true);
      }
    }
  });

  test.each([...sizes, [16, 1], [32, 7]] as const)('full size, %i×%i, seeded noise, both matrices (odd heights too)', (width, height) => {
    for (const matrix of MATRICES) {
      for (const seed of [1, 2, 3]) {
        const data = noiseI420(width, height, seed * width + height);
        expect(simd('full', data, width, height, matrix).equals(i420ToRgbJs(data, width, height, matrix)), `${matrix} seed ${seed}`).toBe(true);
      }
    }
  });

  test.each(sizes)('quarter size, %i×%i, seeded noise, both matrices', (width, height) => {
    for (const matrix of MATRICES) {
      for (const seed of [1, 2, 3]) {
        const data = noiseI420(width, height, seed * width + height);
        expect(simd('quarter', data, width, height, matrix).equals(i420ToRgbQuarterJs(data, width, height, matrix)), `${matrix} seed ${seed}`).toBe(true);
      }
    }
  });

  test('saturation at both ends: every flat combination of black/white luma and extreme chroma', () => {
    const [width, height] = [16, 4];
    for (const matrix of MATRICES) {
      for (const y of [0, 16, 235, 255]) {
        for (const u of [0, 128, 255]) {
          for (const v of [0, 128, 255]) {
            const data = Buffer.alloc(i420ByteLength(width, height), y);
            data.fill(u, width * height, width * height + 16);
            data.fill(v, width * height + 16);
            const expected = i420ToRgb(Uint8Array.of(y, u, v), 1, 1, matrix);
            const full = simd('full', data, width, height, matrix);
            const half = simd('half', data, width, height, matrix);
            const quarter = simd('quarter', data, width, height, matrix);
            expect([...full.subarray(0, 3)], `${matrix} ${y},${u},${v}`).toEqual([...expected]);
            expect([...half.subarray(0, 3)], `${matrix} ${y},${u},${v}`).toEqual([...expected]);
            expect(full.equals(i420ToRgbJs(data, width, height, matrix))).toBe(true);
            expect(half.equals(i420ToRgbHalfJs(data, width, height, matrix))).toBe(true);
            expect(quarter.equals(i420ToRgbQuarterJs(data, width, height, matrix))).toBe(true);
          }
        }
      }
    }
  });

  test('an unaligned view of the planes converts as the aligned copy does', () => {
    const [width, height] = [64, 32];
    const aligned = noiseI420(width, height, 77);
    const shifted = Buffer.alloc(aligned.length + 3);
    aligned.copy(shifted, 3);
    const view = shifted.subarray(3);
    for (const matrix of MATRICES) {
      expect(simd('full', view, width, height, matrix).equals(i420ToRgbJs(aligned, width, height, matrix))).toBe(true);
      expect(simd('half', view, width, height, matrix).equals(i420ToRgbHalfJs(aligned, width, height, matrix))).toBe(true);
      // The quarter's JavaScript loop needs word alignment; the SIMD one copies the planes and does not.
      expect(simd('quarter', view, width, height, matrix).equals(i420ToRgbQuarterJs(aligned, width, height, matrix))).toBe(true);
    }
  });

  test('a larger picture after a smaller one grows the memory; a smaller one after it still converts', () => {
    for (const [width, height] of [[32, 8], [1920, 1080], [16, 4]] as const) {
      const data = noiseI420(width, height, width);
      expect(simd('half', data, width, height, 'bt601').equals(i420ToRgbHalfJs(data, width, height, 'bt601'))).toBe(true);
    }
  });

  test('a conversion that would need more than the memory limit is left to JavaScript; a 4K half-size one is not', () => {
    const [width, height] = [3840, 2592];
    const data = noiseI420(width, height, 11);
    const full = Buffer.alloc(width * height * 3);
    expect(data.length + full.length).toBeGreaterThan(SIMD_MEMORY_LIMIT_BYTES);
    expect(convertSimd('full', data, width, height, fixedCoefficients('bt601'), full)).toBe(false);
    expect(i420ToRgb(data, width, height).equals(i420ToRgbJs(data, width, height))).toBe(true);
    expect(simd('half', data, width, height, 'bt601').equals(i420ToRgbHalfJs(data, width, height, 'bt601'))).toBe(true);
  });

  test('the public conversions hand fitting pictures to SIMD and others to JavaScript, the same bytes', () => {
    for (const [width, height] of [[64, 32], [68, 32], [66, 30]] as const) {
      const data = noiseI420(width, height, 5);
      expect(i420ToRgbHalf(data, width, height).equals(i420ToRgbHalfJs(data, width, height))).toBe(true);
    }
    const data = noiseI420(64, 32, 6);
    expect(i420ToRgbQuarter(data, 64, 32, 'bt709').equals(i420ToRgbQuarterJs(data, 64, 32, 'bt709'))).toBe(true);
    for (const [width, height] of [[64, 31], [66, 31]] as const) {
      const picture = noiseI420(width, height, 7);
      expect(i420ToRgb(picture, width, height).equals(i420ToRgbJs(picture, width, height))).toBe(true);
    }
  });
});

describe('the integer coefficients', () => {
  test('each table entry is within one 1/1024 step of the exact product, and the luma ends are exact', () => {
    const exact: Record<YuvMatrix, Record<'rv' | 'gu' | 'gv' | 'bu', number>> = {
      bt601: { rv: 1.596, gu: 0.392, gv: 0.813, bu: 2.017 },
      bt709: { rv: 1.793, gu: 0.213, gv: 0.533, bu: 2.112 },
    };
    const entry = (k: number, x: number) => (k * x + 2048) >> 12;
    for (const matrix of MATRICES) {
      const k = fixedCoefficients(matrix);
      for (let x = -128; x < 128; x++) {
        for (const term of ['rv', 'gu', 'gv', 'bu'] as const) expect(Math.abs(entry(k[term], x) - exact[matrix][term] * x * 1024)).toBeLessThanOrEqual(1);
      }
      for (let x = -16; x < 240; x++) expect(Math.abs(entry(k.y, x) - (255 / 219) * x * 1024)).toBeLessThanOrEqual(1);
    }
    expect([...i420ToRgb(Uint8Array.of(16, 128, 128), 1, 1)]).toEqual([0, 0, 0]);
    expect([...i420ToRgb(Uint8Array.of(235, 128, 128), 1, 1)]).toEqual([255, 255, 255]);
  });
});

describe('without WebAssembly', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  test('the SIMD loop declines and the conversions give the JavaScript bytes', async () => {
    vi.resetModules();
    vi.stubGlobal('WebAssembly', undefined);
    const simdModule = await import('../../../src/media/encoding/i420-simd.ts');
    const i420 = await import('../../../src/media/encoding/i420.ts');
    const data = noiseI420(64, 32, 9);
    const target = Buffer.alloc(32 * 16 * 3);
    expect(simdModule.convertSimd('half', data, 64, 32, i420.fixedCoefficients('bt601'), target)).toBe(false);
    expect(i420.i420ToRgbHalf(data, 64, 32).equals(i420ToRgbHalfJs(data, 64, 32))).toBe(true);
  });
});
