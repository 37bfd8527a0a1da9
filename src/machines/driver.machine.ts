// The root driver machine: the one actor every RPC event is sent to (through the gate), and the
// parent of every child of the driver's one actor system — connection (daemon link), power,
// interlock, lease, motion, dead-man, approvals, the mesh device and the media session — whose
// snapshots are the only truth about their states. Its guard is the one safety decision (`refusalOf`
// in driver-policy.ts, which also explains refusals); accepted work goes to the children with
// `sendTo`, and their answers become the caller's `rpc.outcome`. It keeps only the safety policy in
// force, the camera/microphone policy, the audio switches and observations (daemon status, pose, detector events). Pure definition:
// children's I/O is provided by the runtimes. reference-driver.md §2, §4, §12; README "Safety", "Safety policy".
import { assign, emit, enqueueActions, setup, type ActorRefFrom } from 'xstate';
import type { OutsideEnvelope, RpcFailure } from '../errors.ts';
import { connectionMachine } from './connection.machine.ts';
import { deadmanListensTo, deadmanMachine, deadmanMayStop, deadmanReason, isStreamCommand, runningCommander, type DeadmanExpired } from './deadman.machine.ts';
import { memoisedStatus } from './status-memo.ts';
import { gateView, narrowedStopOf, narrowedStopReason, refusalOf, sleptWithMotorsOff, speedExcessOf, type AudioSwitches, type DriverChildren, type GatedEvent, type GateView, type Observations, type PrivilegedRpc } from './driver-policy.ts';
import { interlockMachine, type InterlockEvent } from './interlock.machine.ts';
import { mediaCallEvent, type MediaSessionMachine } from './media-session.machine.ts';
import type { MeshInput, MeshMachine } from './mesh.machine.ts';
import { leaseDecision, leaseMachine, liveHolder, type LeaseAnswer, type LeasePolicy } from './lease.machine.ts';
import { motionMachine, type CancelledCommand, type MotionProgressEvent, type MotionToParent, type RampEnded } from './motion.machine.ts';
import { powerMachine, type MotorMode } from './power.machine.ts';
import type { MotionRpcEvent } from '../rpc/robot-functions.ts';
import type { MediaRpcEvent } from '../rpc/media-functions.ts';
import { DEFAULT_SAFETY_POLICY, ENVELOPE_AXES, policyAnswer, policyDocument, type SafetyPolicy } from '../safety/safety-policy.ts';
import type { EnvelopeSetBy } from '../safety/configured-policy-change.ts';
import { initialMediaPolicy, MEDIA_CAPTURE_FUNCTIONS, mediaPolicyStatus, type MediaPolicyMode, type MediaPolicyState } from '../safety/media-policy.ts';
import { approvalsMachine, approvalView, type ApprovalRequest, type ApprovalsToParent } from './approvals.machine.ts';

export type { LeasePolicy } from './lease.machine.ts';
export type { PrivilegedRpc } from './driver-policy.ts';

export interface DriverInput {
  readonly deviceId: string;
  readonly leasePolicy: LeasePolicy;
  readonly leaseTtlS: number;
  readonly privilegedRpc: PrivilegedRpc;
  /** False with --no-media: no media child is spawned, media RPCs are refused (`disabled`). Default true. */
  readonly mediaEnabled?: boolean;
  /** The mesh child's input (identity and timing of the device on the mesh). */
  readonly mesh: MeshInput;
  /** The safety policy in force at start (validated; the defaults when absent); set_safety_policy replaces it. */
  readonly policy?: SafetyPolicy;
  /** --media-policy (default allow); under `supervisor`, set_media_enabled switches capture on and off. */
  readonly mediaPolicy?: MediaPolicyMode;
}

export interface DriverContext extends Observations {
  readonly deviceId: string;
  readonly privilegedRpc: PrivilegedRpc;
  readonly leaseTtlS: number;
  readonly children: DriverChildren;
  readonly audio: AudioSwitches;
  /** The safety policy in force: the root's own state, replaced whole by set_safety_policy. */
  readonly policy: SafetyPolicy;
  /** Who set each envelope axis in force: the owner of the last set_safety_policy that changed it (`settings` for an apply); absent: the start-up configuration. */
  readonly envelopeSetBy: EnvelopeSetBy;
  /** The camera/microphone policy and, under `supervisor`, whether media is enabled now (src/safety/media-policy.ts). */
  readonly mediaPolicy: MediaPolicyState;
}

type Requested<T extends string, F = object> = { type: T; requestId: string } & F;

