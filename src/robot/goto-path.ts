// The daemon's pose interpolation of a goto (reachy-daemon-api.md §7;
// RM:src/reachy_mini/utils/interpolation.py `linear_pose_interpolation`): SE(3) with yaw as a
// scalar (through the front) and the roll/pitch residual by SLERP, translation and the scalar joints
// (body yaw, antennas) linearly, all at the time law's progress. Shared by the emulated daemon
// (src/sim/robot-model.ts) and the driver's checks of a goto's path (src/safety/goto-path-check.ts,
// src/safety/body-follow-check.ts); the time laws themselves are src/robot/time-laws.ts. Pure: no clock, no robot state.
import { composePose, type Mat4, mul3, orthonormalize, rotationFromRotvec, rotationOf, rotvecFromRotation, rotZ, rpyFromRotation, translationOf, transpose3 } from './pose-math.ts';

export function lerp(a: number, b: number, s: number): number {
  return a + (b - a) * s;
}

/**
 * `linear_pose_interpolation(start, end, s, yaw_as_scalar=True)`: yaw interpolated as a signed
 * Euler angle (never through the back), the remaining roll/pitch rotation by geodesic SLERP,
 * translation linearly. `s` may leave [0, 1] (cartoon overshoot extrapolates).
 */
export function interpolatePose(start: Mat4, end: Mat4, s: number): Mat4 {
  return posePath(start, end).at(s);
}

/** One goto's pose path, with what does not depend on the progress computed once. */
export interface PosePath {
  /** `interpolatePose(start, end, s)`: a caller reading many points of one path pays a rotation per point. */
  at(s: number): Mat4;
  /** The roll/pitch/yaw yaw at the start and at the end; the path's is linear in progress between them. */
  readonly yaws: readonly [number, number];
  /** Angle (radians) of the start's roll/pitch residual, and of the residual's whole turn to the end's. */
  readonly tiltStart: number;
  readonly tiltTurn: number;
}

export function posePath(start: Mat4, end: Mat4): PosePath {
  const rotStart = orthonormalize(rotationOf(start));
  const rotEnd = orthonormalize(rotationOf(end));
  const yawStart = rpyFromRotation(rotStart)[2];
  const yawEnd = rpyFromRotation(rotEnd)[2];
  const residualStart = mul3(rotZ(-yawStart), rotStart);
  const residualEnd = mul3(rotZ(-yawEnd), rotEnd);
  const relative = rotvecFromRotation(mul3(transpose3(residualStart), residualEnd));
  const [x0, y0, z0] = translationOf(start);
  const [x1, y1, z1] = translationOf(end);
  return {
    at: (s) => {
      const residual = mul3(residualStart, rotationFromRotvec([relative[0] * s, relative[1] * s, relative[2] * s]));
      const rotation = mul3(rotZ(lerp(yawStart, yawEnd, s)), residual);
      return composePose(rotation, [lerp(x0, x1, s), lerp(y0, y1, s), lerp(z0, z1, s)]);
    },
    yaws: [yawStart, yawEnd],
    tiltStart: Math.hypot(...rotvecFromRotation(residualStart)),
    tiltTurn: Math.hypot(...relative),
  };
}
