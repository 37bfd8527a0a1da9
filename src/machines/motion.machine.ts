// Motion execution and the stop guarantee (reference-driver.md §12 bugs 1–3; README "Safety"): idle
// → commanded (sender runs) → moving (a move uuid until move_done, a realtime target settling, a ramp
// until it reports) → [verifying: a waited head pose read] → idle; error; stopping (the sweep runs).
// A stop or newer command raises the fence (`epoch`): an older sender is cancelled; one in flight (or
// unanswered) becomes an orphan whose late move is stopped. Stops answer when their sweep succeeds, or
// `unconfirmed` after STOP_CONFIRM_TIMEOUT_MS. Owns the states, fence, answers and the active command's
// reported progress (expression step, planned peaks); sending, stopping and pose reads are the runtime's actors.
import { and, assign, emit, enqueueActions, raise, setup, type PromiseActorLogic } from 'xstate';
import { DaemonUnavailable, failureFromDaemon, failureOf, messageOf, MotionCancelled, MotionNotCompleted, PoseNotReached, type RpcFailure } from '../errors.ts';
import type { PowerRequirement } from '../rpc/robot-functions.ts';
import type { PlannedPeak } from '../safety/speed-limits.ts';
import type { BodyHeldShort } from '../safety/body-follow-check.ts';
import { HEAD_REACH_TOLERANCE_DEG, HEAD_REACH_TOLERANCE_MM, headGoalOf, headPoseView, offTarget } from '../robot/head-reach.ts';
import type { XyzRpyPose } from '../robot/pose-math.ts';

/** The Python SDK waits duration + 1 s for a move to report completion (daemon-api §2). */
export const MOVE_COMPLETION_MARGIN_MS = 1_000;
/**
 * A realtime ramp may run this much longer than its duration at the limit (late ticks, a daemon
 * stall it waits through) before the executor gives it up; the motion machine waits as long (plus
 * MOVE_COMPLETION_MARGIN_MS) for the ramp to report its end.
 */
export const RAMP_OVERRUN_MS = 2_000;
/** A stop answers within this even when the daemon is slow or stalled (issue: "bounded, e.g. 250 ms"). */
export const STOP_CONFIRM_TIMEOUT_MS = 250;
/** A stop sweep that failed (daemon unreachable) is tried again this often until it succeeds. */
export const STOP_RETRY_MS = 250;
/**
 * How long a request whose fate is unknown (cancelled or not, it timed out against a stalled daemon) can
 * still start a move: any move the daemon starts meanwhile that no live command owns is stopped.
 * Longer than the longest stall the daemon client waits through (its request timeout) several times.
 */
export const ORPHAN_HOLD_MS = 30_000;
/** Stray uuids remembered to recognise a live sender's own move among them (a handful in the worst burst). */
const MAX_STRAYS_KEPT = 32;

export type ExecutionStateName = 'idle' | 'commanded' | 'moving' | 'stopping' | 'error';

/** A waited move's completion is checked against where the head is (reads as `moving`). */
const VERIFYING = 'verifying';

/** What the runtime's executor returns once the daemon accepted a command. */
export interface CommandAccepted {
  /** Daemon move uuid to track (goto, wake_up, goto_sleep), or null for a realtime target. */
  readonly uuid: string | null;
  /** How long the move should take; realtime targets settle after this. */
  readonly expectedDurationMs: number;
  /** How the speed limits changed the command (a goto stretched, a realtime target ramped); absent: unchanged. */
  readonly speedLimited?: SpeedLimited;
  /** Where the daemon keeps a body the command names short of its target (the head holds it back); absent: it gets there. */
  readonly bodyHeldShort?: BodyHeldShort | undefined;
}

/** The caller's `speed_limited` (README "Safety", speed limits): the axis that set the pace and the duration used. */
export interface SpeedLimited {
  readonly mode: 'stretched' | 'ramped';
  readonly axis: string;
  /** The peak speed the command asked for, in `unit`. */
  readonly peak_speed: number;
  readonly limit: number;
  readonly unit: string;
  /** The goto's requested duration; null for a realtime target. */
  readonly requested_duration_s: number | null;
  /** The goto's duration as sent, or how long the ramp takes at the limit. */
  readonly duration_s: number;
}

export interface ExecuteInput {
  readonly requestId: string;
  readonly epoch: number;
  /** Who sent it: the lease rule is applied again right before each daemon write (robot-runtime.ts `mayMove`). */
  readonly owner: string;
  /** The power state it needs: applied again right before each daemon write, as the lease rule. */
  readonly power: PowerRequirement;
  readonly command: Record<string, unknown>;
  /** What the caller asked for (the gate's `target`): the envelope in force is checked again right before each daemon write. */
  readonly target: Record<string, unknown>;
  /** Daemon moves of replaced commands, stopped before this one is sent. */
  readonly supersedes: ReadonlyArray<string>;
}

/**
 * Where the active command's sender is: the expression step it runs (0 for any other command; the
 * steps before it are done) and the peak speed per axis of the goto it sent or is about to send for
 * it, as planned under the limits then in force (empty before a goto is planned, and for motion the
 * speed limits do not plan: realtime targets, wake_up, goto_sleep, play_move).
 */
export interface MotionProgress {
  readonly step: number;
  readonly peaks: ReadonlyArray<PlannedPeak>;
}

/** The sender's report of its progress (the executor's, through the root); only the active command's counts. */
export interface MotionProgressEvent extends MotionProgress {
  readonly type: 'motion.progress';
  readonly requestId: string;
}

export interface MotionCommandEvent {
  readonly type: 'motion.command';
  readonly requestId: string;
  readonly kind: string;
  readonly owner: string;
  /** The power state the command needs (the function's `power`; `any` for set_motor_mode). */
  readonly power: PowerRequirement;
  /** Plain JSON the executor understands (never live handles). */
  readonly command: Record<string, unknown>;
  readonly target: Record<string, unknown>;
  readonly wait: boolean;
}