export type RpcEvent =
  | Requested<'rpc.get_status'>
  | Requested<'rpc.read', { function: 'get_joints' | 'get_imu' | 'get_body_yaw' }>
  /** Daemon calls that move nothing (list_moves, get_volume, set_volume: src/actors/daemon-calls.ts). */
  | Requested<'rpc.read', { function: 'list_moves' | 'get_volume' | 'set_volume'; params: Record<string, unknown> }>
  | MotionRpcEvent
  | Requested<'rpc.stop_motion', { owner: string }>
  | Requested<'rpc.set_motor_mode', { mode: MotorMode; owner: string }>
  | Requested<'rpc.emergency_stop', { reason: string; owner: string }>
  | Requested<'rpc.reset_interlock', { reason: string; owner: string }>
  | Requested<'rpc.acquire_lease', { owner: string; ttlS: number }>
  | Requested<'rpc.release_lease', { owner: string }>
  | Requested<'supervisor.trip', { reason: string; owner: string; source?: 'd2d' }>
  | Requested<'supervisor.reset', { reason: string; owner: string }>
  | Requested<'supervisor.revoke_lease', { reason: string; owner: string }>
  | Requested<'rpc.get_safety_policy'>
  /** A validated policy document replaces the one in force (supervisor subject, or the settings app). */
  | Requested<'supervisor.set_safety_policy', { policy: SafetyPolicy; reason: string; owner: string }>
  | Requested<'supervisor.list_approvals'>
  | Requested<'supervisor.approve' | 'supervisor.deny', { approvalId: string; reason: string; owner: string }>
  /** Under --media-policy supervisor: capture and audio input enabled or disabled (audited). */
  | Requested<'supervisor.set_media_enabled', { enabled: boolean; reason: string; owner: string }>
  | MediaRpcEvent;

/** What the runtime's adapters observe, sent to the root, which routes it to the children. */
export type ReportEvent =
  | { type: 'daemon.status'; status: unknown; daemonState: string; error: string | null; motorMode: MotorMode | null; at: number }
  | { type: 'daemon.motor_mode'; mode: MotorMode }
  | { type: 'daemon.move_update'; uuid: string; update: 'started' | 'completed' | 'failed' | 'cancelled'; details: string }
  | { type: 'daemon.lost'; reason: string }
  | { type: 'link.start' }
  | { type: 'link.stop' }
  /** The active command's sender reached an expression step or planned its goto (the executor's report, for the motion child). */
  | MotionProgressEvent
  /** A cancelled sender finished (reported by the runtime's executor). */
  | { type: 'sender.settled'; requestId: string; uuid: string | null; outcome: 'sent' | 'failed' | 'unknown'; stoppedLate: boolean }
  /** A stop sweep stopped a move the daemon listed that the stop did not know of (the executor's report). */
  | { type: 'sweep.found_running'; uuid: string }
  /** A cancelled command's motor-mode write landed after all: the mode before it was written back (the executor's report). */
  | { type: 'mode.reverted'; function: string; owner: string; from: MotorMode; to: MotorMode }
  /** A realtime ramp ended (the executor's report): the motion machine answers a waiting caller from it. */
  | RampEnded
  /** Observed pose, throttled by the runtime (plain JSON: degrees, read_at). */
  | { type: 'pose.update'; pose: Record<string, unknown> }
  | { type: 'read.result'; requestId: string; ok: true; result: unknown }
  | { type: 'read.result'; requestId: string; ok: false; error: RpcFailure }
  /** A monitor's state change (audio_event / motion_event payload), mirrored into driver_state. */
  | { type: 'media.detector'; detector: 'audio' | 'motion'; event: Record<string, unknown> }
  | { type: 'media.result'; requestId: string; ok: true; result: unknown }
  | { type: 'media.result'; requestId: string; ok: false; error: RpcFailure }
  /** Respawn the named child (the runtime drained the mesh / updated its options holder first). */
  | { type: 'mesh.restart'; input: MeshInput }
  | { type: 'media.restart' }
  /** A call the gate holds for a human's approval (src/actors/approval-stage.ts). */
  | ({ type: 'approval.request' } & ApprovalRequest)
  /** A call entered the gate from `who` (the rate limiter's caller key): the dead-man hears it. */
  | { type: 'caller.heard'; who: string };

/** What the children send to their parent. */
export type ChildEvent =
  | MotionToParent
  | LeaseAnswer
  | DeadmanExpired
  | { type: 'interlock.stop_requested'; reason: string; source: string | null }
  | { type: 'connection.changed'; state: string; at: number; lastError: string | null }
  | ApprovalsToParent;

