// Model-based test of the motion machine (src/machines/motion.machine.ts) and its stop fence: one
// `TestModel` path per adjacency edge (payload variants included), replayed on the real actor —
// the child of a recording test parent, as the root spawns it — with deferred `executeCommand` /
// `stopMotion` actors and a recording `stopMove` under fake timers (no daemon I/O). Each step is
// checked against an independent oracle written from the brief and the README "Safety" contract:
// the whole context, what the parent hears and the machine emits, the strays stopped, executor and
// sweep inputs, timers on time (in full above `step`). Every (state, event) pair the machine does
// not handle is refused; every transition is taken; scenario tests pin the stop guarantee.
import { describe, expect, test, vi } from 'vitest';
import { fromPromise, getInitialSnapshot, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  MOVE_COMPLETION_MARGIN_MS,
  motionMachine,
  RAMP_OVERRUN_MS,
  FOUND_RUNNING_REASON,
  LATE_MODE_REVERTED_REASON,
  ORPHAN_HOLD_MS,
  STOP_CONFIRM_TIMEOUT_MS,
  STOP_RETRY_MS,
  type CommandAccepted,
  type ExecuteInput,
  type MotionCommandEvent,
  type MotionContext,
  type MotionEmitted,
  type MotionEvent,
  type MotionMachine,
  type MotionStopEvent,
  type SpeedLimited,
} from '../../src/machines/motion.machine.ts';
import type { XyzRpyPose } from '../../src/robot/pose-math.ts';
import { canModel, Deferred, recordingReplay, edgePaths, eventListTest, executorTable, expectStatesReached, pathTests, refusalTable, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';
import { childOfRecorder } from './test-parent.ts';
import { plainEvents } from '../harness/plain-events.ts';

/** Clock advance before every event: well under the shortest timer (150 ms realtime settle) over any path. */
const STEP_MS = 2;
const DEADLINE = 'xstate.after.moveDeadline.motion.moving';
const CONFIRM_TIMEOUT = 'xstate.after.stopConfirmTimeout.motion.stopping';
const RETRY = 'xstate.after.stopRetry.motion.stopRetry';
const EXEC_DONE = 'xstate.done.actor.executeCommand';
const EXEC_ERROR = 'xstate.error.actor.executeCommand';
const STOP_DONE = 'xstate.done.actor.stopMotion';
const STOP_ERROR = 'xstate.error.actor.stopMotion';
const READ_DONE = 'xstate.done.actor.readHeadPose';
const READ_ERROR = 'xstate.error.actor.readHeadPose';
const UUID = 'b6f3c1d2-5e0a-4f8b-9c7d-1a2b3c4d5e6f';
const STRANGER = '0f0e0d0c-0b0a-4908-8706-050403020100';

/** A waited goto to a head pose (the identity): `completed` only once the head is read there. */
const GOTO: MotionCommandEvent = { type: 'motion.command', requestId: 'req-1', kind: 'goto_target', owner: 'alice', power: 'awake', command: { op: 'goto', duration: 2, head_pose: { m: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] } }, target: { body_yaw: 0.3 }, wait: true };
const HEAD: MotionCommandEvent = { type: 'motion.command', requestId: 'req-2', kind: 'set_target', owner: 'bob', power: 'awake', command: { op: 'head_target' }, target: { head: [0, 0.1, 0] }, wait: false };
const RECOVERY_STOP_REASON = 'the daemon link came back while a cancelled command was unresolved: moves started meanwhile cannot be told apart';
const STOP: MotionStopEvent = { type: 'motion.stop', requestId: 'stop-1', reply: 'stop', reason: 'stop_motion by alice' };
const TRIP: MotionStopEvent = { type: 'motion.stop', requestId: 'trip-1', reply: 'trip', reason: 'emergency_stop by bob: test' };
/** The daemon reported an error: the root stops motion with nobody to answer. */
const INTERNAL_STOP: MotionStopEvent = { type: 'motion.stop', requestId: null, reply: null, reason: 'daemon reported state "error"' };
const TRACKED: CommandAccepted = { uuid: UUID, expectedDurationMs: 2_000 };
const REALTIME: CommandAccepted = { uuid: null, expectedDurationMs: 150 };
const RAMP_LIMIT: SpeedLimited = { mode: 'ramped', axis: 'head_yaw_deg', peak_speed: 2_000, limit: 200, unit: 'deg/s', requested_duration_s: null, duration_s: 0.9 };
/** A realtime target too far for one tick: ramped, it ends when its ramp reports (`sender.ramp_ended`). */
const RAMPED: CommandAccepted = { uuid: null, expectedDurationMs: 1_150, speedLimited: RAMP_LIMIT };
/** The write-time refusal of a ramp step (the lease passed to another owner). */
const LEASE_HELD = { _tag: 'LeaseHeld', message: 'the motion lease is held by bob for 30.0 s more', holder: 'bob', secondsLeft: 30 };
/** Where a cut-short ramp last saw the head: yaw 12°. */
const STOPPED_HEAD = { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: (12 * Math.PI) / 180 };
const WRITE_FAILED = { _tag: 'DaemonUnavailable', message: 'the daemon link is reconnecting', connectionState: 'reconnecting' };
/** The head read at GOTO's goal (within the tolerance: 1° of yaw off). */
const AT_GOAL = { x: 0, y: 0, z: 0.001, roll: 0, pitch: 0, yaw: Math.PI / 180 };
const READ_FAILED = { _tag: 'DaemonTimeout', message: 'daemon did not answer GET /api/state/full within 5000 ms' };
/** Caller-facing already: passed through to the caller as it is. */
const SEND_FAILED = { _tag: 'DaemonUnavailable', message: 'the daemon did not answer the goto', connectionState: 'connected' };
const SWEEP_FAILED = { _tag: 'DaemonUnavailable', message: 'the daemon did not answer /api/move/stop', connectionState: 'connected' };
const UNCONFIRMED = 'the daemon has not confirmed the stop yet; still stopping';
const MOTOR_MODE: MotionCommandEvent = { type: 'motion.command', requestId: 'req-3', kind: 'set_motor_mode', owner: 'alice', power: 'any', command: { op: 'motor_mode', mode: 'disabled' }, target: { kind: 'set_motor_mode', mode: 'disabled' }, wait: false };
const MODE_REVERTED = { type: 'mode.reverted', function: 'set_motor_mode', owner: 'alice', from: 'disabled', to: 'enabled' } as const;

type Ev =
  | MotionEvent
  | { type: typeof EXEC_DONE; output: CommandAccepted }
  | { type: typeof EXEC_ERROR; error: typeof SEND_FAILED }
  | { type: typeof STOP_DONE; output: ReadonlyArray<string> }
  | { type: typeof STOP_ERROR; error: typeof SWEEP_FAILED }
  | { type: typeof READ_DONE; output: typeof AT_GOAL }
  | { type: typeof READ_ERROR; error: typeof READ_FAILED }
  | { type: typeof DEADLINE }
  | { type: typeof CONFIRM_TIMEOUT }
  | { type: typeof RETRY };

const TIMERS = new Set<string>([DEADLINE, CONFIRM_TIMEOUT, RETRY]);

