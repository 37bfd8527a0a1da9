// Vocabulary shared by the audio-activity and motion detectors: the two-state detection state,
// what `confidence` means, ISO timestamps from an injected clock, and payload rounding.
// Owns no detection algorithm (audio-activity.ts, motion.ts) and no transport. Fixes the reference's
// confidence (reference-driver.md §3: value/threshold for both states, so an "inactive" report
// with value 0 had confidence 0) by defining it as confidence in the *reported* state (§12 items 8–9).
// Pure functions, no I/O.

/** Reported detector state; the same words as the reference's `state` field (§3). */
export type DetectorState = 'active' | 'inactive';

/**
 * How far past the decision boundary (as a ratio) the measured value must be for confidence 1.
 * 10 = one decade (20 dB for an amplitude such as RMS): a value ten times above the release
 * threshold, or ten times below the attack threshold, leaves no reasonable doubt.
 */
export const CONFIDENCE_FULL_RATIO = 10;

/** Decimal places kept in payload numbers: the reference rounds to 6 (§5.3). */
export const PAYLOAD_DECIMALS = 6;

/** `Date` cannot represent instants beyond ±8.64e15 ms; clamping keeps `toISOString` from throwing. */
const MAX_DATE_MS = 8.64e15;

/**
 * Confidence in the reported state, in [0, 1].
 *
 * The boundary is the threshold that would flip the state: the release threshold while active,
 * the attack threshold while inactive. With r the ratio of the value to that boundary, taken on
 * the state's side (value/boundary while active, boundary/value while inactive):
 *   confidence = clamp(0.5 + 0.5 · log(r) / log(CONFIDENCE_FULL_RATIO), 0, 1)
 * so it is 0.5 exactly at the boundary, 1 when the value is CONFIDENCE_FULL_RATIO times beyond it on
 * the reported side (or 0 while inactive), and below 0.5 while the evidence points the other way
 * (for example during an attack or release run, before the state changes).
 */
export function stateConfidence(state: DetectorState, value: number, boundary: number): number {
  const v = Number.isFinite(value) && value > 0 ? value : 0;
  if (!(boundary > 0) || !Number.isFinite(boundary)) {
    return state === 'active' ? (v > 0 ? 1 : 0) : v > 0 ? 0 : 1;
  }
  if (v === 0) return state === 'active' ? 0 : 1;
  const ratio = state === 'active' ? v / boundary : boundary / v;
  const c = 0.5 + (0.5 * Math.log(ratio)) / Math.log(CONFIDENCE_FULL_RATIO);
  return round6(Math.min(1, Math.max(0, c)));
}

/** Rounds to PAYLOAD_DECIMALS; non-finite values become 0 so payloads are always JSON numbers. */
export function round6(value: number): number {
  if (!Number.isFinite(value)) return 0;
  const scale = 10 ** PAYLOAD_DECIMALS;
  return Math.round(value * scale) / scale;
}

/** ISO-8601 text of an injected clock reading (ms since the epoch), clamped to what `Date` holds. */
export function isoTimestamp(ms: number): string {
  const clamped = Number.isFinite(ms) ? Math.min(MAX_DATE_MS, Math.max(-MAX_DATE_MS, ms)) : 0;
  return new Date(clamped).toISOString();
}

/** Nearest-rank percentile (p in [0, 1]) of a sorted array; 0 for an empty one. */
export function sortedPercentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.floor(p * (sorted.length - 1))));
  return sorted[index] ?? 0;
}