/** `reply`: which answer the caller gets (`stop_motion` or a trip); null for an internal stop. */
export interface MotionStopEvent {
  readonly type: 'motion.stop';
  readonly requestId: string | null;
  readonly reply: 'stop' | 'trip' | null;
  readonly reason: string;
}

export type MotionEvent =
  | MotionCommandEvent
  | MotionStopEvent
  | MotionProgressEvent
  | { type: 'daemon.move_started'; uuid: string; interlockTripped: boolean }
  | { type: 'daemon.move_done'; uuid: string; outcome: 'completed' | 'failed' | 'cancelled'; details: string }
  /**
   * A cancelled sender finished: its move (if any) was stopped by the executor; `unknown` = timed out.
   * Also the live sender's, before it fails, when its move request went unanswered (`unknown`).
   */
  | { type: 'sender.settled'; requestId: string; uuid: string | null; outcome: 'sent' | 'failed' | 'unknown'; stoppedLate: boolean }
  /** The daemon link came back after a loss: sweep again if a stop is unconfirmed or orphans exist. */
  | { type: 'link.recovered'; interlockTripped: boolean }
  /** A stop sweep stopped a move the daemon listed as running that the stop did not know of. */
  | { type: 'sweep.found_running'; uuid: string }
  /** A cancelled command's motor-mode write landed after all: the executor wrote back the mode before it. */
  | { type: 'mode.reverted'; function: string; owner: string; from: string; to: string }
  | RampEnded;

/**
 * A realtime ramp ended (the executor's report; speed-guard.ts `RampEnd`): `reached` once its last
 * step settled; else `refused` / `failed` with the write-time refusal or the write's error, or at
 * its deadline `stalled` / `not_followed`. `head`: the pose it last observed (null: none).
 */
export interface RampEnded {
  readonly type: 'sender.ramp_ended';
  readonly requestId: string;
  readonly outcome: 'reached' | 'refused' | 'failed' | 'stalled' | 'not_followed';
  readonly error: unknown;
  readonly head: XyzRpyPose | null;
}

export type MotionOutcome = 'completed' | 'failed' | 'cancelled' | 'superseded' | 'timeout' | 'stopped';

/** What the root (parent) must act on. */
export type MotionToParent =
  | { type: 'motion.answer'; requestId: string; ok: true; result: unknown }
  | { type: 'motion.answer'; requestId: string; ok: false; error: RpcFailure }
  | { type: 'motion.accepted'; requestId: string; kind: string; uuid: string | null }
  | {
      type: 'motion.stop_answer';
      requestId: string;
      reply: 'stop' | 'trip';
      confirmed: boolean;
      stopped: ReadonlyArray<string>;
      cancelled: ReadonlyArray<CancelledCommand>;
      error: string | null;
    };

/** For observers (audit trail, logs). */
export type MotionEmitted =
  | { type: 'motion.changed'; state: ExecutionStateName; requestId: string | null; kind: string | null; at: number }
  | { type: 'motion.late_move'; uuid: string; reason: string }
  /** A cancelled command's motor mode, applied late by the daemon, was put back to the mode before it. */
  | { type: 'motion.late_mode_reverted'; function: string; owner: string; from: string; to: string; reason: string }
  | { type: 'motion.stop_unconfirmed'; reason: string; error: string | null }
  /** The speed limits refused a command (TooFast), or stretched or ramped it (audited by the safety trail). */
  | { type: 'motion.speed_limited'; function: string; owner: string; outcome: 'refused' | 'stretched' | 'ramped'; reason: string; detail: SpeedLimited | null }
  /** The check right before a daemon write refused the command with one of the gate's own refusals (audited like the gate's). */
  | { type: 'motion.refused_at_write'; function: string; owner: string; errorTag: string; reason: string }
  /** A realtime ramp ended short of its target for another reason than a stop, a newer command or one of the gate's refusals (audited). */
  | { type: 'motion.ramp_ended'; function: string; owner: string; outcome: RampEnded['outcome']; errorTag: string; reason: string };

export interface CancelledCommand {
  readonly function: string;
  readonly owner: string;
}

interface ActiveCommand {
  readonly requestId: string;
  readonly kind: string;
  readonly owner: string;
  readonly power: PowerRequirement;
  readonly command: Record<string, unknown>;
  readonly target: Record<string, unknown>;
  readonly wait: boolean;
  readonly uuid: string | null;
  /** The caller already got its answer (accepted without wait). */
  readonly answered: boolean;
  readonly speedLimited?: SpeedLimited | undefined;
  readonly bodyHeldShort?: BodyHeldShort | undefined;
  readonly progress: MotionProgress;
}

interface Orphan extends CancelledCommand {
  readonly requestId: string;
  /** 0 while its sender still runs; else until when its late move may still appear (epoch ms). */
  readonly heldUntil: number;
}

interface StopWaiter {
  readonly requestId: string;
  readonly reply: 'stop' | 'trip';
}

