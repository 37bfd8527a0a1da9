// Per-caller rate limits by class of function (issue "safety policy", item 3): a token bucket per
// (caller, class) that refills at the class's rate and holds one second of it, so a mis-prompted
// agent cannot spam motion, sound playback or captures. Stops, reads, lease calls and streamed audio
// chunks are never limited by count. Owns the classes, the `--rate-limit` syntax and the bucket arithmetic; pure (the clock
// and the limits in force are injected: the root's safety policy); the gate (src/actors/rpc-gate.ts) applies it and audits
// one refusal per burst.

export const RATE_CLASSES = ['motion', 'audio', 'capture'] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

/** Calls per second per caller; null: not limited. */
export type RateLimits = Readonly<Record<RateClass, number | null>>;

/**
 * Defaults: motion 20/s — an agent streaming look-at targets needs ~10–20 Hz, and the daemon's
 * 50 Hz loop would otherwise apply every jump; audio 2/s — two sound files a second is already a
 * cacophony (push_audio_sample is a stream of chunks, not limited by count); capture 10/s — a vision
 * loop over RPC rarely needs more, and each frame costs ~5 ms of encoding.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = Object.freeze({ motion: 20, audio: 2, capture: 10 });
export const DEFAULT_RATE_LIMIT_TEXT = 'motion=20/s,audio=2/s,capture=10/s';
/** Highest rate accepted in the flag: above it a limit guards nothing. */
export const MAX_RATE_PER_S = 1_000;
/** Refusals this close together are one burst, audited once. */
export const RATE_BURST_QUIET_MS = 1_000;
/** Callers remembered at most (oldest forgotten first): bounds memory against spoofed owners. */
export const MAX_RATE_CALLERS = 1_024;

const CLASS_OF: Readonly<Record<string, RateClass>> = {
  look_at_world: 'motion',
  set_body_yaw: 'motion',
  antenna_pose: 'motion',
  goto_pose: 'motion',
  look_at_point: 'motion',
  wake_up: 'motion',
  goto_sleep: 'motion',
  play_move: 'motion',
  play_expression: 'motion',
  set_volume: 'audio',
  set_motor_mode: 'motion',
  play_audio_file: 'audio',
  capture_video_frame: 'capture',
  capture_audio_sample: 'capture',
};

/** The class a function is limited under; null for stops, reads, leases and everything else. */
export function rateClassOf(fn: string): RateClass | null {
  return CLASS_OF[fn] ?? null;
}

/** `motion=20/s,audio=2/s` (classes left out keep their default; `none` or `class=off` lifts a limit). */
export function parseRateLimits(text: string): { ok: true; limits: RateLimits } | { ok: false; problem: string } {
  const limits: Record<RateClass, number | null> = { ...DEFAULT_RATE_LIMITS };
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'none') return { ok: true, limits: { motion: null, audio: null, capture: null } };
  for (const part of trimmed.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z]+)=(off|(\d+(?:\.\d+)?)\/s)$/.exec(part);
    if (!match) return { ok: false, problem: `"${part}" is not class=N/s or class=off` };
    const cls = match[1] as RateClass;
    if (!(RATE_CLASSES as ReadonlyArray<string>).includes(cls)) return { ok: false, problem: `unknown class "${cls}" (known: ${RATE_CLASSES.join(', ')})` };
    const rate = match[3] === undefined ? null : Number(match[3]);
    if (rate !== null && (rate <= 0 || rate > MAX_RATE_PER_S)) return { ok: false, problem: `${cls} rate must be above 0 and at most ${MAX_RATE_PER_S}/s` };
    limits[cls] = rate;
  }
  return { ok: true, limits: Object.freeze(limits) };
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number; readonly limitPerS: number; readonly firstInBurst: boolean };

interface Bucket {
  tokens: number;
  at: number;
  lastRefusalAt: number;
}

export class RateLimiter {
  /** The limits in force, read at every call (set_safety_policy changes them at run time). */
  readonly #limits: () => RateLimits;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(limits: RateLimits | (() => RateLimits), now: () => number = Date.now) {
    this.#limits = typeof limits === 'function' ? limits : () => limits;
    this.#now = now;
  }

  /** Takes one call of `cls` for `caller`, or says how long until one is allowed. */
  take(caller: string, cls: RateClass): RateDecision {
    const rate = this.#limits()[cls];
    if (rate === null) return { ok: true };
    const now = this.#now();
    const key = `${cls}\u0000${caller}`;
    // A bucket holds `rate` calls, but at least one: a rate under 1/s (one move every 2 s) must let a call through.
    const capacity = Math.max(1, rate);
    const bucket = this.#buckets.get(key) ?? { tokens: capacity, at: now, lastRefusalAt: Number.NEGATIVE_INFINITY };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    this.#remember(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const firstInBurst = now - bucket.lastRefusalAt > RATE_BURST_QUIET_MS;
    bucket.lastRefusalAt = now;
    return { ok: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / rate) * 1000), limitPerS: rate, firstInBurst };
  }

  #remember(key: string, bucket: Bucket): void {
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > MAX_RATE_CALLERS) this.#buckets.delete(this.#buckets.keys().next().value as string);
  }
}
