// The root's one safety decision and the views derived from its children's snapshots (design card:
// "a decision and the typed error that explains its refusal come from the same function"):
// `refusalOf(view, event)` is null when an RPC may run, else the typed error why — the root's guard
// and the gate's explanation are the same call. `gateView` and `statusResult` read the children's
// snapshots and never store copies; `narrowedStopOf` names the motion under way a new policy no
// longer allows (envelope from the running step on, the running goto's planned peaks against the new
// speed limits). Pure: no I/O, no actors started. reference-driver.md §2, §4, §12.
import type { ActorRefFrom } from 'xstate';
import {
  DaemonUnavailable,
  InterlockTripped,
  MediaReleased,
  MediaUnavailable,
  MotorsCompliant,
  NotAllowedInState,
  type OutsideEnvelope,
  RobotAsleep,
  type RpcFailure,
  TooFast,
  type UncheckedMove,
} from '../errors.ts';
import type { ConnectionMachine } from './connection.machine.ts';
import { deadmanStatus, motionRunning, type DeadmanMachine } from './deadman.machine.ts';
import { availabilityOf, INITIAL_DRIVER_STATE, type ExecutionState } from './driver-state.ts';
import { DAEMON_ERROR_STATE, type InterlockMachine } from './interlock.machine.ts';
import { mediaStateName, type MediaSessionMachine } from './media-session.machine.ts';
import { meshStateName, type MeshMachine } from './mesh.machine.ts';
import { acquireDecision, leaseDecision, leaseHeldError, liveHolder, type LeaseMachine, type LeasePolicy } from './lease.machine.ts';
import { executionStateName, type MotionMachine } from './motion.machine.ts';
import { powerStateName, type PowerMachine } from './power.machine.ts';
import type { MotionRpcEvent, PowerRequirement } from '../rpc/robot-functions.ts';
import type { MediaRpcEvent } from '../rpc/media-functions.ts';
import type { SafetyPolicy } from '../safety/safety-policy.ts';
import { approvalView, type ApprovalsMachine, type PendingApproval } from './approvals.machine.ts';
import { envelopeRefusal, targetFrom } from '../safety/envelope-check.ts';
import { peakExcess } from '../safety/speed-limits.ts';
import { uncheckedMoveRefusal } from '../safety/recorded-move-check.ts';
import { initialMediaPolicy, mediaPolicyRefusal, mediaPolicyStatus, type MediaPolicyState } from '../safety/media-policy.ts';

export type PrivilegedRpc = 'allowed' | 'supervisor_only';

export interface DriverChildren {
  readonly connection: ActorRefFrom<ConnectionMachine>;
  readonly power: ActorRefFrom<PowerMachine>;
  readonly interlock: ActorRefFrom<InterlockMachine>;
  readonly lease: ActorRefFrom<LeaseMachine>;
  readonly motion: ActorRefFrom<MotionMachine>;
  readonly deadman: ActorRefFrom<DeadmanMachine>;
  /** The device on the mesh (respawned by `mesh.restart`). */
  readonly mesh: ActorRefFrom<MeshMachine>;
  /** The media session (respawned by `media.restart`); null with --no-media. */
  readonly media: ActorRefFrom<MediaSessionMachine> | null;
  /** Calls held for a human's approval. */
  readonly approvals: ActorRefFrom<ApprovalsMachine>;
}

/** The audio switches, the root's own state (start/stop_audio_input/output flip them). */
export interface AudioSwitches {
  readonly audioInput: boolean;
  readonly audioOutput: boolean;
}

/** The media session as read from its child (media-session.machine.ts state names, or `disabled`), plus the switches. */
export interface MediaView extends AudioSwitches {
  readonly state: string;
  readonly since: number;
  readonly lastError: string | null;
}