export type DriverEvent = RpcEvent | ReportEvent | ChildEvent;

export type RpcOutcome =
  | { type: 'rpc.outcome'; requestId: string; ok: true; result: unknown }
  | { type: 'rpc.outcome'; requestId: string; ok: false; error: RpcFailure };

export type DriverEmitted =
  | RpcOutcome
  | { type: 'driver.read'; requestId: string; function: string; params?: Record<string, unknown> }
  /** The policy in force changed (audited with who, before and after; the catalogue is re-advertised). */
  | { type: 'policy.changed'; before: SafetyPolicy; after: SafetyPolicy; owner: string; reason: string }
  /** A call held for approval, and how it ended (the approvals child's reports, for the gate, the trail and the mesh). */
  | (Omit<Extract<ApprovalsToParent, { type: 'approvals.requested' }>, 'type'> & { type: 'approval.requested' })
  | (Omit<Extract<ApprovalsToParent, { type: 'approvals.decided' }>, 'type'> & { type: 'approval.decided' })
  /** The supervisor enabled or disabled camera and microphone (audited as `media_enabled` / `media_disabled`). */
  | { type: 'media_policy.changed'; before: MediaPolicyState; after: MediaPolicyState; owner: string; reason: string }
  /** A capture function was accepted (audited as `media_capture` with its caller). */
  | { type: 'media.captured'; function: string; caller: string | null; verified: boolean }
  /** A narrower envelope or speed limit stopped the motion under way (audited as `policy_narrowed_stop`); `speedExcess` null: the envelope alone. */
  | { type: 'policy.stopped_motion'; function: string; commander: string; by: string; reason: string; violations: OutsideEnvelope['violations']; speedExcess: ReturnType<typeof speedExcessOf> }
  /** The dead-man stopped motion (audited as `deadman_stop`). */
  | { type: 'deadman.stopped'; commander: string; silentMs: number; ms: number; reason: string };

const now = () => Date.now();

/** `setBy` with `owner` for each axis whose range differs between `before` and `after`. */
function envelopeSetByAfter(setBy: EnvelopeSetBy, before: SafetyPolicy, after: SafetyPolicy, owner: string): EnvelopeSetBy {
  const changed = ENVELOPE_AXES.filter((axis) => before.envelope[axis].min !== after.envelope[axis].min || before.envelope[axis].max !== after.envelope[axis].max);
  return Object.freeze({ ...setBy, ...Object.fromEntries(changed.map((axis) => [axis, owner])) });
}
/** The target `alreadyThere` checks in place of the call's: a call answered where the robot is moves nothing. */
const NOTHING_MOVES = Object.freeze({ kind: 'none' });

/** The stops that trip the interlock (the others — stop_motion, the dead-man — leave it as it was). */
const TRIPPING_STOPS: ReadonlySet<string> = new Set(['rpc.emergency_stop', 'supervisor.trip', 'interlock.stop_requested']);

/** The gate's view of a root snapshot (children read at this moment). */
export function viewOf(context: DriverContext): GateView {
  return gateView(context.children, context.privilegedRpc, context.audio, context.startedAt, context.policy, context.mediaPolicy, daemonStateOf(context.daemonStatus));
}

/** The `state` of the daemon status the root observed last; null before any (or without one). */
function daemonStateOf(observed: DriverContext['daemonStatus']): string | null {
  const state = (observed?.value as { state?: unknown } | null | undefined)?.state;
  return typeof state === 'string' ? state : null;
}

/** The typed refusal the gate reports, from the same function as the guard. */
export function explainRefusal(snapshot: unknown, event: { type: string }): RpcFailure | undefined {
  const context = (snapshot as { context: DriverContext }).context;
  return refusalOf(viewOf(context), event as GatedEvent) ?? undefined;
}

/**
 * Whether `caller.heard` from `who` would change anything (the dead-man child's own test): the gate
 * sends the event only then, so a call nobody is waiting to hear from costs no root event.
 */
export function callerHeardMatters(context: DriverContext, who: string): boolean {
  return deadmanListensTo(context.children.deadman.getSnapshot(), who);
}

/** The root's status answer (`get_status`), derived from the children at this moment. */
export function driverStatus(context: DriverContext): Record<string, unknown> {
  return memoisedStatus(context, () => viewOf(context), now());
}

