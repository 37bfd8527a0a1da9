// The root driver machine: the one actor every RPC event is sent to (through the gate). It mirrors
// the states of the daemon link, power, interlock, lease and motion machines (each reports by an
// emitted event the composer forwards here), decides with guards whether a robot RPC may run —
// so `snapshot.can(event)` is the safety gate — forwards accepted work to the child machines
// through named actions the composer provides, and answers each RPC with an emitted `rpc.outcome`.
// Pure definition: no I/O. Refusal reasons: `explainRefusal` (DaemonUnavailable, InterlockTripped,
// RobotAsleep, LeaseHeld). reference-driver.md §2, §4, §12; issue "robot link and motion".
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import {
  DaemonUnavailable,
  failureFromDaemon,
  InterlockTripped,
  LeaseHeld,
  MediaReleased,
  MediaUnavailable,
  MotionNotCompleted,
  NotAllowedInState,
  RobotAsleep,
  type RpcFailure,
} from '../errors.ts';
import { leaseDecision } from './lease.machine.ts';
import { availabilityOf, INITIAL_DRIVER_STATE, type DriverStateFields, type ExecutionState } from './driver-state.ts';
import type { MotionRpcEvent } from '../rpc/robot-functions.ts';
import type { MediaRpcEvent } from '../rpc/media-functions.ts';

export type LeasePolicy = 'enforced' | 'advisory';
export type PrivilegedRpc = 'allowed' | 'supervisor_only';

export interface DriverInput {
  readonly deviceId: string;
  readonly leasePolicy: LeasePolicy;
  readonly leaseTtlS: number;
  readonly privilegedRpc: PrivilegedRpc;
  /** False with --no-media: media RPCs are not served and the mirror reads `disabled`. Default true. */
  readonly mediaEnabled?: boolean;
}


export interface Mirror {
  readonly connection: { readonly state: string; readonly since: number; readonly lastError: string | null };
  readonly power: { readonly state: string; readonly since: number };
  readonly interlock: { readonly state: 'safe' | 'tripped'; readonly reason: string | null; readonly source: string | null; readonly owner: string | null; readonly since: number };
  readonly lease: { readonly owner: string | null; readonly expiresAt: number };
  readonly motion: { readonly state: ExecutionState; readonly requestId: string | null; readonly kind: string | null; readonly target: Record<string, unknown>; readonly lastError: string; readonly since: number };
  /**
   * The media session (media-session.machine.ts state names, or `disabled`) and the audio switches
   * the media RPCs flip; the switches gate capture/push here so `can()` stays the whole gate.
   */
  readonly media: { readonly state: string; readonly since: number; readonly lastError: string | null; readonly audioInput: boolean; readonly audioOutput: boolean };
}

export interface DriverContext extends Mirror {
  readonly deviceId: string;
  readonly leasePolicy: LeasePolicy;
  readonly leaseTtlS: number;
  readonly privilegedRpc: PrivilegedRpc;
  readonly startedAt: number;
  readonly state: DriverStateFields;
  /** Last daemon status (plain JSON) and when it was read; null until the link is up. */
  readonly daemonStatus: { readonly value: unknown; readonly at: number } | null;
  readonly meshState: string;
  readonly meshStateSince: number;
  /** Motion requests waiting for an outcome: whether the caller asked to wait for completion. */
  readonly pending: Readonly<Record<string, { readonly function: string; readonly wait: boolean; readonly target: Record<string, unknown> }>>;
}

type Requested<T extends string, F = object> = { type: T; requestId: string } & F;

export type RpcEvent =
  | Requested<'rpc.get_status'>
  | Requested<'rpc.read', { function: 'get_joints' | 'get_imu' | 'get_body_yaw' }>
  | MotionRpcEvent
  | Requested<'rpc.stop_motion', { owner: string }>
  | Requested<'rpc.set_motor_mode', { mode: 'enabled' | 'disabled' | 'gravity_compensation'; owner: string }>
  | Requested<'rpc.emergency_stop', { reason: string; owner: string }>
  | Requested<'rpc.reset_interlock', { reason: string; owner: string }>
  | Requested<'rpc.acquire_lease', { owner: string; ttlS: number }>
  | Requested<'rpc.release_lease', { owner: string }>
  | Requested<'supervisor.trip', { reason: string; owner: string }>
  | Requested<'supervisor.reset', { reason: string; owner: string }>
  | Requested<'supervisor.revoke_lease', { reason: string; owner: string }>
  | MediaRpcEvent;