const EVENTS: Ev[] = [
  GOTO,
  HEAD,
  STOP,
  INTERNAL_STOP,
  { type: EXEC_DONE, output: TRACKED },
  { type: EXEC_DONE, output: REALTIME },
  { type: EXEC_DONE, output: RAMPED },
  { type: EXEC_ERROR, error: SEND_FAILED },
  { type: STOP_DONE, output: [UUID] },
  { type: STOP_ERROR, error: SWEEP_FAILED },
  // Where the head is once a waited move to a pose ended: at its goal, 12° off (the daemon dropped it), or unreadable.
  { type: READ_DONE, output: AT_GOAL },
  { type: READ_DONE, output: STOPPED_HEAD },
  { type: READ_ERROR, error: READ_FAILED },
  { type: 'daemon.move_started', uuid: STRANGER, interlockTripped: false },
  { type: 'daemon.move_started', uuid: STRANGER, interlockTripped: true },
  { type: 'daemon.move_done', uuid: UUID, outcome: 'completed', details: '' },
  { type: 'daemon.move_done', uuid: UUID, outcome: 'failed', details: 'motor 3 stalled' },
  { type: 'daemon.move_done', uuid: STRANGER, outcome: 'completed', details: '' },
  // A cancelled sender finished: it started the stranger move (stopped late by the executor), it
  // timed out (fate unknown: held), or it failed (gone).
  { type: 'sender.settled', requestId: 'req-1', uuid: STRANGER, outcome: 'sent', stoppedLate: true },
  { type: 'sender.settled', requestId: 'req-1', uuid: null, outcome: 'unknown', stoppedLate: false },
  { type: 'link.recovered', interlockTripped: false },
  { type: 'sweep.found_running', uuid: STRANGER },
  // The goto's sender reports its plan (or the expression step it reached); another request's report is stale.
  { type: 'motion.progress', requestId: 'req-1', step: 2, peaks: [{ axis: 'head_yaw_deg', peak_speed: 37.5, unit: 'deg/s' }] },
  { type: 'motion.progress', requestId: 'req-9', step: 1, peaks: [] },
  // The executor put back the motor mode a cancelled set_motor_mode had the daemon apply late.
  MODE_REVERTED,
  // A ramp ended: reached (the waiting goto req-1 as a ramp), refused at the write, stalled at its
  // deadline with the head seen at yaw 12°; the head target req-2 (nobody waits) failed at a write.
  { type: 'sender.ramp_ended', requestId: 'req-1', outcome: 'reached', error: null, head: null },
  { type: 'sender.ramp_ended', requestId: 'req-1', outcome: 'refused', error: LEASE_HELD, head: null },
  { type: 'sender.ramp_ended', requestId: 'req-1', outcome: 'stalled', error: null, head: STOPPED_HEAD },
  { type: 'sender.ramp_ended', requestId: 'req-2', outcome: 'failed', error: WRITE_FAILED, head: null },
  // Reached with nobody waiting (completed without a check); not followed by the head while req-1 waits (checked).
  { type: 'sender.ramp_ended', requestId: 'req-2', outcome: 'reached', error: null, head: null },
  { type: 'sender.ramp_ended', requestId: 'req-1', outcome: 'not_followed', error: null, head: STOPPED_HEAD },
  { type: DEADLINE },
  { type: CONFIRM_TIMEOUT },
  { type: RETRY },
];

type Snap = SnapshotView<MotionContext, Ev>;

const some = (xs: ReadonlyArray<unknown>) => (xs.length > 0 ? 'some' : 'none');

/**
 * What the guards read, coarsely (so the graph stays small): the active command, whether orphans
 * (running or held), unknown moves, stop waiters and moves to supersede exist, and the stop's
 * confirmation. The oracle checks the exact context on the real actor at every step.
 */
function serialize(snapshot: { value: unknown; status: string; context: MotionContext }): string {
  const c = snapshot.context;
  const active = c.active ? `${c.active.requestId}:${c.active.uuid ? 'tracked' : c.active.speedLimited ? 'ramped' : '-'}:${c.active.answered ? 'answered' : 'waiting'}` : '-';
  const orphans = c.orphans.some((o) => o.heldUntil === 0) ? 'running' : c.orphans.length > 0 ? 'held' : 'none';
  return [JSON.stringify(snapshot.value), snapshot.status, active, orphans, some(c.unknownMoves), some(c.waiters), some(c.found), c.stopConfirmed, some(c.supersedes)].join('|');
}

/** The oracle's account: the machine's context as the brief says it must be (without `since`). */
type Model = Omit<MotionContext, 'since'> & { value: string };

const INITIAL: Model = {
  value: 'idle',
  epoch: 0,
  active: null,
  supersedes: [],
  orphans: [],
  unknownMoves: [],
  strays: [],
  waiters: [],
  cancelled: [],
  found: [],
  stopReason: '',
  stopConfirmed: null,
  stopAnswerDue: 0,
  expectedDurationMs: 0,
  lastError: '',
  lastCommander: null,
  target: {},
};

interface Outcome {
  next: Model;
  /** The state is (re-)entered: `since` moves, `motion.changed` is emitted, its timers restart. */
  entered: boolean;
  toParent: unknown[];
  emitted: MotionEmitted[];
  strays: string[];
  executorInput?: ExecuteInput;
  sweepInput?: { uuids: ReadonlyArray<string> };
}

const err = (fields: Record<string, unknown>) => fields;

