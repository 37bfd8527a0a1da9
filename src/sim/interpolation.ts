// Pose interpolation of a daemon goto (reachy-daemon-api.md §7; RM:src/reachy_mini/utils/interpolation.py,
// RM:src/reachy_mini/motion/goto.py): SE(3) interpolation with yaw as a scalar (through the front)
// and the roll/pitch residual by SLERP, defined in src/robot/goto-path.ts (the driver's envelope
// check of a goto's path uses the same). The time laws (linear, min-jerk, ease-in-out, cartoon) are
// shared with the driver's speed limits in src/robot/time-laws.ts. Owns no clock and no robot state.
import { INTERPOLATION_METHODS, timeLaw, type InterpolationMethod } from '../robot/time-laws.ts';

/** The goto time laws of the wire contract shared with the driver (`GotoModelRequest.interpolation`). */
export { INTERPOLATION_METHODS, timeLaw };
export type { InterpolationMethod };

export function isInterpolationMethod(value: unknown): value is InterpolationMethod {
  return typeof value === 'string' && (INTERPOLATION_METHODS as readonly string[]).includes(value);
}

/** The daemon's pose interpolation, shared with the driver's envelope check of a goto's path. */
export { interpolatePose, lerp } from '../robot/goto-path.ts';