export type ReportEvent =
  | { type: 'mesh.state'; state: string; at: number }
  | { type: 'connection.changed'; state: string; at: number; lastError: string | null }
  | { type: 'daemon.status'; status: unknown; at: number }
  /** Observed pose, throttled by the composer (plain JSON: degrees, read_at). */
  | { type: 'pose.update'; pose: Record<string, unknown> }
  | { type: 'power.changed'; state: string }
  | { type: 'interlock.changed'; state: 'safe' | 'tripped'; reason: string | null; source: string | null; owner: string | null; at: number }
  | { type: 'interlock.stop_requested'; reason: string }
  | { type: 'lease.changed'; state: 'free' | 'held'; owner: string | null; expiresAt: number; reason: string }
  | { type: 'motion.changed'; state: ExecutionState; requestId: string | null; kind: string | null; target: Record<string, unknown>; lastError: string; at: number }
  | { type: 'motion.accepted'; requestId: string; uuid: string | null; kind: string }
  | { type: 'motion.finished'; requestId: string; uuid: string | null; outcome: string; details: string }
  | { type: 'motion.failed'; requestId: string; error: { _tag: string; message: string } }
  | { type: 'motion.stopped'; requestId: string; stopped: ReadonlyArray<string> }
  | { type: 'read.result'; requestId: string; ok: true; result: unknown }
  | { type: 'read.result'; requestId: string; ok: false; error: RpcFailure }
  | { type: 'media.changed'; state: string; at: number; lastError: string | null }
  /** A monitor's state change (audio_event / motion_event payload), mirrored into driver_state. */
  | { type: 'media.detector'; detector: 'audio' | 'motion'; event: Record<string, unknown> }
  | { type: 'media.result'; requestId: string; ok: true; result: unknown }
  | { type: 'media.result'; requestId: string; ok: false; error: RpcFailure };

export type DriverEvent = RpcEvent | ReportEvent;

export type RpcOutcome =
  | { type: 'rpc.outcome'; requestId: string; ok: true; result: unknown }
  | { type: 'rpc.outcome'; requestId: string; ok: false; error: RpcFailure };

/** Commands for the child machines; the composer provides `forward` to deliver them. */
export type ChildCommand =
  | { to: 'lease'; event: { type: 'lease.acquire'; owner: string; ttlS?: number } | { type: 'lease.renew'; owner: string } | { type: 'lease.release'; owner: string } | { type: 'lease.revoke'; reason: string } }
  | { to: 'interlock'; event: { type: 'interlock.trip'; reason: string; source: 'rpc' | 'supervisor'; owner: string } | { type: 'interlock.reset'; reason: string; source: 'rpc' | 'supervisor'; owner: string } }
  | { to: 'motion'; event: { type: 'motion.command'; requestId: string; kind: string; command: Record<string, unknown>; target: Record<string, unknown> } | { type: 'motion.stop'; requestId: string; reason: string } }
  | { to: 'power'; event: { type: 'power.wake_started'; uuid: string } | { type: 'power.sleep_started'; uuid: string } }
  | { to: 'media'; event: MediaRpcEvent };

export type DriverEmitted =
  | RpcOutcome
  | { type: 'driver.forward'; command: ChildCommand }
  | { type: 'driver.read'; requestId: string; function: string };

const now = () => Date.now();

function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

function powerAllows(requirement: MotionRpcEvent['power'], power: string): boolean {
  switch (requirement) {
    case 'awake':
      return power === 'awake';
    case 'wake':
      return power !== 'going_to_sleep';
    case 'sleep':
      return power !== 'asleep' && power !== 'going_to_sleep';
    case 'any':
      return true;
  }
}

function callerOfEvent(event: DriverEvent): string | null {
  return 'owner' in event && typeof event.owner === 'string' ? event.owner : null;
}

/** DaemonUnavailable naming the link's state and its last error. */
function daemonLinkDown(context: DriverContext): DaemonUnavailable {
  return new DaemonUnavailable({ message: `the daemon link is ${context.connection.state}${context.connection.lastError ? ` (${context.connection.lastError})` : ''}`, connectionState: context.connection.state });
}

