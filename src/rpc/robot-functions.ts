// The robot's RPC functions (reference-driver.md §2.1–§2.2 names, parameters, defaults and ranges,
// plus goto_pose, look_at_point, set_motor_mode, emergency_stop, reset_interlock, acquire_lease,
// release_lease). Each turns its validated params into one driver event carrying a plain-JSON
// daemon command (daemon units: metres, radians; reachy-daemon-api.md §5). Owns the agent-facing
// descriptions and the unit conversions; the machines decide whether and when anything moves.
import { InvalidParams } from '../errors.ts';
import { composePose, degToRad as rad, rotationFromRpy } from '../robot/pose-math.ts';
import { lookAtRotation, lookAtRpyDeg } from '../robot/look-at.ts';
import type { CallContext } from './function-def.ts';
import { defineFunction, OWNER_MAX_LENGTH, OWNER_PATTERN, OWNER_TEXT } from './function-def.ts';
import { booleanParam, defineParams, enumParam, numberParam, stringParam } from './params.ts';


/** Reference limits (§2.2). Body yaw: ±2.8 rad as in the reference; the daemon clamps at ±160°. */
export const LIMITS = {
  headPitchDeg: 30,
  headRollDeg: 30,
  headYawDeg: 45,
  headTranslationMm: 50,
  bodyYawDeg: (2.8 * 180) / Math.PI,
  bodyYawDurationS: 30,
  antennaDeg: 80,
  gotoDurationS: 30,
  lookAtDistanceM: 5,
} as const;
/** Realtime targets are applied on the next 50 Hz tick; allow a few ticks to report "settled". */
export const REALTIME_SETTLE_MS = 250;
/** The gate's default wait (rpc-gate DEFAULT_OUTCOME_TIMEOUT_MS) for calls that answer on acceptance. */
const ACCEPT_TIMEOUT_MS = 20_000;
/**
 * A move with `wait` answers when it ends: its own duration, the daemon's completion margin (1 s,
 * motion.machine MOVE_COMPLETION_MARGIN_MS) and a few seconds for the round trips.
 */
const WAIT_MARGIN_MS = 5_000;

/**
 * The gate's wait for a move of `durationS` seconds: never shorter than the move itself when
 * waiting — nor than the longest goto (30 s) the speed policy `stretch` may lengthen it to (the
 * stretched duration is only known at the write, from the present pose). The motion machine
 * answers a waiting move at its own deadline; this only bounds a machine that never answers.
 */
export function moveTimeoutMs(durationS: number, wait: boolean): number {
  return wait ? Math.max(ACCEPT_TIMEOUT_MS, Math.max(durationS, LIMITS.gotoDurationS) * 1000 + WAIT_MARGIN_MS) : ACCEPT_TIMEOUT_MS;
}

const owner = stringParam({
  description: 'Who is commanding (lease owner). When the call comes from another device, its asserted _dc_meta.source_device is used instead.',
  default: 'agent',
  maxLength: OWNER_MAX_LENGTH,
  pattern: OWNER_PATTERN,
  patternText: OWNER_TEXT,
});
const wait = booleanParam({ description: 'false: answer once the daemon accepted the command (with the move uuid when there is one). true: answer when the move finished.', default: false });

export type PowerRequirement = 'awake' | 'wake' | 'sleep' | 'any';

export interface MotionRpcEvent {
  readonly type: 'rpc.motion';
  readonly requestId: string;
  readonly function: string;
  readonly owner: string;
  readonly command: Record<string, unknown>;
  readonly target: Record<string, unknown>;
  readonly wait: boolean;
  readonly power: PowerRequirement;
}

/** The caller is `_dc_meta.source_device` when present (caller-asserted), else the `owner` param. */
export function callerOf(ownerParam: string, call: CallContext): string {
  return call.caller.sourceDevice ?? ownerParam;
}

function motion(call: CallContext, ownerParam: string, fields: Omit<MotionRpcEvent, 'type' | 'requestId' | 'function' | 'owner'>): MotionRpcEvent {
  return { type: 'rpc.motion', requestId: call.requestId, function: call.function, owner: callerOf(ownerParam, call), ...fields };
}

