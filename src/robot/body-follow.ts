// The daemon's automatic body yaw (reachy-daemon-api.md §6 items 1–2; Analytical engine,
// `inverse_kinematics_safe`, on by default): on every IK the body target is pulled to within 65° of
// the head's world yaw, then clamped to ±160° — a head-only move can turn the body. Shared by the
// emulated daemon (src/sim/kinematics.ts) and the driver's checks of where a head move takes the
// body (src/safety/body-follow-check.ts), so the two cannot disagree. Pure: no clock, no robot
// state, radians. Does not know which body target the daemon holds (a goto's, a realtime one's).
import { degToRad, type Mat4 } from './pose-math.ts';

/** `max_body_yaw = deg2rad(160)` passed to `inverse_kinematics_safe` (§6 item 1). */
export const MAX_BODY_YAW_RAD = degToRad(160);
/** `max_relative_yaw = deg2rad(65)`: the body is pulled within this of the head's yaw (§6 item 2). */
export const MAX_RELATIVE_YAW_RAD = degToRad(65);

/**
 * Body yaw the daemon actually commands for a head pose (world frame, row-major 4×4) and a
 * requested body yaw: pulled within ±65° of the head's yaw, then clamped to ±160°. The head yaw is
 * read as atan2(m01, m00) with the signs flipped, exactly as the Rust code (it differs slightly from
 * the roll/pitch/yaw yaw when the head is also pitched and rolled).
 */
export function resolveBodyYaw(headPose: Mat4, requestedBodyYaw: number): number {
  let target = -requestedBodyYaw;
  const currentYaw = Math.atan2(headPose[1] ?? 0, headPose[0] ?? 1);
  const relative = target - currentYaw;
  target = currentYaw + Math.max(-MAX_RELATIVE_YAW_RAD, Math.min(MAX_RELATIVE_YAW_RAD, relative));
  target = Math.max(-MAX_BODY_YAW_RAD, Math.min(MAX_BODY_YAW_RAD, target));
  return -target;
}
