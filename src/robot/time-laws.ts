// The goto time laws shared by the driver and the emulated daemon (reachy-daemon-api.md §7;
// RM:src/reachy_mini/utils/interpolation.py `time_trajectory`): linear, min-jerk, ease-in-out and
// the overshooting "cartoon" back-ease, as progress over normalised time, and each law's peak
// speed factor (the highest d(progress)/d(t) — the speed-limit check multiplies the average speed
// by it) and progress range (the envelope check of a goto's path reads it). Owns no poses and no clock; the daemon's pose interpolation is src/robot/goto-path.ts.
import { INTERPOLATION_METHODS, type Interpolation } from '../protocol/daemon-wire-types.ts';

export { INTERPOLATION_METHODS };
export type InterpolationMethod = Interpolation;

/** Back-ease overshoot constant of the cartoon law (`c1` in the daemon). */
const CARTOON_C1 = 1.70158;
/** In-out back-ease scaling of c1 (`c2 = c1 * 1.525`). */
const CARTOON_C2 = CARTOON_C1 * 1.525;

/** Progress (0..1, cartoon overshoots) at normalised time `t` ∈ [0, 1] (`time_trajectory`). */
export function timeLaw(t: number, method: InterpolationMethod): number {
  const s = Math.max(0, Math.min(1, t));
  switch (method) {
    case 'linear':
      return s;
    case 'minjerk':
      return 10 * s ** 3 - 15 * s ** 4 + 6 * s ** 5;
    case 'ease_in_out':
      return s < 0.5 ? 2 * s * s : 1 - (-2 * s + 2) ** 2 / 2;
    case 'cartoon':
      return s < 0.5
        ? ((2 * s) ** 2 * ((CARTOON_C2 + 1) * 2 * s - CARTOON_C2)) / 2
        : ((2 * s - 2) ** 2 * ((CARTOON_C2 + 1) * (2 * s - 2) + CARTOON_C2) + 2) / 2;
  }
}

/**
 * Points of the normalised time where a law's slope is measured: every law is a smooth piecewise
 * polynomial of degree ≤ 5 whose steepest point (t = 0.5 for all four) is on this grid.
 */
const PEAK_SAMPLES = 20_000;
/** Half-width of the central difference: small against the grid, large against rounding. */
const SLOPE_H = 1e-7;

function measuredPeak(method: InterpolationMethod): number {
  let peak = 0;
  for (let i = 1; i < PEAK_SAMPLES; i++) {
    const t = i / PEAK_SAMPLES;
    peak = Math.max(peak, Math.abs(timeLaw(t + SLOPE_H, method) - timeLaw(t - SLOPE_H, method)) / (2 * SLOPE_H));
  }
  return peak;
}

/** The lowest and highest progress a law reaches (cartoon leaves [0, 1]: it overshoots both ends). */
export interface ProgressRange {
  readonly min: number;
  readonly max: number;
}

const progressRanges = new Map<InterpolationMethod, ProgressRange>();

/**
 * The progress range of `method`, measured on the PEAK_SAMPLES grid on first use (cartoon ≈ [-0.1,
 * 1.1]: a goto of 60° swings 6° past each end); the others stay in [0, 1].
 */
export function progressRange(method: InterpolationMethod): ProgressRange {
  let range = progressRanges.get(method);
  if (range === undefined) {
    let [min, max] = [0, 1];
    for (let i = 1; i < PEAK_SAMPLES; i++) {
      const s = timeLaw(i / PEAK_SAMPLES, method);
      [min, max] = [Math.min(min, s), Math.max(max, s)];
    }
    range = { min, max };
    progressRanges.set(method, range);
  }
  return range;
}

/**
 * Each law's measured peak, computed on its first use (80 000 law evaluations in all, 20–50 ms on
 * a loaded 2-core box: too much to spend at start-up before the first request is answered).
 */
const peakFactors = new Map<InterpolationMethod, number>();

/**
 * Peak speed of a move under `method` as a multiple of its average speed (distance / duration):
 * linear 1, min-jerk 1.875, ease-in-out 2, cartoon ≈ 5.6 (measured from the law itself).
 */
export function peakSpeedFactor(method: InterpolationMethod): number {
  let factor = peakFactors.get(method);
  if (factor === undefined) {
    factor = measuredPeak(method);
    peakFactors.set(method, factor);
  }
  return factor;
}