/** The brief, as an oracle: what `event` does in `s` at `now`, or null if it must be refused. */
function oracle(s: Model, event: Ev, now: number): Outcome | null {
  const live = s.orphans.filter((o) => o.heldUntil === 0 || o.heldUntil > now);
  const a = s.active;
  const out = (next: Model, entered: boolean, extra: Partial<Outcome> = {}): Outcome => ({ next, entered, toParent: [], emitted: [], strays: [], ...extra });
  const enter = (next: Model, extra: Partial<Outcome> = {}) => {
    const o = out(next, true, extra);
    o.emitted = [...o.emitted, { type: 'motion.changed', state: next.value === 'stopRetry' ? 'stopping' : (next.value as never), requestId: next.active?.requestId ?? null, kind: next.active?.kind ?? null, at: now }];
    if (next.value === 'stopping') o.sweepInput = { uuids: next.supersedes };
    if (next.value === 'commanded') o.executorInput = { requestId: next.active!.requestId, epoch: next.epoch, owner: next.active!.owner, power: next.active!.power, command: next.active!.command, target: next.active!.target, supersedes: next.supersedes };
    return o;
  };
  /** The active command ends: its caller (if still waiting) hears why; a running sender becomes an orphan. */
  const endActive = (outcome: string, details: string, senderRunning: boolean) => {
    if (!a) return { toParent: [] as unknown[], orphans: s.orphans, supersedes: s.supersedes };
    const error = senderRunning ? err({ _tag: 'MotionCancelled', reason: outcome }) : err({ _tag: 'MotionNotCompleted', outcome, uuid: a.uuid });
    return {
      toParent: a.answered ? [] : [{ type: 'motion.answer', requestId: a.requestId, ok: false, error }],
      orphans: senderRunning ? [...s.orphans, { requestId: a.requestId, function: a.kind, owner: a.owner, heldUntil: 0 }] : s.orphans,
      supersedes: a.uuid ? [...s.supersedes, a.uuid] : s.supersedes,
    };
  };
  // Moves that started while the replaced sender ran cannot be the new command's: stopped before it is sent.
  const take = (e: MotionCommandEvent, base: Model): Model => ({
    ...base,
    value: 'commanded',
    epoch: base.epoch + 1,
    supersedes: [...base.supersedes, ...base.unknownMoves],
    unknownMoves: [],
    active: { requestId: e.requestId, kind: e.kind, owner: e.owner, power: e.power, command: e.command, target: e.target, wait: e.wait, uuid: null, answered: false, progress: { step: 0, peaks: [] } },
    lastError: '',
    lastCommander: e.owner,
    target: e.target,
  });
  const limited = (l: SpeedLimited | undefined) => (l ? { speed_limited: l } : {});
  const ramping = Boolean(a && a.uuid === null && a.speedLimited?.mode === 'ramped');
  // A caller waits for a move that sends the head to a pose: it ends by reading where the head is.
  const checks = Boolean(a && a.wait && !a.answered && (a.command.head_pose || a.command.head));
  const verify = (): Outcome => out({ ...s, value: 'verifying' }, false);
  const finish = (outcome: string, details: string, to: string): Outcome => {
    const answer = !a!.answered
      ? [{ type: 'motion.answer', requestId: a!.requestId, ...(outcome === 'completed' ? { ok: true, result: { status: 'completed', uuid: a!.uuid, target: a!.target, ...limited(a!.speedLimited) } } : { ok: false, error: err({ _tag: 'MotionNotCompleted', outcome, uuid: a!.uuid }) }) }]
      : [];
    return enter({ ...s, value: to, active: null, lastError: outcome === 'completed' || outcome === 'cancelled' ? '' : details }, { toParent: answer });
  };
  /** Every waiting stop caller gets the sweep's outcome; unconfirmed is also emitted for the trail. */
  const answerStops = (base: Model, confirmed: boolean, stopped: ReadonlyArray<string>, error: string | null) => {
    // Moves found running while the callers waited are named in their answer, whatever its outcome.
    const named = [...new Set([...stopped, ...base.found])];
    const toParent = base.waiters.map((w) => ({ type: 'motion.stop_answer', requestId: w.requestId, reply: w.reply, confirmed, stopped: named, cancelled: base.cancelled, error }));
    const emitted: MotionEmitted[] = !confirmed && base.waiters.length > 0 ? [{ type: 'motion.stop_unconfirmed', reason: base.stopReason, error }] : [];
    const next: Model = { ...base, waiters: [], found: [], ...(confirmed ? { cancelled: [], stopConfirmed: true, supersedes: [] } : {}) };
    return { next, toParent, emitted };
  };
  /** A stray is stopped and remembered (a live sender whose own move it was is then cancelled). */
  const stray = (uuid: string, reason: string): Outcome => out({ ...s, strays: [uuid, ...s.strays].slice(0, 32) }, false, { strays: [uuid], emitted: [{ type: 'motion.late_move', uuid, reason }] });
  const sweepOwed = (tripped: boolean) => s.stopConfirmed === false || live.length > 0 || tripped;
  switch (event.type) {
    case 'motion.command': {
      if (s.value === 'stopping' || s.value === 'stopRetry') {
        return out(s, false, { toParent: [{ type: 'motion.answer', requestId: event.requestId, ok: false, error: err({ _tag: 'MotionCancelled', reason: 'stopping' }) }] });
      }
      // Superseded: a running sender is cancelled into an orphan, a tracked move joins `supersedes`.
      const ended = endActive('superseded', 'a newer command replaced it', s.value === 'commanded');
      return enter(take(event, { ...s, active: null, orphans: ended.orphans, supersedes: ended.supersedes }), { toParent: ended.toParent });
    }
    case 'motion.stop': {
      // The fence rises; the active command ends (cancelled if its sender still runs); the caller waits for the sweep.
      const senderRunning = s.value === 'commanded';
      const ended = endActive('stopped', event.reason, senderRunning);
      const next: Model = {
        ...s,
        value: 'stopping',
        active: null,
        orphans: ended.orphans,
        epoch: s.epoch + 1,
        // Moves that started while a now-cancelled sender ran join the sweep.
        supersedes: [...ended.supersedes, ...s.unknownMoves],
        unknownMoves: [],
        waiters: event.requestId && event.reply ? [...s.waiters, { requestId: event.requestId, reply: event.reply }] : s.waiters,
        cancelled: a && senderRunning ? [...s.cancelled, { function: a.kind, owner: a.owner }] : s.cancelled,
        stopReason: event.reason,
        stopConfirmed: false,
        // Callers already waiting keep their deadline; a stop nobody waits on starts a new one.
        stopAnswerDue: s.waiters.length > 0 ? s.stopAnswerDue : now + STOP_CONFIRM_TIMEOUT_MS,
      };
      return enter(next, { toParent: ended.toParent });
    }
    case EXEC_DONE: {
      if (s.value !== 'commanded') return null;
      // Its own move was stopped as a possible stray (it started while an orphan was unresolved).
      if (event.output.uuid !== null && s.strays.includes(event.output.uuid)) {
        return enter({ ...s, value: 'idle', active: null, unknownMoves: [], supersedes: [] }, { toParent: [{ type: 'motion.answer', requestId: a!.requestId, ok: false, error: err({ _tag: 'MotionCancelled', reason: 'ambiguous' }) }] });
      }
      const accepted = [{ type: 'motion.accepted', requestId: a!.requestId, kind: a!.kind, uuid: event.output.uuid }];
      const l = event.output.speedLimited;
      const answer = a!.wait ? [] : [{ type: 'motion.answer', requestId: a!.requestId, ok: true, result: { status: 'accepted', uuid: event.output.uuid, target: a!.target, ...limited(l) } }];
      // Moves that started while the sender ran and are not its own belong to orphans: stopped.
      const strays = live.length > 0 ? s.unknownMoves.filter((u) => u !== event.output.uuid) : [];
      const next: Model = { ...s, value: 'moving', active: { ...a!, uuid: event.output.uuid, answered: !a!.wait, ...(l ? { speedLimited: l } : {}) }, supersedes: [], unknownMoves: [], expectedDurationMs: event.output.expectedDurationMs };
      const o = enter(next, { toParent: [...accepted, ...answer], strays });
      // A ramped target is audited as speed-limited like a stretched goto (the trail keeps only stretched ones).
      const speedLimited: MotionEmitted[] = l ? [{ type: 'motion.speed_limited', function: a!.kind, owner: a!.owner, outcome: l.mode, reason: `${a!.kind} ${l.mode} to ${l.duration_s} s by the ${l.axis} speed limit (${l.limit} ${l.unit})`, detail: l }] : [];
      o.emitted = [...strays.map((uuid) => ({ type: 'motion.late_move' as const, uuid, reason: 'started by a command cancelled before it reached the daemon' })), ...speedLimited, ...o.emitted];
      return o;
    }
    case EXEC_ERROR:
      if (s.value !== 'commanded') return null;
      return enter({ ...s, value: 'error', active: null, lastError: event.error.message, unknownMoves: [] }, { toParent: [{ type: 'motion.answer', requestId: a!.requestId, ok: false, error: err({ _tag: event.error._tag, connectionState: event.error.connectionState }) }] });
    case 'daemon.move_started':
      if (s.value === 'commanded') {
        if (event.interlockTripped) return stray(event.uuid, 'a move started while the interlock is tripped');
        // A cancelled request is unresolved: it cannot be told from the live sender's; safety first.
        if (live.length > 0) return stray(event.uuid, "started while a cancelled command was unresolved (it could not be told apart from the live one)");
        // Maybe the running sender's own move: decided when it answers.
        return out({ ...s, unknownMoves: [...s.unknownMoves, event.uuid] }, false);
      }
      if (a?.uuid === event.uuid) return out(s, false);
      if (event.interlockTripped) return stray(event.uuid, 'a move started while the interlock is tripped');
      if (live.length > 0) return stray(event.uuid, 'started by a command cancelled before it reached the daemon');
      return null;
    case 'daemon.move_done':
      if (s.value !== 'moving' || !a?.uuid || event.uuid !== a.uuid) return null;
      if (event.outcome === 'failed') return finish('failed', event.details || 'the daemon reported the move failed', 'error');
      if (event.outcome === 'completed' && checks) return verify();
      return finish(event.outcome, event.details, 'idle');
    case DEADLINE:
      if (s.value !== 'moving') return null;
      if (a!.uuid) return finish('timeout', 'the daemon did not report the move finished in time', 'error');
      // A ramp that never reported its end (the executor always reports: a backstop).
      if (ramping) return finish('timeout', 'the realtime ramp did not report its end in time', 'error');
      return checks ? verify() : finish('completed', 'realtime target sent and settled', 'idle');
    case 'sender.ramp_ended': {
      // Only the active command's own ramp counts (one fenced off by a stop or a newer command is over already).
      if (s.value !== 'moving' || !ramping || event.requestId !== a!.requestId) return null;
      if (event.outcome === 'reached') return checks ? verify() : finish('completed', 'realtime target ramped to and settled', 'idle');
      if (event.outcome === 'not_followed' && checks) return verify();
      // Cut short: the write-time refusal or the write's failure as it is, or where the head stopped.
      const where = event.head ? '; the head stopped at yaw 12°, pitch 0°, roll 0°' : '';
      const error =
        event.outcome === 'stalled'
          ? { _tag: 'MotionNotCompleted', message: `the move did not complete: the daemon stalled and the ramp ran out of time before it reached its target${where}`, outcome: 'timeout', uuid: null, ...(event.head ? { reached: { roll: 0, pitch: 0, yaw: 12, x_mm: 0, y_mm: 0, z_mm: 0 } } : {}) }
          : (event.error as { _tag: string; message: string });
      const { message, ...fields } = error;
      // A step refused with one of the gate's refusals is audited as one, at the write.
      const emitted: MotionEmitted[] = [
        error._tag === 'LeaseHeld'
          ? { type: 'motion.refused_at_write', function: a!.kind, owner: a!.owner, errorTag: error._tag, reason: message }
          : { type: 'motion.ramp_ended', function: a!.kind, owner: a!.owner, outcome: event.outcome, errorTag: error._tag, reason: message },
      ];
      return enter({ ...s, value: 'error', active: null, lastError: message }, { toParent: a!.answered ? [] : [{ type: 'motion.answer', requestId: a!.requestId, ok: false, error: fields }], emitted });
    }
    case 'sender.settled': {
      // The live sender's move request went unanswered: held as an orphan for ORPHAN_HOLD_MS like a
      // cancelled one of unknown fate; moves that started meanwhile may be its own and are stopped.
      if (s.value === 'commanded' && a?.requestId === event.requestId && event.outcome === 'unknown') {
        const reason = 'started by a command whose request went unanswered';
        const orphans = [...live, { requestId: event.requestId, function: a.kind, owner: a.owner, heldUntil: now + ORPHAN_HOLD_MS }];
        const strays = [...[...s.unknownMoves].reverse(), ...s.strays].slice(0, 32);
        return out({ ...s, orphans, strays, unknownMoves: [] }, false, { strays: [...s.unknownMoves], emitted: s.unknownMoves.map((uuid) => ({ type: 'motion.late_move' as const, uuid, reason })) });
      }
      // Its orphan is gone, or held for ORPHAN_HOLD_MS when its fate is unknown; a late move it started was stopped.
      const orphans = s.orphans
        .map((o) => (o.requestId === event.requestId ? { ...o, heldUntil: event.outcome === 'unknown' ? now + ORPHAN_HOLD_MS : -1 } : o))
        .filter((o) => o.heldUntil === 0 || o.heldUntil > now);
      const emitted: MotionEmitted[] = event.stoppedLate && event.uuid ? [{ type: 'motion.late_move', uuid: event.uuid, reason: 'its command was cancelled while the request was in flight' }] : [];
      return out({ ...s, orphans, unknownMoves: event.uuid ? s.unknownMoves.filter((u) => u !== event.uuid) : s.unknownMoves }, false, { emitted });
    }
    case 'link.recovered':
      if (!sweepOwed(event.interlockTripped)) return null;
      // A command runs: stopped as by a stop nobody waits for (moves started unheard cannot be told apart).
      if (s.value === 'commanded' || s.value === 'moving' || s.value === 'verifying') return oracle(s, { type: 'motion.stop', requestId: null, reply: null, reason: RECOVERY_STOP_REASON }, now);
      // A sweep runs: it lists again itself when move updates reconnected after its listing.
      if (s.value === 'stopping') return null;
      // Idle, in error, or waiting to retry a sweep: swept now.
      return enter({ ...s, value: 'stopping' });
    case 'sweep.found_running':
      // The stop's answer names it while callers wait; after that (or for the driver's own stop) it is a late move.
      if (s.waiters.length > 0) return out({ ...s, found: s.found.includes(event.uuid) ? s.found : [...s.found, event.uuid] }, false);
      return out(s, false, { emitted: [{ type: 'motion.late_move', uuid: event.uuid, reason: FOUND_RUNNING_REASON }] });
    case 'mode.reverted':
      // Audited in any state; nothing else changes (the executor wrote the mode back, the root tells power).
      return out(s, false, { emitted: [{ type: 'motion.late_mode_reverted', function: event.function, owner: event.owner, from: event.from, to: event.to, reason: LATE_MODE_REVERTED_REASON }] });
    case READ_DONE: {
      if (s.value !== 'verifying') return null;
      if (event.output === AT_GOAL) return finish('completed', 'the head reached its target', 'idle');
      // 12° of yaw off the identity: PoseNotReached with both poses (degrees, mm) and the tolerance.
      const message = `${a!.kind} ended with the head off its target: yaw 12°, pitch 0°, roll 0° for 0°, 0°, 0° (12° and 0 mm away, tolerance 2° and 3 mm); the daemon drops a head pose it cannot reach without a word — choose one nearer the centre`;
      const zero = { roll: 0, pitch: 0, yaw: 0, x_mm: 0, y_mm: 0, z_mm: 0 };
      const error = { _tag: 'PoseNotReached', reached: { ...zero, yaw: 12 }, target: zero, tolerance: { deg: 2, mm: 3 }, uuid: a!.uuid };
      return enter({ ...s, value: 'error', active: null, lastError: message }, { toParent: [{ type: 'motion.answer', requestId: a!.requestId, ok: false, error }] });
    }
    case READ_ERROR: {
      if (s.value !== 'verifying') return null;
      const message = `${a!.kind} ended, but where the head stopped could not be read to check it reached its target: ${event.error.message}`;
      return enter({ ...s, value: 'error', active: null, lastError: message }, { toParent: [{ type: 'motion.answer', requestId: a!.requestId, ok: false, error: { _tag: 'DaemonUnavailable', connectionState: 'connected' } }] });
    }
    case STOP_DONE: {
      if (s.value !== 'stopping') return null;
      const r = answerStops(s, true, event.output, null);
      return enter({ ...r.next, value: 'idle' }, { toParent: r.toParent, emitted: r.emitted });
    }
    case STOP_ERROR: {
      if (s.value !== 'stopping') return null;
      const r = answerStops({ ...s, lastError: event.error.message }, false, [], event.error.message);
      return enter({ ...r.next, value: 'stopRetry' }, { toParent: r.toParent, emitted: r.emitted });
    }
    case CONFIRM_TIMEOUT: {
      if (s.value !== 'stopping') return null;
      const r = answerStops(s, false, [], UNCONFIRMED);
      return out(r.next, false, { toParent: r.toParent, emitted: r.emitted });
    }
    case RETRY:
      return s.value === 'stopRetry' ? enter({ ...s, value: 'stopping' }) : null;
    case 'motion.progress':
      // Only the active command's sender reports where it is (a cancelled one's report is refused).
      if (!a || a.requestId !== event.requestId) return null;
      return out({ ...s, active: { ...a, progress: { step: event.step, peaks: event.peaks } } }, false);
  }
}

