// The PCM ring (src/media/detectors/pcm-ring-buffer.ts): 16 kHz / 10 s by default, newest-N reads,
// wrap-around, absolute indices (copyRange refuses what is gone, clear keeps them monotonic),
// oversize pushes keep the newest samples, non-finite samples are stored as 0, a nonsensical size
// throws. Not a lazy `PcmSource` writer, nor the detectors reading it (audio-activity.test.ts).
import { describe, expect, test } from 'vitest';
import { PCM_RING_CAPACITY_MS, PCM_SAMPLE_RATE_HZ, PcmRingBuffer } from '../../../src/media/detectors/pcm-ring-buffer.ts';

const ramp = (from: number, n: number) => Float32Array.from({ length: n }, (_, i) => from + i);

describe('PcmRingBuffer', () => {
  test('defaults to 16 kHz mono with 10 s of capacity', () => {
    const ring = new PcmRingBuffer();
    expect(PCM_SAMPLE_RATE_HZ).toBe(16_000);
    expect(ring.sampleRateHz).toBe(16_000);
    expect(ring.capacity).toBe((PCM_RING_CAPACITY_MS / 1000) * 16_000);
    expect(ring.length).toBe(0);
    expect(ring.readLastMs(120)).toHaveLength(0);
  });

  test('reads the last N ms, oldest first, and wraps around', () => {
    const ring = new PcmRingBuffer({ capacityMs: 1 }); // 16 samples
    ring.push(ramp(0, 10));
    expect(Array.from(ring.readLastSamples(4))).toEqual([6, 7, 8, 9]);
    ring.push(ramp(10, 10)); // 20 written, 16 held: 4..19
    expect(ring.length).toBe(16);
    expect(ring.oldestIndex).toBe(4);
    expect(Array.from(ring.readLastSamples(100))).toEqual(Array.from(ramp(4, 16)));
    expect(Array.from(ring.readLastMs(0.5))).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test('copyRange uses absolute indices and refuses what is no longer held', () => {
    const ring = new PcmRingBuffer({ capacityMs: 1 });
    ring.push(ramp(0, 20));
    const out = new Float32Array(3);
    expect(ring.copyRange(2, out)).toBe(0);
    expect(ring.copyRange(18, out)).toBe(2);
    expect(Array.from(out.subarray(0, 2))).toEqual([18, 19]);
    expect(ring.copyRange(20, out)).toBe(0);
  });

  test('an oversize push keeps the newest samples; non-finite samples become 0', () => {
    const ring = new PcmRingBuffer({ capacityMs: 1 });
    ring.push(ramp(0, 40));
    expect(ring.totalWritten).toBe(40);
    expect(Array.from(ring.readLastSamples(16))).toEqual(Array.from(ramp(24, 16)));
    ring.push([Number.NaN, Number.POSITIVE_INFINITY, -Infinity, 0.5]);
    expect(Array.from(ring.readLastSamples(4))).toEqual([0, 0, 0, 0.5]);
  });

  test('clear forgets samples but keeps absolute indices monotonic', () => {
    const ring = new PcmRingBuffer({ capacityMs: 1 });
    ring.push(ramp(0, 5));
    ring.clear();
    expect(ring.length).toBe(0);
    expect(ring.totalWritten).toBe(5);
    ring.push(ramp(5, 2));
    expect(ring.oldestIndex).toBe(5);
    expect(Array.from(ring.readLastSamples(10))).toEqual([5, 6]);
  });

  test('rejects a nonsensical configuration', () => {
    expect(() => new PcmRingBuffer({ capacityMs: 0 })).toThrow(RangeError);
    expect(() => new PcmRingBuffer({ sampleRateHz: Number.NaN })).toThrow(RangeError);
  });
});