function headMatrix(rollDeg: number, pitchDeg: number, yawDeg: number, xMm: number, yMm: number, zMm: number): number[] {
  return [...composePose(rotationFromRpy(rad(rollDeg), rad(pitchDeg), rad(yawDeg)), [xMm / 1000, yMm / 1000, zMm / 1000])];
}

const MOTION_LABELS = { direction: 'write', safety: 'critical' } as const;
const READ_LABELS = { direction: 'read', safety: 'informational' } as const;

export const lookAtWorld = defineFunction({
  name: 'look_at_world',
  description: `Point the head: a realtime head target from roll/pitch/yaw (degrees) and an x/y/z offset (mm) in the robot's world frame (x forward, y left, z up; positive pitch looks down, positive yaw turns left). Limits: each parameter's advertised minimum/maximum (the operator's safety envelope, inside the mechanical pitch and roll ±${LIMITS.headPitchDeg}°, yaw ±${LIMITS.headYawDeg}°, offsets ±${LIMITS.headTranslationMm} mm); values outside are refused (OutsideEnvelope, or InvalidParams beyond the mechanical range), not clamped. Needs the robot awake, the interlock safe and the lease free or yours. Returns {status:"accepted", target}.`,
  labels: MOTION_LABELS,
  params: defineParams({
    pitch: numberParam({ description: 'Head pitch in degrees; positive looks down.', minimum: -LIMITS.headPitchDeg, maximum: LIMITS.headPitchDeg, default: 0, unit: 'degrees' }),
    roll: numberParam({ description: 'Head roll in degrees.', minimum: -LIMITS.headRollDeg, maximum: LIMITS.headRollDeg, default: 0, unit: 'degrees' }),
    yaw: numberParam({ description: 'Head yaw in degrees; positive turns left.', minimum: -LIMITS.headYawDeg, maximum: LIMITS.headYawDeg, default: 0, unit: 'degrees' }),
    x_mm: numberParam({ description: 'Head forward offset in millimetres.', minimum: -LIMITS.headTranslationMm, maximum: LIMITS.headTranslationMm, default: 0, unit: 'mm' }),
    y_mm: numberParam({ description: 'Head left offset in millimetres.', minimum: -LIMITS.headTranslationMm, maximum: LIMITS.headTranslationMm, default: 0, unit: 'mm' }),
    z_mm: numberParam({ description: 'Head up offset in millimetres.', minimum: -LIMITS.headTranslationMm, maximum: LIMITS.headTranslationMm, default: 0, unit: 'mm' }),
    owner,
    wait,
  }),
  toEvent: (p, call) =>
    motion(call, p.owner, {
      command: { op: 'head_target', head: headMatrix(p.roll, p.pitch, p.yaw, p.x_mm, p.y_mm, p.z_mm) },
      target: { kind: 'look_at_world', pitch: p.pitch, roll: p.roll, yaw: p.yaw, x_mm: p.x_mm, y_mm: p.y_mm, z_mm: p.z_mm },
      wait: p.wait,
      power: 'awake',
    }),
});

export const setBodyYaw = defineFunction({
  name: 'set_body_yaw',
  description: `Turn the body (base) to an absolute yaw in degrees (positive turns left). Range: yaw_deg's advertised minimum/maximum (the operator's safety envelope, inside the mechanical ±${LIMITS.bodyYawDeg.toFixed(3)}° = ±2.8 rad; the daemon itself stops at ±160° and keeps the body within 65° of the head's yaw); values outside are refused, not clamped; when the head keeps the body short of yaw_deg the reply's body_held_short says where it stays (the daemon holds yaw_deg and turns the body on as the head turns). duration_s 0 sends a realtime target; above 0 runs a min-jerk move of that duration (max ${LIMITS.bodyYawDurationS} s). Needs the robot awake, the interlock safe and the lease free or yours.`,
  labels: MOTION_LABELS,
  timeoutMs: (p) => moveTimeoutMs(p.duration_s, p.wait),
  params: defineParams({
    yaw_deg: numberParam({ description: 'Body yaw in degrees; positive turns left.', minimum: -LIMITS.bodyYawDeg, maximum: LIMITS.bodyYawDeg, unit: 'degrees' }),
    duration_s: numberParam({ description: 'Move duration in seconds; 0 = realtime target.', minimum: 0, maximum: LIMITS.bodyYawDurationS, default: 0, unit: 's' }),
    owner,
    wait,
  }),
  toEvent: (p, call) =>
    motion(call, p.owner, {
      command: p.duration_s > 0 ? { op: 'goto', body_yaw: rad(p.yaw_deg), duration: p.duration_s, interpolation: 'minjerk' } : { op: 'body_yaw_target', body_yaw: rad(p.yaw_deg) },
      target: { kind: 'body_yaw', yaw_deg: p.yaw_deg, duration_s: p.duration_s },
      wait: p.wait,
      power: 'awake',
    }),
});

