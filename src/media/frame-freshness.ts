// Freshness of a captured camera picture (issue 12 §6 "Media on a real Wi-Fi link"): a frozen or
// stalled producer leaves the link's newest picture in place, so without a bound a capture would
// answer `ok` with an ever-growing age_ms. Owns the max_age_ms default, its bounds and the
// FrameTooOld decision; does not own the capture wait (src/actors/media-frame-calls.ts) nor encoding.
import { FrameTooOld } from '../errors.ts';

/**
 * Default max_age_ms: the producer sends ≥ 15 fps and an I-frame every 2 s, so on a healthy link
 * the newest picture is tens of ms old; 2 s tolerates a Wi-Fi hiccup of one keyframe period but
 * refuses a stream that has stopped.
 */
export const DEFAULT_MAX_FRAME_AGE_MS = 2_000;
/** Bounds of max_age_ms: below 50 ms a healthy 15–30 fps stream would be refused; above 60 s a picture is no longer "the current view". */
export const FRAME_AGE_RANGE = { min: 50, max: 60_000 } as const;

/** FrameTooOld when the picture received at `receivedAt` is older than `maxAgeMs` at `now`; else null. */
export function frameTooOld(receivedAt: number, now: number, maxAgeMs: number): FrameTooOld | null {
  const ageMs = Math.max(0, now - receivedAt);
  if (ageMs <= maxAgeMs) return null;
  return new FrameTooOld({
    message: `the newest camera picture is ${ageMs} ms old (max_age_ms ${maxAgeMs}): the camera stream looks frozen`,
    age_ms: ageMs,
    max_age_ms: maxAgeMs,
  });
}
