// Client → daemon frames of `/ws/sdk` (RM:src/reachy_mini/io/protocol.py, ws_server.py,
// `Backend.process_command`; reachy-daemon-api.md §2, §3): validation into typed commands and
// their effect on the emulated backend. Fire-and-forget — nothing is ever replied on this socket;
// invalid frames, JSON-RPC frames and target setters arriving while a goto plays are dropped.
// Tasks (`type:"task"`) honour `method` and end with a broadcast `task_progress`. Applied targets
// and started moves go to the motion record. No transport.
import type { Logger } from '../logging/logger.ts';
import type { TaskProgressPush } from '../protocol/daemon-wire-types.ts';
import { gotoSleep, wakeUp } from './move-sequences.ts';
import { isInterpolationMethod, type InterpolationMethod } from './interpolation.ts';
import type { Mat4 } from '../robot/pose-math.ts';
import { checkUuid } from './request-validation.ts';
import { moveTarget, targetValues, type TargetKind, type TargetValues } from './motion-record.ts';
import { isMotorMode } from './robot-model.ts';
import type { Antennas } from '../robot/daemon-poses.ts';
import type { SimDaemon } from './sim-daemon.ts';
import { naiveLocalTimestamp } from './wire-format.ts';
import { isRecord } from '../protocol/json-object.ts';

/** `GotoTargetCmd.duration` default (s). */
const DEFAULT_GOTO_TARGET_DURATION_S = 0.5;

interface Targets {
  readonly head?: Mat4 | undefined;
  readonly antennas?: Antennas | undefined;
  readonly bodyYaw?: number | undefined;
}

export type SdkCommand =
  | { readonly type: 'set_target'; readonly head: Mat4 }
  | { readonly type: 'set_head_joints'; readonly joints: readonly number[] }
  | { readonly type: 'set_body_yaw'; readonly bodyYaw: number }
  | { readonly type: 'set_antennas'; readonly antennas: Antennas }
  | ({ readonly type: 'set_full_target' } & Targets)
  | ({ readonly type: 'goto_target'; readonly duration: number } & Targets)
  | { readonly type: 'wake_up' | 'goto_sleep' | 'stop_move' | 'start_recording' | 'stop_recording' }
  | { readonly type: 'play_sound'; readonly file: string }
  | { readonly type: 'set_motor_mode'; readonly mode: string }
  | { readonly type: 'set_torque'; readonly on: boolean; readonly ids: readonly string[] | undefined }
  | { readonly type: 'set_gravity_compensation' | 'set_automatic_body_yaw'; readonly enabled: boolean }
  | { readonly type: 'append_record'; readonly record: Record<string, unknown> }
  | ({ readonly type: 'task'; readonly uuid: string; readonly duration: number; readonly method: InterpolationMethod } & Targets)
  /** A valid command with no effect on the emulated motion (getters, volume, logs, uploads...). */
  | { readonly type: 'passive'; readonly name: string };

/** Command types of the daemon's union that the emulator accepts without acting on them. */
const PASSIVE_TYPES = new Set([
  'get_motor_mode', 'get_state', 'get_version', 'get_hardware_id', 'get_imu', 'set_volume', 'get_volume',
  'set_microphone_volume', 'get_microphone_volume', 'get_robot_name', 'set_robot_name', 'delete_hf_token',
  'get_first_wake_up', 'set_first_wake_up', 'subscribe_logs', 'unsubscribe_logs', 'subscribe_pose',
  'unsubscribe_pose', 'restart_daemon', 'start_update', 'upload_move_start', 'upload_move_chunk',
  'upload_move_finish', 'upload_audio_start', 'upload_audio_chunk', 'upload_audio_finish', 'play_uploaded_move',
  'cancel_move', 'play_uploaded_audio', 'cancel_audio', 'clear_incoming_audio', 'apply_audio_config',
  'read_audio_parameter', 'set_speech_offsets', 'set_wobbling', 'set_head_tracking', 'get_tracked_face',
  'play_recorded_move', 'preload_dataset',
]);

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function numberList(value: unknown, length: number): number[] | null {
  return Array.isArray(value) && value.length === length && value.every(isNumber) ? value : null;
}

/** An optional list field: undefined when absent/null, null when malformed. */
function optionalList(value: unknown, length: number): number[] | undefined | null {
  return value === undefined || value === null ? undefined : numberList(value, length);
}

