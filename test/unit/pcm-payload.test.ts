// PCM over RPC (src/media/pcm-payload.ts): int16 is scaled by 1/32768 (the reference cast it to
// float32 unscaled, reference-driver.md §2.4), channels are averaged, and malformed data is refused
// with InvalidParams naming data_b64 — never a crash, never samples from garbage.
import { Result } from 'effect';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodePcm, encodePcm, INT16_FULL_SCALE, rms } from '../../src/media/pcm-payload.ts';

const int16 = (values: number[]) => {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeInt16LE(v, i * 2));
  return b.toString('base64');
};
const float32 = (values: number[]) => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b.toString('base64');
};

describe('decodePcm', () => {
  test('int16 full scale becomes ±1, not ±32767', () => {
    const decoded = decodePcm(int16([-32_768, 0, 16_384, 32_767]), 'int16', 1);
    expect(Result.isSuccess(decoded) && [...decoded.success]).toEqual([-1, 0, 0.5, 32_767 / INT16_FULL_SCALE]);
  });

  test('interleaved channels are averaged to mono', () => {
    const decoded = decodePcm(float32([1, 0, 0.5, 0.5, -1, 1]), 'float32', 2);
    expect(Result.isSuccess(decoded) && [...decoded.success]).toEqual([0.5, 0.5, 0]);
  });

  test.each([
    ['not base64', '@@@@', 'float32', 1, /base64/],
    ['unpadded', 'AAA', 'float32', 1, /base64/],
    ['empty', '', 'float32', 1, /no samples/],
    ['half a float', int16([1]), 'float32', 1, /whole number/],
    ['half a stereo frame', int16([1, 2, 3]), 'int16', 2, /whole number/],
    ['NaN sample', float32([0, Number.NaN]), 'float32', 1, /finite/],
    ['Infinity sample', float32([Number.POSITIVE_INFINITY]), 'float32', 1, /finite/],
  ] as const)('refuses %s with InvalidParams on data_b64', (_name, data, dtype, channels, message) => {
    const decoded = decodePcm(data, dtype, channels);
    expect(Result.isFailure(decoded)).toBe(true);
    if (Result.isFailure(decoded)) {
      expect(decoded.failure._tag).toBe('InvalidParams');
      expect(decoded.failure.issues[0]?.parameter).toBe('data_b64');
      expect(decoded.failure.message).toMatch(message);
    }
  });

  test('any string decodes or is refused, never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), fc.constantFrom('float32' as const, 'int16' as const), fc.integer({ min: 1, max: 8 }), (data, dtype, channels) => {
        const decoded = decodePcm(data, dtype, channels);
        if (Result.isSuccess(decoded)) for (const x of decoded.success) expect(Number.isFinite(x)).toBe(true);
      }),
    );
  });
});

describe('encodePcm', () => {
  test('s16le round-trips through decodePcm within one LSB and clips beyond full scale', () => {
    const samples = Float32Array.from([0, 0.25, -0.5, 0.999, 2, -2]);
    const back = decodePcm(encodePcm(samples, 's16le').toString('base64'), 'int16', 1);
    expect(Result.isSuccess(back)).toBe(true);
    if (Result.isSuccess(back)) {
      const expected = [0, 0.25, -0.5, 0.999, 32_767 / INT16_FULL_SCALE, -1];
      back.success.forEach((x, i) => expect(Math.abs(x - expected[i]!)).toBeLessThanOrEqual(1 / INT16_FULL_SCALE));
    }
  });

  test('float32 is little-endian IEEE', () => {
    expect(encodePcm(Float32Array.from([1]), 'float32')).toEqual(Buffer.from([0, 0, 0x80, 0x3f]));
  });

  test('rms of a full-scale sine is 1/√2', () => {
    const sine = Float32Array.from({ length: 16_000 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 16_000));
    expect(rms(sine)).toBeCloseTo(Math.SQRT1_2, 3);
    expect(rms(new Float32Array(0))).toBe(0);
  });
});