export const antennaPose = defineFunction({
  name: 'antenna_pose',
  description: `Set both antennas (degrees, within each parameter's advertised minimum/maximum: the operator's safety envelope inside the mechanical ±${LIMITS.antennaDeg}°) as a realtime target; values outside are refused, not clamped. Needs the robot awake, the interlock safe and the lease free or yours.`,
  labels: MOTION_LABELS,
  params: defineParams({
    left: numberParam({ description: 'Left antenna angle in degrees.', minimum: -LIMITS.antennaDeg, maximum: LIMITS.antennaDeg, default: 0, unit: 'degrees' }),
    right: numberParam({ description: 'Right antenna angle in degrees.', minimum: -LIMITS.antennaDeg, maximum: LIMITS.antennaDeg, default: 0, unit: 'degrees' }),
    owner,
    wait,
  }),
  // The daemon's antenna order is [right, left] (daemon-api §5).
  toEvent: (p, call) =>
    motion(call, p.owner, { command: { op: 'antennas_target', antennas: [rad(p.right), rad(p.left)] }, target: { kind: 'antenna_pose', left: p.left, right: p.right }, wait: p.wait, power: 'awake' }),
});

export const gotoPose = defineFunction({
  name: 'goto_pose',
  description: `One coordinated move of head (x/y/z mm, roll/pitch/yaw degrees), antennas and body yaw, each within its advertised minimum/maximum (the operator's safety envelope; values outside are refused, not clamped), over duration_s seconds (0.05–${LIMITS.gotoDurationS}) with an interpolation (linear, minjerk, ease_in_out, cartoon). Returns the daemon move uuid; wait=true answers when the move completed. Needs the robot awake, the interlock safe and the lease free or yours.`,
  labels: MOTION_LABELS,
  timeoutMs: (p) => moveTimeoutMs(p.duration_s, p.wait),
  params: defineParams({
    x_mm: numberParam({ description: 'Head forward offset in millimetres.', minimum: -LIMITS.headTranslationMm, maximum: LIMITS.headTranslationMm, default: 0, unit: 'mm' }),
    y_mm: numberParam({ description: 'Head left offset in millimetres.', minimum: -LIMITS.headTranslationMm, maximum: LIMITS.headTranslationMm, default: 0, unit: 'mm' }),
    z_mm: numberParam({ description: 'Head up offset in millimetres.', minimum: -LIMITS.headTranslationMm, maximum: LIMITS.headTranslationMm, default: 0, unit: 'mm' }),
    roll: numberParam({ description: 'Head roll in degrees.', minimum: -LIMITS.headRollDeg, maximum: LIMITS.headRollDeg, default: 0, unit: 'degrees' }),
    pitch: numberParam({ description: 'Head pitch in degrees; positive looks down.', minimum: -LIMITS.headPitchDeg, maximum: LIMITS.headPitchDeg, default: 0, unit: 'degrees' }),
    yaw: numberParam({ description: 'Head yaw in degrees; positive turns left.', minimum: -LIMITS.headYawDeg, maximum: LIMITS.headYawDeg, default: 0, unit: 'degrees' }),
    antennas_left: numberParam({ description: 'Left antenna angle in degrees.', minimum: -LIMITS.antennaDeg, maximum: LIMITS.antennaDeg, default: 0, unit: 'degrees' }),
    antennas_right: numberParam({ description: 'Right antenna angle in degrees.', minimum: -LIMITS.antennaDeg, maximum: LIMITS.antennaDeg, default: 0, unit: 'degrees' }),
    body_yaw_deg: numberParam({ description: 'Body yaw in degrees; positive turns left.', minimum: -LIMITS.bodyYawDeg, maximum: LIMITS.bodyYawDeg, default: 0, unit: 'degrees' }),
    duration_s: numberParam({ description: 'Move duration in seconds.', minimum: 0.05, maximum: LIMITS.gotoDurationS, default: 1, unit: 's' }),
    interpolation: enumParam(['linear', 'minjerk', 'ease_in_out', 'cartoon'], { description: 'Time law of the move.', default: 'minjerk' }),
    owner,
    wait,
  }),
  toEvent: (p, call) =>
    motion(call, p.owner, {
      command: {
        op: 'goto',
        head_pose: { m: headMatrix(p.roll, p.pitch, p.yaw, p.x_mm, p.y_mm, p.z_mm) },
        antennas: [rad(p.antennas_right), rad(p.antennas_left)],
        body_yaw: rad(p.body_yaw_deg),
        duration: p.duration_s,
        interpolation: p.interpolation,
      },
      target: { kind: 'goto_pose', x_mm: p.x_mm, y_mm: p.y_mm, z_mm: p.z_mm, roll: p.roll, pitch: p.pitch, yaw: p.yaw, antennas_left: p.antennas_left, antennas_right: p.antennas_right, body_yaw_deg: p.body_yaw_deg, duration_s: p.duration_s, interpolation: p.interpolation },
      wait: p.wait,
      power: 'awake',
    }),
});