interface Run<I, O> {
  input: I;
  deferred: Deferred<O>;
  signal: AbortSignal;
  settled: boolean;
}


function createSut() {
  const executions: Array<Run<ExecuteInput, CommandAccepted>> = [];
  const sweeps: Array<Run<{ uuids: ReadonlyArray<string> }, ReadonlyArray<string>>> = [];
  const strays: string[] = [];
  const reads: Array<Run<void, unknown>> = [];
  const track = <I, O>(runs: Array<Run<I, O>>, input: I, signal: AbortSignal): Promise<O> => {
    const run: Run<I, O> = { input, deferred: new Deferred<O>(), signal, settled: false };
    runs.push(run);
    return run.deferred.promise.finally(() => void (run.settled = true));
  };
  const logic = motionMachine.provide({
    actors: {
      executeCommand: fromPromise<CommandAccepted, ExecuteInput>(({ input, signal }) => track(executions, input, signal)),
      stopMotion: fromPromise<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(({ input, signal }) => track(sweeps, input, signal)),
      stopMove: fromPromise<void, { uuid: string }>(async ({ input }) => void strays.push(input.uuid)),
      readHeadPose: fromPromise<XyzRpyPose, void>(({ input, signal }) => track(reads, input, signal) as Promise<XyzRpyPose>),
    },
  });
  const recorded = childOfRecorder<MotionMachine, Snap>(logic);
  const timers = { enteredAt: Date.now(), confirmDueAt: null as number | null };
  return { ...recorded, executions, sweeps, strays, reads, model: { ...INITIAL }, timers, counts: { executions: 0, sweeps: 0 } };
}
type Sut = ReturnType<typeof createSut>;

