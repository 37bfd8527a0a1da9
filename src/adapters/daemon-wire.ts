// Minimal decoders of the JSON the Reachy daemon sends: REST replies (reachy-daemon-api.md §1,
// models of §5) and the `/ws/sdk` and `/api/move/ws/updates` pushes (§2, §1.2), into the types of
// src/protocol/daemon-wire-types.ts (shared with the emulator; re-exported here). Each decoder
// checks the fields the driver acts on (type, finiteness, array lengths) and keeps unknown extra
// keys so a newer daemon does not break the link. Owns no I/O and no error type: a mismatch is
// reported as `{ ok: false, problem }` for the transport to turn into `DaemonBadResponse`; never
// a throw, its problem bounded whatever the value (`describeBadValue`).
import { DAEMON_LIFECYCLE_STATES, MOTOR_MODES, MOVE_UPDATE_TYPES } from '../protocol/daemon-wire-types.ts';
import type {
  Antennas, CameraResolution, CameraSpecs, DaemonLifecycleState, DaemonStatus, DaemonStatusPush,
  DirectionOfArrival, FullState, HeadPose, HeadPosePush, ImuDataPush, Interpolation,
  JointPositionsPush, MatrixPose, MediaStatus, MotorMode, MoveUpdate, MoveUpdateType, SdkPush,
  SdkPushType, SetTargetResult, TaskProgressPush, XyzRpyPose,
} from '../protocol/daemon-wire-types.ts';

export { DAEMON_LIFECYCLE_STATES, INTERPOLATION_METHODS, MOTOR_MODES, MOVE_UPDATE_TYPES, SDK_PUSH_TYPES } from '../protocol/daemon-wire-types.ts';
export type {
  Antennas, CameraResolution, CameraSpecs, DaemonLifecycleState, DaemonStatus, DaemonStatusPush,
  DirectionOfArrival, FullState, HeadPose, HeadPosePush, ImuDataPush, Interpolation,
  JointPositionsPush, MatrixPose, MediaStatus, MotorMode, MoveUpdate, MoveUpdateType, SdkPush,
  SdkPushType, SetTargetResult, TaskProgressPush, XyzRpyPose,
};

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };
export type Decoder<T> = (json: unknown) => Decoded<T>;

const LIFECYCLE_STATES: ReadonlySet<string> = new Set(DAEMON_LIFECYCLE_STATES);
const MOVE_UPDATE_TYPE_SET: ReadonlySet<string> = new Set(MOVE_UPDATE_TYPES);

// --- checking helpers --------------------------------------------------------------------------

/** Thrown inside a decoder only; `decodeWith` turns it into `{ ok: false }`. */
class Mismatch extends Error {}

type Json = Record<string, unknown>;

/**
 * Characters of a bad string quoted in a problem: enough to recognise a wrong enum value or a
 * message, while a problem stays one log line however long the daemon's string was.
 */
const SHOWN_STRING_CHARS = 60;

/**
 * A bad value as a problem quotes it: a scalar as JSON writes it (a string cut to
 * SHOWN_STRING_CHARS), an array or object by kind and size only. Total and O(1): it never walks
 * into the value, so a daemon value too deep for JSON.stringify (a RangeError) or of megabytes
 * costs nothing, and it calls no method of the value (a parsed `{"toString":1}` breaks String()).
 */
export function describeBadValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.slice(0, SHOWN_STRING_CHARS));
    return value.length > SHOWN_STRING_CHARS ? `${shown}… (${value.length} characters)` : shown;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

function fail(path: string, expected: string, got: unknown): never {
  throw new Mismatch(`${path || 'body'}: expected ${expected}, got ${describeBadValue(got)}`);
}

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
  return value as Json;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'a finite number', value);
  return value as number;
}

function text(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, 'a string', value);
  return value as string;
}

function bool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'a boolean', value);
  return value as boolean;
}

function nullable<T>(value: unknown, path: string, check: (v: unknown, p: string) => T): T | null {
  return value === null || value === undefined ? null : check(value, path);
}

