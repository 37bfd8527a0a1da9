// The read-only robot functions (get_joints, get_imu, get_body_yaw), answered from the daemon
// adapters' timestamped caches (/ws/sdk pushes) or, in HTTP transport, one fresh state read.
// Owns the reply shapes (reference-driver.md §2.1 plus read_at/age_s/stale) and telling "this robot
// has no IMU" (Unsupported: only a Wireless robot pushes imu_data, daemon-api §0) from "no sample
// yet" (DaemonUnavailable). No state, no decisions about motion.
import type { DaemonLink } from './daemon-link.ts';
import type { DaemonStatus } from '../adapters/daemon-wire.ts';
import { DaemonUnavailable, messageOf, Unsupported, type RpcFailure } from '../errors.ts';
import { radToDeg, xyzRpyFromPose, type XyzRpyPose } from '../robot/pose-math.ts';
import type { HeadPose } from '../adapters/daemon-wire.ts';

export type ReadAnswer = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: RpcFailure };

/** A robot that pushes IMU data: a Wireless one, not the mockup or a simulation (daemon-api §10). */
function hasImu(status: DaemonStatus | null): boolean | null {
  if (!status) return null;
  return status.wireless_version && !status.simulation_enabled && !status.mockup_sim_enabled;
}

function readImu(link: DaemonLink, status: DaemonStatus | null, connectionState: string): ReadAnswer {
  const imu = link.sdk?.latest('imu_data');
  if (imu) return { ok: true, result: { status: 'success', imu: imu.value, read_at: new Date(imu.receivedAt).toISOString(), age_s: imu.ageMs / 1000, stale: imu.stale } };
  if (hasImu(status) === false) return { ok: false, error: new Unsupported({ message: 'this robot has no IMU (only the Reachy Mini Wireless has one)', function: 'get_imu' }) };
  if (!link.sdk) return { ok: false, error: new Unsupported({ message: 'the IMU is only pushed over the WebSocket transport; this driver runs with --transport-mode http', function: 'get_imu' }) };
  return { ok: false, error: new DaemonUnavailable({ message: 'no IMU sample received yet; retry in a moment', connectionState }) };
}

/** The present head pose (world frame) in the units of look_at_world: degrees and millimetres. */
function headPoseDeg(pose: XyzRpyPose): Record<string, number> {
  return { roll: radToDeg(pose.roll), pitch: radToDeg(pose.pitch), yaw: radToDeg(pose.yaw), x_mm: pose.x * 1000, y_mm: pose.y * 1000, z_mm: pose.z * 1000 };
}

function headPoseOf(pose: HeadPose | null | undefined): Record<string, number> | null {
  if (!pose) return null;
  return headPoseDeg('m' in pose ? xyzRpyFromPose(pose.m) : pose);
}

/** Answers one read; never throws. */
export async function answerRobotRead(fn: string, link: DaemonLink, status: DaemonStatus | null, connectionState: string): Promise<ReadAnswer> {
  if (fn === 'get_imu') return readImu(link, status, connectionState);
  try {
    const joints = link.sdk?.latest('joint_positions');
    if (joints) {
      const head = joints.value.head_joint_positions;
      const [right, left] = joints.value.antennas_joint_positions;
      const bodyYaw = head[0] ?? 0;
      const common = { read_at: new Date(joints.receivedAt).toISOString(), age_s: joints.ageMs / 1000, stale: joints.stale };
      if (fn === 'get_body_yaw') return { ok: true, result: { status: 'success', yaw_rad: bodyYaw, yaw_deg: radToDeg(bodyYaw), ...common } };
      // The reply is dated by the joints: a head pose not pushed lately (while the joints are) is left out, never passed as theirs.
      const pose = link.sdk?.latest('head_pose');
      const headPose = pose && (!pose.stale || joints.stale) ? headPoseDeg(xyzRpyFromPose(pose.value.head_pose.flat())) : null;
      return { ok: true, result: { status: 'success', head_degrees: head.map(radToDeg), antenna_degrees: [radToDeg(left ?? 0), radToDeg(right ?? 0)], body_yaw_deg: radToDeg(bodyYaw), body_yaw_rad: bodyYaw, head_pose: headPose, ...common } };
    }
    // HTTP transport (or no push yet): one state read, fresh by construction.
    const full = await link.http.fullState({ withHeadJoints: true, withBodyYaw: true, withAntennaPositions: true, withHeadPose: true });
    const at = new Date().toISOString();
    const bodyYaw = full.body_yaw ?? 0;
    if (fn === 'get_body_yaw') return { ok: true, result: { status: 'success', yaw_rad: bodyYaw, yaw_deg: radToDeg(bodyYaw), read_at: at, age_s: 0, stale: false } };
    const [right, left] = full.antennas_position ?? [0, 0];
    return { ok: true, result: { status: 'success', head_degrees: (full.head_joints ?? []).map(radToDeg), antenna_degrees: [radToDeg(left), radToDeg(right)], body_yaw_deg: radToDeg(bodyYaw), body_yaw_rad: bodyYaw, head_pose: headPoseOf(full.head_pose), read_at: at, age_s: 0, stale: false } };
  } catch (error) {
    return { ok: false, error: new DaemonUnavailable({ message: messageOf(error), connectionState }) };
  }
}
