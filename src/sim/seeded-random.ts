// Deterministic randomness for fault injection and simulations: the mulberry32 generator (32-bit
// state, period 2^32, good enough for schedules and jitter, not for cryptography) and the few
// draws the emulator's fault layer needs (uniform ranges, coin flips, shuffles). Seeds derive
// independent streams so one fault's draws do not shift when another fault is added to a plan.
// Owns no timers and no I/O; `Math.random` is never used.

/** mulberry32: returns a generator of floats in [0, 1) fully determined by `seed` (any integer). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for stream `stream` of a run seeded with `seed` (murmur3's 32-bit finaliser over the
 * pair), so "delays" and "drops" of the same run draw from unrelated sequences.
 */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream >>> 0, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class SeededRandom {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    return this.#next();
  }

  /** A float in [lo, hi] (exactly `lo` when the range is empty). */
  between(lo: number, hi: number): number {
    return hi > lo ? lo + (hi - lo) * this.#next() : lo;
  }

  /** True with probability `p` (0 never, 1 always; one draw either way). */
  chance(p: number): boolean {
    return this.#next() < p;
  }

  /** Fisher–Yates, in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.#next() * (i + 1));
      const held = items[i] as T;
      items[i] = items[j] as T;
      items[j] = held;
    }
    return items;
  }
}