/**
 * Why a media call may not run now (null: it may), most fundamental reason first: media disabled,
 * daemon link down, hardware released, session not streaming, audio switched off.
 */
export function mediaRefusal(context: DriverContext, event: MediaRpcEvent): RpcFailure | null {
  const media = context.media;
  const fn = event.function;
  const needs = event.requires;
  if (media.state === 'disabled') return new MediaUnavailable({ message: 'media is disabled on this driver (--no-media)', sessionState: 'disabled', lastError: null });
  if (needs.daemon && context.connection.state !== 'connected') {
    return daemonLinkDown(context);
  }
  if ((needs.notReleased || needs.stream) && media.state === 'released') {
    return new MediaReleased({ message: 'the daemon\'s camera and audio are released (release_media_hardware); call acquire_media_hardware first' });
  }
  if (needs.stream && media.state !== 'streaming') {
    return new MediaUnavailable({ message: `the media session is ${media.state}${media.lastError ? ` (${media.lastError})` : ''}; retry when it is streaming`, sessionState: media.state, lastError: media.lastError });
  }
  if (needs.audioInput && !media.audioInput) return new NotAllowedInState({ message: 'audio input is stopped: call start_audio_input first', function: fn, state: { audio_input: 'stopped' } });
  if (needs.audioOutput && !media.audioOutput) return new NotAllowedInState({ message: 'audio output is stopped: call start_audio_output first', function: fn, state: { audio_output: 'stopped' } });
  return null;
}

/** The reference's media fields of `driver_state` (§4), derived from the session mirror. */
function mediaStateFields(state: DriverStateFields, media: DriverContext['media']): DriverStateFields {
  const session = media.state === 'streaming' ? 'available' : media.state === 'released' ? 'released' : 'unavailable';
  return {
    ...state,
    media_ready: media.state === 'streaming',
    video_input_state: session,
    audio_input_state: session === 'available' ? (media.audioInput ? 'started' : 'stopped') : session,
    audio_output_state: session === 'available' ? (media.audioOutput ? 'started' : 'stopped') : session,
  };
}

/** The typed error for an event the machine would not take, most fundamental reason first. */
export function explainRefusal(snapshot: unknown, event: { type: string }, fn: string): RpcFailure {
  const context = (snapshot as { context: DriverContext }).context;
  const e = event as DriverEvent;
  if (e.type === 'rpc.media') {
    const refusal = mediaRefusal(context, e);
    if (refusal) return refusal;
  }
  const privileged = ['rpc.emergency_stop', 'rpc.reset_interlock'].includes(e.type);
  if (privileged && context.privilegedRpc === 'supervisor_only') {
    return new NotAllowedInState({ message: `${fn} is only served on the supervisor subject on this robot`, function: fn, state: { privileged_rpc: context.privilegedRpc } });
  }
  if (e.type === 'rpc.reset_interlock' && context.interlock.state === 'safe') {
    return new NotAllowedInState({ message: 'the interlock is already safe', function: fn, state: { interlock_state: 'safe' } });
  }
  const needsRobot = e.type === 'rpc.motion' || e.type === 'rpc.set_motor_mode';
  if (needsRobot && context.connection.state !== 'connected') {
    return daemonLinkDown(context);
  }
  if (needsRobot && context.interlock.state === 'tripped') {
    return new InterlockTripped({ message: `the interlock is tripped (${context.interlock.reason ?? 'no reason'}); call reset_interlock when it is safe`, reason: context.interlock.reason ?? '', source: context.interlock.source, trippedBy: context.interlock.owner });
  }
  if (e.type === 'rpc.motion' && !powerAllows(e.power, context.power.state)) {
    const hint = context.power.state === 'waking' ? 'the robot is waking up; retry when awake' : context.power.state === 'going_to_sleep' ? 'the robot is going to sleep' : 'call wake_up first';
    return new RobotAsleep({ message: `the robot is ${context.power.state}: ${hint}`, powerState: context.power.state });
  }
  const caller = callerOfEvent(e);
  // Taking the lease needs it free, lapsed or the caller's own, whatever the policy.
  if (e.type === 'rpc.acquire_lease' && caller !== null && !leaseAcquirable(context, caller)) {
    const secondsLeft = Math.max(0, (context.lease.expiresAt - now()) / 1000);
    return new LeaseHeld({ message: `the motion lease is held by ${context.lease.owner} for ${secondsLeft.toFixed(1)} s more`, holder: context.lease.owner ?? '', secondsLeft });
  }
  if (caller !== null && ['rpc.motion', 'rpc.set_motor_mode', 'rpc.acquire_lease', 'rpc.release_lease'].includes(e.type)) {
    const decision = leaseDecision({ owner: context.lease.owner, expiresAt: context.lease.expiresAt, policy: context.leasePolicy }, caller, now());
    if (!decision.allowed) return new LeaseHeld({ message: `the motion lease is held by ${decision.holder} for ${decision.secondsLeft.toFixed(1)} s more`, holder: decision.holder, secondsLeft: decision.secondsLeft });
    if (e.type === 'rpc.release_lease') return new NotAllowedInState({ message: `${caller} does not hold the lease`, function: fn, state: { command_owner: context.lease.owner } });
  }
  return new NotAllowedInState({ message: `${fn} is not allowed in the current state`, function: fn, state: { connection: context.connection.state, power: context.power.state, interlock: context.interlock.state, execution: context.motion.state } });
}

