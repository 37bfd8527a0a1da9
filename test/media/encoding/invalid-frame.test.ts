// Inconsistent frames (buffer length vs width × height × channels, bad geometry) are refused with a
// typed InvalidFrame before sharp is ever called (reference-driver.md §12 item 6: no length check).
// sharp is wrapped in a spy for this file only.
import { Result } from 'effect';
import { beforeEach, describe, expect, test, vi } from 'vitest';

const sharpSpy = vi.hoisted(() => ({ calls: 0 }));
vi.mock('sharp', async (importOriginal) => {
  const actual = await importOriginal<typeof import('sharp')>();
  const wrapped = (...args: Parameters<typeof actual.default>) => {
    sharpSpy.calls += 1;
    return actual.default(...args);
  };
  return { ...actual, default: wrapped };
});

const { encodeVideoFrame, validateFrame } = await import('../../../src/media/encoding/frame-encoding.ts');
type VideoFrameInput = import('../../../src/media/encoding/frame-encoding.ts').VideoFrameInput;

beforeEach(() => {
  sharpSpy.calls = 0;
});

const cases: ReadonlyArray<[string, VideoFrameInput, number | null]> = [
  ['RGB one byte short', { data: Buffer.alloc(1280 * 720 * 3 - 1), width: 1280, height: 720, channels: 3 }, 1280 * 720 * 3],
  ['RGB declared as RGBA', { data: Buffer.alloc(64 * 48 * 3), width: 64, height: 48, channels: 4 }, 64 * 48 * 4],
  ['grey with extra bytes', { data: Buffer.alloc(64 * 48 + 7), width: 64, height: 48, channels: 1 }, 64 * 48],
  ['I420 sized as RGB', { pixelFormat: 'i420', data: Buffer.alloc(64 * 48 * 3), width: 64, height: 48 }, 64 * 48 * 1.5],
  ['I420 odd sides without rounded-up chroma', { pixelFormat: 'i420', data: Buffer.alloc(33 * 17 + 2 * 16 * 8), width: 33, height: 17 }, 33 * 17 + 2 * 17 * 9],
  ['two channels', { data: Buffer.alloc(8 * 8 * 2), width: 8, height: 8, channels: 2 as 3 }, null],
  ['zero width', { data: Buffer.alloc(0), width: 0, height: 8, channels: 3 }, null],
  ['fractional height', { data: Buffer.alloc(8 * 3), width: 8, height: 1.5, channels: 1 }, null],
  ['side above the input cap', { data: Buffer.alloc(9000 * 3), width: 9000, height: 1, channels: 3 }, null],
  ['data not bytes', { data: [1, 2, 3] as unknown as Uint8Array, width: 1, height: 1, channels: 3 }, null],
];

describe('InvalidFrame before any pixel work', () => {
  test.each(cases)('%s', async (_name, frame, expectedBytes) => {
    for (const encoding of ['jpeg', 'thumbnail', 'raw'] as const) {
      const result = await encodeVideoFrame(frame, { encoding });
      expect(Result.isFailure(result)).toBe(true);
      if (Result.isFailure(result)) {
        expect(result.failure._tag).toBe('InvalidFrame');
        if (result.failure._tag === 'InvalidFrame') expect(result.failure.expectedBytes).toBe(expectedBytes);
      }
    }
    expect(Result.isFailure(validateFrame(frame))).toBe(true);
    expect(sharpSpy.calls).toBe(0);
  });

  test('the frame is checked before the parameters', async () => {
    const result = await encodeVideoFrame({ data: Buffer.alloc(5), width: 2, height: 2, channels: 3 }, { encoding: 'jpeg', quality: 0 });
    expect(Result.isFailure(result) && result.failure._tag).toBe('InvalidFrame');
  });

  test('a consistent frame does reach sharp (the spy works)', async () => {
    const result = await encodeVideoFrame({ data: Buffer.alloc(16 * 16 * 3), width: 16, height: 16, channels: 3 }, { encoding: 'jpeg' });
    expect(Result.isSuccess(result)).toBe(true);
    expect(sharpSpy.calls).toBe(1);
  });
});