export interface MotionContext {
  /** The stop fence: raised by every stop and every superseding command. */
  readonly epoch: number;
  readonly active: ActiveCommand | null;
  readonly supersedes: ReadonlyArray<string>;
  readonly orphans: ReadonlyArray<Orphan>;
  /** Daemon moves that started while a live sender was in flight: attributed when it answers. */
  readonly unknownMoves: ReadonlyArray<string>;
  /** Moves stopped as strays (recent first, bounded): a live sender whose own move is among them is cancelled. */
  readonly strays: ReadonlyArray<string>;
  /** Callers waiting for the running stop sweep. */
  readonly waiters: ReadonlyArray<StopWaiter>;
  /** Commands the running stop cancelled while their sender was in flight. */
  readonly cancelled: ReadonlyArray<CancelledCommand>;
  /** Moves a sweep found running and stopped while callers wait: named in their answer, whatever the sweep's outcome. */
  readonly found: ReadonlyArray<string>;
  readonly stopReason: string;
  /** Outcome of the last stop: null before any, false while unconfirmed. */
  readonly stopConfirmed: boolean | null;
  /** Epoch ms by which the waiting stop callers are answered (unconfirmed if need be): the first waiter's bound. */
  readonly stopAnswerDue: number;
  readonly expectedDurationMs: number;
  readonly lastError: string;
  readonly lastCommander: string | null;
  readonly target: Record<string, unknown>;
  readonly since: number;
}

const nowMs = () => Date.now();

/** A command just taken: its first step, nothing planned yet. */
const NOT_STARTED: MotionProgress = Object.freeze({ step: 0, peaks: Object.freeze([]) });

/** The audit reason of a move a stop sweep found running with no caller waiting for its answer. */
export const FOUND_RUNNING_REASON = 'found running by a stop sweep after the stop was answered, or by a stop the driver made itself';

/** The audit reason of a cancelled command's motor mode put back after the daemon applied it late. */
export const LATE_MODE_REVERTED_REASON = 'its command was cancelled while the motor mode request was with the daemon, which applied it: the mode before it was put back';

/** Commands whose sender writes a motor mode (no move uuid to stop): cancelled, that write is undone if the daemon applied it. */
function writesMotorMode(command: Record<string, unknown>): boolean {
  return command.op === 'motor_mode' || (command.op === 'play' && command.move === 'wake_up');
}

/** What the caller of a command cancelled while its sender ran is told. */
function cancelledMessage(a: ActiveCommand, details: string): string {
  // A sequence (play_expression) sends its steps one after the other: earlier steps may have moved the robot.
  if (a.command.op === 'sequence') return `${a.kind} was stopped part-way (steps already sent may have moved the robot; nothing more is sent): ${details}`;
  if (writesMotorMode(a.command)) return `${a.kind} was cancelled; if the daemon applies the motor mode it asked for, the mode before it is put back (a stop confirms once that is settled): ${details}`;
  return `${a.kind} was cancelled before it moved the robot: ${details}`;
}

/** Orphans whose late move can still appear at `at`. */
export function liveOrphans(orphans: ReadonlyArray<Orphan>, at: number): ReadonlyArray<Orphan> {
  return orphans.filter((o) => o.heldUntil === 0 || o.heldUntil > at);
}

interface EndParams {
  readonly outcome: MotionOutcome;
  readonly details: string;
  /** The sender is still in flight: the caller hears MotionCancelled and the sender becomes an orphan. */
  readonly senderRunning: boolean;
}

/**
 * The answer owed to the active command's caller as it ends, the orphans after it, and the daemon
 * moves still to stop (its move, once accepted, is stopped by the next sender or the stop sweep).
 */
function endActive(context: MotionContext, params: EndParams): { answer: MotionToParent | null; orphans: ReadonlyArray<Orphan>; supersedes: ReadonlyArray<string> } {
  const a = context.active;
  if (!a) return { answer: null, orphans: context.orphans, supersedes: context.supersedes };
  const error = params.senderRunning
    ? new MotionCancelled({ message: cancelledMessage(a, params.details), reason: params.outcome })
    : new MotionNotCompleted({ message: `the move did not complete: ${params.outcome} (${params.details})`, outcome: params.outcome, uuid: a.uuid });
  return {
    answer: a.answered ? null : { type: 'motion.answer', requestId: a.requestId, ok: false, error },
    orphans: params.senderRunning ? [...context.orphans, { requestId: a.requestId, function: a.kind, owner: a.owner, heldUntil: 0 }] : context.orphans,
    supersedes: a.uuid ? [...context.supersedes, a.uuid] : context.supersedes,
  };
}

function parentOf(self: unknown): boolean {
  return Boolean((self as { _parent?: unknown })._parent);
}

