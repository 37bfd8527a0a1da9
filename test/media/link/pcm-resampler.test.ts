// The streaming resampler (src/adapters/media-link/pcm-resampler.ts): tones keep their frequency
// and amplitude across the rate pairs the media link uses, DC passes unchanged, a tone above the
// new Nyquist rate does not alias into the output, and chunked streaming equals one-shot.
import { describe, expect, it } from 'vitest';
import { createPcmResampler, resamplePcm } from '../../../src/adapters/media-link/pcm-resampler.ts';
import { concat, rms, tone, toneAmplitude, zeroCrossingFrequency } from './signal-measure.ts';

/** Skips the start-up and tail transients (a filter's length each side). */
function middle(samples: Float32Array, rateHz: number): Float32Array {
  const edge = Math.round(rateHz * 0.01);
  return samples.subarray(edge, samples.length - edge);
}

describe('pcm resampler', () => {
  const pairs: Array<[number, number, number]> = [
    [48_000, 16_000, 1_000],
    [48_000, 16_000, 5_000],
    [16_000, 48_000, 440],
    [8_000, 48_000, 300],
    [44_100, 48_000, 3_000],
    [22_050, 48_000, 660],
    [12_345, 48_000, 1_234], // 3200 phases: taps computed per sample
    [24_000, 48_000, 9_000],
  ];

  it.each(pairs)('%i → %i Hz keeps a %i Hz tone (frequency and amplitude)', (from, to, hz) => {
    const input = tone(Math.round(from * 0.5), from, hz, 0.5);
    const output = resamplePcm(input, from, to);
    expect(output.length).toBe(Math.ceil((input.length * to) / from));
    const steady = middle(output, to);
    expect(zeroCrossingFrequency(steady, to)).toBeCloseTo(hz, 0);
    expect(rms(steady)).toBeGreaterThan((0.5 / Math.SQRT2) * 0.99);
    expect(rms(steady)).toBeLessThan((0.5 / Math.SQRT2) * 1.01);
  });

  it.each([
    [48_000, 16_000],
    [16_000, 48_000],
    [44_100, 48_000],
  ])('preserves DC (%i → %i Hz)', (from, to) => {
    const output = resamplePcm(new Float32Array(from / 10).fill(0.37), from, to);
    for (const sample of middle(output, to)) expect(sample).toBeCloseTo(0.37, 5);
  });

  it.each([10_000, 9_000, 12_000, 20_000])('does not alias a %i Hz tone into 16 kHz audio (below −30 dB)', (hz) => {
    const input = tone(48_000, 48_000, hz, 0.8);
    const output = middle(resamplePcm(input, 48_000, 16_000), 16_000);
    const aliasHz = Math.abs(hz - 16_000 * Math.round(hz / 16_000));
    const ratioDb = 20 * Math.log10(rms(output) / rms(input));
    expect(ratioDb).toBeLessThan(-30);
    // The alias frequency itself carries nothing either.
    expect(20 * Math.log10(toneAmplitude(output, 16_000, aliasHz) / 0.8)).toBeLessThan(-30);
  });

  it('passes a tone just inside the passband and keeps upsampling image-free', () => {
    const passband = middle(resamplePcm(tone(48_000, 48_000, 6_000, 0.5), 48_000, 16_000), 16_000);
    expect(rms(passband)).toBeGreaterThan((0.5 / Math.SQRT2) * 0.97);
    // 16 → 48 kHz: a 5 kHz tone must not leave an image at 16 − 5 = 11 kHz.
    const up = middle(resamplePcm(tone(16_000, 16_000, 5_000, 0.5), 16_000, 48_000), 48_000);
    expect(20 * Math.log10(toneAmplitude(up, 48_000, 11_000) / 0.5)).toBeLessThan(-60);
  });

  it('streams: chunks of any size plus flush equal the one-shot result', () => {
    const input = tone(22_050, 22_050, 700, 0.4);
    const oneShot = resamplePcm(input, 22_050, 48_000);
    const streaming = createPcmResampler(22_050, 48_000);
    const parts: Float32Array[] = [];
    let offset = 0;
    let size = 1;
    while (offset < input.length) {
      parts.push(streaming.process(input.subarray(offset, offset + size)));
      offset += size;
      size = (size * 7 + 3) % 997;
    }
    parts.push(streaming.flush());
    const chunked = concat(parts);
    expect(chunked.length).toBe(oneShot.length);
    let worst = 0;
    for (let i = 0; i < chunked.length; i++) worst = Math.max(worst, Math.abs((chunked[i] as number) - (oneShot[i] as number)));
    expect(worst).toBeLessThan(1e-6);
  });

  it('starts afresh after flush and reset', () => {
    const resampler = createPcmResampler(48_000, 16_000);
    const first = concat([resampler.process(tone(4_800, 48_000, 500, 0.5)), resampler.flush()]);
    const second = concat([resampler.process(tone(4_800, 48_000, 500, 0.5)), resampler.flush()]);
    expect(Array.from(second)).toEqual(Array.from(first));
    resampler.process(tone(4_800, 48_000, 500, 0.5));
    resampler.reset();
    expect(resampler.flush().length).toBe(0);
  });

  it('is the identity at equal rates and refuses rates outside 8–48 kHz', () => {
    const input = tone(480, 48_000, 1_000, 0.5);
    expect(Array.from(resamplePcm(input, 48_000, 48_000))).toEqual(Array.from(input));
    expect(() => createPcmResampler(7_999, 48_000)).toThrow(RangeError);
    expect(() => createPcmResampler(48_000, 96_000)).toThrow(RangeError);
    expect(() => createPcmResampler(16_000.5, 48_000)).toThrow(RangeError);
  });
});
