// Speeds the emulator's pose record shows against the safety policy's speed limits: every
// tick-to-tick change of each axis over its limit × that tick's actual Δt. Owns that reading and its
// two tolerances (POSE_NOISE, the sampling slack) only; the record is src/sim/motion-record.ts's,
// what a test expects of it the test's (README "Speed limits").
import { DEFAULT_SPEED_LIMITS, type SpeedLimits } from '../../src/safety/safety-policy.ts';
import type { PoseSample } from '../../src/sim/motion-record.ts';

const deg = (rad: number): number => (rad * 180) / Math.PI;
/**
 * Float noise of the pose round trip (IK/FK, XYZRPY conversions), in degrees or millimetres: far
 * below one step (3.2° of head rotation), far above the solver's residuals.
 */
export const POSE_NOISE = 1e-3;
/**
 * The record's own sampling jitter: a tick's pose is evaluated a few microseconds after its `at`
 * is read. 0.2 ms is 1 % of a tick — 0.04° at 200°/s, against the 3°-and-more jumps the limits catch.
 */
const SAMPLE_SLACK_S = 0.0002;

export interface Excess {
  readonly axis: string;
  readonly change: number;
  readonly allowed: number;
  readonly dtMs: number;
}

/**
 * Every tick-to-tick change of the recorded pose against the limit × that tick's ACTUAL Δt (wall
 * ms between the two samples). Jitter: the driver's ramp step is 0.8 × limit × 20 ms (it is only
 * reached if a tick comes 4 ms early, which the emulator's setInterval never does — late ticks
 * only loosen the bound), and each step is computed from the pose the daemon last pushed, so two
 * steps landing in one tick still add up to one step; a goto's change between two samples is the
 * integral of a speed whose peak is at most the limit, so it is within limit × Δt whatever Δt is.
 */
export function excesses(samples: ReadonlyArray<PoseSample>, limits: SpeedLimits = DEFAULT_SPEED_LIMITS): Excess[] {
  const out: Excess[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const dtS = (b.at - a.at) / 1000;
    const axes: Array<[string, number, number]> = [
      ['head_x_mm', (b.head.x - a.head.x) * 1000, limits.head_translation_mm_per_s],
      ['head_y_mm', (b.head.y - a.head.y) * 1000, limits.head_translation_mm_per_s],
      ['head_z_mm', (b.head.z - a.head.z) * 1000, limits.head_translation_mm_per_s],
      ['head_roll_deg', deg(b.head.roll - a.head.roll), limits.head_deg_per_s],
      ['head_pitch_deg', deg(b.head.pitch - a.head.pitch), limits.head_deg_per_s],
      ['head_yaw_deg', deg(b.head.yaw - a.head.yaw), limits.head_deg_per_s],
      ['body_yaw_deg', deg(b.bodyYaw - a.bodyYaw), limits.body_deg_per_s],
      ['antenna_right_deg', deg(b.antennas[0] - a.antennas[0]), limits.antenna_deg_per_s],
      ['antenna_left_deg', deg(b.antennas[1] - a.antennas[1]), limits.antenna_deg_per_s],
    ];
    for (const [axis, change, limit] of axes) {
      const allowed = limit * (dtS + SAMPLE_SLACK_S) + POSE_NOISE;
      if (Math.abs(change) > allowed) out.push({ axis, change, allowed, dtMs: b.at - a.at });
    }
  }
  return out;
}

/** How far the body's largest tick-to-tick change went over its limit (degrees; 0 when none did). */
export function bodyExcess(samples: ReadonlyArray<PoseSample>, limits: SpeedLimits = DEFAULT_SPEED_LIMITS): number {
  return Math.max(0, ...excesses(samples, limits).filter((e) => e.axis === 'body_yaw_deg').map((e) => Math.abs(e.change) - e.allowed));
}