const live = <I, O>(runs: ReadonlyArray<Run<I, O>>) => runs.filter((r) => !r.settled && !r.signal.aborted);

/** The real actor, checked against the oracle's account. */
function checkSut(sut: Sut): void {
  const { context, value, status } = sut.snap();
  expect(status).toBe('active');
  const { since, ...actual } = context;
  const { value: expectedValue, ...expected } = sut.model;
  expect(value).toBe(expectedValue);
  expect(actual).toEqual(expected);
  expect(since, 'since is the time of the last entry').toBe(sut.timers.enteredAt);
  // The sender runs exactly while commanded, the sweep exactly while stopping (cancelled when left early).
  expect(sut.executions.length, 'one sender per entry into commanded').toBe(sut.counts.executions);
  expect(live(sut.executions).length).toBe(value === 'commanded' ? 1 : 0);
  expect(sut.sweeps.length, 'one sweep per entry into stopping').toBe(sut.counts.sweeps);
  expect(live(sut.sweeps).length).toBe(value === 'stopping' ? 1 : 0);
  // The head pose is read exactly while a waited move is checked.
  expect(live(sut.reads).length).toBe(value === 'verifying' ? 1 : 0);
  // Timers: the move deadline while moving, the stop confirmation until it fires, the retry while waiting to retry.
  const expectedTimers = (value === 'moving' ? 1 : 0) + (value === 'stopping' && sut.timers.confirmDueAt !== null ? 1 : 0) + (value === 'stopRetry' ? 1 : 0);
  expect(vi.getTimerCount()).toBe(expectedTimers);
}

/** When the timer `event` is due, by the oracle's account. */
function dueAt(sut: Sut, event: Ev): number | null {
  const m = sut.model;
  if (event.type === DEADLINE) return sut.timers.enteredAt + m.expectedDurationMs + (m.active?.uuid ? MOVE_COMPLETION_MARGIN_MS : m.active?.speedLimited ? RAMP_OVERRUN_MS + MOVE_COMPLETION_MARGIN_MS : 0);
  if (event.type === CONFIRM_TIMEOUT) return sut.timers.confirmDueAt;
  if (event.type === RETRY) return sut.timers.enteredAt + STOP_RETRY_MS;
  return null;
}

/**
 * Runs one event on the real actor the way it happens in production, and checks it against the
 * oracle: the whole context (fence `epoch`, active command, `supersedes`, orphans with their hold,
 * unknown moves, stop waiters, cancelled commands, stop confirmation); what the parent hears in
 * order (`motion.accepted`, `motion.answer` — MotionCancelled for a command superseded or stopped
 * while its sender ran, MotionNotCompleted for a move that ended badly —, `motion.stop_answer`
 * confirmed on sweep success or unconfirmed at STOP_CONFIRM_TIMEOUT_MS); what it emits
 * (`motion.changed`, `motion.late_move`, `motion.stop_unconfirmed`); the stray moves it stops; the
 * executor / sweep inputs; and the timers (move deadline, stop confirmation, stop retry), each
 * firing exactly on time, not 1 ms early.
 */