/** True for an array of finite numbers (of `length` when given); builds nothing. */
function isFiniteList(value: unknown, length?: number): value is number[] {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) return false;
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== 'number' || !Number.isFinite(item)) return false;
  }
  return true;
}

/**
 * A JSON array of finite numbers, answered as is (freshly parsed, so nobody else holds it). The
 * element paths of the error are built only on a mismatch: the /ws/sdk pushes carry 9–16 numbers
 * at 50 Hz, and a path string per element was most of the decoder's garbage.
 */
function numbers(value: unknown, path: string, length?: number): number[] {
  if (isFiniteList(value, length)) return value;
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    fail(path, length === undefined ? 'an array of numbers' : `${length} numbers`, value);
  }
  (value as unknown[]).forEach((item, i) => finite(item, `${path}[${i}]`));
  return value as number[];
}

function pair(value: unknown, path: string): Antennas {
  const [a, b] = numbers(value, path, 2);
  return [a ?? 0, b ?? 0];
}

function uuid(value: unknown, path: string): string {
  const id = text(value, path);
  if (id.length === 0) fail(path, 'a non-empty uuid', value);
  return id;
}

function motorMode(value: unknown, path: string): MotorMode {
  if (!(MOTOR_MODES as readonly unknown[]).includes(value)) fail(path, MOTOR_MODES.join('|'), value);
  return value as MotorMode;
}

function xyzRpy(value: unknown, path: string): XyzRpyPose {
  const pose = object(value, path);
  return {
    x: finite(pose.x, `${path}.x`),
    y: finite(pose.y, `${path}.y`),
    z: finite(pose.z, `${path}.z`),
    roll: finite(pose.roll, `${path}.roll`),
    pitch: finite(pose.pitch, `${path}.pitch`),
    yaw: finite(pose.yaw, `${path}.yaw`),
  };
}

function matrix(value: unknown, path: string): MatrixPose {
  return { m: numbers(object(value, path).m, `${path}.m`, 16) };
}

function headPose(value: unknown, path: string): HeadPose {
  return typeof value === 'object' && value !== null && 'm' in value ? matrix(value, path) : xyzRpy(value, path);
}

function matrix4(value: unknown, path: string): number[][] {
  if (!Array.isArray(value) || value.length !== 4) fail(path, 'a 4×4 nested list', value);
  const rows = value as unknown[];
  for (let i = 0; i < rows.length; i++) if (!isFiniteList(rows[i], 4)) numbers(rows[i], `${path}[${i}]`, 4);
  return rows as number[][];
}

function resolution(value: unknown, path: string): CameraResolution {
  const r = object(value, path);
  return {
    name: text(r.name, `${path}.name`),
    width: finite(r.width, `${path}.width`),
    height: finite(r.height, `${path}.height`),
    fps: finite(r.fps, `${path}.fps`),
    crop_factor: finite(r.crop_factor, `${path}.crop_factor`),
  };
}

/**
 * The daemon status is passed on whole (get_status's `daemon` block is its JSON), so it must be
 * writable as JSON and small: the daemon's is ~1–2 kB; a document nested too deep for
 * JSON.stringify, or this large, is a broken daemon's and would break every status answer.
 */
const MAX_STATUS_JSON_CHARS = 16 * 1024;

function writableStatus(s: Json, path: string): void {
  let json: string;
  try {
    json = JSON.stringify(s);
  } catch {
    fail(path, 'a status document JSON can write (this one is nested too deep)', s);
  }
  if (json.length > MAX_STATUS_JSON_CHARS) fail(path, `a status document under ${MAX_STATUS_JSON_CHARS} characters of JSON (${json.length})`, s);
}

function daemonStatusFields(value: unknown, path: string): DaemonStatus {
  const s = object(value, path);
  text(s.robot_name, `${path}.robot_name`);
  text(s.state, `${path}.state`);
  bool(s.wireless_version, `${path}.wireless_version`);
  bool(s.no_media, `${path}.no_media`);
  nullable(s.backend_status, `${path}.backend_status`, object);
  nullable(s.error, `${path}.error`, text);
  writableStatus(s, path);
  // Checked above; the rest of the document is passed through unchanged.
  return s as unknown as DaemonStatus;
}