function outcome(requestId: string, answer: { ok: true; result: unknown } | { ok: false; error: RpcFailure }): RpcOutcome {
  return answer.ok ? { type: 'rpc.outcome', requestId, ok: true, result: answer.result } : { type: 'rpc.outcome', requestId, ok: false, error: answer.error };
}

function stopResult(context: DriverContext, e: Extract<MotionToParent, { type: 'motion.stop_answer' }>): Record<string, unknown> {
  const common = { stop: e.confirmed ? 'confirmed' : 'unconfirmed', stopped_moves: e.stopped, cancelled_in_flight: e.cancelled as ReadonlyArray<CancelledCommand>, ...(e.error ? { stop_error: e.error } : {}) };
  if (e.reply === 'stop') return { status: 'stopped', ...common };
  const interlock = viewOf(context).interlock;
  return { status: 'tripped', interlock_state: interlock.state, reason: interlock.reason, ...common };
}

const MEDIA_SWITCHES: Partial<Record<MediaRpcEvent['function'], Partial<AudioSwitches>>> = {
  start_audio_input: { audioInput: true },
  stop_audio_input: { audioInput: false },
  start_audio_output: { audioOutput: true },
  stop_audio_output: { audioOutput: false },
};

export const driverMachine = setup({
  types: {
    context: {} as DriverContext,
    events: {} as DriverEvent,
    input: {} as DriverInput,
    emitted: {} as DriverEmitted,
  },
  actors: {
    connection: connectionMachine,
    power: powerMachine,
    interlock: interlockMachine,
    lease: leaseMachine,
    motion: motionMachine,
    approvals: approvalsMachine,
    deadman: deadmanMachine,
    // Provided by the runtimes (device-runtime.ts, media-runtime.ts) with their I/O.
    mesh: (() => {
      throw new Error('driver machine: the "mesh" actor must be provided');
    }) as unknown as MeshMachine,
    media: (() => {
      throw new Error('driver machine: the "media" actor must be provided');
    }) as unknown as MediaSessionMachine,
  },
  actions: {
    requestRead: emit(({ event }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.read' }>;
      return { type: 'driver.read' as const, requestId: e.requestId, function: e.function, ...('params' in e ? { params: e.params } : {}) };
    }),
    /** A child's or the runtime's answer to forwarded work becomes the caller's outcome. */
    answer: emit(({ event }) => {
      const e = event as Extract<DriverEvent, { type: 'read.result' | 'media.result' | 'motion.answer' | 'lease.answer' }>;
      return outcome(e.requestId, e.ok ? { ok: true, result: e.result } : { ok: false, error: e.error });
    }),
    answerStop: emit(({ context, event }) => {
      const e = event as Extract<MotionToParent, { type: 'motion.stop_answer' }>;
      return outcome(e.requestId, { ok: true, result: stopResult(context, e) });
    }),
    answerStatus: emit(({ context, event }) => outcome((event as { requestId: string }).requestId, { ok: true, result: driverStatus(context) })),
    answerAlready: emit(({ event }) => {
      const e = event as MotionRpcEvent;
      return outcome(e.requestId, { ok: true, result: { status: e.function === 'wake_up' ? 'already_awake' : 'already_asleep' } });
    }),
    startMotion: enqueueActions(({ context, event, enqueue }) => {
      const e = event as MotionRpcEvent;
      const lease = context.children.lease.getSnapshot().context;
      const decision = leaseDecision(lease, e.owner);
      // The caller's own live lease is renewed for its own TTL (taken again should it lapse before the
      // renewal is handled); a free or lapsed one is taken for the default.
      if (decision.allowed && decision.renews) {
        const own = liveHolder(lease) === e.owner;
        enqueue.sendTo(context.children.lease, own ? { type: 'lease.renew', owner: e.owner } : { type: 'lease.acquire', owner: e.owner, ttlS: context.leaseTtlS });
      }
      enqueue.sendTo(context.children.motion, { type: 'motion.command', requestId: e.requestId, kind: e.function, owner: e.owner, power: e.power, command: e.command, target: e.target, wait: e.wait });
      enqueue.sendTo(context.children.deadman, { type: 'deadman.arm', commander: e.owner, stream: isStreamCommand(e.command) });
    }),
    /** The commander went silent while motion runs: an internal stop (the fence and sweep of stop_motion, no trip). */
    deadmanStop: enqueueActions(({ context, event, enqueue }) => {
      const e = event as DeadmanExpired;
      const reason = deadmanReason(e.commander, e.silentMs);
      enqueue.sendTo(context.children.motion, { type: 'motion.stop', requestId: null, reply: null, reason });
      enqueue.sendTo(context.children.deadman, { type: 'deadman.stopped', reason });
      enqueue.emit({ type: 'deadman.stopped', commander: e.commander, silentMs: e.silentMs, ms: e.ms, reason });
    }),
    motorMode: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.set_motor_mode' }>;
      enqueue.sendTo(context.children.motion, { type: 'motion.command', requestId: e.requestId, kind: 'set_motor_mode', owner: e.owner, power: 'any', command: { op: 'motor_mode', mode: e.mode }, target: { kind: 'set_motor_mode', mode: e.mode }, wait: false });
    }),
    stopMotion: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.stop_motion' }>;
      enqueue.sendTo(context.children.motion, { type: 'motion.stop', requestId: e.requestId, reply: 'stop', reason: `stop_motion by ${e.owner}` });
      enqueue.sendTo(context.children.deadman, { type: 'deadman.disarm' });
    }),
    /** The interlock trips first, so any sender checking it before its daemon write sees it; then motion stops. */
    trip: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.emergency_stop' | 'supervisor.trip' }>;
      const source = e.type === 'supervisor.trip' ? (e.source ?? 'supervisor') : 'rpc';
      enqueue.sendTo(context.children.interlock, { type: 'interlock.trip', reason: e.reason, source, owner: e.owner });
      enqueue.sendTo(context.children.motion, { type: 'motion.stop', requestId: e.requestId, reply: 'trip', reason: `${e.type === 'supervisor.trip' ? 'supervisor trip' : 'emergency_stop'} by ${e.owner}: ${e.reason}` });
      enqueue.sendTo(context.children.deadman, { type: 'deadman.disarm' });
    }),
    /** A trip the root did not start (the daemon reported an error): stop motion, nobody to answer. */
    stopForInterlock: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ChildEvent, { type: 'interlock.stop_requested' }>;
      if (e.source === 'daemon') enqueue.sendTo(context.children.motion, { type: 'motion.stop', requestId: null, reply: null, reason: e.reason });
      if (e.source === 'daemon') enqueue.sendTo(context.children.deadman, { type: 'deadman.disarm' });
    }),
    reset: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.reset_interlock' | 'supervisor.reset' }>;
      const source = e.type === 'supervisor.reset' ? 'supervisor' : 'rpc';
      enqueue.sendTo(context.children.interlock, { type: 'interlock.reset', reason: e.reason, source, owner: e.owner } satisfies InterlockEvent);
      enqueue.emit(outcome(e.requestId, { ok: true, result: { status: 'safe', interlock_state: 'safe' } }));
    }),
    acquireLease: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.acquire_lease' }>;
      enqueue.sendTo(context.children.lease, { type: 'lease.acquire', owner: e.owner, ttlS: e.ttlS, requestId: e.requestId });
    }),
    releaseLease: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.release_lease' }>;
      enqueue.sendTo(context.children.lease, { type: 'lease.release', owner: e.owner, requestId: e.requestId });
    }),
    revokeLease: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'supervisor.revoke_lease' }>;
      enqueue.sendTo(context.children.lease, { type: 'lease.revoke', reason: e.reason, by: e.owner, requestId: e.requestId });
    }),
    /** Daemon status fan-out: the interlock (a daemon error trips it) and power (motor mode). */
    routeStatus: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ReportEvent, { type: 'daemon.status' }>;
      enqueue.assign({ daemonStatus: { value: e.status, at: e.at } });
      enqueue.sendTo(context.children.interlock, { type: 'daemon.state', state: e.daemonState, error: e.error });
      if (e.motorMode) enqueue.sendTo(context.children.power, { type: 'daemon.motor_mode', mode: e.motorMode });
    }),
    routeMoveUpdate: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ReportEvent, { type: 'daemon.move_update' }>;
      if (e.update === 'started') {
        const tripped = context.children.interlock.getSnapshot().value === 'tripped';
        enqueue.sendTo(context.children.motion, { type: 'daemon.move_started', uuid: e.uuid, interlockTripped: tripped });
        return;
      }
      const done = { type: 'daemon.move_done' as const, uuid: e.uuid, outcome: e.update, details: e.details };
      enqueue.sendTo(context.children.motion, done);
      enqueue.sendTo(context.children.power, done);
    }),
    /** Wake/sleep sequences the daemon accepted: power follows their uuid. */
    onAccepted: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<MotionToParent, { type: 'motion.accepted' }>;
      if (e.uuid && e.kind === 'wake_up') enqueue.sendTo(context.children.power, { type: 'power.wake_started', uuid: e.uuid });
      if (e.uuid && e.kind === 'goto_sleep') enqueue.sendTo(context.children.power, { type: 'power.sleep_started', uuid: e.uuid });
    }),
    /** The link came back: motion sweeps again if a stop is unconfirmed, orphans exist or the interlock is tripped. */
    onConnection: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ChildEvent, { type: 'connection.changed' }>;
      if (e.state !== 'connected') return;
      enqueue.sendTo(context.children.motion, { type: 'link.recovered', interlockTripped: context.children.interlock.getSnapshot().value === 'tripped' });
    }),
    forwardMedia: enqueueActions(({ context, event, enqueue }) => {
      const e = event as MediaRpcEvent;
      if (MEDIA_CAPTURE_FUNCTIONS.has(e.function)) enqueue.emit({ type: 'media.captured', function: e.function, caller: e.caller, verified: e.verified });
      const flip = MEDIA_SWITCHES[e.function];
      if (flip) enqueue.assign({ audio: { ...context.audio, ...flip } });
      if (context.children.media) enqueue.sendTo(context.children.media, mediaCallEvent(e));
    }),
    /** The old child is stopped (its systemId freed at once), then the same named actor is spawned again. */
    restartMesh: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<ReportEvent, { type: 'mesh.restart' }>;
      enqueue.stopChild(context.children.mesh);
      enqueue.assign(({ spawn }) => ({ children: { ...context.children, mesh: spawn('mesh', { id: 'mesh', systemId: 'mesh', input: e.input }) } }));
    }),
    restartMedia: enqueueActions(({ context, enqueue }) => {
      if (!context.children.media) return;
      enqueue.stopChild(context.children.media);
      enqueue.assign(({ spawn }) => ({ children: { ...context.children, media: spawn('media', { id: 'media', systemId: 'media' }) } }));
    }),
    answerPolicy: emit(({ context, event }) => outcome((event as { requestId: string }).requestId, { ok: true, result: policyAnswer(context.policy) })),
    /**
     * The whole document is replaced at once: every check after this reads the new policy. Motion
     * under way that the new envelope or speed limits no longer allow (`narrowedStopOf`; a recorded
     * move, which cannot be checked, under any policy narrower than the defaults) is stopped
     * as stop_motion stops it (the fence rises: nothing issued before may start after), announced
     * and named in the answer.
     */
    setPolicy: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'supervisor.set_safety_policy' }>;
      const stop = narrowedStopOf(context.children.motion, e.policy);
      enqueue.assign({ policy: e.policy, envelopeSetBy: envelopeSetByAfter(context.envelopeSetBy, context.policy, e.policy, e.owner) });
      enqueue.sendTo(context.children.deadman, { type: 'deadman.policy', ms: e.policy.deadman_ms, commander: runningCommander(context.children.motion.getSnapshot()) });
      enqueue.emit({ type: 'policy.changed', before: context.policy, after: e.policy, owner: e.owner, reason: e.reason });
      const violations = stop?.outside?.violations ?? [];
      const speedExcess = stop ? speedExcessOf(stop) : null;
      if (stop) {
        const reason = `the safety policy was narrowed by ${e.owner} (${e.reason}): ${narrowedStopReason(stop)}`;
        enqueue.sendTo(context.children.motion, { type: 'motion.stop', requestId: null, reply: null, reason });
        enqueue.sendTo(context.children.deadman, { type: 'deadman.disarm' });
        enqueue.emit({ type: 'policy.stopped_motion', function: stop.function, commander: stop.owner, by: e.owner, reason, violations, speedExcess });
      }
      const unchecked = stop?.unchecked ? { narrowed: stop.unchecked.narrowed } : {};
      const stopped = stop ? { motion_stopped: { function: stop.function, owner: stop.owner, violations, ...(speedExcess ? { speed_excess: speedExcess } : {}), ...unchecked } } : {};
      enqueue.emit(outcome(e.requestId, { ok: true, result: { status: 'applied', before: policyDocument(context.policy), policy: policyDocument(e.policy), ...stopped } }));
    }),
    /** Under --media-policy supervisor: capture on or off from now on (the guard refused it under allow/deny). */
    setMediaEnabled: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'supervisor.set_media_enabled' }>;
      const after: MediaPolicyState = { ...context.mediaPolicy, enabled: e.enabled, changedBy: e.owner, changedAt: now(), reason: e.reason };
      enqueue.assign({ mediaPolicy: after });
      enqueue.emit({ type: 'media_policy.changed', before: context.mediaPolicy, after, owner: e.owner, reason: e.reason });
      enqueue.emit(outcome(e.requestId, { ok: true, result: { status: e.enabled ? 'enabled' : 'disabled', media_policy: mediaPolicyStatus(after) } }));
    }),
    /** Held calls and supervisor decisions go to the approvals child; its reports are emitted under the root's names. */
    toApprovals: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'approval.request' | 'supervisor.approve' | 'supervisor.deny' }>;
      if (e.type === 'approval.request') enqueue.sendTo(context.children.approvals, e);
      else enqueue.sendTo(context.children.approvals, { type: e.type === 'supervisor.approve' ? 'approval.approve' : 'approval.deny', requestId: e.requestId, approvalId: e.approvalId, owner: e.owner, reason: e.reason });
    }),
    announceApproval: emit(({ event }) => {
      const e = event as Extract<ApprovalsToParent, { type: 'approvals.requested' | 'approvals.decided' }>;
      return e.type === 'approvals.requested' ? { ...e, type: 'approval.requested' as const } : { ...e, type: 'approval.decided' as const };
    }),
    answerApprovals: emit(({ context, event }) => {
      const pending = context.children.approvals.getSnapshot().context.pending.map((p) => approvalView(p));
      return outcome((event as { requestId: string }).requestId, { ok: true, result: { pending, count: pending.length } });
    }),
    /**
     * A stop ends every held motion request: issued before the stop, it must never start moving the
     * robot. A trip also ends every held reset (asked for before it, it must not clear it).
     */
    endHeldMotion: enqueueActions(({ context, event, enqueue }) => {
      const e = event as { type: string; owner?: string; reason?: string; source?: string | null };
      const tripped = TRIPPING_STOPS.has(e.type);
      enqueue.sendTo(context.children.approvals, { type: 'approval.stop', owner: e.owner ?? e.source ?? (e.type === 'deadman.expired' ? 'deadman' : 'driver'), reason: `${e.type.replace(/^(rpc|supervisor)\./, '')}${e.reason ? `: ${e.reason}` : ''}`, tripped });
    }),
    mirrorDetector: assign(({ context, event }) => {
      const e = event as Extract<ReportEvent, { type: 'media.detector' }>;
      return { detectors: e.detector === 'audio' ? { ...context.detectors, lastAudioEvent: e.event } : { ...context.detectors, lastMotionEvent: e.event } };
    }),
  },
  guards: {
    /** The dead-man finds motion running, or a stream still on. */
    deadmanMayStop: ({ context, event }) => deadmanMayStop(event as DeadmanExpired, context.children.motion.getSnapshot().value),
    /** THE safety gate: the same function explains every refusal. */
    allowed: ({ context, event }) => refusalOf(viewOf(context), event as GatedEvent) === null,
    /**
     * wake_up on an awake robot / goto_sleep on an asleep one with its motors disabled (enabled, the
     * daemon's goto_sleep runs to disable them): nothing to do (no daemon call) — once every other
     * rule of the gate lets the caller command the robot (link, interlock, lease, a stop in
     * progress): being there already answers only the power rule, so the gate's refusal wins. No
     * pose is checked against the envelope: nothing moves.
     */
    alreadyThere: ({ context, event }) => {
      if (event.type !== 'rpc.motion') return false;
      const view = viewOf(context);
      const there = (event.function === 'wake_up' && view.power.state === 'awake') || (event.function === 'goto_sleep' && sleptWithMotorsOff(view.power));
      return there && refusalOf(view, { ...event, power: 'any', target: NOTHING_MOVES }) === null;
    },
  },
}).createMachine({
  id: 'driver',
  context: ({ input, spawn }) => {
    const t = now();
    return {
      deviceId: input.deviceId,
      privilegedRpc: input.privilegedRpc,
      leaseTtlS: input.leaseTtlS,
      startedAt: t,
      daemonStatus: null,
      pose: {},
      detectors: { lastAudioEvent: {}, lastMotionEvent: {} },
      audio: { audioInput: true, audioOutput: true },
      policy: input.policy ?? DEFAULT_SAFETY_POLICY,
      envelopeSetBy: {},
      mediaPolicy: initialMediaPolicy(input.mediaPolicy),
      children: {
        connection: spawn('connection', { id: 'connection', systemId: 'connection' }),
        power: spawn('power', { id: 'power', systemId: 'power' }),
        interlock: spawn('interlock', { id: 'interlock', systemId: 'interlock' }),
        lease: spawn('lease', { id: 'lease', systemId: 'lease', input: { policy: input.leasePolicy, defaultTtlS: input.leaseTtlS } }),
        motion: spawn('motion', { id: 'motion', systemId: 'motion' }),
        approvals: spawn('approvals', { id: 'approvals', systemId: 'approvals' }),
        deadman: spawn('deadman', { id: 'deadman', systemId: 'deadman', input: { ms: (input.policy ?? DEFAULT_SAFETY_POLICY).deadman_ms } }),
        mesh: spawn('mesh', { id: 'mesh', systemId: 'mesh', input: input.mesh }),
        media: input.mediaEnabled === false ? null : spawn('media', { id: 'media', systemId: 'media' }),
      },
    };
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'rpc.get_status': { actions: 'answerStatus' },
        'rpc.read': { actions: 'requestRead' },
        'read.result': { actions: 'answer' },
        'rpc.motion': [{ guard: 'alreadyThere', actions: 'answerAlready' }, { guard: 'allowed', actions: 'startMotion' }],
        'rpc.set_motor_mode': { guard: 'allowed', actions: 'motorMode' },
        // Never gated: stopping is always allowed, whatever the state.
        'rpc.stop_motion': { actions: ['stopMotion', 'endHeldMotion'] },
        'rpc.emergency_stop': { guard: 'allowed', actions: ['trip', 'endHeldMotion'] },
        'rpc.reset_interlock': { guard: 'allowed', actions: 'reset' },
        'rpc.acquire_lease': { guard: 'allowed', actions: 'acquireLease' },
        'rpc.release_lease': { guard: 'allowed', actions: 'releaseLease' },
        'supervisor.trip': { actions: ['trip', 'endHeldMotion'] },
        'supervisor.reset': { guard: 'allowed', actions: 'reset' },
        'supervisor.revoke_lease': { actions: 'revokeLease' },
        'rpc.get_safety_policy': { actions: 'answerPolicy' },
        'supervisor.set_safety_policy': { actions: 'setPolicy' },
        'supervisor.set_media_enabled': { guard: 'allowed', actions: 'setMediaEnabled' },
        'motion.answer': { actions: 'answer' },
        'motion.stop_answer': { actions: 'answerStop' },
        'motion.accepted': { actions: 'onAccepted' },
        'lease.answer': { actions: 'answer' },
        'interlock.stop_requested': { actions: ['stopForInterlock', 'endHeldMotion'] },
        'connection.changed': { actions: 'onConnection' },
        'daemon.status': { actions: 'routeStatus' },
        'daemon.motor_mode': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.power, event)) },
        'daemon.move_update': { actions: 'routeMoveUpdate' },
        'daemon.lost': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.connection, event)) },
        'link.start': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.connection, event)) },
        'link.stop': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.connection, event)) },
        'sender.settled': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.motion, event)) },
        'motion.progress': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.motion, event)) },
        'sweep.found_running': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.motion, event)) },
        'mode.reverted': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.motion, event)) },
        'sender.ramp_ended': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.motion, event)) },
        'pose.update': { actions: assign(({ event }) => ({ pose: event.pose })) },
        'rpc.media': { guard: 'allowed', actions: 'forwardMedia' },
        'media.result': { actions: 'answer' },
        'mesh.restart': { actions: 'restartMesh' },
        'media.restart': { actions: 'restartMedia' },
        'media.detector': { actions: 'mirrorDetector' },
        'approval.request': { actions: 'toApprovals' },
        'supervisor.approve': { actions: 'toApprovals' },
        'supervisor.deny': { actions: 'toApprovals' },
        'supervisor.list_approvals': { actions: 'answerApprovals' },
        'approvals.requested': { actions: 'announceApproval' },
        'approvals.decided': { actions: 'announceApproval' },
        'approvals.answer': { actions: 'answer' },
        'caller.heard': { actions: enqueueActions(({ context, event, enqueue }) => enqueue.sendTo(context.children.deadman, event)) },
        // A move may have ended meanwhile: then there is nothing to stop.
        'deadman.expired': { guard: 'deadmanMayStop', actions: ['deadmanStop', 'endHeldMotion'] },
      },
    },
  },
});

export type DriverMachine = typeof driverMachine;
export type DriverActorRef = ActorRefFrom<DriverMachine>;
