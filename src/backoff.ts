// The one retry back-off of the driver: capped exponential growth with FULL jitter ("Exponential
// Backoff And Jitter", AWS architecture blog, 2015): delay = random() × min(max, base × 2^(n−1))
// for the n-th consecutive failure, so clients that failed together do not retry together.
// Owns the formula only. Each user (daemon link, daemon sockets, mesh registration, media session)
// keeps its own base and cap with the reason for them. Pure: `random` is injected (tests pass a
// constant), and nothing here schedules a timer.

/** The two numbers a user chooses, each with its reason at the call site. */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay. */
  readonly baseMs: number;
  /** Largest ceiling, however many failures. */
  readonly maxMs: number;
}

/** A source of uniform numbers in [0, 1), like Math.random. */
export type RandomSource = () => number;

/** Upper bound of the delay after `failures` consecutive failures (0 and 1 both mean the first retry). */
export function backoffCeilingMs(policy: BackoffPolicy, failures: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
}

/** Full-jitter delay after `failures` consecutive failures, whole milliseconds in [0, ceiling]. */
export function backoffDelayMs(policy: BackoffPolicy, failures: number, random: RandomSource = Math.random): number {
  const fraction = Math.min(1, Math.max(0, random()));
  return Math.floor(fraction * backoffCeilingMs(policy, failures));
}