/** Runs a checking function as a decoder. */
function decodeWith<T>(check: (json: unknown) => T): Decoder<T> {
  return (json) => {
    try {
      return { ok: true, value: check(json) };
    } catch (error) {
      if (error instanceof Mismatch) return { ok: false, problem: error.message };
      throw error;
    }
  };
}

// --- REST decoders -----------------------------------------------------------------------------

export const decodeDaemonStatus: Decoder<DaemonStatus> = decodeWith((json) => daemonStatusFields(json, ''));

/** Whether the state is one of the documented lifecycle states. */
export const isKnownLifecycleState = (state: string): state is DaemonLifecycleState => LIFECYCLE_STATES.has(state);

export const decodeFullState: Decoder<FullState> = decodeWith((json) => {
  const s = object(json, '');
  const doa = nullable(s.doa, 'doa', (v, p) => {
    const d = object(v, p);
    return { angle: finite(d.angle, `${p}.angle`), speech_detected: bool(d.speech_detected, `${p}.speech_detected`) };
  });
  return {
    control_mode: nullable(s.control_mode, 'control_mode', motorMode),
    head_pose: nullable(s.head_pose, 'head_pose', headPose),
    head_joints: nullable(s.head_joints, 'head_joints', (v, p) => numbers(v, p, 7)),
    body_yaw: nullable(s.body_yaw, 'body_yaw', finite),
    antennas_position: nullable(s.antennas_position, 'antennas_position', pair),
    timestamp: text(s.timestamp, 'timestamp'),
    passive_joints: nullable(s.passive_joints, 'passive_joints', (v, p) => numbers(v, p)),
    doa,
  };
});

export const decodeXyzRpyPose: Decoder<XyzRpyPose> = decodeWith((json) => xyzRpy(json, ''));
export const decodeMatrixPose: Decoder<MatrixPose> = decodeWith((json) => matrix(json, ''));
export const decodeNumber: Decoder<number> = decodeWith((json) => finite(json, ''));
export const decodeAntennas: Decoder<Antennas> = decodeWith((json) => pair(json, ''));
export const decodeMotorsStatus: Decoder<{ readonly mode: MotorMode }> = decodeWith((json) => ({ mode: motorMode(object(json, '').mode, 'mode') }));
export const decodeStatusText: Decoder<{ readonly status: string }> = decodeWith((json) => ({ status: text(object(json, '').status, 'status') }));
export const decodeUuid: Decoder<{ readonly uuid: string }> = decodeWith((json) => ({ uuid: uuid(object(json, '').uuid, 'uuid') }));
export const decodeMessage: Decoder<{ readonly message: string }> = decodeWith((json) => ({ message: text(object(json, '').message, 'message') }));

export const decodeStatusOk: Decoder<{ readonly status: 'ok' }> = decodeWith((json) => {
  const status = object(json, '').status;
  if (status !== 'ok') fail('status', '"ok"', status);
  return { status: 'ok' as const };
});

/** `{"status":"ok"}` or `{"status":"ignored","reason":...}`; anything else is a mismatch, never "ok". */
export const decodeSetTargetResult: Decoder<SetTargetResult> = decodeWith((json) => {
  const reply = object(json, '');
  if (reply.status === 'ok') return { status: 'ok' as const };
  if (reply.status === 'ignored') return { status: 'ignored' as const, reason: text(reply.reason, 'reason') };
  return fail('status', '"ok" or "ignored"', reply.status);
});

export const decodeRunningMoves: Decoder<readonly string[]> = decodeWith((json) => {
  if (!Array.isArray(json)) fail('', 'an array of {uuid}', json);
  return (json as unknown[]).map((item, i) => uuid(object(item, `[${i}]`).uuid, `[${i}].uuid`));
});

export const decodeMediaStatus: Decoder<MediaStatus> = decodeWith((json) => {
  const s = object(json, '');
  return { available: bool(s.available, 'available'), released: bool(s.released, 'released'), no_media: bool(s.no_media, 'no_media') };
});