/** What the gate decides on, read from the children at the moment of the decision. */
export interface GateView {
  readonly privilegedRpc: PrivilegedRpc;
  readonly connection: { readonly state: string; readonly lastError: string | null; readonly since: number };
  /** `needsWake`: the robot slept and our wake_up has not completed since (power.machine.ts). */
  readonly power: { readonly state: string; readonly motorMode: string | null; readonly since: number; readonly needsWake: boolean };
  readonly interlock: { readonly state: 'safe' | 'tripped'; readonly reason: string | null; readonly source: string | null; readonly owner: string | null; readonly since: number };
  /** `expiresAt` (epoch ms) is for display; `deadline` (src/monotonic-clock.ts) decides. */
  readonly lease: { readonly owner: string | null; readonly expiresAt: number; readonly deadline: number; readonly policy: LeasePolicy };
  readonly motion: { readonly state: ExecutionState; readonly since: number; readonly lastError: string; readonly lastCommander: string | null; readonly target: Record<string, unknown>; readonly kind: string | null };
  readonly media: MediaView;
  readonly mesh: { readonly state: string; readonly since: number };
  /** The safety policy in force (the root's own state). */
  readonly policy: SafetyPolicy;
  /** The camera/microphone policy (the root's own state). */
  readonly mediaPolicy: MediaPolicyState;
  /** Calls held for approval (the approvals child's list). */
  readonly approvals: ReadonlyArray<PendingApproval>;
  /** `driver_state.deadman` (deadman.machine.ts `deadmanStatus`). */
  readonly deadman: Record<string, unknown>;
  /** The `state` of the daemon's last status (the root's observation); null before any. */
  readonly daemonState: string | null;
}

function mediaView(media: DriverChildren['media'], audio: AudioSwitches, startedAt: number): MediaView {
  if (media === null) return { state: 'disabled', since: startedAt, lastError: null, ...audio };
  const s = media.getSnapshot();
  return { state: mediaStateName(s.value), since: s.context.since, lastError: s.context.lastError, ...audio };
}

/** The power child's state as the gate reads it (also read right before each daemon write). */
export function powerView(power: DriverChildren['power']): GateView['power'] {
  const p = power.getSnapshot();
  return { state: powerStateName(p.value), motorMode: p.context.motorMode, since: p.context.since, needsWake: p.context.needsWake };
}

/** Reads every child's snapshot once (`startedAt`: the `since` of a disabled media side). */
export function gateView(children: DriverChildren, privilegedRpc: PrivilegedRpc, audio: AudioSwitches, startedAt: number, policy: SafetyPolicy, mediaPolicy: MediaPolicyState = initialMediaPolicy(), daemonState: string | null = null): GateView {
  const c = children.connection.getSnapshot();
  const i = children.interlock.getSnapshot();
  const l = children.lease.getSnapshot().context;
  const m = children.motion.getSnapshot();
  const mesh = children.mesh.getSnapshot();
  return {
    privilegedRpc,
    connection: { state: String(c.value), lastError: c.context.lastError, since: c.context.since },
    power: powerView(children.power),
    interlock: { state: i.value === 'tripped' ? 'tripped' : 'safe', reason: i.context.reason, source: i.context.source, owner: i.context.owner, since: i.context.since },
    lease: { owner: l.owner, expiresAt: l.expiresAt, deadline: l.deadline, policy: l.policy },
    motion: { state: executionStateName(m.value), since: m.context.since, lastError: m.context.lastError, lastCommander: m.context.lastCommander, target: m.context.target, kind: m.context.active?.kind ?? null },
    media: mediaView(children.media, audio, startedAt),
    mesh: { state: meshStateName(mesh.value), since: mesh.context.stateSince },
    policy,
    mediaPolicy,
    approvals: children.approvals.getSnapshot().context.pending,
    deadman: deadmanStatus(children.deadman.getSnapshot(), policy.deadman_ms, motionRunning(m.value)),
    daemonState,
  };
}

/** The gated RPC events (stop_motion and reads are never refused by the safety gate). */
export type GatedEvent =
  | MotionRpcEvent
  | { type: 'rpc.set_motor_mode'; owner: string }
  | { type: 'rpc.emergency_stop'; owner: string }
  | { type: 'rpc.reset_interlock'; owner: string }
  | { type: 'rpc.acquire_lease'; owner: string }
  | { type: 'rpc.release_lease'; owner: string }
  | { type: 'supervisor.reset'; owner: string }
  | { type: 'supervisor.set_media_enabled'; owner: string }
  | MediaRpcEvent;

/**
 * Asleep with the motors reported disabled: goto_sleep has nothing left to do (`already_asleep`).
 * Asleep with them enabled (set_motor_mode, the dashboard), in gravity compensation or not reported
 * yet, the daemon's goto_sleep still runs: it ends with them disabled (§7), the only state that
 * answer may claim.
 */
export function sleptWithMotorsOff(power: Pick<GateView['power'], 'state' | 'motorMode'>): boolean {
  return power.state === 'asleep' && power.motorMode === 'disabled';
}