async function step(sut: Sut, event: Ev): Promise<void> {
  const before = sut.model;
  const mark = sut.emitted.length;
  const heard = sut.toParent().length;
  const strayMark = sut.strays.length;
  const lastExecution = sut.executions.at(-1);
  const lastSweep = sut.sweeps.at(-1);
  if (TIMERS.has(event.type)) {
    const due = dueAt(sut, event);
    // The stop confirmation already fired (the graph may walk its self-loop again): nothing happens.
    if (due === null) expect(before.waiters).toEqual([]);
    else {
      expect(due - Date.now()).toBeGreaterThan(0);
      await vi.advanceTimersByTimeAsync(due - Date.now() - 1);
      expect(sut.snap().value, `${event.type} must not fire early`).toBe(before.value);
      expect(sut.emitted.length).toBe(mark);
      await vi.advanceTimersByTimeAsync(1);
    }
  } else {
    await vi.advanceTimersByTimeAsync(STEP_MS);
    expect(sut.snap().can(event), JSON.stringify(event)).toBe(true);
    const settle = <O>(runs: Array<Run<unknown, O>>, ok: boolean, value: unknown) => {
      const [run] = live(runs);
      expect(run, `${event.type}: its actor is running`).toBeDefined();
      if (ok) run!.deferred.resolve(value as O);
      else run!.deferred.reject(value);
    };
    if (event.type === EXEC_DONE) settle(sut.executions as Array<Run<unknown, CommandAccepted>>, true, event.output);
    else if (event.type === EXEC_ERROR) settle(sut.executions as Array<Run<unknown, CommandAccepted>>, false, event.error);
    else if (event.type === STOP_DONE) settle(sut.sweeps as Array<Run<unknown, ReadonlyArray<string>>>, true, event.output);
    else if (event.type === STOP_ERROR) settle(sut.sweeps as Array<Run<unknown, ReadonlyArray<string>>>, false, event.error);
    else if (event.type === READ_DONE) settle(sut.reads as Array<Run<unknown, unknown>>, true, event.output);
    else if (event.type === READ_ERROR) settle(sut.reads as Array<Run<unknown, unknown>>, false, event.error);
    else sut.actor.send(event as MotionEvent);
    await vi.advanceTimersByTimeAsync(0);
  }
  const now = Date.now();
  const outcome = oracle(before, event, now);
  expect(outcome, `oracle refuses ${JSON.stringify(event)} in ${before.value}`).not.toBeNull();
  const o = outcome!;
  expect(plainEvents(sut.toParent().slice(heard)), 'what the parent heard').toEqual(o.toParent);
  expect(sut.emitted.slice(mark), 'what the machine emitted').toEqual(o.emitted);
  expect(sut.strays.slice(strayMark), 'stray moves stopped').toEqual(o.strays);
  sut.model = o.next;
  if (o.entered) sut.timers.enteredAt = now;
  if (o.next.value !== 'stopping') sut.timers.confirmDueAt = null;
  // Every stop caller is answered STOP_CONFIRM_TIMEOUT_MS after the first of them arrived, at the latest.
  else if (o.entered) sut.timers.confirmDueAt = o.next.waiters.length > 0 ? o.next.stopAnswerDue : now + STOP_CONFIRM_TIMEOUT_MS;
  else if (event.type === CONFIRM_TIMEOUT) sut.timers.confirmDueAt = null;
  if (o.executorInput) {
    sut.counts.executions += 1;
    expect(sut.executions.at(-1)!.input, 'executeCommand input').toEqual(o.executorInput);
  }
  if (o.sweepInput) {
    sut.counts.sweeps += 1;
    expect(sut.sweeps.at(-1)!.input, 'stopMotion input').toEqual(o.sweepInput);
  }
  // Leaving commanded early cancels the sender (abort signal); a sweep is cancelled only by a new stop.
  if (before.value === 'commanded' && o.entered && o.next.value !== 'moving' && event.type !== EXEC_ERROR && event.type !== EXEC_DONE) expect(lastExecution!.signal.aborted, 'the cancelled sender is aborted').toBe(true);
  if (before.value === 'stopping' && o.entered && event.type !== STOP_DONE && event.type !== STOP_ERROR) expect(lastSweep!.signal.aborted, 'the restarted sweep is aborted').toBe(true);
  if (before.value === 'stopping' && !o.entered) expect(lastSweep!.signal.aborted, 'the running sweep carries on').toBe(false);
  checkSut(sut);
}

function buildModel() {
  // The model walks the machine with inert actors: outcomes come only from the generated events.
  const never = <T, I>() => fromPromise<T, I>(() => new Promise<T>(() => undefined));
  const modelLogic = motionMachine.provide({
    actors: { executeCommand: never<CommandAccepted, ExecuteInput>(), stopMotion: never<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(), stopMove: never<void, { uuid: string }>(), readHeadPose: never<XyzRpyPose, void>() },
  }) as unknown as ActorLogic<SnapshotFrom<MotionMachine>, MotionEvent, undefined>;
  const model = canModel(modelLogic, EVENTS as MotionEvent[], serialize);
  const built = edgePaths(model, serialize, {
    fromState: getInitialSnapshot(modelLogic),
    // A path that ends entering `moving` runs into its deadline, one that ends in stopRetry into its retry.
    drain: ({ next }) => (next.value === 'moving' ? [{ type: DEADLINE }] : next.value === 'stopRetry' ? [{ type: RETRY }] : []) as unknown as MotionEvent[],
  });
  return { model, ...built };
}

describe('motion machine', () => {
  const { model, adjacency, paths, prefixes } = buildModel();
  const current = useFakeClock(createSut);
  const executors = executorTable(EVENTS, (event) => step(current(), event as Ev));

  eventListTest(motionMachine, EVENTS);

  test('every execution state is reachable, with orphans, unknown moves and unconfirmed stops', () => {
    expectStatesReached(adjacency, ['idle', 'commanded', 'moving', 'verifying', 'stopping', 'stopRetry', 'error']);
    const keys = Object.keys(adjacency);
    expect(keys.some((k) => k.split('|')[3] === 'running')).toBe(true);
    expect(keys.some((k) => k.split('|')[3] === 'held')).toBe(true);
    expect(keys.some((k) => k.split('|')[4] === 'some')).toBe(true);
    // A stop answered unconfirmed whose sweep goes on (stopRetry, nobody waiting, still unconfirmed).
    expect(keys.some((k) => k.startsWith('"stopRetry"') && k.split('|')[5] === 'none' && k.split('|')[7] === 'false')).toBe(true);
    // A move a sweep found while callers wait, kept for their answer.
    expect(keys.some((k) => k.startsWith('"stopping"') && k.split('|')[5] === 'some' && k.split('|')[6] === 'some')).toBe(true);
  });

  test('starts idle and announces it', () => {
    checkSut(current());
  });

  pathTests(model, paths, executors, () => current().snap(), (actual, expected) => {
    // The graph keeps one snapshot per serialised key: the key is the model's to compare.
    expect(serialize(actual)).toBe(serialize(expected));
  });

  refusalTable('refuses every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    delayed: (e) => TIMERS.has(e.type),
    step,
    oracle: (sut, _before, event) => oracle(sut.model, event, Date.now()),
    // An unhandled `xstate.error.actor.*` would error the machine by xstate's rules; only the
    // running actor can produce one.
    unsent: (e) => e.type === EXEC_ERROR || e.type === STOP_ERROR || e.type === READ_ERROR,
    check: checkSut,
  });

  // The generated events never start a move with the live sender's own uuid; this path does, and
  // it is recorded for the coverage check below like a generated one.
  test("a live sender whose own move was stopped as a stray (an orphan was unresolved) is answered MotionCancelled", async () => {
    await recordingReplay(paths, async () => {
      const s = current();
      await step(s, GOTO);
      await step(s, HEAD);
      await step(s, { type: 'daemon.move_started', uuid: UUID, interlockTripped: false });
      expect(s.strays).toEqual([UUID]);
      await step(s, { type: EXEC_DONE, output: TRACKED });
      expect(s.snap().value).toBe('idle');
      expect(answers(s, 'req-2').at(-1)).toMatchObject({ ok: false, error: { _tag: 'MotionCancelled', reason: 'ambiguous' } });
    });
  });

  transitionCoverageTest(motionMachine, paths, { minimum: 9 });
});