function leaseAcquirable(context: DriverContext, caller: string): boolean {
  return context.lease.owner === null || context.lease.owner === caller || context.lease.expiresAt <= now();
}

/** `get_status` result: the daemon block and the reference `driver_state` plus our additions. */
export function statusResult(context: DriverContext): Record<string, unknown> {
  const t = now();
  const state = context.state;
  const leaseActive = context.lease.owner !== null && context.lease.expiresAt > t;
  return {
    daemon:
      context.daemonStatus === null
        ? { available: false, connection_state: context.connection.state, reason: context.connection.lastError ?? 'no daemon status received yet' }
        : { available: context.connection.state === 'connected', connection_state: context.connection.state, status: context.daemonStatus.value, read_at: isoMs(context.daemonStatus.at), age_s: (t - context.daemonStatus.at) / 1000 },
    driver_state: {
      ...state,
      command_owner: leaseActive ? context.lease.owner : state.command_owner,
      lease_expires_at: context.lease.expiresAt / 1000,
      lease_active: leaseActive,
      lease_policy: context.leasePolicy,
      execution_state: context.motion.state,
      interlock_state: context.interlock.state,
      interlock_reason: context.interlock.reason,
      target_pose: context.motion.target,
      last_error: context.motion.lastError || state.last_error,
      availability: availabilityOf(context.motion.state),
      power_state: context.power.state,
      connection_state: context.connection.state,
      mesh_state: context.meshState,
      media_session_state: context.media.state,
      state_since: {
        connection: isoMs(context.connection.since),
        power: isoMs(context.power.since),
        interlock: isoMs(context.interlock.since),
        execution: isoMs(context.motion.since),
        mesh: isoMs(context.meshStateSince),
        media: isoMs(context.media.since),
      },
      started_at: isoMs(context.startedAt),
    },
  };
}