function powerAllows(requirement: PowerRequirement, power: GateView['power']): boolean {
  switch (requirement) {
    case 'awake':
      return power.state === 'awake';
    case 'wake':
      return power.state !== 'going_to_sleep';
    case 'sleep':
      return power.state !== 'going_to_sleep' && !sleptWithMotorsOff(power);
    case 'any':
      return true;
  }
}

/** The RobotAsleep message: the power state, and what the caller waits for or calls. */
function asleepMessage(power: GateView['power']): string {
  if (power.state === 'waking') return 'the robot is waking: the robot is waking up; retry when awake';
  if (power.state === 'going_to_sleep') return 'the robot is going_to_sleep: the robot is going to sleep';
  // The motors of a robot that slept were enabled (set_motor_mode, the dashboard): the head is still at the sleep pose.
  if (power.state === 'asleep' && power.motorMode === 'enabled') return 'the robot is asleep (motors enabled but not woken): call wake_up first';
  return `the robot is ${power.state}: call wake_up first`;
}

function daemonLinkDown(view: Pick<GateView, 'connection'>): DaemonUnavailable {
  return new DaemonUnavailable({ message: `the daemon link is ${view.connection.state}${view.connection.lastError ? ` (${view.connection.lastError})` : ''}`, connectionState: view.connection.state });
}

/** Why a command needing `requirement` may not run in this power state (null: it may); the gate's and the write-time check's. */
export function powerRefusal(power: GateView['power'], requirement: PowerRequirement): RpcFailure | null {
  if (powerAllows(requirement, power)) return null;
  if (power.state === 'compliant') {
    // Enabling the motors of a robot that slept leaves it asleep: wake_up is then the way out.
    const way = power.needsWake ? 'the robot slept and has not been woken since: call wake_up first' : 'call set_motor_mode {"mode":"enabled"} or wake_up first';
    return new MotorsCompliant({ message: `the motors are in gravity compensation (compliant): ${way}`, motorMode: power.motorMode ?? 'gravity_compensation' });
  }
  return new RobotAsleep({ message: asleepMessage(power), powerState: power.state });
}

/**
 * Why a media call may not run now (null: it may), most fundamental reason first: media disabled,
 * daemon link down, hardware released, session not streaming, audio switched off.
 */
export function mediaRefusal(view: Pick<GateView, 'connection' | 'media'>, event: MediaRpcEvent): RpcFailure | null {
  const media = view.media;
  const needs = event.requires;
  if (media.state === 'disabled') return new MediaUnavailable({ message: 'media is disabled on this driver (--no-media)', sessionState: 'disabled', lastError: null });
  if (needs.daemon && view.connection.state !== 'connected') return daemonLinkDown(view);
  if ((needs.notReleased || needs.stream) && media.state === 'released') {
    return new MediaReleased({ message: "the daemon's camera and audio are released (release_media_hardware); call acquire_media_hardware first" });
  }
  if (needs.stream && media.state !== 'streaming') {
    return new MediaUnavailable({ message: `the media session is ${media.state}${media.lastError ? ` (${media.lastError})` : ''}; retry when it is streaming`, sessionState: media.state, lastError: media.lastError });
  }
  if (needs.audioInput && !media.audioInput) return new NotAllowedInState({ message: 'audio input is stopped: call start_audio_input first', function: event.function, state: { audio_input: 'stopped' } });
  if (needs.audioOutput && !media.audioOutput) return new NotAllowedInState({ message: 'audio output is stopped: call start_audio_output first', function: event.function, state: { audio_output: 'stopped' } });
  return null;
}

/**
 * The lease rule for a command of `caller` (motion, set_motor_mode): the gate's entry check below and
 * the executor's check right before each daemon write (robot-runtime.ts `mayMove`) both call it, so a
 * command whose owner lost the lease to another stops writing with the refusal a new one would get.
 * The lease passing does not itself stop what the daemon already runs (a goto ends on its own within
 * its duration; a ramp just stops stepping): the new holder's first command or its stop_motion, never
 * gated, stops it — an expiry (a slow renewer) is no reason to halt the robot mid-move.
 */
export function commandLeaseRefusal(lease: GateView['lease'], caller: string): RpcFailure | null {
  const decision = leaseDecision(lease, caller);
  return decision.allowed ? null : leaseHeldError(decision);
}