export const lookAtPoint = defineFunction({
  name: 'look_at_point',
  description: `Turn the head to look at a point in the world frame (metres; x forward, y left, z up; |p| ≤ ${LIMITS.lookAtDistanceM} m) using the daemon's look-at maths. The resulting head angles (with no offset) must stay within the head limits look_at_world advertises (its roll/pitch/yaw/x_mm/y_mm/z_mm minimum/maximum: the operator's safety envelope) or the call is refused (OutsideEnvelope; InvalidParams beyond the mechanical pitch/roll ±${LIMITS.headPitchDeg}°, yaw ±${LIMITS.headYawDeg}°). duration_s 0 = realtime target, else a min-jerk move.`,
  labels: MOTION_LABELS,
  timeoutMs: (p) => moveTimeoutMs(p.duration_s, p.wait),
  params: defineParams({
    x_m: numberParam({ description: 'Point forward distance in metres.', minimum: -LIMITS.lookAtDistanceM, maximum: LIMITS.lookAtDistanceM, unit: 'm' }),
    y_m: numberParam({ description: 'Point left distance in metres.', minimum: -LIMITS.lookAtDistanceM, maximum: LIMITS.lookAtDistanceM, default: 0, unit: 'm' }),
    z_m: numberParam({ description: 'Point height in metres (relative to the head centre).', minimum: -LIMITS.lookAtDistanceM, maximum: LIMITS.lookAtDistanceM, default: 0, unit: 'm' }),
    duration_s: numberParam({ description: 'Move duration in seconds; 0 = realtime target.', minimum: 0, maximum: LIMITS.gotoDurationS, default: 0.5, unit: 's' }),
    owner,
    wait,
  }),
  toEvent: (p, call) => {
    const rpy = lookAtRpyDeg(p.x_m, p.y_m, p.z_m);
    const out = Math.abs(rpy.pitch) > LIMITS.headPitchDeg || Math.abs(rpy.roll) > LIMITS.headRollDeg || Math.abs(rpy.yaw) > LIMITS.headYawDeg || Math.hypot(p.x_m, p.y_m, p.z_m) < 1e-6;
    if (out) {
      const problem = `looking at (${p.x_m}, ${p.y_m}, ${p.z_m}) m needs roll ${rpy.roll.toFixed(1)}°, pitch ${rpy.pitch.toFixed(1)}°, yaw ${rpy.yaw.toFixed(1)}°: outside pitch/roll ±${LIMITS.headPitchDeg}°, yaw ±${LIMITS.headYawDeg}° (or the point is at the head)`;
      throw new InvalidParams({ message: `Invalid params: ${problem}`, issues: ['x_m', 'y_m', 'z_m'].map((parameter) => ({ parameter, problem: 'the point is out of the head\'s reach' })) });
    }
    const head = [...composePose(lookAtRotation(p.x_m, p.y_m, p.z_m), [0, 0, 0])];
    return motion(call, p.owner, {
      command: p.duration_s > 0 ? { op: 'goto', head_pose: { m: head }, duration: p.duration_s, interpolation: 'minjerk' } : { op: 'head_target', head },
      target: { kind: 'look_at_point', x_m: p.x_m, y_m: p.y_m, z_m: p.z_m, ...rpy },
      wait: p.wait,
      power: 'awake',
    });
  },
});

