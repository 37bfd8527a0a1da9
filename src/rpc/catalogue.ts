// The device's RPC functions and events as advertised on the mesh, in one list, plus the
// privileged functions served only on the `.supervisor` subject. Each entry names its parameters
// (Effect Schema → JSON schema) and the driver event a call becomes. Functions are listed here
// only when the machines behind them work (no function pretends). Names: reference-driver.md §2.
import type { DriverEvent } from '../machines/driver.machine.ts';
import { actingOwner, defineFunction, OWNER_MAX_LENGTH, OWNER_PATTERN, OWNER_TEXT, type AnyRpcFunction, type EventDefinition } from './function-def.ts';
import { booleanParam, defineParams, stringParam } from './params.ts';
import { MEDIA_FUNCTIONS } from './media-functions.ts';
import { ROBOT_FUNCTIONS, stopMotion } from './robot-functions.ts';
import { MOVE_FUNCTIONS } from './move-functions.ts';
import { getSafetyPolicy, setSafetyPolicyFunction } from './policy-functions.ts';
import { NEVER_APPROVED } from '../safety/safety-policy.ts';
import { APPROVAL_EVENTS, APPROVAL_FUNCTIONS } from './approval-functions.ts';

export const getStatus = defineFunction<Record<string, never>, DriverEvent>({
  name: 'get_status',
  description:
    'Report the robot and driver state. Returns {daemon, driver_state}: daemon is the last status read from the Reachy daemon (with its age in seconds) or {available:false, reason}; driver_state has command_owner, lease_expires_at, lease_active, lease_policy, execution_state (idle|commanded|moving|stopping|error), interlock_state (safe|tripped), power_state (unknown|asleep|waking|awake|compliant|going_to_sleep), motor_mode, wake_required (true once the robot slept, until a wake_up completes: motion is refused meanwhile even with the motors enabled), connection_state, current_pose, target_pose, last_error, media and detector states, media_policy (policy allow|supervisor|deny, state enabled|disabled|denied), and when each state was entered. Read-only; never moves the robot.',
  labels: { direction: 'read', safety: 'informational' },
  params: defineParams({}),
  toEvent: (_params, call) => ({ type: 'rpc.get_status', requestId: call.requestId }),
  timeoutMs: 2_000,
  sharedRead: true,
});

export const FUNCTIONS: ReadonlyArray<AnyRpcFunction> = [getStatus, getSafetyPolicy, ...ROBOT_FUNCTIONS, ...MOVE_FUNCTIONS, ...MEDIA_FUNCTIONS];

/** Functions a policy may hold for approval: every function of the device but stops and pure reads of state/policy. */
export const APPROVABLE_FUNCTIONS: ReadonlySet<string> = new Set(FUNCTIONS.map((f) => f.name).filter((name) => !NEVER_APPROVED.has(name)));

/** What this driver advertises: without media (--no-media) the camera/microphone/speaker functions are left out. */
export function functionsFor(options: { readonly media: boolean }): ReadonlyArray<AnyRpcFunction> {
  return options.media ? FUNCTIONS : [getStatus, getSafetyPolicy, ...ROBOT_FUNCTIONS, ...MOVE_FUNCTIONS];
}

/** Who acts on the supervisor subject: an owner name like any other (it is audited and may hold the trip). */
const supervisorOwner = stringParam({ description: 'Who is acting (for the audit trail).', default: 'supervisor', maxLength: OWNER_MAX_LENGTH, pattern: OWNER_PATTERN, patternText: OWNER_TEXT });

const supervisorParams = defineParams({
  reason: stringParam({ description: 'Why (kept in the audit trail).', maxLength: 200 }),
  owner: supervisorOwner,
});

/** Why a trip was sent, when the call does not say (or says it in a form the trip cannot take). */
const DEFAULT_TRIP_REASON = 'supervisor trip';

/**
 * The supervisor's stop: never refused for its form (a reason it cannot take is cut or defaulted),
 * and when the trip itself is refused for who sent it (an unsigned, badly signed or replayed call
 * under --trusted-callers) motion is still stopped, as stop_motion does.
 */
export const trip = defineFunction({
  name: 'trip',
  description: `Trip the safety interlock (stops running moves, refuses motion until reset). Never refused for its parameters (reason defaults to "${DEFAULT_TRIP_REASON}"; one it cannot take is ignored and named in ignored_params). A trip refused for who sent it still stops motion: the error says the interlock was not tripped (interlock_tripped false) and carries stop_motion's answer.`,
  labels: { direction: 'write', safety: 'critical' },
  params: defineParams({
    reason: stringParam({ description: 'Why (kept in the audit trail).', default: DEFAULT_TRIP_REASON, maxLength: 200 }),
    owner: supervisorOwner,
  }),
  toEvent: (p, call) => ({ type: 'supervisor.trip', requestId: call.requestId, reason: p.reason, owner: actingOwner(p.owner, call) }),
  stop: { cut: ['reason'], instead: (p, call) => stopMotion.toEvent({ owner: actingOwner(p.owner, call) }, call) },
});

const SUPERVISOR_OPERATIONS = [
  { name: 'reset_interlock', event: 'supervisor.reset', description: 'Return a tripped interlock to safe.' },
  { name: 'revoke_lease', event: 'supervisor.revoke_lease', description: 'Take the motion lease away from whoever holds it.' },
] as const;

