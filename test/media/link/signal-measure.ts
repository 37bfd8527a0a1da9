// Measurements on PCM for the media-link tests: RMS, tone frequency by zero crossings, a tone's
// amplitude at one frequency (Goertzel, rectangular window), tone generation and `concat`. Test
// code only: no assertions, and none of the media link's own work (decoding, resampling:
// src/adapters/media-link/) nor the driver's RMS for detection (src/media/detectors/).

export function tone(samples: number, rateHz: number, frequencyHz: number, amplitude: number, phaseSamples = 0): Float32Array {
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) out[i] = amplitude * Math.sin((2 * Math.PI * frequencyHz * (i + phaseSamples)) / rateHz);
  return out;
}

export function rms(samples: ArrayLike<number>, start = 0, end = samples.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) {
    const s = samples[i] as number;
    sum += s * s;
  }
  return Math.sqrt(sum / Math.max(1, end - start));
}

/** Frequency from upward zero crossings (linear interpolation between samples). */
export function zeroCrossingFrequency(samples: ArrayLike<number>, rateHz: number): number {
  const crossings: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as number;
    const b = samples[i] as number;
    if (a < 0 && b >= 0) crossings.push(i - 1 + a / (a - b));
  }
  if (crossings.length < 2) return 0;
  const first = crossings[0] as number;
  const last = crossings[crossings.length - 1] as number;
  return ((crossings.length - 1) * rateHz) / (last - first);
}

/** Amplitude of the component at `frequencyHz` (Goertzel, rectangular window over `samples`). */
export function toneAmplitude(samples: ArrayLike<number>, rateHz: number, frequencyHz: number): number {
  const w = (2 * Math.PI * frequencyHz) / rateHz;
  let re = 0;
  let im = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as number;
    re += s * Math.cos(w * i);
    im -= s * Math.sin(w * i);
  }
  return (2 * Math.hypot(re, im)) / samples.length;
}

export function concat(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