/** `POST /api/media/sounds/upload` → `{"status":"ok","path":"/tmp/reachy_mini_sounds/<name>"}`. */
export const decodeUploadedSound: Decoder<{ readonly path: string }> = decodeWith((json) => {
  const reply = object(json, '');
  if (reply.status !== 'ok') fail('status', '"ok"', reply.status);
  const path = text(reply.path, 'path');
  if (path.length === 0) fail('path', 'a non-empty path', path);
  return { path };
});

/** `GET /api/media/sounds` → `{"files":[name...]}`. */
export const decodeSoundList: Decoder<readonly string[]> = decodeWith((json) => {
  const files = object(json, '').files;
  if (!Array.isArray(files)) fail('files', 'an array of names', files);
  return (files as unknown[]).map((name, i) => text(name, `files[${i}]`));
});

export const decodeCameraSpecs: Decoder<CameraSpecs> = decodeWith((json) => {
  const s = object(json, '');
  if (!Array.isArray(s.available_resolutions)) fail('available_resolutions', 'an array', s.available_resolutions);
  if (!Array.isArray(s.K) || s.K.length !== 3) fail('K', 'a 3×3 matrix', s.K);
  return {
    name: text(s.name, 'name'),
    available_resolutions: (s.available_resolutions as unknown[]).map((r, i) => resolution(r, `available_resolutions[${i}]`)),
    default_resolution: resolution(s.default_resolution, 'default_resolution'),
    K: (s.K as unknown[]).map((row, i) => numbers(row, `K[${i}]`, 3)),
    D: numbers(s.D, 'D'),
  };
});

// --- push decoders -----------------------------------------------------------------------------

/**
 * A `/ws/sdk` frame: the typed push, `null` for a push type the driver does not use
 * (`recorded_data`, `play_uploaded_move`, ...), or a mismatch for a malformed known push.
 */
export const decodeSdkPush: Decoder<SdkPush | null> = decodeWith((json): SdkPush | null => {
  const frame = object(json, '');
  switch (frame.type) {
    case 'joint_positions':
      return {
        type: 'joint_positions',
        head_joint_positions: numbers(frame.head_joint_positions, 'head_joint_positions', 7),
        antennas_joint_positions: pair(frame.antennas_joint_positions, 'antennas_joint_positions'),
      };
    case 'head_pose':
      return { type: 'head_pose', head_pose: matrix4(frame.head_pose, 'head_pose') };
    case 'imu_data':
      return {
        type: 'imu_data',
        accelerometer: numbers(frame.accelerometer, 'accelerometer', 3),
        gyroscope: numbers(frame.gyroscope, 'gyroscope', 3),
        quaternion: numbers(frame.quaternion, 'quaternion', 4),
        temperature: finite(frame.temperature, 'temperature'),
      };
    case 'daemon_status':
      return daemonStatusFields(frame, '') as DaemonStatusPush;
    case 'task_progress':
      return {
        type: 'task_progress',
        uuid: uuid(frame.uuid, 'uuid'),
        finished: bool(frame.finished, 'finished'),
        error: nullable(frame.error, 'error', text),
        timestamp: text(frame.timestamp, 'timestamp'),
      };
    default:
      text(frame.type, 'type');
      return null;
  }
});

export const decodeMoveUpdate: Decoder<MoveUpdate> = decodeWith((json) => {
  const frame = object(json, '');
  if (typeof frame.type !== 'string' || !MOVE_UPDATE_TYPE_SET.has(frame.type)) fail('type', MOVE_UPDATE_TYPES.join('|'), frame.type);
  return {
    type: frame.type as MoveUpdateType,
    uuid: uuid(frame.uuid, 'uuid'),
    details: frame.details === undefined || frame.details === null ? '' : text(frame.details, 'details'),
  };
});

/** Parses a text frame or body; `undefined` when it is not JSON. */
export function parseJson(raw: string): { readonly json: unknown } | undefined {
  try {
    return { json: JSON.parse(raw) as unknown };
  } catch {
    return undefined;
  }
}