export const motionMachine = setup({
  types: {
    context: {} as MotionContext,
    events: {} as MotionEvent,
    emitted: {} as MotionEmitted,
  },
  actors: {
    executeCommand: (() => {
      throw new Error('motion machine: the "executeCommand" actor must be provided');
    }) as unknown as PromiseActorLogic<CommandAccepted, ExecuteInput>,
    stopMotion: (() => {
      throw new Error('motion machine: the "stopMotion" actor must be provided');
    }) as unknown as PromiseActorLogic<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>,
    stopMove: (() => {
      throw new Error('motion machine: the "stopMove" actor must be provided');
    }) as unknown as PromiseActorLogic<void, { uuid: string }>,
    readHeadPose: (() => {
      throw new Error('motion machine: the "readHeadPose" actor must be provided');
    }) as unknown as PromiseActorLogic<XyzRpyPose, void>,
  },
  actions: {
    announce: emit(({ context }, params: { state: ExecutionStateName }) => ({
      type: 'motion.changed' as const,
      state: params.state,
      requestId: context.active?.requestId ?? null,
      kind: context.active?.kind ?? null,
      at: context.since,
    })),
    stamp: assign({ since: () => nowMs() }),
    /**
     * Answers the active command's caller (if still waiting) and forgets it; its sender becomes an
     * orphan if it runs, and its daemon move (if any) is one the next command must stop first.
     */
    endActive: enqueueActions(({ context, self, enqueue }, params: EndParams) => {
      const ended = endActive(context, params);
      if (ended.answer && parentOf(self)) enqueue.sendParent(ended.answer);
      enqueue.assign({ active: null, orphans: ended.orphans, supersedes: ended.supersedes });
    }),
    take: assign(({ context, event }) => {
      const e = event as MotionCommandEvent;
      // The replaced move (added by endActive), and moves that started while the replaced sender was
      // in flight (they cannot be the new command's: it has not been sent yet), are stopped before it is sent.
      const replaced = [...context.supersedes, ...context.unknownMoves];
      return {
        epoch: context.epoch + 1,
        active: { requestId: e.requestId, kind: e.kind, owner: e.owner, power: e.power, command: e.command, target: e.target, wait: e.wait, uuid: null, answered: false, progress: NOT_STARTED },
        supersedes: replaced,
        unknownMoves: [],
        lastError: '',
        lastCommander: e.owner,
        target: e.target,
      };
    }),
    accepted: enqueueActions(({ context, self, enqueue }, params: { output: CommandAccepted }) => {
      const a = context.active;
      if (!a) return;
      const answerNow = !a.wait;
      if (parentOf(self)) {
        enqueue.sendParent({ type: 'motion.accepted', requestId: a.requestId, kind: a.kind, uuid: params.output.uuid });
        if (answerNow) enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: true, result: { status: 'accepted', uuid: params.output.uuid, target: a.target, ...speedLimitedOf(params.output.speedLimited), ...bodyHeldShortOf(params.output.bodyHeldShort) } });
      }
      // Moves that started while this sender was in flight and are not its own belong to orphans.
      const strays = context.unknownMoves.filter((u) => u !== params.output.uuid);
      if (liveOrphans(context.orphans, nowMs()).length > 0) {
        for (const uuid of strays) {
          enqueue.spawnChild('stopMove', { input: { uuid } });
          enqueue.emit({ type: 'motion.late_move', uuid, reason: 'started by a command cancelled before it reached the daemon' });
        }
      }
      const limited = params.output.speedLimited;
      if (limited) enqueue.emit({ type: 'motion.speed_limited', function: a.kind, owner: a.owner, outcome: limited.mode, reason: `${a.kind} ${limited.mode} to ${limited.duration_s} s by the ${limited.axis} speed limit (${limited.limit} ${limited.unit})`, detail: limited });
      enqueue.assign({ active: { ...a, uuid: params.output.uuid, answered: answerNow, speedLimited: limited, bodyHeldShort: params.output.bodyHeldShort }, supersedes: [], unknownMoves: [], expectedDurationMs: params.output.expectedDurationMs });
    }),
    sendFailed: enqueueActions(({ context, self, enqueue }, params: { error: unknown }) => {
      const a = context.active;
      const failure = senderFailure(params.error);
      if (a && parentOf(self)) enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: false, error: failure });
      if (a && failure._tag === 'TooFast') enqueue.emit({ type: 'motion.speed_limited', function: a.kind, owner: a.owner, outcome: 'refused', reason: failure.message, detail: null });
      if (a && WRITE_TIME_REFUSALS.has(failure._tag)) enqueue.emit({ type: 'motion.refused_at_write', function: a.kind, owner: a.owner, errorTag: failure._tag, reason: failure.message });
      enqueue.assign({ lastError: failure.message, active: null, unknownMoves: [] });
    }),
    finish: enqueueActions(({ context, self, enqueue }, params: { outcome: MotionOutcome; details: string }) => {
      const a = context.active;
      if (a && !a.answered && parentOf(self)) {
        if (params.outcome === 'completed') enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: true, result: { status: 'completed', uuid: a.uuid, target: a.target, ...speedLimitedOf(a.speedLimited), ...bodyHeldShortOf(a.bodyHeldShort) } });
        else enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: false, error: new MotionNotCompleted({ message: `the move did not complete: ${params.outcome}${params.details ? ` (${params.details})` : ''}`, outcome: params.outcome, uuid: a.uuid }) });
      }
      enqueue.assign({ active: null, lastError: params.outcome === 'completed' || params.outcome === 'cancelled' ? '' : params.details });
    }),
    /**
     * The active command's ramp ended short of its target: a waiting caller hears why (the
     * write-time refusal, the write's failure, or MotionNotCompleted naming where the head stopped);
     * audited either way — a step refused with one of the gate's refusals as a refusal at the
     * write, like a goto's (sendFailed).
     */
    rampCutShort: enqueueActions(({ context, event, self, enqueue }) => {
      const a = context.active;
      if (!a) return;
      const failure = rampFailure(event as RampEnded, a.command.op);
      if (!a.answered && parentOf(self)) enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: false, error: failure });
      if (WRITE_TIME_REFUSALS.has(failure._tag)) enqueue.emit({ type: 'motion.refused_at_write', function: a.kind, owner: a.owner, errorTag: failure._tag, reason: failure.message });
      else enqueue.emit({ type: 'motion.ramp_ended', function: a.kind, owner: a.owner, outcome: (event as RampEnded).outcome, errorTag: failure._tag, reason: failure.message });
      enqueue.assign({ active: null, lastError: failure.message });
    }),
    /** The waited move ended with the head off its target (a pose the daemon dropped): PoseNotReached. */
    notReached: enqueueActions(({ context, event, self, enqueue }) => {
      const a = context.active;
      const goal = a ? headGoalOf(a.command) : null;
      const off = goal ? offTarget((event as unknown as { output: XyzRpyPose }).output, goal) : null;
      if (!a || !off) return;
      const error = new PoseNotReached({
        message: `${a.kind} ended with the head off its target: yaw ${off.reached.yaw}°, pitch ${off.reached.pitch}°, roll ${off.reached.roll}° for ${off.target.yaw}°, ${off.target.pitch}°, ${off.target.roll}° (${off.rotationDeg}° and ${off.translationMm} mm away, tolerance ${HEAD_REACH_TOLERANCE_DEG}° and ${HEAD_REACH_TOLERANCE_MM} mm); the daemon drops a head pose it cannot reach without a word — choose one nearer the centre`,
        reached: off.reached,
        target: off.target,
        tolerance: { deg: HEAD_REACH_TOLERANCE_DEG, mm: HEAD_REACH_TOLERANCE_MM },
        uuid: a.uuid,
      });
      if (parentOf(self)) enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: false, error });
      enqueue.assign({ active: null, lastError: error.message });
    }),
    /** The head pose could not be read to check the waited move: its caller is not told `completed`. */
    headUnread: enqueueActions(({ context, event, self, enqueue }) => {
      const a = context.active;
      if (!a) return;
      const error = new DaemonUnavailable({ message: `${a.kind} ended, but where the head stopped could not be read to check it reached its target: ${messageOf((event as { error?: unknown }).error)}`, connectionState: 'connected' });
      if (parentOf(self)) enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: false, error });
      enqueue.assign({ active: null, lastError: error.message });
    }),
    /** A stop raises the fence and cancels the active command; its caller joins the waiters. */
    beginStop: enqueueActions(({ context, event, self, enqueue }, params: { senderRunning: boolean }) => {
      const e = event as MotionStopEvent;
      const a = context.active;
      const cancelled = a && params.senderRunning ? [...context.cancelled, { function: a.kind, owner: a.owner }] : context.cancelled;
      const ended = endActive(context, { outcome: 'stopped', details: e.reason, senderRunning: params.senderRunning });
      if (ended.answer && parentOf(self)) enqueue.sendParent(ended.answer);
      enqueue.assign({
        active: null,
        orphans: ended.orphans,
        epoch: context.epoch + 1,
        // The active move and any move that started while a now-cancelled sender was in flight.
        supersedes: [...ended.supersedes, ...context.unknownMoves],
        unknownMoves: [],
        waiters: e.requestId && e.reply ? [...context.waiters, { requestId: e.requestId, reply: e.reply }] : context.waiters,
        cancelled,
        stopReason: e.reason,
        stopConfirmed: false,
        // A stop joining callers already waiting keeps their deadline (re-entering must not push it back).
        stopAnswerDue: context.waiters.length > 0 ? context.stopAnswerDue : nowMs() + STOP_CONFIRM_TIMEOUT_MS,
      });
    }),
    answerStops: enqueueActions(({ context, self, enqueue }, params: { confirmed: boolean; stopped: ReadonlyArray<string>; error: string | null }) => {
      const stopped = [...new Set([...params.stopped, ...context.found])];
      if (parentOf(self)) {
        for (const w of context.waiters) {
          enqueue.sendParent({ type: 'motion.stop_answer', requestId: w.requestId, reply: w.reply, confirmed: params.confirmed, stopped, cancelled: context.cancelled, error: params.error });
        }
      }
      if (!params.confirmed && context.waiters.length > 0) enqueue.emit({ type: 'motion.stop_unconfirmed', reason: context.stopReason, error: params.error });
      enqueue.assign({ waiters: [], found: [], ...(params.confirmed ? { cancelled: [], stopConfirmed: true, supersedes: [] } : {}) });
    }),
    /**
     * A move a sweep found running and stopped: named in the answer of the callers waiting, or a
     * late move when none waits (the stop was answered already, or it is the driver's own stop).
     */
    auditFoundRunning: enqueueActions(({ context, event, enqueue }) => {
      const uuid = (event as { uuid: string }).uuid;
      if (context.waiters.length > 0) enqueue.assign({ found: context.found.includes(uuid) ? context.found : [...context.found, uuid] });
      else enqueue.emit({ type: 'motion.late_move', uuid, reason: FOUND_RUNNING_REASON });
    }),
    auditModeReverted: emit(({ event }) => {
      const e = event as Extract<MotionEvent, { type: 'mode.reverted' }>;
      return { type: 'motion.late_mode_reverted' as const, function: e.function, owner: e.owner, from: e.from, to: e.to, reason: LATE_MODE_REVERTED_REASON };
    }),
    /** A command that reaches motion while a stop sweep runs (the gate refuses it first). */
    refuseDuringStop: enqueueActions(({ event, self, enqueue }) => {
      const e = event as MotionCommandEvent;
      if (parentOf(self)) enqueue.sendParent({ type: 'motion.answer', requestId: e.requestId, ok: false, error: new MotionCancelled({ message: 'a stop is in progress; send the command again once it has stopped', reason: 'stopping' }) });
    }),
    /** The active command's sender reached a step or planned its goto (an older sender's report is ignored by the guard). */
    recordProgress: assign(({ context, event }) => {
      const e = event as MotionProgressEvent;
      return { active: context.active ? { ...context.active, progress: { step: e.step, peaks: e.peaks } } : null };
    }),
    stopFailed: assign(({ event }) => ({ lastError: senderFailure((event as unknown as { error: unknown }).error).message })),
    /** A daemon move we do not own started while it must not: stop it at once. */
    stopStray: enqueueActions(({ context, event, enqueue }, params: { reason: string }) => {
      const e = event as Extract<MotionEvent, { type: 'daemon.move_started' }>;
      enqueue.spawnChild('stopMove', { input: { uuid: e.uuid } });
      enqueue.emit({ type: 'motion.late_move', uuid: e.uuid, reason: params.reason });
      enqueue.assign({ strays: [e.uuid, ...context.strays].slice(0, MAX_STRAYS_KEPT) });
    }),
    /** The live sender's own move was stopped as a possible stray (it started while an orphan's fate was unknown). */
    cancelStoppedOwn: enqueueActions(({ context, self, enqueue }) => {
      const a = context.active;
      if (a && parentOf(self)) {
        enqueue.sendParent({ type: 'motion.answer', requestId: a.requestId, ok: false, error: new MotionCancelled({ message: `${a.kind} was stopped as it started: a cancelled command's request was still unresolved, so its move could not be told apart; send it again`, reason: 'ambiguous' }) });
      }
      enqueue.assign({ active: null, unknownMoves: [], supersedes: [] });
    }),
    /**
     * The link came back while a sweep is owed and a command runs: moves the daemon started while
     * its updates were not heard cannot be told from the live one's, so motion is stopped (as a stop
     * nobody waits for) — the sweep then stops them all.
     */
    stopAfterRecovery: raise({ type: 'motion.stop', requestId: null, reply: null, reason: 'the daemon link came back while a cancelled command was unresolved: moves started meanwhile cannot be told apart' } as MotionStopEvent),
    /**
     * The live sender's move request went unanswered (timed out, connection lost after the write):
     * the daemon may still start its move, so it is held as an orphan for ORPHAN_HOLD_MS exactly as
     * a cancelled one whose fate is unknown; moves that started meanwhile may be its own: stopped.
     */
    holdUnresolved: enqueueActions(({ context, event, enqueue }) => {
      const a = context.active;
      if (!a) return;
      const at = nowMs();
      for (const uuid of context.unknownMoves) {
        enqueue.spawnChild('stopMove', { input: { uuid } });
        enqueue.emit({ type: 'motion.late_move', uuid, reason: 'started by a command whose request went unanswered' });
      }
      const orphan: Orphan = { requestId: (event as { requestId: string }).requestId, function: a.kind, owner: a.owner, heldUntil: at + ORPHAN_HOLD_MS };
      enqueue.assign({ orphans: [...liveOrphans(context.orphans, at), orphan], strays: [...[...context.unknownMoves].reverse(), ...context.strays].slice(0, MAX_STRAYS_KEPT), unknownMoves: [] });
    }),
    parkUnknown: assign(({ context, event }) => ({ unknownMoves: [...context.unknownMoves, (event as { uuid: string }).uuid] })),
    /** A cancelled sender finished; the executor already stopped the move it started late (if any). */
    settleOrphan: enqueueActions(({ context, event, enqueue }) => {
      const e = event as Extract<MotionEvent, { type: 'sender.settled' }>;
      const heldUntil = e.outcome === 'unknown' ? nowMs() + ORPHAN_HOLD_MS : -1;
      const orphans = context.orphans.map((o) => (o.requestId === e.requestId ? { ...o, heldUntil } : o)).filter((o) => o.heldUntil !== -1);
      if (e.stoppedLate && e.uuid) enqueue.emit({ type: 'motion.late_move', uuid: e.uuid, reason: 'its command was cancelled while the request was in flight' });
      enqueue.assign({ orphans: liveOrphans(orphans, nowMs()), unknownMoves: e.uuid ? context.unknownMoves.filter((u) => u !== e.uuid) : context.unknownMoves });
    }),
  },
  guards: {
    isTracked: ({ context }) => context.active?.uuid != null,
    ownProgress: ({ context, event }) => event.type === 'motion.progress' && event.requestId === context.active?.requestId,
    /** The active command is a realtime target being ramped: it ends when its ramp reports. */
    rampRuns: ({ context }) => rampRuns(context.active),
    ownRamp: ({ context, event }) => event.type === 'sender.ramp_ended' && event.requestId === context.active?.requestId && rampRuns(context.active),
    rampReached: ({ event }) => event.type === 'sender.ramp_ended' && event.outcome === 'reached',
    /** The ramp's steps were written but the head did not get there in time: where it is decides. */
    rampNotFollowed: ({ event }) => event.type === 'sender.ramp_ended' && event.outcome === 'not_followed',
    /** A caller waits for a move that sends the head to a pose: `completed` only once it is there. */
    checksReach: ({ context }) => checksReach(context.active),
    onTarget: ({ context, event }) => {
      const goal = context.active ? headGoalOf(context.active.command) : null;
      return goal === null || offTarget((event as unknown as { output: XyzRpyPose }).output, goal) === null;
    },
    matchesMove: ({ context, event }) => event.type === 'daemon.move_done' && event.uuid === context.active?.uuid,
    moveFailed: ({ event }) => event.type === 'daemon.move_done' && event.outcome === 'failed',
    moveCompleted: ({ event }) => event.type === 'daemon.move_done' && event.outcome === 'completed',
    ownMove: ({ context, event }) => event.type === 'daemon.move_started' && event.uuid === context.active?.uuid,
    interlockTripped: ({ event }) => event.type === 'daemon.move_started' && event.interlockTripped,
    hasOrphans: ({ context }) => liveOrphans(context.orphans, nowMs()).length > 0,
    unresolvedActive: ({ context, event }) => event.type === 'sender.settled' && event.outcome === 'unknown' && event.requestId === context.active?.requestId,
    ownMoveWasStopped: ({ context, event }) => {
      const uuid = (event as unknown as { output?: CommandAccepted }).output?.uuid;
      return uuid != null && context.strays.includes(uuid);
    },
    sweepOwed: ({ context, event }) => context.stopConfirmed === false || liveOrphans(context.orphans, nowMs()).length > 0 || (event.type === 'link.recovered' && event.interlockTripped),
  },
  delays: {
    // Tracked moves: their duration plus the SDK's margin; realtime targets settle after theirs; a
    // ramp reports its end, at the latest after its overrun (this bounds one that never does).
    moveDeadline: ({ context }) =>
      context.expectedDurationMs + (context.active?.uuid != null ? MOVE_COMPLETION_MARGIN_MS : rampRuns(context.active) ? RAMP_OVERRUN_MS + MOVE_COMPLETION_MARGIN_MS : 0),
    stopConfirmTimeout: ({ context }) => (context.waiters.length > 0 ? Math.max(0, context.stopAnswerDue - nowMs()) : STOP_CONFIRM_TIMEOUT_MS),
    stopRetry: STOP_RETRY_MS,
  },
}).createMachine({
  id: 'motion',
  initial: 'idle',
  context: () => ({
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
    since: nowMs(),
  }),
  on: {
    'motion.stop': { target: '.stopping', reenter: true, actions: { type: 'beginStop', params: { senderRunning: false } } },
    'sender.settled': { actions: 'settleOrphan' },
    'sweep.found_running': { actions: 'auditFoundRunning' },
    'motion.progress': { guard: 'ownProgress', actions: 'recordProgress' },
    'mode.reverted': { actions: 'auditModeReverted' },
    'daemon.move_started': [
      { guard: 'ownMove' },
      { guard: 'interlockTripped', actions: { type: 'stopStray', params: { reason: 'a move started while the interlock is tripped' } } },
      { guard: 'hasOrphans', actions: { type: 'stopStray', params: { reason: 'started by a command cancelled before it reached the daemon' } } },
    ],
  },
  states: {
    idle: {
      entry: ['stamp', { type: 'announce', params: { state: 'idle' } }],
      on: {
        'motion.command': { target: 'commanded', actions: 'take' },
        'link.recovered': { guard: 'sweepOwed', target: 'stopping' },
      },
    },
    commanded: {
      entry: ['stamp', { type: 'announce', params: { state: 'commanded' } }],
      invoke: {
        id: 'executeCommand',
        src: 'executeCommand',
        input: ({ context }) => ({ requestId: context.active?.requestId ?? '', epoch: context.epoch, owner: context.active?.owner ?? '', power: context.active?.power ?? 'awake', command: context.active?.command ?? {}, target: context.active?.target ?? {}, supersedes: context.supersedes }),
        onDone: [
          { guard: 'ownMoveWasStopped', target: 'idle', actions: 'cancelStoppedOwn' },
          { target: 'moving', actions: { type: 'accepted', params: ({ event }) => ({ output: event.output }) } },
        ],
        onError: { target: 'error', actions: { type: 'sendFailed', params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) } },
      },
      on: {
        // The running sender is cancelled (it becomes an orphan); the new command is fenced above it.
        'motion.command': {
          target: 'commanded',
          reenter: true,
          actions: [{ type: 'endActive', params: { outcome: 'superseded', details: 'a newer command replaced it', senderRunning: true } }, 'take'],
        },
        'motion.stop': { target: 'stopping', actions: { type: 'beginStop', params: { senderRunning: true } } },
        'daemon.move_started': [
          { guard: 'interlockTripped', actions: { type: 'stopStray', params: { reason: 'a move started while the interlock is tripped' } } },
          // A cancelled request is unresolved: this move may be its — or this sender's; safety first.
          { guard: 'hasOrphans', actions: { type: 'stopStray', params: { reason: 'started while a cancelled command was unresolved (it could not be told apart from the live one)' } } },
          // Could be this sender's own move, whose uuid is not known yet: decided when it answers.
          { actions: 'parkUnknown' },
        ],
        // Reported right before the sender fails, so the orphan exists before its error is handled.
        'sender.settled': [{ guard: 'unresolvedActive', actions: 'holdUnresolved' }, { actions: 'settleOrphan' }],
        'link.recovered': { guard: 'sweepOwed', actions: 'stopAfterRecovery' },
      },
    },
    moving: {
      entry: ['stamp', { type: 'announce', params: { state: 'moving' } }],
      on: {
        'motion.command': {
          target: 'commanded',
          actions: [{ type: 'endActive', params: { outcome: 'superseded', details: 'a newer command replaced it', senderRunning: false } }, 'take'],
        },
        'daemon.move_done': [
          { guard: and(['matchesMove', 'moveFailed']), target: 'error', actions: { type: 'finish', params: ({ event }) => ({ outcome: 'failed', details: event.details || 'the daemon reported the move failed' }) } },
          { guard: and(['matchesMove', 'moveCompleted', 'checksReach']), target: VERIFYING },
          { guard: 'matchesMove', target: 'idle', actions: { type: 'finish', params: ({ event }) => ({ outcome: event.outcome, details: event.details }) } },
        ],
        'sender.ramp_ended': [
          { guard: and(['ownRamp', 'rampReached', 'checksReach']), target: VERIFYING },
          { guard: and(['ownRamp', 'rampReached']), target: 'idle', actions: { type: 'finish', params: { outcome: 'completed', details: 'realtime target ramped to and settled' } } },
          { guard: and(['ownRamp', 'rampNotFollowed', 'checksReach']), target: VERIFYING },
          { guard: 'ownRamp', target: 'error', actions: 'rampCutShort' },
        ],
        'link.recovered': { guard: 'sweepOwed', actions: 'stopAfterRecovery' },
      },
      after: {
        moveDeadline: [
          { guard: 'isTracked', target: 'error', actions: { type: 'finish', params: { outcome: 'timeout', details: 'the daemon did not report the move finished in time' } } },
          { guard: 'rampRuns', target: 'error', actions: { type: 'finish', params: { outcome: 'timeout', details: 'the realtime ramp did not report its end in time' } } },
          { guard: 'checksReach', target: VERIFYING },
          { target: 'idle', actions: { type: 'finish', params: { outcome: 'completed', details: 'realtime target sent and settled' } } },
        ],
      },
    },
    /**
     * A waited move to a head pose ended: `completed` only once the head is within the tolerance of
     * its goal (head-reach.ts), else PoseNotReached. Brief (one pose read); reads as `moving`.
     */
    [VERIFYING]: {
      invoke: {
        id: 'readHeadPose',
        src: 'readHeadPose',
        onDone: [
          { guard: 'onTarget', target: 'idle', actions: { type: 'finish', params: { outcome: 'completed', details: 'the head reached its target' } } },
          { target: 'error', actions: 'notReached' },
        ],
        onError: { target: 'error', actions: 'headUnread' },
      },
      on: {
        'motion.command': {
          target: 'commanded',
          actions: [{ type: 'endActive', params: { outcome: 'superseded', details: 'a newer command replaced it', senderRunning: false } }, 'take'],
        },
        'link.recovered': { guard: 'sweepOwed', actions: 'stopAfterRecovery' },
      },
    },
    stopping: {
      entry: ['stamp', { type: 'announce', params: { state: 'stopping' } }],
      invoke: {
        id: 'stopMotion',
        src: 'stopMotion',
        input: ({ context }) => ({ uuids: context.supersedes }),
        onDone: { target: 'idle', actions: { type: 'answerStops', params: ({ event }) => ({ confirmed: true, stopped: event.output, error: null }) } },
        onError: { target: 'stopRetry', actions: ['stopFailed', { type: 'answerStops', params: ({ event }: { event: { error: unknown } }) => ({ confirmed: false, stopped: [], error: senderFailure(event.error).message }) }] },
      },
      on: { 'motion.command': { actions: 'refuseDuringStop' } },
      after: {
        stopConfirmTimeout: { actions: { type: 'answerStops', params: { confirmed: false, stopped: [], error: 'the daemon has not confirmed the stop yet; still stopping' } } },
      },
    },
    /** The sweep failed (daemon unreachable): new motion stays refused until a sweep succeeds. */
    stopRetry: {
      entry: ['stamp', { type: 'announce', params: { state: 'stopping' } }],
      on: {
        'motion.command': { actions: 'refuseDuringStop' },
        // Sweep now, not after the retry delay: moves may have started while updates went unheard.
        'link.recovered': { guard: 'sweepOwed', target: 'stopping' },
      },
      after: { stopRetry: { target: 'stopping' } },
    },
    error: {
      entry: ['stamp', { type: 'announce', params: { state: 'error' } }],
      on: {
        'motion.command': { target: 'commanded', actions: 'take' },
        'link.recovered': { guard: 'sweepOwed', target: 'stopping' },
      },
    },
  },
});

