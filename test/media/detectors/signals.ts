// Deterministic test signals for the detector tests: a seeded PRNG (mulberry32), Gaussian noise,
// sine tones, and a noisy 8-bit RGB camera (static pattern + optional bright square) whose sensor
// noise is fresh for every frame and every channel (xorshift32). No Math.random: every run sees the same data.
import type { VideoFrame } from '../../../src/media/detectors/motion.ts';

/** mulberry32: a tiny, well-distributed 32-bit PRNG; returns uint32 values. */
export function seededUint32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Standard normal deviates (Box–Muller) from a seeded generator. */
export function seededGaussian(seed: number): () => number {
  const next = seededUint32(seed);
  return () => {
    const u1 = (next() + 1) / 4294967297;
    const u2 = next() / 4294967296;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

export const SAMPLE_RATE = 16_000;

export function msToSamples(ms: number): number {
  return Math.round((ms * SAMPLE_RATE) / 1000);
}

/** Gaussian noise of standard deviation `sigma` (full scale ±1). */
export function noise(gauss: () => number, sigma: number, samples: number): Float32Array {
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) out[i] = sigma * gauss();
  return out;
}

/** Adds `amplitude`·sin(2πft) into `signal` from sample `start` for `samples` samples. */
export function addSine(signal: Float32Array, start: number, samples: number, amplitude: number, hz: number): void {
  for (let i = 0; i < samples && start + i < signal.length; i++) {
    signal[start + i] = (signal[start + i] ?? 0) + amplitude * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE);
  }
}

export const WIDTH = 1280;
export const HEIGHT = 720;

/**
 * A static, textured 720p scene seen by a noisy sensor. `frame()` renders the scene (plus an optional
 * bright square) and adds independent noise to every byte: an Irwin–Hall sum of four uniform bytes
 * from one PRNG draw, scaled to σ grey levels (close to Gaussian, cheap enough for 2.8 M draws/frame).
 */
export class NoisyCamera {
  readonly #base: Uint8Array;
  /** xorshift32 state for the sensor noise (inlined in `frame()`: 2.8 M draws per 720p frame). */
  #state: number;
  readonly #sigma: number;
  readonly width: number;
  readonly height: number;

  constructor(seed: number, sigma: number, width = WIDTH, height = HEIGHT) {
    this.width = width;
    this.height = height;
    this.#state = seededUint32(seed)() | 1;
    this.#sigma = sigma;
    this.#base = new Uint8Array(width * height * 3);
    // Checkerboard of 40 px tiles, a horizontal gradient and per-channel tints: 50–190, so σ≈5 rarely clips.
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const tile = ((Math.floor(x / 40) + Math.floor(y / 40)) & 1) === 1 ? 60 : 0;
        const grad = Math.floor((x / width) * 70);
        const i = (y * width + x) * 3;
        this.#base[i] = 60 + tile + grad;
        this.#base[i + 1] = 55 + tile + Math.floor(grad / 2);
        this.#base[i + 2] = 50 + tile + Math.floor((y / height) * 60);
      }
    }
  }

  /** One RGB frame; `square` draws a (side × side) square of grey `level` at (x, y), `gain` adds a global brightness offset. */
  frame(square?: { x: number; y: number; side: number; level: number }, gain = 0): VideoFrame {
    const { width, height } = this;
    const data = new Uint8Array(this.#base);
    if (square !== undefined) {
      for (let y = square.y; y < Math.min(height, square.y + square.side); y++) {
        data.fill(square.level, (y * width + square.x) * 3, (y * width + Math.min(width, square.x + square.side)) * 3);
      }
    }
    // Noise in whole grey levels for each possible sum of four bytes (0…1020).
    const scale = this.#sigma / Math.sqrt((4 * (256 * 256 - 1)) / 12);
    const table = Int16Array.from({ length: 1021 }, (_, sum) => Math.round(gain + (sum - 510) * scale));
    let x = this.#state;
    for (let i = 0; i < data.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const v = data[i]! + table[(x & 255) + ((x >>> 8) & 255) + ((x >>> 16) & 255) + (x >>> 24)]!;
      data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    this.#state = x;
    return { width, height, format: 'rgb', data };
  }
}

/** The reference's `detect_motion` metric (§5.3): the fraction of byte positions that differ. */
export function referenceByteDelta(previous: Uint8Array | Uint8ClampedArray, current: Uint8Array | Uint8ClampedArray): number {
  if (previous.length !== current.length || current.length === 0) return 0;
  let differ = 0;
  for (let i = 0; i < current.length; i++) if (previous[i] !== current[i]) differ++;
  return differ / current.length;
}