const stopAnswers = (sut: Sut) => sut.toParent().filter((e) => e.type === 'motion.stop_answer') as unknown as Array<{ requestId: string; confirmed: boolean; stopped: string[]; cancelled: unknown[] }>;
const answers = (sut: Sut, requestId: string) => plainEvents(sut.toParent().filter((e) => e.type === 'motion.answer' && (e as { requestId?: string }).requestId === requestId));

// The stop guarantee, scenario by scenario (README "Safety"), on the same oracle-checked steps.
describe('motion machine: the stop fence', () => {
  const sut = useFakeClock(createSut);

  test('a goto stopped while its sender runs: its caller hears MotionCancelled, the stop names it, its late move is stopped', async () => {
    await step(sut(), GOTO);
    const sender = sut().executions.at(-1)!;
    await step(sut(), TRIP);
    expect(sender.signal.aborted, 'the sender is told to give up').toBe(true);
    expect(answers(sut(), 'req-1')).toEqual([{ type: 'motion.answer', requestId: 'req-1', ok: false, error: { _tag: 'MotionCancelled', reason: 'stopped' } }]);
    // The daemon reports a move nobody owns while the orphan's request may still land: stopped at once.
    await step(sut(), { type: 'daemon.move_started', uuid: STRANGER, interlockTripped: false });
    expect(sut().strays).toEqual([STRANGER]);
    await step(sut(), { type: STOP_DONE, output: [] });
    expect(stopAnswers(sut())).toEqual([{ type: 'motion.stop_answer', requestId: 'trip-1', reply: 'trip', confirmed: true, stopped: [], cancelled: [{ function: 'goto_target', owner: 'alice' }], error: null }]);
    // The orphan's sender finished having sent it (the executor stopped it late): the orphan is gone.
    await step(sut(), { type: 'sender.settled', requestId: 'req-1', uuid: STRANGER, outcome: 'sent', stoppedLate: true });
    expect(sut().snap().context.orphans).toEqual([]);
  });

  test('a set_motor_mode stopped while its sender runs: its caller is not told it was cancelled before it acted; a late mode put back is audited', async () => {
    await step(sut(), MOTOR_MODE);
    await step(sut(), STOP);
    const answer = sut().toParent().find((e) => e.type === 'motion.answer' && (e as { requestId?: string }).requestId === 'req-3') as unknown as { error: { _tag: string; message: string } };
    expect(answer.error._tag).toBe('MotionCancelled');
    expect(answer.error.message).not.toContain('before it moved the robot');
    expect(answer.error.message).toContain('the mode before it is put back');
    await step(sut(), MODE_REVERTED);
    await step(sut(), { type: STOP_DONE, output: [] });
    expect(sut().emitted.filter((e) => e.type === 'motion.late_mode_reverted')).toEqual([{ type: 'motion.late_mode_reverted', function: 'set_motor_mode', owner: 'alice', from: 'disabled', to: 'enabled', reason: LATE_MODE_REVERTED_REASON }]);
  });

  test('a command superseded while its sender runs becomes an orphan; a move that starts before it resolves is stopped at once', async () => {
    await step(sut(), GOTO);
    await step(sut(), HEAD);
    expect(answers(sut(), 'req-1')).toEqual([{ type: 'motion.answer', requestId: 'req-1', ok: false, error: { _tag: 'MotionCancelled', reason: 'superseded' } }]);
    await step(sut(), { type: 'daemon.move_started', uuid: STRANGER, interlockTripped: false });
    // It cannot be told apart from the live sender's (req-2) move: safety first, not parked.
    expect(sut().strays).toEqual([STRANGER]);
    expect(sut().snap().context.unknownMoves).toEqual([]);
    await step(sut(), { type: EXEC_DONE, output: REALTIME });
    expect(sut().strays).toEqual([STRANGER]);
  });

  test('a stop nobody confirms is answered unconfirmed after STOP_CONFIRM_TIMEOUT_MS, then retried after a failed sweep until it succeeds', async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_DONE, output: TRACKED });
    await step(sut(), STOP);
    expect(sut().sweeps.at(-1)!.input).toEqual({ uuids: [UUID] });
    await step(sut(), { type: CONFIRM_TIMEOUT });
    expect(stopAnswers(sut())).toEqual([{ type: 'motion.stop_answer', requestId: 'stop-1', reply: 'stop', confirmed: false, stopped: [], cancelled: [], error: UNCONFIRMED }]);
    await step(sut(), { type: STOP_ERROR, error: SWEEP_FAILED });
    expect(sut().snap().value).toBe('stopRetry');
    await step(sut(), GOTO);
    expect(answers(sut(), 'req-1').at(-1)).toEqual({ type: 'motion.answer', requestId: 'req-1', ok: false, error: { _tag: 'MotionCancelled', reason: 'stopping' } });
    await step(sut(), { type: RETRY });
    expect(sut().sweeps.at(-1)!.input, 'the retry sweeps the same move').toEqual({ uuids: [UUID] });
    await step(sut(), { type: STOP_DONE, output: [UUID] });
    expect(sut().snap().context.stopConfirmed).toBe(true);
    expect(stopAnswers(sut())).toHaveLength(1);
  });

  test('link.recovered sweeps again only when a sweep is owed', async () => {
    expect(sut().snap().can({ type: 'link.recovered', interlockTripped: false })).toBe(false);
    await step(sut(), { type: 'link.recovered', interlockTripped: true });
    await step(sut(), { type: STOP_ERROR, error: SWEEP_FAILED });
    await step(sut(), { type: RETRY });
    await step(sut(), { type: STOP_DONE, output: [] });
    expect(sut().snap().can({ type: 'link.recovered', interlockTripped: false })).toBe(false);
    await step(sut(), GOTO);
    await step(sut(), INTERNAL_STOP);
    await step(sut(), { type: CONFIRM_TIMEOUT });
    await step(sut(), { type: STOP_ERROR, error: SWEEP_FAILED });
    await step(sut(), { type: RETRY });
    await step(sut(), { type: STOP_DONE, output: [] });
    // The orphan (req-1, sender still running) keeps a sweep owed after a reconnect.
    await step(sut(), { type: 'link.recovered', interlockTripped: false });
    expect(sut().snap().value).toBe('stopping');
  });

  test('a move a sweep finds running is the answer\'s while the caller waits, and a late move once it was answered unconfirmed', async () => {
    await step(sut(), GOTO);
    await step(sut(), STOP);
    await step(sut(), { type: 'sweep.found_running', uuid: UUID });
    expect(sut().emitted.filter((e) => e.type === 'motion.late_move'), 'the stop answer will name it').toEqual([]);
    await step(sut(), { type: CONFIRM_TIMEOUT });
    // Named in the answer though the sweep has not confirmed (or fails later, or is abandoned).
    expect(stopAnswers(sut()).map((a) => [(a as { confirmed: boolean }).confirmed, (a as { stopped: string[] }).stopped])).toEqual([[false, [UUID]]]);
    await step(sut(), { type: 'sweep.found_running', uuid: STRANGER });
    expect(sut().emitted.filter((e) => e.type === 'motion.late_move')).toEqual([{ type: 'motion.late_move', uuid: STRANGER, reason: FOUND_RUNNING_REASON }]);
    // The link coming back while the sweep runs does not abandon it (the sweep lists again itself).
    expect(sut().snap().can({ type: 'link.recovered', interlockTripped: false })).toBe(false);
  });

  test('a sweep waiting to retry goes at once when the link comes back', async () => {
    await step(sut(), INTERNAL_STOP);
    await step(sut(), { type: STOP_ERROR, error: SWEEP_FAILED });
    expect(sut().snap().value).toBe('stopRetry');
    await step(sut(), { type: 'link.recovered', interlockTripped: false });
    expect(sut().snap().value).toBe('stopping');
    await step(sut(), { type: STOP_DONE, output: [] });
    expect(sut().snap().value).toBe('idle');
  });

  test('a move that starts while tripped is stopped even with nothing in flight', async () => {
    await step(sut(), { type: 'daemon.move_started', uuid: STRANGER, interlockTripped: true });
    expect(sut().strays).toEqual([STRANGER]);
    expect(sut().snap().can({ type: 'daemon.move_started', uuid: STRANGER, interlockTripped: false }), 'an untripped stranger with no orphans is not ours to stop').toBe(false);
  });

  test('a live goto whose request went unanswered is held like a cancelled one: its move, starting after a stop was answered, is stopped', async () => {
    await step(sut(), GOTO);
    // The daemon reports a move while the request is out: maybe its own, parked.
    await step(sut(), { type: 'daemon.move_started', uuid: STRANGER, interlockTripped: false });
    // The request timed out: the executor reports it unresolved, then fails (the caller hears DaemonUnavailable).
    await step(sut(), { type: 'sender.settled', requestId: 'req-1', uuid: null, outcome: 'unknown', stoppedLate: false });
    expect(sut().strays, 'the parked move may be its own: stopped').toEqual([STRANGER]);
    await step(sut(), { type: EXEC_ERROR, error: SEND_FAILED });
    expect(answers(sut(), 'req-1')).toEqual([{ type: 'motion.answer', requestId: 'req-1', ok: false, error: { _tag: 'DaemonUnavailable', connectionState: 'connected' } }]);
    await step(sut(), STOP);
    await step(sut(), { type: STOP_DONE, output: [] });
    expect(stopAnswers(sut()).at(-1)?.confirmed).toBe(true);
    // Its goto reaches the daemon late: nobody owns it, and it is stopped at once.
    await step(sut(), { type: 'daemon.move_started', uuid: UUID, interlockTripped: false });
    expect(sut().strays).toEqual([STRANGER, UUID]);
  });

  test('an orphan whose fate is unknown is held ORPHAN_HOLD_MS, then stray moves are no longer stopped', async () => {
    await step(sut(), GOTO);
    await step(sut(), STOP);
    await step(sut(), { type: STOP_DONE, output: [] });
    await step(sut(), { type: 'sender.settled', requestId: 'req-1', uuid: null, outcome: 'unknown', stoppedLate: false });
    expect(sut().snap().can({ type: 'daemon.move_started', uuid: STRANGER, interlockTripped: false })).toBe(true);
    await vi.advanceTimersByTimeAsync(ORPHAN_HOLD_MS);
    expect(sut().snap().can({ type: 'daemon.move_started', uuid: STRANGER, interlockTripped: false })).toBe(false);
  });
});