/** A sender failure as the caller's error (the daemon's own error kinds → DaemonUnavailable / CommandRejected). */
function senderFailure(error: unknown): RpcFailure {
  const tagged = failureOf(error);
  return KNOWN_FAILURES.has(tagged._tag) ? (error as RpcFailure) : failureFromDaemon(tagged, 'connected');
}

/** The gate's refusals the write-time checks (robot-runtime.ts `mayMove`, the executor's envelope and recorded-move checks) can give a command that passed the gate. */
const WRITE_TIME_REFUSALS: ReadonlySet<string> = new Set(['InterlockTripped', 'LeaseHeld', 'RobotAsleep', 'MotorsCompliant', 'OutsideEnvelope', 'UncheckedMove']);

/** Errors the executor raises that already are caller-facing (the write-time check gives the gate's own refusals). */
const KNOWN_FAILURES: ReadonlySet<string> = new Set(['MotionCancelled', 'PoseNotReached', 'DaemonUnavailable', 'InterlockTripped', 'LeaseHeld', 'RobotAsleep', 'MotorsCompliant', 'CommandRejected', 'Unsupported', 'TooFast', 'OutsideEnvelope', 'UncheckedMove']);

function checksReach(active: ActiveCommand | null): boolean {
  return active !== null && active.wait && !active.answered && headGoalOf(active.command) !== null;
}

