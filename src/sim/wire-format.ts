// JSON shapes the emulated daemon puts on the wire for robot state (reachy-daemon-api.md §1.1,
// §2, §5; samples in fixtures/daemon/get1.txt, ws1.txt): XYZRPY / `{"m":[16]}` poses, FullState
// with every key present (null when not asked for), the `/ws/sdk` joint_positions / head_pose /
// imu_data pushes, and the daemon's two timestamp styles, each typed by the wire contract it shares
// with the driver (src/protocol/daemon-wire-types.ts). Owns formatting only; no state.
import {
  type Mat4, nestedRows, quatFromRotation, rotationOf, transpose3, xyzRpyFromPose,
} from '../robot/pose-math.ts';
import type { FullState, HeadPose, HeadPosePush, ImuDataPush, JointPositionsPush } from '../protocol/daemon-wire-types.ts';
import type { RobotSnapshot } from './robot-model.ts';

export type PoseJson = HeadPose;

/** `as_any_pose(pose, use_pose_matrix)`. */
export function poseJson(pose: Mat4, useMatrix: boolean): PoseJson {
  return useMatrix ? { m: [...pose] } : xyzRpyFromPose(pose);
}

export interface FullStateFlags {
  readonly withControlMode: boolean;
  readonly withHeadPose: boolean;
  readonly withHeadJoints: boolean;
  readonly withBodyYaw: boolean;
  readonly withAntennaPositions: boolean;
  readonly withPassiveJoints: boolean;
  readonly withDoa: boolean;
  readonly usePoseMatrix: boolean;
}

function epochMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

function withMicros(iso: string, micros: number): string {
  return `${iso.slice(0, 19)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

/** UTC ISO-8601 with microseconds and `Z`, as FullState's `timestamp` (§1.1). */
export function utcTimestamp(): string {
  const micros = epochMicros();
  return `${withMicros(new Date(Math.floor(micros / 1000)).toISOString(), micros)}Z`;
}

/** Naive local ISO time with microseconds, as `task_progress.timestamp` (`datetime.now()`, §2). */
export function naiveLocalTimestamp(): string {
  const micros = epochMicros();
  const date = new Date(Math.floor(micros / 1000));
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString();
  return withMicros(local, micros);
}

/**
 * `FullState`, keys in model order. `passive_joints` stays null (only the Placo engine has
 * them) and `doa` stays null (no ReSpeaker board), as on the mockup daemon.
 */
export function fullStateJson(snapshot: RobotSnapshot, flags: FullStateFlags): FullState {
  return {
    control_mode: flags.withControlMode ? snapshot.motorMode : null,
    head_pose: flags.withHeadPose ? poseJson(snapshot.headPose, flags.usePoseMatrix) : null,
    head_joints: flags.withHeadJoints ? [...snapshot.headJoints] : null,
    body_yaw: flags.withBodyYaw ? snapshot.bodyYaw : null,
    antennas_position: flags.withAntennaPositions ? [...snapshot.antennas] : null,
    timestamp: utcTimestamp(),
    passive_joints: null,
    doa: null,
  };
}

export function jointPositionsMessage(snapshot: RobotSnapshot): JointPositionsPush {
  return {
    type: 'joint_positions',
    head_joint_positions: [...snapshot.headJoints],
    antennas_joint_positions: [...snapshot.antennas],
  };
}

export function headPoseMessage(snapshot: RobotSnapshot): HeadPosePush {
  return { type: 'head_pose', head_pose: nestedRows(snapshot.headPose) };
}

/** Standard gravity, m/s² (what a resting accelerometer reads). */
const GRAVITY = 9.81;
/** Plausible board temperature, °C; nothing in the emulator heats up. */
const IMU_TEMPERATURE_C = 36.0;

/**
 * Synthetic `imu_data` of the wireless head: gravity seen in the head frame, no rotation rate,
 * head orientation as `[w, x, y, z]`. The real one is a BMI088 read in the 50 Hz loop (§1.1).
 */
export function imuMessage(snapshot: RobotSnapshot): ImuDataPush {
  const headToWorld = rotationOf(snapshot.headPose);
  const worldToHead = transpose3(headToWorld);
  const accelerometer = [worldToHead[2] ?? 0, worldToHead[5] ?? 0, worldToHead[8] ?? 0].map((v) => v * GRAVITY);
  return {
    type: 'imu_data',
    accelerometer,
    gyroscope: [0, 0, 0],
    quaternion: [...quatFromRotation(headToWorld)],
    temperature: IMU_TEMPERATURE_C,
  };
}