// A ramped realtime target ends when its ramp reports (README "Safety", speed limits), on the same oracle-checked steps.
describe('motion machine: ramped targets', () => {
  const sut = useFakeClock(createSut);

  test('a waiting ramp cut short at the write answers the refusal, never completed; the settle time alone completes nothing', async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_DONE, output: RAMPED });
    // Past the time a settled realtime target would have completed at: still moving, nobody answered.
    await vi.advanceTimersByTimeAsync(RAMPED.expectedDurationMs + 1);
    expect(sut().snap().value).toBe('moving');
    expect(answers(sut(), 'req-1')).toEqual([]);
    await step(sut(), { type: 'sender.ramp_ended', requestId: 'req-1', outcome: 'refused', error: LEASE_HELD, head: null });
    expect(answers(sut(), 'req-1')).toEqual([{ type: 'motion.answer', requestId: 'req-1', ok: false, error: { _tag: 'LeaseHeld', holder: 'bob', secondsLeft: 30 } }]);
    expect(sut().emitted.filter((e) => e.type === 'motion.refused_at_write'), 'audited as a refusal at the write').toEqual([{ type: 'motion.refused_at_write', function: 'goto_target', owner: 'alice', errorTag: 'LeaseHeld', reason: LEASE_HELD.message }]);
  });

  test('a ramp nobody waits for that ends short is audited, and its caller (answered on acceptance) hears nothing more', async () => {
    await step(sut(), HEAD);
    await step(sut(), { type: EXEC_DONE, output: RAMPED });
    await step(sut(), { type: 'sender.ramp_ended', requestId: 'req-2', outcome: 'failed', error: WRITE_FAILED, head: null });
    expect(answers(sut(), 'req-2').map((a) => (a as { ok: boolean }).ok)).toEqual([true]);
    expect(sut().emitted.filter((e) => e.type === 'motion.ramp_ended')).toHaveLength(1);
  });

  test("a ramp fenced off by a newer command is not the new command's end", async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_DONE, output: RAMPED });
    await step(sut(), HEAD);
    await step(sut(), { type: EXEC_DONE, output: RAMPED });
    expect(sut().snap().can({ type: 'sender.ramp_ended', requestId: 'req-1', outcome: 'refused', error: LEASE_HELD, head: null })).toBe(false);
  });
});

// A waited move to a head pose is `completed` only once the head is read there (head-reach.ts tolerances).
describe('motion machine: where a waited move left the head', () => {
  const sut = useFakeClock(createSut);

  test('a waited goto the daemon reports done with the head 12° off its goal answers PoseNotReached, never completed', async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_DONE, output: TRACKED });
    await step(sut(), { type: 'daemon.move_done', uuid: UUID, outcome: 'completed', details: '' });
    expect(sut().snap().value).toBe('verifying');
    expect(answers(sut(), 'req-1')).toEqual([]);
    await step(sut(), { type: READ_DONE, output: STOPPED_HEAD });
    expect(answers(sut(), 'req-1')).toMatchObject([{ ok: false, error: { _tag: 'PoseNotReached', reached: { yaw: 12 }, target: { yaw: 0 } } }]);
  });

  test('within the tolerance it is completed; a goto nobody waits for is not checked', async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_DONE, output: TRACKED });
    await step(sut(), { type: 'daemon.move_done', uuid: UUID, outcome: 'completed', details: '' });
    await step(sut(), { type: READ_DONE, output: AT_GOAL });
    expect(answers(sut(), 'req-1')).toMatchObject([{ ok: true, result: { status: 'completed' } }]);
    await step(sut(), HEAD);
    await step(sut(), { type: EXEC_DONE, output: REALTIME });
    await step(sut(), { type: DEADLINE });
    expect(sut().reads).toHaveLength(1);
  });
});