/** Served on `device-connect.<tenant>.<device_id>.supervisor` only; broker ACLs decide who may publish there. */
export const SUPERVISOR_FUNCTIONS: ReadonlyArray<AnyRpcFunction> = [
  trip,
  ...SUPERVISOR_OPERATIONS.map((op): AnyRpcFunction =>
  defineFunction({
    name: op.name,
    description: op.description,
    labels: { direction: 'write', safety: 'critical' },
    params: supervisorParams,
    toEvent: (p, call) => ({ type: op.event, requestId: call.requestId, reason: p.reason, owner: actingOwner(p.owner, call) }),
  }),
  ),
  defineFunction({
    name: 'set_media_enabled',
    description: 'Under --media-policy supervisor: enable (true) or disable (false) the camera and microphone functions (capture_video_frame, capture_audio_sample, start_audio_input, detect_audio_activity, detect_motion, set_monitors, get_media_stream_access). Audited with who and why. Refused (NotAllowedInState) under the allow and deny policies. Supervisor subject only.',
    labels: { direction: 'write', safety: 'critical' },
    params: defineParams({
      enabled: booleanParam({ description: 'true: capture functions run; false: they answer MediaNotEnabled.' }),
      reason: stringParam({ description: 'Why (kept in the audit trail).', default: 'media policy', maxLength: 200 }),
      owner: supervisorOwner,
    }),
    toEvent: (p, call) => ({ type: 'supervisor.set_media_enabled', requestId: call.requestId, enabled: p.enabled, reason: p.reason, owner: actingOwner(p.owner, call) }),
  }),
  setSafetyPolicyFunction(APPROVABLE_FUNCTIONS),
  ...APPROVAL_FUNCTIONS,
];

/** The stops (`stop_motion`, `emergency_stop` on `.cmd`, `trip` on `.supervisor`): the functions with a `stop` form. */
export const STOP_FUNCTIONS: ReadonlySet<string> = new Set([...FUNCTIONS, ...SUPERVISOR_FUNCTIONS].filter((f) => f.stop !== undefined).map((f) => f.name));

const str = { type: 'string' };
const num = { type: 'number' };
const int = { type: 'integer' };
const detectorState = { type: 'string', enum: ['active', 'inactive'] };

/** Media events, emitted by the background monitors only on state changes (set_monitors). */
export const MEDIA_EVENTS: ReadonlyArray<EventDefinition> = [
  {
    name: 'audio_event',
    labels: { modality: 'audio' },
    description:
      'Microphone activity started or ended (audio monitor; emitted only on state changes). kind: audio_activity_detected | audio_activity_ended; source: microphone; state: active | inactive; rms; threshold (effective: max(configured, noise floor × 3)); release_threshold; noise_floor; duration_ms (how long the sound had lasted); confidence in the state; ts (ISO-8601); seq (1, 2, 3… per detector).',
    payloadSchema: {
      type: 'object',
      properties: { kind: str, source: str, state: detectorState, rms: num, threshold: num, release_threshold: num, noise_floor: num, duration_ms: num, confidence: num, ts: str, seq: int },
      required: ['kind', 'source', 'state', 'rms', 'threshold', 'confidence', 'ts', 'seq'],
    },
  },
  {
    name: 'motion_event',
    labels: { modality: 'video' },
    description:
      'Camera motion started or ended (motion monitor; emitted only on state changes; sensor noise does not count). kind: motion_detected | motion_ended; source; state: active | inactive; magnitude (changed-area fraction); threshold; release_threshold; pixel_threshold (grey levels); confidence in the state; ts (ISO-8601); seq.',
    payloadSchema: {
      type: 'object',
      properties: { kind: str, source: str, state: detectorState, magnitude: num, threshold: num, release_threshold: num, pixel_threshold: num, confidence: num, ts: str, seq: int },
      required: ['kind', 'source', 'state', 'magnitude', 'threshold', 'confidence', 'ts', 'seq'],
    },
  },
];

export function eventsFor(options: { readonly media: boolean }): ReadonlyArray<EventDefinition> {
  return options.media ? [...EVENTS, ...MEDIA_EVENTS] : EVENTS;
}

export const EVENTS: ReadonlyArray<EventDefinition> = [
  {
    name: 'safety_event',
    labels: { safety: 'critical', modality: 'safety' },
    description:
      'An audit record: a refusal, an accepted motion command, a capture, a safety state change or a configuration change. kind: refused | accepted | interlock_tripped | interlock_reset | lease_acquired | lease_renewed | lease_released | lease_revoked | lease_expired | late_move_stopped | late_mode_reverted (a cancelled command\'s motor mode, applied late, put back: from, to) | stop_unconfirmed | stop_params_ignored (ignored_params) | stopped_instead (a trip refused for who sent it or the driver\'s mode: motion stopped, interlock_tripped false) | speed_limited | deadman_stop | policy_changed | policy_narrowed_stop (a narrower envelope or speed limit stopped the motion under way: violations, speed_excess) | approval_requested | approval_approved | approval_denied | approval_timeout | d2d_estop_tripped | d2d_estop_ignored | media_enabled | media_disabled | media_capture | settings_changed | credentials_uploaded | reconfigured | reconfigure_refused; reason; function (calls, policy changes, captures); owner; caller {id, verified, key?}; state after the change (interlock, power, connection, execution, lease_owner); ts; seq, prev, hash: its place in the audit hash chain.',
    payloadSchema: {
      type: 'object',
      properties: { kind: str, reason: str, function: str, owner: str, caller: { type: 'object' }, state: { type: 'object' }, ts: str, seq: { type: 'integer' }, prev: str, hash: str },
      required: ['kind', 'reason', 'state', 'ts'],
    },
  },
  ...APPROVAL_EVENTS,
];