/** The lease rule for `caller`, as the lease actor itself applies it. */
function leaseRefusal(view: GateView, event: GatedEvent, caller: string, fn: string): RpcFailure | null {
  if (event.type === 'rpc.acquire_lease') {
    const decision = acquireDecision(view.lease, caller);
    return decision.allowed ? null : leaseHeldError(decision);
  }
  const refusal = commandLeaseRefusal(view.lease, caller);
  if (refusal) return refusal;
  const holder = liveHolder(view.lease);
  if (event.type === 'rpc.release_lease' && holder !== caller) {
    return new NotAllowedInState({ message: `${caller} does not hold the lease`, function: fn, state: { command_owner: holder } });
  }
  return null;
}

/**
 * THE gate decision: null when `event` may run now, else the typed error explaining the refusal,
 * most fundamental reason first. The root machine's guard and the gate's explanation both call it.
 */
export function refusalOf(view: GateView, event: GatedEvent): RpcFailure | null {
  const fn = 'function' in event ? event.function : event.type.replace(/^(rpc|supervisor)\./, '');
  if (event.type === 'rpc.media') return mediaPolicyRefusal(view.mediaPolicy, event.function) ?? mediaRefusal(view, event);
  if (event.type === 'supervisor.set_media_enabled') {
    if (view.mediaPolicy.mode === 'supervisor') return null;
    return new NotAllowedInState({ message: `set_media_enabled only applies under --media-policy supervisor (this driver's policy is ${view.mediaPolicy.mode})`, function: fn, state: { media_policy: view.mediaPolicy.mode } });
  }
  // A call outside the operator's envelope (or a recorded move it cannot check) can never run: it says so before any state reason.
  const outside = event.type === 'rpc.motion' ? (envelopeRefusal(view.policy.envelope, fn, event.target) ?? uncheckedMoveRefusal(view.policy, fn, event.target)) : null;
  if (outside) return outside;
  if ((event.type === 'rpc.emergency_stop' || event.type === 'rpc.reset_interlock') && view.privilegedRpc === 'supervisor_only') {
    return new NotAllowedInState({ message: `${fn} is only served on the supervisor subject on this robot`, function: fn, state: { privileged_rpc: view.privilegedRpc } });
  }
  if (event.type === 'rpc.emergency_stop') return null;
  if ((event.type === 'rpc.reset_interlock' || event.type === 'supervisor.reset') && view.interlock.state === 'safe') {
    return new NotAllowedInState({ message: 'the interlock is already safe', function: fn, state: { interlock_state: 'safe' } });
  }
  // While the daemon still reports an error, its next status (1 Hz) trips again: motion would be let through meanwhile.
  if ((event.type === 'rpc.reset_interlock' || event.type === 'supervisor.reset') && view.daemonState === DAEMON_ERROR_STATE) {
    return new NotAllowedInState({ message: `the daemon's last reported state is "${DAEMON_ERROR_STATE}": reset once it reports another state (clear the cause, or restart the daemon)`, function: fn, state: { interlock_state: view.interlock.state, daemon_state: DAEMON_ERROR_STATE } });
  }
  if (event.type === 'rpc.reset_interlock' || event.type === 'supervisor.reset') return null;
  const needsRobot = event.type === 'rpc.motion' || event.type === 'rpc.set_motor_mode';
  if (needsRobot && view.connection.state !== 'connected') return daemonLinkDown(view);
  if (needsRobot && view.interlock.state === 'tripped') {
    return new InterlockTripped({ message: `the interlock is tripped (${view.interlock.reason ?? 'no reason'}); call reset_interlock when it is safe`, reason: view.interlock.reason ?? '', source: view.interlock.source, trippedBy: view.interlock.owner });
  }
  if (event.type === 'rpc.motion') {
    const power = powerRefusal(view.power, event.power);
    if (power) return power;
  }
  const lease = leaseRefusal(view, event, event.owner, fn);
  if (lease) return lease;
  if (needsRobot && view.motion.state === 'stopping') {
    return new NotAllowedInState({ message: 'a stop is in progress (waiting for the daemon to confirm it); send the command again once it has stopped', function: fn, state: { execution_state: 'stopping' } });
  }
  return null;
}