export const driverMachine = setup({
  types: {
    context: {} as DriverContext,
    events: {} as DriverEvent,
    input: {} as DriverInput,
    emitted: {} as DriverEmitted,
  },
  actions: {
    /** The composer answers reads from the adapters' timestamped caches with `read.result`. */
    requestRead: emit((_args, params: { requestId: string; function: string }) => ({ type: 'driver.read' as const, requestId: params.requestId, function: params.function })),
    /** A composer's answer to forwarded work (`read.result`, `media.result`) becomes the caller's outcome. */
    answerResult: emit(({ event }) => {
      const e = event as Extract<DriverEvent, { type: 'read.result' | 'media.result' }>;
      return e.ok
        ? { type: 'rpc.outcome' as const, requestId: e.requestId, ok: true as const, result: e.result }
        : { type: 'rpc.outcome' as const, requestId: e.requestId, ok: false as const, error: e.error };
    }),
    answerStatus: emit(({ context, event }) => ({ type: 'rpc.outcome' as const, requestId: (event as { requestId: string }).requestId, ok: true as const, result: statusResult(context) })),
    startMotion: enqueueActions(({ context, event, enqueue }) => {
      const e = event as MotionRpcEvent;
      const decision = leaseDecision({ owner: context.lease.owner, expiresAt: context.lease.expiresAt, policy: context.leasePolicy }, e.owner, now());
      // `renews`: the lease is free, lapsed or the caller's own — (re)acquire it for another TTL.
      if (decision.allowed && decision.renews) {
        enqueue.emit({ type: 'driver.forward', command: { to: 'lease', event: { type: 'lease.acquire', owner: e.owner, ttlS: context.leaseTtlS } } });
      }
      enqueue.assign({
        pending: { ...context.pending, [e.requestId]: { function: e.function, wait: e.wait, target: e.target } },
        state: { ...context.state, command_owner: e.owner, target_pose: e.target, last_error: '' },
      });
      enqueue.emit({ type: 'driver.forward', command: { to: 'motion', event: { type: 'motion.command', requestId: e.requestId, kind: e.function, command: e.command, target: e.target } } });
    }),
    motorMode: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.set_motor_mode' }>;
      enqueue.assign({ pending: { ...context.pending, [e.requestId]: { function: 'set_motor_mode', wait: false, target: { kind: 'set_motor_mode', mode: e.mode } } } });
      enqueue.emit({ type: 'driver.forward', command: { to: 'motion', event: { type: 'motion.command', requestId: e.requestId, kind: 'set_motor_mode', command: { op: 'motor_mode', mode: e.mode }, target: context.motion.target } } });
    }),
    onAccepted: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'motion.accepted' }>;
      const pending = context.pending[e.requestId];
      if (e.uuid && e.kind === 'wake_up') enqueue.emit({ type: 'driver.forward', command: { to: 'power', event: { type: 'power.wake_started', uuid: e.uuid } } });
      if (e.uuid && e.kind === 'goto_sleep') enqueue.emit({ type: 'driver.forward', command: { to: 'power', event: { type: 'power.sleep_started', uuid: e.uuid } } });
      if (!pending || pending.wait) return;
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'accepted', uuid: e.uuid, target: pending.target } });
      const { [e.requestId]: _done, ...rest } = context.pending;
      enqueue.assign({ pending: rest });
    }),
    onFinished: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'motion.finished' }>;
      const pending = context.pending[e.requestId];
      if (!pending) return;
      if (e.outcome === 'completed') enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'completed', uuid: e.uuid, target: pending.target } });
      else enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: false, error: new MotionNotCompleted({ message: `the move did not complete: ${e.outcome}${e.details ? ` (${e.details})` : ''}`, outcome: e.outcome, uuid: e.uuid }) });
      const { [e.requestId]: _done, ...rest } = context.pending;
      enqueue.assign({ pending: rest });
    }),
    onFailed: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'motion.failed' }>;
      enqueue.assign({ state: { ...context.state, last_error: e.error.message } });
      // Motion requests are pending; a failed stop_motion is not, but its caller waits too.
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: false, error: failureFromDaemon(e.error, context.connection.state) });
      if (!context.pending[e.requestId]) return;
      const { [e.requestId]: _done, ...rest } = context.pending;
      enqueue.assign({ pending: rest });
    }),
    onStopped: enqueueActions(({ event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'motion.stopped' }>;
      if (e.requestId.startsWith('interlock:')) return;
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'stopped', stopped_moves: e.stopped } });
    }),
    stopMotion: enqueueActions(({ event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.stop_motion' }>;
      enqueue.emit({ type: 'driver.forward', command: { to: 'motion', event: { type: 'motion.stop', requestId: e.requestId, reason: `stop_motion by ${e.owner}` } } });
    }),
    trip: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.emergency_stop' | 'supervisor.trip' }>;
      const source = e.type === 'supervisor.trip' ? 'supervisor' : 'rpc';
      enqueue.emit({ type: 'driver.forward', command: { to: 'interlock', event: { type: 'interlock.trip', reason: e.reason, source, owner: e.owner } } });
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'tripped', interlock_state: 'tripped', reason: context.interlock.state === 'tripped' ? context.interlock.reason : e.reason } });
    }),
    reset: enqueueActions(({ event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.reset_interlock' | 'supervisor.reset' }>;
      const source = e.type === 'supervisor.reset' ? 'supervisor' : 'rpc';
      enqueue.emit({ type: 'driver.forward', command: { to: 'interlock', event: { type: 'interlock.reset', reason: e.reason, source, owner: e.owner } } });
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'safe', interlock_state: 'safe' } });
    }),
    acquireLease: enqueueActions(({ event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.acquire_lease' }>;
      enqueue.emit({ type: 'driver.forward', command: { to: 'lease', event: { type: 'lease.acquire', owner: e.owner, ttlS: e.ttlS } } });
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'held', owner: e.owner, expires_at: (now() + e.ttlS * 1000) / 1000 } });
    }),
    releaseLease: enqueueActions(({ event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'rpc.release_lease' }>;
      enqueue.emit({ type: 'driver.forward', command: { to: 'lease', event: { type: 'lease.release', owner: e.owner } } });
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'released' } });
    }),
    revokeLease: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'supervisor.revoke_lease' }>;
      enqueue.emit({ type: 'driver.forward', command: { to: 'lease', event: { type: 'lease.revoke', reason: e.reason } } });
      enqueue.emit({ type: 'rpc.outcome', requestId: e.requestId, ok: true, result: { status: 'revoked', previous_owner: context.lease.owner } });
    }),
    forwardMedia: enqueueActions(({ context, event, enqueue }) => {
      const e = event as MediaRpcEvent;
      const switches: Partial<Record<MediaRpcEvent['function'], Partial<Pick<DriverContext['media'], 'audioInput' | 'audioOutput'>>>> = {
        start_audio_input: { audioInput: true },
        stop_audio_input: { audioInput: false },
        start_audio_output: { audioOutput: true },
        stop_audio_output: { audioOutput: false },
      };
      const flip = switches[e.function];
      if (flip) {
        const media = { ...context.media, ...flip };
        enqueue.assign({ media, state: mediaStateFields(context.state, media) });
      }
      enqueue.emit({ type: 'driver.forward', command: { to: 'media', event: e } });
    }),
    mirrorMedia: assign(({ context, event }) => {
      const e = event as Extract<DriverEvent, { type: 'media.changed' }>;
      if (context.media.state === 'disabled') return {};
      const media = { ...context.media, state: e.state, since: e.at, lastError: e.lastError };
      return { media, state: mediaStateFields(context.state, media) };
    }),
    stopForInterlock: enqueueActions(({ event, enqueue }) => {
      const e = event as Extract<DriverEvent, { type: 'interlock.stop_requested' }>;
      enqueue.emit({ type: 'driver.forward', command: { to: 'motion', event: { type: 'motion.stop', requestId: `interlock:${now()}`, reason: e.reason } } });
    }),
  },
  guards: {
    daemonConnected: ({ context }) => context.connection.state === 'connected',
    interlockSafe: ({ context }) => context.interlock.state === 'safe',
    interlockTripped: ({ context }) => context.interlock.state === 'tripped',
    privilegedRpcAllowed: ({ context }) => context.privilegedRpc === 'allowed',
    powerAllows: ({ context, event }) => event.type === 'rpc.motion' && powerAllows(event.power, context.power.state),
    leaseAllows: ({ context, event }) => {
      const caller = callerOfEvent(event);
      return caller === null || leaseDecision({ owner: context.lease.owner, expiresAt: context.lease.expiresAt, policy: context.leasePolicy }, caller, now()).allowed;
    },
    leaseAcquirable: ({ context, event }) => {
      const caller = callerOfEvent(event);
      return caller !== null && leaseAcquirable(context, caller);
    },
    mediaAllows: ({ context, event }) => event.type === 'rpc.media' && mediaRefusal(context, event) === null,
    holdsLease: ({ context, event }) => {
      const caller = callerOfEvent(event);
      return caller !== null && context.lease.owner === caller && context.lease.expiresAt > now();
    },
  },
}).createMachine({
  id: 'driver',
  context: ({ input }) => {
    const t = now();
    return {
      deviceId: input.deviceId,
      leasePolicy: input.leasePolicy,
      leaseTtlS: input.leaseTtlS,
      privilegedRpc: input.privilegedRpc,
      startedAt: t,
      state: INITIAL_DRIVER_STATE,
      daemonStatus: null,
      meshState: 'connecting',
      meshStateSince: t,
      pending: {},
      connection: { state: 'disconnected', since: t, lastError: null },
      power: { state: 'unknown', since: t },
      interlock: { state: 'safe', reason: null, source: null, owner: null, since: t },
      lease: { owner: null, expiresAt: 0 },
      motion: { state: 'idle', requestId: null, kind: null, target: {}, lastError: '', since: t },
      media: { state: input.mediaEnabled === false ? 'disabled' : 'idle', since: t, lastError: null, audioInput: true, audioOutput: true },
    };
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'rpc.get_status': { actions: 'answerStatus' },
        'rpc.read': { actions: { type: 'requestRead', params: ({ event }) => ({ requestId: event.requestId, function: event.function }) } },
        'read.result': { actions: 'answerResult' },
        'rpc.motion': { guard: and(['daemonConnected', 'interlockSafe', 'powerAllows', 'leaseAllows']), actions: 'startMotion' },
        'rpc.set_motor_mode': { guard: and(['daemonConnected', 'interlockSafe', 'leaseAllows']), actions: 'motorMode' },
        // Never gated: stopping is always allowed, whatever the state.
        'rpc.stop_motion': { actions: 'stopMotion' },
        'rpc.emergency_stop': { guard: 'privilegedRpcAllowed', actions: 'trip' },
        'rpc.reset_interlock': { guard: and(['privilegedRpcAllowed', 'interlockTripped']), actions: 'reset' },
        'rpc.acquire_lease': { guard: 'leaseAcquirable', actions: 'acquireLease' },
        'rpc.release_lease': { guard: and(['leaseAllows', 'holdsLease']), actions: 'releaseLease' },
        'supervisor.trip': { actions: 'trip' },
        'supervisor.reset': { guard: 'interlockTripped', actions: 'reset' },
        'supervisor.revoke_lease': { actions: 'revokeLease' },
        'mesh.state': { actions: assign(({ event }) => ({ meshState: event.state, meshStateSince: event.at })) },
        'connection.changed': { actions: assign(({ event }) => ({ connection: { state: event.state, since: event.at, lastError: event.lastError } })) },
        'daemon.status': { actions: assign(({ event }) => ({ daemonStatus: { value: event.status, at: event.at } })) },
        'pose.update': { actions: assign(({ context, event }) => ({ state: { ...context.state, current_pose: event.pose } })) },
        'power.changed': { actions: assign(({ event }) => ({ power: { state: event.state, since: now() } })) },
        'interlock.changed': {
          actions: assign(({ context, event }) => ({
            interlock: { state: event.state, reason: event.reason, source: event.source, owner: event.owner, since: event.at },
            state: { ...context.state, interlock_state: event.state },
          })),
        },
        'interlock.stop_requested': { actions: 'stopForInterlock' },
        'lease.changed': { actions: assign(({ event }) => ({ lease: { owner: event.state === 'held' ? event.owner : null, expiresAt: event.state === 'held' ? event.expiresAt : 0 } })) },
        'motion.changed': {
          actions: assign(({ context, event }) => ({
            motion: { state: event.state, requestId: event.requestId, kind: event.kind, target: event.target, lastError: event.lastError, since: event.at },
            state: { ...context.state, execution_state: event.state },
          })),
        },
        'motion.accepted': { actions: 'onAccepted' },
        'motion.finished': { actions: 'onFinished' },
        'motion.failed': { actions: 'onFailed' },
        'motion.stopped': { actions: 'onStopped' },
        'rpc.media': { guard: 'mediaAllows', actions: 'forwardMedia' },
        'media.result': { actions: 'answerResult' },
        'media.changed': { actions: 'mirrorMedia' },
        'media.detector': {
          actions: assign(({ context, event }) => ({
            state:
              event.detector === 'audio'
                ? { ...context.state, last_audio_event: event.event, audio_activity: event.event['state'] === 'active' }
                : { ...context.state, last_motion_event: event.event, video_motion_state: String(event.event['state'] ?? 'unknown') },
          })),
        },
      },
    },
  },
});

export type DriverMachine = typeof driverMachine;

