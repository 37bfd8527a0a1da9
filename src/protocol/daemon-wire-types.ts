// The JSON shapes of the Reachy daemon's wire (reachy-daemon-api.md §1 REST models of §5, §1.2
// `/api/move/ws/updates`, §2 `/ws/sdk` pushes): one contract shared by the driver's client
// (src/adapters/daemon-wire.ts decodes into these types) and the emulator (src/sim/ writes them),
// so the two cannot drift. Owns the types and the enumerations of allowed values only: no
// decoding, no validation, no I/O.
import type { XyzRpyPose } from '../robot/pose-math.ts';

export type { XyzRpyPose };

/** `/api/motors/set_mode/{mode}` and FullState `control_mode` (§1.3, §5). */
export const MOTOR_MODES = ['enabled', 'disabled', 'gravity_compensation'] as const;
export type MotorMode = (typeof MOTOR_MODES)[number];
/** `GotoModelRequest.interpolation` (§1.2, §7); `minjerk` when absent. */
export const INTERPOLATION_METHODS = ['linear', 'minjerk', 'ease_in_out', 'cartoon'] as const;
export type Interpolation = (typeof INTERPOLATION_METHODS)[number];
/** `DaemonStatus.state` (§1.4). */
export const DAEMON_LIFECYCLE_STATES = ['not_initialized', 'starting', 'running', 'stopping', 'stopped', 'error'] as const;
export type DaemonLifecycleState = (typeof DAEMON_LIFECYCLE_STATES)[number];

/** Row-major homogeneous 4×4, translation at indices 3, 7, 11 (§5). */
export interface MatrixPose {
  readonly m: readonly number[];
}
export type HeadPose = XyzRpyPose | MatrixPose;
/** `[right, left]` antenna angles, rad (§5). */
export type Antennas = readonly [number, number];

export interface DaemonStatus {
  readonly type?: 'daemon_status';
  readonly robot_name: string;
  /** One of the six lifecycle states; an unknown newer value is passed through as text. */
  readonly state: DaemonLifecycleState | (string & {});
  readonly wireless_version: boolean;
  readonly desktop_app_daemon?: boolean;
  readonly simulation_enabled?: boolean;
  readonly mockup_sim_enabled?: boolean;
  readonly no_media: boolean;
  readonly media_released?: boolean;
  readonly camera_specs_name?: string;
  /** null while the backend is stopped (§1.4); `motor_control_mode`, `error`, robot: `ready`, ... */
  readonly backend_status: Readonly<Record<string, unknown>> | null;
  readonly error: string | null;
  readonly wlan_ip?: string | null;
  readonly version?: string;
  readonly hardware_id?: string | null;
  readonly face_target?: Readonly<Record<string, unknown>>;
}

export interface DirectionOfArrival {
  /** 0 = left, π/2 = front, π = right (§1.1). */
  readonly angle: number;
  readonly speech_detected: boolean;
}

export interface FullState {
  readonly control_mode: MotorMode | null;
  readonly head_pose: HeadPose | null;
  /** `[body_yaw, stewart_1..6]`. */
  readonly head_joints: readonly number[] | null;
  readonly body_yaw: number | null;
  readonly antennas_position: Antennas | null;
  /** UTC ISO-8601 with `Z`. */
  readonly timestamp: string;
  readonly passive_joints: readonly number[] | null;
  readonly doa: DirectionOfArrival | null;
}

export interface MediaStatus {
  readonly available: boolean;
  readonly released: boolean;
  readonly no_media: boolean;
}

export interface CameraResolution {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly crop_factor: number;
}

export interface CameraSpecs {
  readonly name: string;
  readonly available_resolutions: readonly CameraResolution[];
  readonly default_resolution: CameraResolution;
  /** 3×3 intrinsics of the full sensor. */
  readonly K: readonly (readonly number[])[];
  readonly D: readonly number[];
}

export type SetTargetResult = { readonly status: 'ok' } | { readonly status: 'ignored'; readonly reason: string };

// --- /ws/sdk pushes (§2) ---------------------------------------------------------------------

export interface JointPositionsPush {
  readonly type: 'joint_positions';
  /** `[body_yaw, stewart_1..6]`, rad. */
  readonly head_joint_positions: readonly number[];
  readonly antennas_joint_positions: Antennas;
}
export interface HeadPosePush {
  readonly type: 'head_pose';
  /** Nested row-major 4×4. */
  readonly head_pose: readonly (readonly number[])[];
}
export interface ImuDataPush {
  readonly type: 'imu_data';
  readonly accelerometer: readonly number[];
  readonly gyroscope: readonly number[];
  /** `[w, x, y, z]`. */
  readonly quaternion: readonly number[];
  readonly temperature: number;
}
export type DaemonStatusPush = DaemonStatus & { readonly type: 'daemon_status' };
export interface TaskProgressPush {
  readonly type: 'task_progress';
  readonly uuid: string;
  readonly finished: boolean;
  readonly error: string | null;
  /** Naive local ISO time. */
  readonly timestamp: string;
}
export type SdkPush = JointPositionsPush | HeadPosePush | ImuDataPush | DaemonStatusPush | TaskProgressPush;
export type SdkPushType = SdkPush['type'];
export const SDK_PUSH_TYPES = ['joint_positions', 'head_pose', 'imu_data', 'daemon_status', 'task_progress'] as const satisfies readonly SdkPushType[];

// --- /api/move/ws/updates (§1.2) -------------------------------------------------------------

export const MOVE_UPDATE_TYPES = ['move_started', 'move_completed', 'move_failed', 'move_cancelled'] as const;
export type MoveUpdateType = (typeof MOVE_UPDATE_TYPES)[number];
export interface MoveUpdate {
  readonly type: MoveUpdateType;
  readonly uuid: string;
  /** `""`, or the error text of a failed move. */
  readonly details: string;
}