/** Motion a narrower policy stops: the running command, who sent it and why it may not go on (at least one reason). */
export interface NarrowedStop {
  readonly function: string;
  readonly owner: string;
  /** Its goal, or a step of an expression not yet done, outside the new envelope; null: inside. */
  readonly outside: OutsideEnvelope | null;
  /** The running goto's planned peak above the new speed limit on some axis; null: within. */
  readonly tooFast: TooFast | null;
  /** A recorded move playing when the policy narrowed below the defaults, which it cannot be checked against; null: none. */
  readonly unchecked: UncheckedMove | null;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

/**
 * The motion under way that `policy` (just put in force) no longer allows, or null — read from the
 * motion child's snapshot, the command's progress as its sender reported it:
 * - envelope: the active command's target checked as the gate checks a new call (`envelopeRefusal`);
 *   of an expression only the step running and those not yet sent (`targetFrom`). A motion heading
 *   back inside is left to run (stopping it would leave the robot outside).
 * - speed: the peak speed per axis of the goto the daemon runs (or is about to: the plan as sent —
 *   start pose, target, duration, time law) above the new limit on some axis. The daemon
 *   interpolates it, so it cannot be slowed, nor re-stretched under `goto_policy: stretch`: stopped.
 *   Realtime ramps re-read the limits at every step and later expression steps at their write: not
 *   stopped for speed.
 * - unchecked: a recorded move (play_move) plays poses the driver cannot see at their recorded
 *   speed; the policy it started under was the defaults (the gate refuses it otherwise), so one
 *   narrowed below them while it plays stops it (`uncheckedMoveRefusal`, the gate's own rule).
 * wake_up and goto_sleep: their poses as the gate checks them (sequence-poses.ts), and the peaks
 * of their gotos as the executor planned them from the present pose (sequence-speed.ts).
 */
export function narrowedStopOf(motion: DriverChildren['motion'], policy: SafetyPolicy): NarrowedStop | null {
  const snapshot = motion.getSnapshot();
  const active = snapshot.context.active;
  const state = executionStateName(snapshot.value);
  if (active === null || (state !== 'commanded' && state !== 'moving')) return null;
  const outside = envelopeRefusal(policy.envelope, active.kind, targetFrom(active.target, active.progress.step));
  const excess = peakExcess(active.progress.peaks, policy.speed);
  const tooFast = excess
    ? new TooFast({
        message: `${active.kind}: the goto under way peaks at ${round3(excess.peak_speed)} ${excess.unit} on ${excess.axis}, above the new limit of ${excess.limit} ${excess.unit} (a goto the daemon runs cannot be slowed)`,
        axis: excess.axis,
        peak_speed: round3(excess.peak_speed),
        limit: excess.limit,
        unit: excess.unit,
        shortest_duration_s: null,
      })
    : null;
  const unchecked = uncheckedMoveRefusal(policy, active.kind, active.target);
  return outside || tooFast || unchecked ? { function: active.kind, owner: active.owner, outside, tooFast, unchecked } : null;
}

/** Why `stop` stopped the motion, in words (the envelope's reason, the speed's, a recorded move's, or several). */
export function narrowedStopReason(stop: NarrowedStop): string {
  return [stop.outside?.message, stop.tooFast?.message, stop.unchecked?.message].filter((m): m is string => m !== undefined).join('; ');
}

/** The `speed_excess` of the answer and the audit record: the axis, its planned peak, the new limit. */
export function speedExcessOf(stop: NarrowedStop): { axis: string; peak_speed: number; limit: number; unit: string } | null {
  return stop.tooFast ? { axis: stop.tooFast.axis, peak_speed: stop.tooFast.peak_speed, limit: stop.tooFast.limit, unit: stop.tooFast.unit } : null;
}

/**
 * Instants formatted lately, newest last. get_status formats eight instants per call, and the
 * `since` times change only on transitions: 16 covers them all plus a few daemon status times.
 */
const ISO_MEMO_SIZE = 16;
const isoMemo = new Map<number, string>();

/** `new Date(ms).toISOString()`, memoised (a pure function of `ms`). */
function isoMs(ms: number): string {
  let text = isoMemo.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (isoMemo.size >= ISO_MEMO_SIZE) isoMemo.delete(isoMemo.keys().next().value as number);
    isoMemo.set(ms, text);
  }
  return text;
}

/** What the root keeps that is not a child's state: observations of the daemon and the media monitors. */
export interface Observations {
  readonly startedAt: number;
  readonly daemonStatus: { readonly value: unknown; readonly at: number } | null;
  readonly pose: Record<string, unknown>;
  readonly detectors: { readonly lastAudioEvent: Record<string, unknown>; readonly lastMotionEvent: Record<string, unknown> };
}

/** The reference's media fields of `driver_state` (§4), derived from the session child. */
function mediaFields(media: MediaView): Record<string, unknown> {
  const session = media.state === 'streaming' ? 'available' : media.state === 'released' ? 'released' : 'unavailable';
  return {
    media_ready: media.state === 'streaming',
    video_input_state: media.state === 'disabled' ? 'unknown' : session,
    audio_input_state: session === 'available' ? (media.audioInput ? 'started' : 'stopped') : media.state === 'disabled' ? 'unknown' : session,
    audio_output_state: session === 'available' ? (media.audioOutput ? 'started' : 'stopped') : media.state === 'disabled' ? 'unknown' : session,
  };
}