function optionalNumber(value: unknown): number | undefined | null {
  return value === undefined || value === null ? undefined : isNumber(value) ? value : null;
}

function targets(head: unknown, antennas: unknown, bodyYaw: unknown): Targets | null {
  const h = optionalList(head, 16);
  const a = optionalList(antennas, 2);
  const b = optionalNumber(bodyYaw);
  if (h === null || a === null || b === null) return null;
  return { head: h, antennas: a ? [a[0] ?? 0, a[1] ?? 0] : undefined, bodyYaw: b };
}

function parseTask(frame: Record<string, unknown>): SdkCommand | null {
  const uuid = checkUuid(frame.uuid, []);
  const req = frame.req;
  if (!uuid.ok || typeof frame.timestamp !== 'string' || !isRecord(req)) return null;
  // GotoTaskRequest fields have no defaults: all five keys must be present (null allowed).
  if (!['head', 'antennas', 'duration', 'method', 'body_yaw'].every((key) => key in req)) return null;
  const goto = targets(req.head, req.antennas, req.body_yaw);
  if (!goto || !isNumber(req.duration) || !isInterpolationMethod(req.method)) return null;
  return { type: 'task', uuid: uuid.value, duration: req.duration, method: req.method, ...goto };
}

/** Validates one text frame; null means "dropped" (invalid, unknown, JSON-RPC, play-move task). */
export function parseSdkFrame(raw: string): SdkCommand | null {
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isRecord(frame) || typeof frame.type !== 'string') return null;
  switch (frame.type) {
    case 'set_target': {
      const head = numberList(frame.head, 16);
      return head ? { type: 'set_target', head } : null;
    }
    case 'set_head_joints': {
      const joints = numberList(frame.joints, 7);
      return joints ? { type: 'set_head_joints', joints } : null;
    }
    case 'set_body_yaw':
      return isNumber(frame.body_yaw) ? { type: 'set_body_yaw', bodyYaw: frame.body_yaw } : null;
    case 'set_antennas': {
      const antennas = numberList(frame.antennas, 2);
      return antennas ? { type: 'set_antennas', antennas: [antennas[0] ?? 0, antennas[1] ?? 0] } : null;
    }
    case 'set_full_target': {
      const t = targets(frame.head, frame.antennas, frame.body_yaw);
      return t ? { type: 'set_full_target', ...t } : null;
    }
    case 'goto_target': {
      const t = targets(frame.head, frame.antennas, frame.body_yaw);
      const duration = frame.duration === undefined ? DEFAULT_GOTO_TARGET_DURATION_S : frame.duration;
      return t && isNumber(duration) ? { type: 'goto_target', duration, ...t } : null;
    }
    case 'wake_up':
    case 'goto_sleep':
    case 'stop_move':
    case 'start_recording':
    case 'stop_recording':
      return { type: frame.type };
    case 'play_sound':
      return typeof frame.file === 'string' ? { type: 'play_sound', file: frame.file } : null;
    case 'set_motor_mode':
      return typeof frame.mode === 'string' ? { type: 'set_motor_mode', mode: frame.mode } : null;
    case 'set_torque': {
      const ids = frame.ids;
      const validIds = ids === undefined || ids === null || (Array.isArray(ids) && ids.every((id) => typeof id === 'string'));
      if (typeof frame.on !== 'boolean' || !validIds) return null;
      return { type: 'set_torque', on: frame.on, ids: Array.isArray(ids) ? (ids as string[]) : undefined };
    }
    case 'set_gravity_compensation':
    case 'set_automatic_body_yaw':
      return typeof frame.enabled === 'boolean' ? { type: frame.type, enabled: frame.enabled } : null;
    case 'append_record':
      return isRecord(frame.record) ? { type: 'append_record', record: frame.record } : null;
    case 'task':
      return parseTask(frame);
    default:
      return PASSIVE_TYPES.has(frame.type) ? { type: 'passive', name: frame.type } : null;
  }
}

export interface SdkEffects {
  readonly daemon: SimDaemon;
  /** Sends a JSON message to every `/ws/sdk` client. */
  readonly broadcast: (message: Record<string, unknown>) => void;
  readonly logger: Logger;
  /** Emulator wall ms at which the frame reached the emulator (motion record). */
  readonly receivedAt: number;
}

type SequenceName = 'goto_target' | 'wake_up' | 'goto_sleep';

