// The daemon's look-at maths (reachy-daemon-api.md §8, RM:vision/look_at.py): the minimal rotation
// turning the head's +X onto the direction of a world point (x forward, y left, z up, metres),
// translation zero. Owns only this; pose algebra lives in the pose module. Pure functions.
import { radToDeg, rotationFromRotvec, rpyFromRotation, rotZ, type Mat3 } from './pose-math.ts';

/** Below this distance the point is "at the head": no defined direction, identity like the daemon. */
export const LOOK_AT_MIN_DISTANCE_M = 1e-12;

export function lookAtRotation(x: number, y: number, z: number): Mat3 {
  const norm = Math.hypot(x, y, z);
  if (norm < LOOK_AT_MIN_DISTANCE_M) return rotZ(0);
  const d: [number, number, number] = [x / norm, y / norm, z / norm];
  // axis = X × d = (0, -dz, dy); angle = acos(X · d) = acos(dx)
  const axis: [number, number, number] = [0, -d[2], d[1]];
  const axisNorm = Math.hypot(axis[1], axis[2]);
  const angle = Math.acos(Math.max(-1, Math.min(1, d[0])));
  if (axisNorm < LOOK_AT_MIN_DISTANCE_M) return d[0] > 0 ? rotZ(0) : rotZ(Math.PI);
  return rotationFromRotvec([0, (axis[1] / axisNorm) * angle, (axis[2] / axisNorm) * angle]);
}

/** Roll, pitch, yaw in degrees of the look-at rotation (for range checks and reporting). */
export function lookAtRpyDeg(x: number, y: number, z: number): { roll: number; pitch: number; yaw: number } {
  const [roll, pitch, yaw] = rpyFromRotation(lookAtRotation(x, y, z));
  return { roll: radToDeg(roll), pitch: radToDeg(pitch), yaw: radToDeg(yaw) };
}