function rampRuns(active: ActiveCommand | null): boolean {
  return active !== null && active.uuid === null && active.speedLimited?.mode === 'ramped';
}

/** The realtime ramps that move no head, by the channel their failure names (any other moves the head). */
const HEADLESS_RAMPS: Readonly<Record<string, string>> = { body_yaw_target: 'body', antennas_target: 'antennas' };

/**
 * A waiting caller's error for a ramp of `op` that ended short of its target (`reached` is handled
 * as completed); `reached` (where the head stopped) only for a head target.
 */
function rampFailure(end: RampEnded, op: unknown): RpcFailure {
  if (end.outcome === 'refused' || end.outcome === 'failed') return senderFailure(end.error);
  const channel = HEADLESS_RAMPS[String(op)] ?? 'head';
  const where = end.head && channel === 'head' ? headPoseView(end.head) : null;
  const at = where ? `; the head stopped at yaw ${where.yaw}°, pitch ${where.pitch}°, roll ${where.roll}°` : '';
  const why =
    end.outcome === 'stalled'
      ? `the daemon stalled and the ramp ran out of time before it reached its target${at}`
      : channel === 'head'
        ? `the head did not follow the ramp's steps in time${at} (the daemon drops a pose it cannot reach without a word)`
        : `the ${channel} did not follow the ramp's steps in time`;
  return new MotionNotCompleted({ message: `the move did not complete: ${why}`, outcome: end.outcome === 'stalled' ? 'timeout' : 'failed', uuid: null, ...(where ? { reached: where } : {}) });
}

/** The reply's `speed_limited` field, present only when the speed limits changed the command. */
function speedLimitedOf(limited: SpeedLimited | undefined): { speed_limited?: SpeedLimited } {
  return limited ? { speed_limited: limited } : {};
}

/** The reply's `body_held_short` field, present only when the head holds the body short of the target the command names. */
function bodyHeldShortOf(short: BodyHeldShort | undefined): { body_held_short?: BodyHeldShort } {
  return short ? { body_held_short: short } : {};
}

export type MotionMachine = typeof motionMachine;

/** The execution state name of a motion snapshot (`stopRetry` reads as `stopping`). */
export function executionStateName(value: unknown): ExecutionStateName {
  if (value === 'stopRetry') return 'stopping';
  if (value === VERIFYING) return 'moving';
  return value === 'idle' || value === 'commanded' || value === 'moving' || value === 'stopping' || value === 'error' ? value : 'idle';
}