/** `get_status` result: the daemon block and the reference `driver_state` plus our additions, all derived. */
export function statusResult(view: GateView, seen: Observations, nowMs: number): Record<string, unknown> {
  return { daemon: daemonBlock(view.connection, seen.daemonStatus, nowMs), driver_state: driverStateBlock(view, seen) };
}

/** The daemon block of get_status without its age: what stays the same between two daemon statuses. */
export interface DaemonHead {
  readonly available: boolean;
  readonly connection_state: string;
  readonly status: unknown;
  readonly read_at: string;
}

/** `daemon` of get_status when no status arrived yet: why there is none (it has no age). */
export function noDaemonBlock(connection: GateView['connection']): Record<string, unknown> {
  return { available: false, connection_state: connection.state, reason: connection.lastError ?? 'no daemon status received yet' };
}

/** The part of the daemon block that only a new status or a connection change alters. */
export function daemonHead(connection: GateView['connection'], daemonStatus: NonNullable<Observations['daemonStatus']>): DaemonHead {
  return { available: connection.state === 'connected', connection_state: connection.state, status: daemonStatus.value, read_at: isoMs(daemonStatus.at) };
}

/** The daemon block with its age, always its last field (a plain literal: the status memo builds one per call). */
export function daemonBlockAged(head: DaemonHead, ageS: number): Record<string, unknown> {
  return { available: head.available, connection_state: head.connection_state, status: head.status, read_at: head.read_at, age_s: ageS };
}

/** `daemon` of get_status: the daemon's last status with its age, or why there is none. */
export function daemonBlock(connection: GateView['connection'], daemonStatus: Observations['daemonStatus'], nowMs: number): Record<string, unknown> {
  return daemonStatus === null ? noDaemonBlock(connection) : daemonBlockAged(daemonHead(connection, daemonStatus), (nowMs - daemonStatus.at) / 1000);
}

/**
 * `driver_state` of get_status. Depends on the time only through the lease holder (`liveHolder`)
 * and the pending approvals' time left (src/machines/status-memo.ts keys on both).
 */
export function driverStateBlock(view: GateView, seen: Observations): Record<string, unknown> {
  const holder = liveHolder(view.lease);
  const audio = seen.detectors.lastAudioEvent;
  const motion = seen.detectors.lastMotionEvent;
  return {
    ...INITIAL_DRIVER_STATE,
    ...mediaFields(view.media),
    command_owner: holder,
    last_commander: view.motion.lastCommander,
    lease_expires_at: holder === null ? 0 : view.lease.expiresAt / 1000,
    lease_active: holder !== null,
    lease_policy: view.lease.policy,
    execution_state: view.motion.state,
    interlock_state: view.interlock.state,
    interlock_reason: view.interlock.reason,
    current_pose: seen.pose,
    target_pose: view.motion.target,
    last_error: view.motion.lastError || view.connection.lastError || '',
    availability: availabilityOf(view.motion.state),
    power_state: view.power.state,
    motor_mode: view.power.motorMode,
    wake_required: view.power.needsWake,
    connection_state: view.connection.state,
    mesh_state: view.mesh.state,
    media_session_state: view.media.state,
    audio_activity: audio['state'] === 'active',
    last_audio_event: audio,
    video_motion_state: Object.keys(motion).length > 0 ? String(motion['state'] ?? 'unknown') : 'unknown',
    last_motion_event: motion,
    state_since: {
      connection: isoMs(view.connection.since),
      power: isoMs(view.power.since),
      interlock: isoMs(view.interlock.since),
      execution: isoMs(view.motion.since),
      mesh: isoMs(view.mesh.since),
      media: isoMs(view.media.since),
    },
    started_at: isoMs(seen.startedAt),
    pending_approvals: view.approvals.map((p) => approvalView(p)),
    media_policy: mediaPolicyStatus(view.mediaPolicy),
    deadman: view.deadman,
  };
}

/** The state block of every audit record and `safety_event`: the state AFTER the change. */
export function safetyState(view: GateView): Record<string, unknown> {
  return { interlock: view.interlock.state, power: view.power.state, connection: view.connection.state, execution: view.motion.state, lease_owner: liveHolder(view.lease) };
}