export const wakeUp = defineFunction({
  name: 'wake_up',
  description: 'Run the daemon\'s wake-up sequence (enables the motors first, ~2.3 s). Allowed when asleep, and the only way an asleep robot becomes movable again; needs the interlock safe and the lease free or yours. It goes to the init pose (head centred, body at 0°) and rolls the head 20°: refused OutsideEnvelope when the operator\'s envelope excludes those, TooFast when one of its gotos would exceed a speed limit. Returns the move uuid; wait=true answers when awake.',
  labels: MOTION_LABELS,
  params: defineParams({ owner, wait }),
  toEvent: (p, call) => motion(call, p.owner, { command: { op: 'play', move: 'wake_up' }, target: { kind: 'wake_up' }, wait: p.wait, power: 'wake' }),
});

export const gotoSleep = defineFunction({
  name: 'goto_sleep',
  description: 'Run the daemon\'s go-to-sleep sequence (~4–5 s); it ends with the motors disabled, after which motion is refused until wake_up. On an asleep robot it answers already_asleep when the motors are disabled, and runs again when they were enabled. Needs the interlock safe and the lease free or yours. It may lift to the init pose, then goes to the sleep pose (head pitched 24° down, antennas folded, body at 0°): refused OutsideEnvelope when the operator\'s envelope excludes those, TooFast when one of its gotos would exceed a speed limit (move the robot nearer its init pose first). Returns the move uuid; wait=true answers when asleep.',
  labels: MOTION_LABELS,
  params: defineParams({ owner, wait }),
  toEvent: (p, call) => motion(call, p.owner, { command: { op: 'play', move: 'goto_sleep' }, target: { kind: 'goto_sleep' }, wait: p.wait, power: 'sleep' }),
});

export const stopMotion = defineFunction({
  name: 'stop_motion',
  description: 'Stop every running move now (the robot stays where it is). Never refused: works whatever the interlock, lease or power state, and whatever its parameters (one it cannot take is ignored, and named in the answer\'s ignored_params).',
  labels: MOTION_LABELS,
  params: defineParams({ owner }),
  toEvent: (p, call) => ({ type: 'rpc.stop_motion' as const, requestId: call.requestId, owner: callerOf(p.owner, call) }),
  stop: { cut: [] },
});

export const setMotorMode = defineFunction({
  name: 'set_motor_mode',
  description: 'Set the motors to enabled, disabled (limp) or gravity_compensation (needs the Placo kinematics engine on the daemon). Disabling puts the robot in the asleep state for motion gating; enabling the motors of an asleep robot does not wake it (the head stays at the sleep pose and motion stays refused until wake_up). Needs the interlock safe and the lease free or yours.',
  labels: MOTION_LABELS,
  params: defineParams({ mode: enumParam(['enabled', 'disabled', 'gravity_compensation'], { description: 'Motor control mode.' }), owner }),
  toEvent: (p, call) => ({ type: 'rpc.set_motor_mode' as const, requestId: call.requestId, mode: p.mode, owner: callerOf(p.owner, call) }),
});