function background(effects: SdkEffects, name: SequenceName, body: (signal: AbortSignal) => Promise<unknown>, target: Parameters<typeof moveTarget>[0] & { readonly duration?: number } = {}): void {
  const meta = name === 'goto_target'
    ? { kind: 'goto' as const, target: moveTarget(target, target.duration ?? 0), receivedAt: effects.receivedAt }
    : { kind: name, target: null, receivedAt: effects.receivedAt };
  effects.daemon.runSdkTask(body, meta).catch((error: unknown) => effects.logger.debug('sdk task ended early', { name, error }));
}

/** A target setter: applied unless a goto holds the lock, and then recorded. */
function applyTarget(effects: SdkEffects, kind: TargetKind, values: TargetValues, apply: () => boolean): void {
  if (effects.daemon.robot.isMoveRunning) return;
  const reachable = apply();
  effects.daemon.motion.targetApplied(kind, 'sdk', effects.receivedAt, values, reachable);
}

/** `Backend.process_command` for the emulated backend (responses discarded, §2). */
export function executeSdkCommand(command: SdkCommand, effects: SdkEffects): void {
  const { daemon } = effects;
  const robot = daemon.robot;
  switch (command.type) {
    case 'set_target':
      applyTarget(effects, 'set_target', targetValues({ head: command.head }), () => robot.setTargets({ head: command.head }));
      return;
    case 'set_head_joints':
      applyTarget(effects, 'set_head_joints', { joints: [...command.joints] }, () => robot.setHeadJoints(command.joints));
      return;
    case 'set_body_yaw':
      applyTarget(effects, 'set_body_yaw', { bodyYaw: command.bodyYaw }, () => robot.setTargets({ bodyYaw: command.bodyYaw }));
      return;
    case 'set_antennas':
      applyTarget(effects, 'set_antennas', { antennas: command.antennas }, () => robot.setTargets({ antennas: command.antennas }));
      return;
    case 'set_full_target':
      applyTarget(effects, 'set_full_target', targetValues(command), () => robot.setTargets(command));
      return;
    case 'goto_target':
      background(effects, 'goto_target', (signal) => robot.goto({ ...command, method: 'minjerk' }, signal), command);
      return;
    case 'wake_up':
      background(effects, 'wake_up', (signal) => wakeUp(daemon.sequenceContext(signal)));
      return;
    case 'goto_sleep':
      background(effects, 'goto_sleep', (signal) => gotoSleep(daemon.sequenceContext(signal)));
      return;
    case 'stop_move':
      robot.stopMoves();
      return;
    case 'play_sound':
      daemon.playSound(command.file);
      return;
    case 'set_motor_mode':
      // `MotorControlMode(cmd.mode)` raises on an unknown mode; the emulator drops the frame.
      if (isMotorMode(command.mode)) robot.setMotorMode(command.mode);
      else effects.logger.debug('sdk set_motor_mode ignored', { mode: command.mode });
      return;
    case 'set_torque':
      // Per-motor torque is a no-op on the mockup; the global switch sets the mode.
      if (command.ids === undefined) robot.setMotorMode(command.on ? 'enabled' : 'disabled');
      return;
    case 'set_gravity_compensation':
      robot.setMotorMode(command.enabled ? 'gravity_compensation' : 'enabled');
      return;
    case 'set_automatic_body_yaw':
      robot.setAutomaticBodyYaw(command.enabled);
      return;
    case 'start_recording':
      daemon.startRecording();
      return;
    case 'append_record':
      daemon.appendRecord(command.record);
      return;
    case 'stop_recording':
      effects.broadcast({ type: 'recorded_data', data: daemon.stopRecording() });
      return;
    case 'task':
      runTask(command, effects);
      return;
    case 'passive':
      return;
  }
}

function runTask(task: Extract<SdkCommand, { type: 'task' }>, effects: SdkEffects): void {
  const progress = (error: string | null): void =>
    effects.broadcast({ type: 'task_progress', uuid: task.uuid, finished: true, error, timestamp: naiveLocalTimestamp() } satisfies TaskProgressPush);
  effects.daemon
    .runSdkTask((signal) => effects.daemon.robot.goto(task, signal), {
      uuid: task.uuid, kind: 'sdk_task', target: moveTarget(task, task.duration), receivedAt: effects.receivedAt,
    })
    .then(
      () => progress(null),
      (error: unknown) => progress(error instanceof Error ? error.message : String(error)),
    );
}