export const emergencyStop = defineFunction({
  name: 'emergency_stop',
  description: 'Trip the safety interlock: stops running moves and refuses all motion until reset_interlock. Always allowed, whatever its parameters (one it cannot take is ignored, and named in the answer\'s ignored_params; a reason over 200 characters is cut), except where trips are served on the supervisor subject only: there it stops motion as stop_motion does and answers NotAllowedInState with interlock_tripped false and stop_motion\'s answer in error.data. Emits safety_event.',
  labels: MOTION_LABELS,
  params: defineParams({ reason: stringParam({ description: 'Why (kept in the audit trail).', default: 'emergency stop', maxLength: 200 }), owner }),
  toEvent: (p, call) => ({ type: 'rpc.emergency_stop' as const, requestId: call.requestId, reason: p.reason, owner: callerOf(p.owner, call) }),
  // Under --supervisor-only the trip is refused here: motion is still stopped.
  stop: { cut: ['reason'], instead: (p, call) => stopMotion.toEvent({ owner: p.owner }, call) },
});

export const resetInterlock = defineFunction({
  name: 'reset_interlock',
  description: 'Return a tripped interlock to safe so motion is allowed again. Refused when the interlock is already safe. Emits safety_event.',
  labels: MOTION_LABELS,
  params: defineParams({ reason: stringParam({ description: 'Why it is safe again (kept in the audit trail).', maxLength: 200 }), owner }),
  toEvent: (p, call) => ({ type: 'rpc.reset_interlock' as const, requestId: call.requestId, reason: p.reason, owner: callerOf(p.owner, call) }),
});

export const acquireLease = defineFunction({
  name: 'acquire_lease',
  description: 'Take (or renew) the motion lease for owner for ttl_s seconds (0.5–300); while held, motion from other owners is refused with LeaseHeld. Motion calls by the holder renew it.',
  labels: MOTION_LABELS,
  params: defineParams({ owner, ttl_s: numberParam({ description: 'Lease duration in seconds.', minimum: 0.5, maximum: 300, default: 5, unit: 's' }) }),
  toEvent: (p, call) => ({ type: 'rpc.acquire_lease' as const, requestId: call.requestId, owner: callerOf(p.owner, call), ttlS: p.ttl_s }),
});

export const releaseLease = defineFunction({
  name: 'release_lease',
  description: 'Give the motion lease back (only its holder can).',
  labels: MOTION_LABELS,
  params: defineParams({ owner }),
  toEvent: (p, call) => ({ type: 'rpc.release_lease' as const, requestId: call.requestId, owner: callerOf(p.owner, call) }),
});

export const getJoints = defineFunction({
  name: 'get_joints',
  description: 'Latest joint positions pushed by the daemon (50 Hz): head_degrees (7: body yaw, stewart 1–6), antenna_degrees ([left, right]), body_yaw_deg, head_pose (the present head pose in the world frame, as look_at_world takes it: roll/pitch/yaw degrees, x_mm/y_mm/z_mm; null before the daemon reported one), with read_at and stale (older than 0.5 s). Read-only.',
  labels: READ_LABELS,
  params: defineParams({}),
  toEvent: (_p, call) => ({ type: 'rpc.read' as const, requestId: call.requestId, function: 'get_joints' }),
});

export const getImu = defineFunction({
  name: 'get_imu',
  description: 'Latest IMU sample (Wireless robots only: accelerometer m/s², gyroscope rad/s, quaternion [w,x,y,z], temperature °C) with read_at and stale. Read-only.',
  labels: READ_LABELS,
  params: defineParams({}),
  toEvent: (_p, call) => ({ type: 'rpc.read' as const, requestId: call.requestId, function: 'get_imu' }),
});

export const getBodyYaw = defineFunction({
  name: 'get_body_yaw',
  description: 'Current body yaw (yaw_rad, yaw_deg) from the daemon\'s joint stream, with read_at and stale. Read-only.',
  labels: READ_LABELS,
  params: defineParams({}),
  toEvent: (_p, call) => ({ type: 'rpc.read' as const, requestId: call.requestId, function: 'get_body_yaw' }),
});

export const ROBOT_FUNCTIONS = [getJoints, getImu, getBodyYaw, lookAtWorld, setBodyYaw, antennaPose, gotoPose, lookAtPoint, wakeUp, gotoSleep, stopMotion, setMotorMode, emergencyStop, resetInterlock, acquireLease, releaseLease];

/** Shared with the other motion function modules (src/rpc/move-functions.ts). */
export { owner as ownerParam, wait as waitParam, motion as motionEvent, headMatrix, MOTION_LABELS, READ_LABELS };
