// The motion machine's I/O: each command's sender, the stop sweep, the stop of one late move and the
// head pose read that checks a waited move, written so a stop is a guarantee (README "Safety";
// `createMotionExecutor` lists the rules). A sender honours its abort signal after every await and
// asks `mayMove` right before each daemon write; the speed limits (speed-guard.ts; the daemon's own
// sequences: sequence-speed.ts), a goto's path and the body the daemon pulls along are checked there.
// Owns no state beyond the realtime targets (when sent, the fence, unanswered ones), the body target
// the daemon holds as its writes tell it (held-body-target.ts), the stop's pose, open listings and
// the motor-mode writes not settled yet; decisions stay in the machines. daemon-api §1.2, §2, §7.
import { fromPromise } from 'xstate';
import type { DaemonLink } from './daemon-link.ts';
import { DaemonTimeout } from '../adapters/daemon-errors.ts';
import type { CallOptions } from '../adapters/daemon-http.ts';
import type { SetTargetResult } from '../adapters/daemon-wire.ts';
import { DaemonUnavailable, HandlerFailed, isDaemonUnavailableTag, MotionCancelled, messageOf, type RpcFailure } from '../errors.ts';
import type { ReportEvent } from '../machines/driver.machine.ts';
import { ORPHAN_HOLD_MS, RAMP_OVERRUN_MS, type CommandAccepted, type ExecuteInput } from '../machines/motion.machine.ts';
import type { MotorMode } from '../machines/power.machine.ts';
import { REALTIME_SETTLE_MS } from '../rpc/robot-functions.ts';
import { createLogger } from '../logging/logger.ts';
import { poseFromXyzRpy, type XyzRpyPose } from '../robot/pose-math.ts';
import type { SafetyPolicy } from '../safety/safety-policy.ts';
import { gotoPathRefusal } from '../safety/goto-path-check.ts';
import { targetFrom } from '../safety/envelope-check.ts';
import { bodyHeldShort, pulledBodyRefusal } from '../safety/body-follow-check.ts';
import { uncheckedMoveRefusal } from '../safety/recorded-move-check.ts';
import type { SequenceKind } from '../safety/sequence-poses.ts';
import { sequenceSpeed } from '../safety/sequence-speed.ts';
import type { InterpolationMethod } from '../robot/time-laws.ts';
import { DAEMON_TICK_MS, type PositionTarget, type RobotPosition } from '../safety/speed-limits.ts';
import { HTTP_RAMP_PERIOD_MS, lastPushedPosition, planGoto, planRealtime, presentPosition, pushedPosition, RAMP_TICK_TIMEOUT_MS, readPosition, RecentTargets, runRamp, targetOf, type RampEnd } from './speed-guard.ts';

import { HeldBodyTarget, type HeldBodyChange } from './held-body-target.ts';
import { recordedMoveFailure } from './recorded-move-errors.ts';
import { RECORDED_MOVE_MAX_S } from '../rpc/move-functions.ts';
const log = createLogger('motion');

/** Daemon wake_up takes ~2.3 s, goto_sleep ~4–5 s (daemon-api §7); the machines add their margins. */
export const WAKE_UP_EXPECTED_MS = 3_000;
export const GOTO_SLEEP_EXPECTED_MS = 5_500;
/** An expression step is awaited its duration plus this (the daemon's completion margin, daemon-api §2). */
export const SEQUENCE_STEP_MARGIN_MS = 1_000;
/**
 * /ws/sdk pushes joint positions at 50 Hz (daemon-api §2): 150 ms without a frame is 7 missed
 * ticks — the daemon is stalled, and a target sent now would only be applied when it resumes.
 */
export const SDK_STALL_MS = 150;
/** Each request of a stop sweep gives up after this and the sweep is retried (STOP_RETRY_MS). */
export const STOP_REQUEST_TIMEOUT_MS = 2_000;
/**
 * /ws/sdk: a stop's hold goes to the pose the daemon reports when it answers within this — a daemon
 * handling requests as they come (a read takes 1–3 ms on loopback, tens of ms over Wi-Fi), so the
 * pose is the robot's present one, where pushes running late (the daemon's per-client queue backed
 * up) can be ticks old. A slower answer may come from a stalled daemon that applies the frames it
 * holds before it reads the pose (a target received before the stop would then not be undone): the
 * hold then goes at once to the pose last pushed on this connection. Five daemon ticks.
 */
export const HOLD_READ_PROMPT_MS = 100;
/**
 * A sweep's listing of running moves still unanswered after this is sent again on another stop-lane
 * connection: a reply lost or stuck on one connection must not hide a late move for the whole
 * request deadline (after a reconnect the listing is the only way to learn of moves the daemon
 * started unheard). A loopback round trip is 1–5 ms, a Wi-Fi one 10–50 ms; a listing is cheap.
 */
export const LISTING_HEDGE_MS = 25;
/** At most this many listings of one sweep pass. */
export const LISTINGS_PER_SWEEP = 3;
/**
 * Hedged listings are sent only while fewer than this many listings are open on the stop lane: a
 * burst of stops (each sweep's first listing always goes) or a stalled daemon holding them must
 * leave most of the lane's 16 connections to the stops themselves.
 */
export const LISTINGS_OPEN_MAX = 4;
/**
 * A sweep lists again when move updates reconnect before its listing pass is done (a move started
 * after the listing and before the reconnect went unheard), at most this many passes; a link that
 * keeps flapping fails the sweep, which is retried (STOP_RETRY_MS).
 */
export const SWEEP_LISTING_PASSES = 3;
/** A stray move's stop is retried this often, this many times, while the daemon does not answer (~10 s in all with the deadline). */
export const STRAY_STOP_RETRY_MS = 250;
export const STRAY_STOP_ATTEMPTS = 5;
/**
 * HTTP transport: a realtime target answered this recently may still be moving the robot when a stop
 * comes: the stop appends a hold (one still unanswered always gets one). Over /ws/sdk every target
 * not yet followed by a hold gets one, whatever its age (#holdSdk).
 */
export const REALTIME_HOLD_WINDOW_MS = 1_000;
/**
 * HTTP transport: a stop is confirmed only once every realtime target already written has been
 * answered (the daemon applies a target before it answers); one still unanswered after this fails
 * the sweep, which is retried (STOP_RETRY_MS) — the stop reads unconfirmed meanwhile. The stop
 * lane's own deadline: a target held longer is held by a stalled daemon, like a stop would be.
 */
export const TARGET_SETTLE_TIMEOUT_MS = STOP_REQUEST_TIMEOUT_MS;
/**
 * HTTP transport: a realtime target's writer gives up after the client's usual deadline (its caller
 * hears DaemonTimeout), but a request already written stays open this long — as long as a cancelled
 * goto is held as an orphan (ORPHAN_HOLD_MS) — so a stop still waits for its answer and undoes it
 * if a stalled daemon applies it late; closing it would leave its fate unknown to the stop.
 */
export const UNANSWERED_TARGET_OPEN_MS = ORPHAN_HOLD_MS;
/**
 * A motor-mode write (set_motor_mode, wake_up's enable) has no move uuid to stop: a stop confirms
 * only once each one written before it is answered and, when its command was cancelled, undone (the
 * mode before it written back). One still unanswered after this fails the sweep, which is retried
 * (STOP_RETRY_MS) — the stop reads unconfirmed meanwhile. The stop lane's own deadline, as for targets.
 */
export const MODE_SETTLE_TIMEOUT_MS = STOP_REQUEST_TIMEOUT_MS;
/**
 * A motor-mode write's caller waits the client's usual deadline, but the request stays open this
 * long — as long as a cancelled goto is held as an orphan — so its late answer is still heard and a
 * cancelled one undone after it (the daemon applies a mode before it answers).
 */
export const UNANSWERED_MODE_OPEN_MS = ORPHAN_HOLD_MS;
/**
 * A move request (goto, play_move, wake_up, goto_sleep) answers its caller within the client's usual
 * deadline, but stays open this long — as long as one unanswered then is held as an orphan — so a
 * stalled daemon's late answer still names the move it started: that move is stopped, and once the
 * daemon reports it ended the request is spent (one move uuid) and its orphan is released.
 */
export const UNANSWERED_MOVE_OPEN_MS = ORPHAN_HOLD_MS;

export interface ExecutorDeps {
  /** The daemon adapters in force (swapped by retarget). */
  link(): DaemonLink;
  /** Null when the command (its fence `epoch`, `owner`, power need and `target`) may move the robot now; else why not. */
  mayMove(input: Pick<ExecuteInput, 'epoch' | 'owner' | 'power' | 'target'>): RpcFailure | null;
  /** Reports to the root: settled cancelled senders, motor modes the daemon accepted, the active command's progress (expression step, goto plan). */
  report(event: ReportEvent): void;
  /** The safety policy in force now (the root's); its speed limits are read right before each write. */
  policy(): SafetyPolicy;
}

/** One sender's run: whether it already reported `sender.settled` (a cancelled one must, exactly once). */
interface Run {
  settled: boolean;
}

/**
 * What a move request that failed may still do: `unknown` when the daemon did not answer (timed out,
 * connection lost, client closed: its bytes may have reached the daemon, which may start the move
 * later), `failed` when it answered (a refusal, 503 backend not running) or it was never sent.
 */
function fateOfFailedRequest(error: unknown): 'unknown' | 'failed' {
  const tag = (error as { _tag?: string } | null)?._tag ?? '';
  return isDaemonUnavailableTag(tag) && tag !== 'DaemonBackendNotRunning' ? 'unknown' : 'failed';
}

function cancelled(reason: string): MotionCancelled {
  return new MotionCancelled({ message: `cancelled before it moved the robot: ${reason}`, reason: 'stopped' });
}

/** The motion machine's senders and stoppers over one runtime's daemon link. */
class MotionExecutor {
  readonly #deps: ExecutorDeps;
  /** `performance.now()` of the last realtime target handed to the daemon; 0 before any. */
  #lastRealtimeMono = 0;
  /** Targets up to this moment are covered by a hold the daemon answered (a retried sweep does not repeat it). */
  #heldUpTo = 0;
  /** Listings of running moves open on the stop lane (hedges wait while LISTINGS_OPEN_MAX are). */
  #listingsOpen = 0;
  /** Realtime targets sent lately, per channel (the speed limits keep the next one within a step of them). */
  readonly #recent = new RecentTargets();
  /** The body target the daemon holds, as this executor's writes tell it (a realtime head target pulls the body from it). */
  readonly #held = new HeldBodyTarget();
  /** Links whose daemon sockets, when they close, make #held forget what it knew. */
  readonly #heldWatched = new WeakSet<DaemonLink>();
  /**
   * The realtime fence: aborted (and replaced) by every stop sweep and every new command, so a ramp's
   * HTTP target still queued for a connection is dropped unsent (daemon-http.ts `CallOptions.signal`).
   */
  #fence = new AbortController();
  /** HTTP transport: realtime target requests not answered yet (queued or written). */
  readonly #pendingTargets = new Set<Promise<unknown>>();
  /**
   * Where the stop being confirmed found the robot: its read on the stop lane, begun once and kept
   * for its retried sweeps until one succeeds or a command runs, so every hold of one stop goes to
   * the same pose; never used on another daemon link.
   */
  #stopPose: { readonly link: DaemonLink; readonly pose: Promise<RobotPosition> } | null = null;
  /** Stop sweeps begun so far: a motor-mode write answered after one began landed after a stop. */
  #sweepsBegun = 0;
  /** Motor-mode writes whose fate or undoing is not settled yet (their sender, their open request, their undoing), with the daemon each went to. */
  readonly #modeWrites = new Map<Promise<void>, DaemonLink>();
  /** A cancelled motor-mode write the daemon applied (or may have) whose undoing has not succeeded yet: every sweep tries it. */
  #modeOwed: OwedMode | null = null;

  constructor(deps: ExecutorDeps) {
    this.#deps = deps;
  }

  /** Stops one move on the stop lane; a failure is left to the next sweep (the move may have ended). */
  async #stopQuietly(uuid: string): Promise<void> {
    await this.#deps.link().stops.stopMove(uuid, { timeoutMs: STOP_REQUEST_TIMEOUT_MS }).catch(() => undefined);
  }

  /**
   * A daemon write of `input`: dropped while still queued for a connection when `signal` aborts, and
   * left unwritten when the checkpoint refuses at the moment it would be written (it may have waited
   * for a connection since the checkpoint before it).
   */
  #writeOptions(input: ExecuteInput, signal: AbortSignal): CallOptions {
    return { signal, mayWrite: () => !signal.aborted && this.#deps.mayMove(input) === null };
  }

  /** A move request's write options: open UNANSWERED_MOVE_OPEN_MS (its caller waits the usual deadline, #tracked). */
  #moveOptions(input: ExecuteInput, signal: AbortSignal): CallOptions {
    return { ...this.#writeOptions(input, signal), timeoutMs: UNANSWERED_MOVE_OPEN_MS };
  }

  /** Throws when the command must not write to the daemon now; called right before every write. */
  #checkpoint(input: ExecuteInput, signal: AbortSignal): void {
    if (signal.aborted) throw cancelled('a stop or a newer command came first');
    const refusal = this.#deps.mayMove(input);
    if (refusal) throw refusal;
  }

  /**
   * A write to `link` that may change the body target its daemon holds begins: until its fate is
   * reported, unknown — or, writing body target `value`, that one or the one known before.
   */
  #heldChange(link: DaemonLink, value?: number): HeldBodyChange {
    if (!this.#heldWatched.has(link)) {
      this.#heldWatched.add(link);
      // A socket closing: a frame may be lost, the daemon may have restarted (then it holds another
      // body target) or not (a network break): the one known, or the present yaw.
      const forget = (): void => this.#held.forget(link);
      link.moves.on('close', forget);
      link.sdk?.on('close', forget);
    }
    return this.#held.begin(link, value);
  }

  /**
   * `present` with the body targets `link`'s daemon may hold, when known (a realtime head target
   * pulls the body from the one it holds): after a daemon socket closed, the present yaw as well.
   */
  #withHeld(link: DaemonLink, present: RobotPosition): RobotPosition {
    const held = this.#held.on(link);
    if (held.values.length === 0) return present;
    return { ...present, heldBodyYaws: held.orPresent ? [...held.values, present.bodyYaw] : held.values };
  }

  /**
   * What an accepted goto leaves the daemon holding as its body target: the goto's body once it
   * completes (stopped or failed: unknown), or — not naming the body — the yaw it started from
   * (the daemon interpolates the body from its present yaw to itself).
   */
  #heldAfterGoto(link: DaemonLink, change: HeldBodyChange, accepted: CommandAccepted, present: RobotPosition, bodyYaw: unknown): void {
    if (typeof bodyYaw !== 'number') return change.landed(present.bodyYaw);
    if (accepted.uuid === null) return;
    link.moves.waitForEnd(accepted.uuid, accepted.expectedDurationMs + SEQUENCE_STEP_MARGIN_MS).then((end) => {
      if (end.type === 'move_completed') change.landed(bodyYaw);
    }, noop);
  }

  /**
   * Whether a realtime head target also writes the body target, at the present yaw: when the driver
   * does not know the one the daemon holds (before its first body write, after a recorded move,
   * wake_up, goto_sleep, a motor-mode change, a goto naming the body, another link) — it may be
   * anything another client or a dataset left, which the head turn would let the body swing on
   * toward; pinned, the body goes where the checks predicted from the present yaw. Not when one or
   * more are known.
   */
  #pinsBody(link: DaemonLink, input: ExecuteInput): boolean {
    return input.command.op === 'head_target' && this.#held.on(link).values.length === 0;
  }

  /** Whether a realtime target of `op`'s channel went out within RECENT_TARGET_MS (the next one steps from it too). */
  #sentLately(op: ExecuteInput['command']['op']): boolean {
    const recent = this.#recent.recent();
    return (op === 'head_target' ? recent.head : op === 'antennas_target' ? recent.antennas : recent.bodyYaw) !== undefined;
  }

  /** Refuses a realtime write into a stalled /ws/sdk (it would be applied whenever the daemon resumes). */
  #assertFlowing(link: DaemonLink): void {
    const sdk = link.sdk;
    if (!sdk) return;
    const silent = sdk.silentForMs();
    if (silent > SDK_STALL_MS || sdk.bufferedAmount > 0) {
      throw new DaemonUnavailable({ message: `the daemon has pushed nothing for ${Number.isFinite(silent) ? Math.round(silent) : '∞'} ms (stalled or reconnecting); realtime targets are not queued for it`, connectionState: 'stalled' });
    }
  }

  /**
   * Writes one realtime target of `op` (call right after the checkpoint); remembers it as recent. A
   * head target with `pinBody` also sets the body target there (#pinsBody), in the same frame
   * (set_full_target) or request.
   */
  async #writeTarget(link: DaemonLink, input: ExecuteInput, target: PositionTarget, signal?: AbortSignal, rawHead?: number[], pinBody?: number): Promise<void> {
    const op = input.command.op;
    const head = rawHead ?? (target.head ? [...poseFromXyzRpy(target.head)] : undefined);
    const sdk = link.sdk;
    if (sdk) {
      const sent =
        op === 'head_target'
          ? sdk.send(pinBody === undefined ? { type: 'set_target', head: head as number[] } : { type: 'set_full_target', head: head as number[], body_yaw: pinBody })
          : op === 'antennas_target'
            ? sdk.send({ type: 'set_antennas', antennas: target.antennas as [number, number] })
            : sdk.send({ type: 'set_body_yaw', body_yaw: target.bodyYaw as number });
      if (!sent.ok) throw sent.error;
      // The daemon reads one socket's frames in order: a body target sent is the one it holds next.
      if (op === 'body_yaw_target') this.#heldChange(link).landed(target.bodyYaw as number);
      else if (pinBody !== undefined) this.#heldChange(link).landed(pinBody);
      this.#recent.sent(target);
      this.#lastRealtimeMono = performance.now();
      return;
    }
    const body = op === 'head_target' ? { target_head_pose: { m: head }, ...(pinBody === undefined ? {} : { target_body_yaw: pinBody }) } : op === 'antennas_target' ? { target_antennas: target.antennas } : { target_body_yaw: target.bodyYaw };
    const result = await this.#writeHttpTarget(link, body, target, () => this.#deps.mayMove(input) === null, signal);
    if (result.status === 'ignored') throw new HandlerFailed({ message: `the daemon ignored the target (${result.reason}): a move is running; stop it or wait` });
  }

  /**
   * One realtime target over HTTP, tracked until the daemon answers it: a stop drops it while it is
   * still queued (`fence`) and waits for it once written. The writer waits the client's usual
   * deadline; one written and still unanswered then stays open (UNANSWERED_TARGET_OPEN_MS) while its
   * writer hears DaemonTimeout, and its answer, whenever it comes, counts as the latest target sent
   * (a stop then owes a hold after it). One still queued at the deadline is dropped unsent.
   */
  async #writeHttpTarget(link: DaemonLink, body: object, target: PositionTarget, mayWrite: () => boolean, fence?: AbortSignal): Promise<SetTargetResult> {
    const giveUp = new AbortController();
    const signal = fence ? AbortSignal.any([fence, giveUp.signal]) : giveUp.signal;
    const bodyYaw = (body as { target_body_yaw?: unknown }).target_body_yaw;
    const held = typeof bodyYaw === 'number' ? this.#heldChange(link, bodyYaw) : null;
    const pending = link.http.setTarget(body as never, { signal, mayWrite, timeoutMs: UNANSWERED_TARGET_OPEN_MS });
    this.#pendingTargets.add(pending);
    pending.then(
      (result) => {
        this.#pendingTargets.delete(pending);
        if (result.status === 'ignored') return held?.notApplied();
        held?.landed(bodyYaw as number);
        this.#recent.sent(target);
        this.#lastRealtimeMono = performance.now();
      },
      (error: unknown) => {
        this.#pendingTargets.delete(pending);
        if (droppedAtWrite(error)) held?.notApplied();
      },
    );
    const deadlineMs = link.http.requestTimeoutMs;
    return await within(pending, deadlineMs, () => {
      giveUp.abort(cancelled('its writer gave up waiting'));
      return postUnanswered('/api/move/set_target', deadlineMs);
    });
  }

  /**
   * A realtime target within one tick's step at the limit (of the observed pose and of the targets
   * just sent) is written as is; a farther one is refused or ramped: the first step now, the rest
   * on the daemon's ticks after this resolves, fenced by `mayMove(epoch)` (any stop or newer command ends it).
   */
  async #realtime(input: ExecuteInput, signal: AbortSignal): Promise<CommandAccepted> {
    const { command } = input;
    const link = this.#deps.link();
    this.#assertFlowing(link);
    const started = performance.now();
    const pins = this.#pinsBody(link, input);
    // As the daemon reports it, not as pushed, when the pose is written back (a pin: another client
    // may have just turned the body) or nothing of this channel was sent lately to step from (the
    // first target after a goto): pushes run late behind a backed-up queue or a loaded loop.
    const reads = pins || !this.#sentLately(input.command.op);
    const present = this.#withHeld(link, reads ? await readPosition(link.http, { signal }) : await presentPosition(link, signal));
    const goal = targetOf(command);
    const pulled = pulledBodyRefusal(this.#deps.policy().envelope, String(input.target.kind ?? 'realtime'), present, goal, null);
    if (pulled) throw pulled;
    const periodMs = link.sdk ? DAEMON_TICK_MS : HTTP_RAMP_PERIOD_MS;
    const plan = planRealtime(present, goal, this.#deps.policy().speed, this.#recent.recent(), periodMs);
    this.#assertFlowing(link);
    this.#checkpoint(input, signal);
    const short = bodyHeldShort(present, goal) ?? undefined;
    const pin = pins ? present.bodyYaw : undefined;
    if (plan.kind === 'direct') {
      // As the caller gave it (no pose round trip).
      await this.#writeTarget(link, input, goal, signal, command.head as number[] | undefined, pin);
      return { uuid: null, expectedDurationMs: REALTIME_SETTLE_MS, bodyHeldShort: short };
    }
    await this.#writeTarget(link, input, plan.first, signal, undefined, pin);
    // Over HTTP each step also reads the pose and writes the target before its wait: count that, as the first step took it.
    const stepCostMs = link.sdk ? 0 : performance.now() - started;
    const rampMs = Math.round((plan.limited.duration_s * 1000 * (periodMs + stepCostMs)) / periodMs);
    void this.#ramp(input, link, goal, rampMs + RAMP_OVERRUN_MS);
    return { uuid: null, expectedDurationMs: rampMs + REALTIME_SETTLE_MS, speedLimited: { ...plan.limited, duration_s: rampMs / 1000 }, bodyHeldShort: short };
  }

  /**
   * The rest of a ramp, one step per daemon tick, every write behind the stall check and the
   * checkpoint; over HTTP each write also carries the realtime fence of the ramp's start, so a stop
   * or a newer command drops a step still queued for a connection (its checkpoint passed before).
   * A stall pauses it (runRamp). Its end is reported to the motion machine (`sender.ramp_ended`),
   * which answers a waiting caller from it: a reached goal once the last step settled, else why not.
   */
  async #ramp(input: ExecuteInput, link: DaemonLink, goal: PositionTarget, deadlineMs: number): Promise<void> {
    const never = new AbortController().signal;
    const fence = this.#fence.signal;
    const end = await runRamp(
      goal,
      {
        nextTick: async () => {
          const ticked = await this.#nextTick(link);
          if (link.sdk) await this.#tickAfterLastWrite();
          return ticked;
        },
        observe: async () => {
          const present = link.sdk ? pushedPosition(link) : await presentPosition(link, never).catch(() => null);
          return present && this.#withHeld(link, present);
        },
        flowing: () => {
          try {
            this.#assertFlowing(link);
            return true;
          } catch {
            return false;
          }
        },
        guard: () => {
          if (this.#deps.link() !== link) throw new DaemonUnavailable({ message: 'the daemon link was replaced while the ramp ran', connectionState: 'replaced' });
          this.#checkpoint(input, never);
        },
        write: async (target) => {
          try {
            await this.#writeTarget(link, input, target, fence);
          } catch (error) {
            // A step the last-moment check dropped: the refusal that check gives now.
            throw droppedAtWrite(error) && !fence.aborted ? (this.#deps.mayMove(input) ?? error) : error;
          }
        },
        speed: () => this.#deps.policy().speed,
        recent: () => this.#recent.recent(),
      },
      deadlineMs,
    ).catch((error: unknown): RampEnd => ({ outcome: 'failed', error, last: null }));
    if (end.outcome === 'reached') await new Promise((resolve) => setTimeout(resolve, REALTIME_SETTLE_MS));
    const error = 'error' in end ? end.error : null;
    if (fence.aborted) log.debug('a realtime ramp was fenced off by a stop or a newer command', { requestId: input.requestId, outcome: end.outcome });
    else if (end.outcome !== 'reached') log.warn('a realtime ramp ended short of its goal', { requestId: input.requestId, outcome: end.outcome, ...(error ? { error: messageOf(error) } : {}) });
    this.#deps.report({ type: 'sender.ramp_ended', requestId: input.requestId, outcome: end.outcome, error, head: end.last?.head ?? null });
  }

  /**
   * Where the head is now, for a waited move's check (motion.machine.ts `verifying`): the daemon's
   * full state, on /ws/sdk read after its next tick (one it applied the move's last target in). Not
   * the pose pushed: pushes can run late (a backed-up push queue), and a check of one some ticks old
   * failed a move that had reached its goal (PoseNotReached).
   */
  async headPose(signal: AbortSignal): Promise<XyzRpyPose> {
    const link = this.#deps.link();
    if (link.sdk) await this.#nextTick(link);
    return (await readPosition(link.http, { signal })).head;
  }

  /** Where the stop being confirmed found the robot on `link` (read once, on the stop lane). */
  #stopPoseOn(link: DaemonLink): Promise<RobotPosition> {
    // Kept as the read under way: one answered after the stop was done (a hold that did not wait
    // for it) is dropped with it, not taken by the next stop as its own.
    if (this.#stopPose?.link === link) return this.#stopPose.pose;
    const pose = readPosition(link.stops, { timeoutMs: STOP_REQUEST_TIMEOUT_MS });
    const stop = { link, pose };
    this.#stopPose = stop;
    // A failed read is read again by the next who asks.
    pose.catch(() => {
      if (this.#stopPose === stop) this.#stopPose = null;
    });
    return pose;
  }

  /** A hold at `pose` on the stop lane (answered once the daemon set it). */
  async #holdOnStopLane(link: DaemonLink, pose: RobotPosition): Promise<void> {
    const body = { target_head_pose: { m: [...poseFromXyzRpy(pose.head)] }, target_antennas: [...pose.antennas], target_body_yaw: pose.bodyYaw };
    const held = this.#heldChange(link, pose.bodyYaw);
    await link.stops.setTarget(body as never, { timeoutMs: STOP_REQUEST_TIMEOUT_MS });
    held.landed(pose.bodyYaw);
    this.#recent.sent(pose);
  }

  /**
   * /ws/sdk: waits until a daemon tick's time has passed since the last realtime target went out,
   * so no two of a ramp's steps land in one tick. Each step is within a step of the one before; the
   * pose pushed was to keep two in one tick within a step too, but pushes can run late (a backed-up
   * queue) and show a pose the head passed long ago: steps paced by their arrival went two in a tick.
   */
  async #tickAfterLastWrite(): Promise<void> {
    const waitMs = DAEMON_TICK_MS - (performance.now() - this.#lastRealtimeMono);
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(waitMs)));
  }

  /** Resolves true once the daemon pushed both poses of a new tick (/ws/sdk), or after HTTP_RAMP_PERIOD_MS (HTTP); false on a stall. */
  #nextTick(link: DaemonLink): Promise<boolean> {
    const sdk = link.sdk;
    if (!sdk) return new Promise((resolve) => setTimeout(() => resolve(true), HTTP_RAMP_PERIOD_MS));
    return new Promise((resolve) => {
      let pose = false;
      let joints = false;
      const done = (value: boolean) => {
        clearTimeout(timer);
        offPose();
        offJoints();
        resolve(value);
      };
      const offPose = sdk.on('head_pose', () => {
        pose = true;
        if (joints) done(true);
      });
      const offJoints = sdk.on('joint_positions', () => {
        joints = true;
        if (pose) done(true);
      });
      const timer = setTimeout(() => done(false), RAMP_TICK_TIMEOUT_MS);
    });
  }

  /**
   * Awaits a move request. If the command was cancelled (or the interlock tripped) while the request
   * was in flight, the move it started is stopped at once and reported; the caller hears MotionCancelled.
   */
  async #tracked(input: ExecuteInput, signal: AbortSignal, route: string, pending: Promise<{ readonly uuid: string }>, expectedDurationMs: number, run: Run): Promise<CommandAccepted> {
    // A move over REST: the pose pushes are read live for as long as it should run.
    const link = this.#deps.link();
    link.sdk?.keepLive(expectedDurationMs);
    const deadlineMs = link.http.requestTimeoutMs;
    let uuid: string;
    try {
      // The request stays open (UNANSWERED_MOVE_OPEN_MS); its caller waits the usual deadline.
      ({ uuid } = await within(pending, deadlineMs, () => {
        this.#spendWhenAnswered(input, link, pending);
        return postUnanswered(route, deadlineMs);
      }));
    } catch (error) {
      // Cancelled: a request still queued was dropped unsent (DaemonCallCancelled) or the daemon
      // refused it — nothing moves; one that timed out may still be acted on, so its move is watched for.
      // Not cancelled, the same holds for a request that went unanswered (timed out, connection lost
      // after the write): reported before the caller hears DaemonUnavailable, so the motion machine
      // holds it as an orphan and stops its move if the daemon starts it later (even after a stop).
      const fate = fateOfFailedRequest(error);
      if (signal.aborted || fate === 'unknown') this.#settle(input, run, null, fate);
      throw error;
    }
    const refusal = signal.aborted ? cancelled('a stop or a newer command came first') : this.#deps.mayMove(input);
    if (refusal === null) return { uuid, expectedDurationMs };
    await this.#stopQuietly(uuid);
    this.#settle(input, run, uuid, 'sent', true);
    throw refusal;
  }

  /**
   * A move request given up at its caller's deadline, still open: when the daemon answers it after
   * all, the move it names is stopped (the stray stop of its start came first as a rule) and, once
   * the daemon reports that move ended, the request is reported spent (`sender.settled` with its
   * uuid), which releases its orphan. No answer, or no end heard: it stays held (ORPHAN_HOLD_MS).
   */
  #spendWhenAnswered(input: ExecuteInput, link: DaemonLink, pending: Promise<{ readonly uuid: string }>): void {
    pending.then(
      async ({ uuid }) => {
        if (this.#deps.link() !== link) return;
        await this.#stopQuietly(uuid);
        const ended = await link.moves.waitForEnd(uuid, STOP_REQUEST_TIMEOUT_MS).then(
          () => true,
          () => false,
        );
        if (ended) this.#deps.report({ type: 'sender.settled', requestId: input.requestId, uuid, outcome: 'sent', stoppedLate: false });
      },
      noop,
    );
  }

  /**
   * A goto under the policy: from the present pose right before the write, refused when its path
   * leaves the envelope (an overshooting time law), then sent as is, stretched or refused for speed.
   * Its plan's peak speeds are reported (`motion.progress`, with the expression `step` it is) before
   * it is written, so a narrower speed limit from then on stops it (driver-policy.ts `narrowedStopOf`).
   */
  async #goto(input: ExecuteInput, signal: AbortSignal, run: Run, step = 0): Promise<CommandAccepted> {
    const { op: _op, ...body } = input.command;
    const link = this.#deps.link();
    // As the daemon reports it, not as pushed: a pose pushed some ticks late (a backed-up queue)
    // under-reads the distance a goto covers right after a move, and with it its speed.
    const present = await readPosition(link.http, { signal });
    const policy = this.#deps.policy();
    const method = (input.command.interpolation as InterpolationMethod | undefined) ?? 'minjerk';
    // Where the daemon pulls the body along with the head, as if the goto had set it (the speed plan counts it too).
    const pulled = pulledBodyRefusal(policy.envelope, String(input.target.kind ?? 'goto'), present, targetOf(input.command), method);
    if (pulled) throw pulled;
    const plan = planGoto(present, input.command, policy.speed);
    this.#deps.report({ type: 'motion.progress', requestId: input.requestId, step, peaks: plan.peaks });
    this.#checkpoint(input, signal);
    const overshoot = gotoPathRefusal(policy.envelope, String(input.target.kind ?? 'goto'), present, targetOf(input.command), method);
    if (overshoot) throw overshoot;
    const held = this.#heldChange(link);
    let accepted: CommandAccepted;
    try {
      accepted = await this.#tracked(input, signal, '/api/move/goto', link.http.goto({ ...body, duration: plan.durationS } as never, this.#moveOptions(input, signal)), plan.durationS * 1000, run);
    } catch (error) {
      if (droppedAtWrite(error)) held.notApplied();
      throw error;
    }
    this.#heldAfterGoto(link, held, accepted, present, input.command.body_yaw);
    return { ...accepted, ...(plan.limited ? { speedLimited: plan.limited } : {}), bodyHeldShort: bodyHeldShort(present, targetOf(input.command)) ?? undefined };
  }

  /**
   * wake_up / goto_sleep: the daemon's gotos from the pose it reports now, at the daemon's durations,
   * are refused TooFast above a limit (they cannot be stretched); their peaks are reported, so a
   * limit lowered while the sequence runs stops it.
   */
  async #sequenceSpeed(input: ExecuteInput, signal: AbortSignal, kind: SequenceKind): Promise<void> {
    const present = await readPosition(this.#deps.link().http, { signal });
    const { speed } = this.#deps.policy();
    const { refusal, peaks } = sequenceSpeed(kind, present, speed);
    if (refusal) throw refusal;
    this.#deps.report({ type: 'motion.progress', requestId: input.requestId, step: 0, peaks });
  }

  /**
   * play_move: the daemon plays the dataset's poses (not envelope- or speed-checked, so refused under
   * a narrowed policy, src/safety/recorded-move-check.ts; its length is unknown until it ends).
   */
  async #recorded(input: ExecuteInput, signal: AbortSignal, run: Run): Promise<CommandAccepted> {
    const { dataset, move } = input.command as { dataset: string; move: string };
    const link = this.#deps.link();
    // The policy may have been narrowed since the gate: a recorded move cannot be checked against it.
    const unchecked = uncheckedMoveRefusal(this.#deps.policy(), 'play_move', input.target);
    if (unchecked) throw unchecked;
    this.#checkpoint(input, signal);
    const pending = link.http.playRecordedMove(dataset, move, this.#moveOptions(input, signal)).catch((error: unknown) => {
      if (droppedAtWrite(error)) throw error;
      throw recordedMoveFailure(error, 'play_move', dataset, 'connected');
    });
    return await this.#tracked(input, signal, `/api/move/play/recorded-move-dataset/${dataset}/${move}`, pending, RECORDED_MOVE_MAX_S * 1000, run);
  }

  /**
   * play_expression: its steps as gotos, one after the other, each under the speed limits and behind
   * the checkpoint, which checks the envelope against the steps from this one on (those done no
   * longer count: `targetFrom`); a step is awaited to its end (the daemon runs overlapping gotos
   * together), then the next one is reported begun (`motion.progress`). A stop aborts the wait and
   * the sweep stops the running step; the last step is tracked like any goto.
   */
  async #sequence(input: ExecuteInput, signal: AbortSignal, run: Run): Promise<CommandAccepted> {
    const steps = input.command.steps as Array<Record<string, unknown>>;
    for (const [i, step] of steps.entries()) {
      const accepted = await this.#goto({ ...input, command: { op: 'goto', ...step }, target: targetFrom(input.target, i) }, signal, run, i);
      if (i === steps.length - 1 || accepted.uuid === null) return accepted;
      await endOrAbort(this.#deps.link().moves.waitForEnd(accepted.uuid, accepted.expectedDurationMs + SEQUENCE_STEP_MARGIN_MS), signal);
      this.#deps.report({ type: 'motion.progress', requestId: input.requestId, step: i + 1, peaks: [] });
    }
    throw new HandlerFailed({ message: 'an expression without steps' });
  }

  /**
   * Runs one sender. One cancelled while it ran (superseded or stopped: the motion machine keeps it
   * as an orphan) reports `sender.settled` exactly once whatever way it ends, or the orphan would
   * stay and later moves would be stopped as ambiguous.
   */
  async execute(input: ExecuteInput, signal: AbortSignal): Promise<CommandAccepted> {
    const run: Run = { settled: false };
    // A newer command: whatever realtime target of the one it replaces is still queued is dropped.
    this.#raiseFence();
    this.#stopPose = null;
    try {
      return await this.#run(input, signal, run);
    } catch (thrown) {
      // A write the last-moment check dropped answers with the refusal that check gives now.
      const error = droppedAtWrite(thrown) && !signal.aborted ? (this.#deps.mayMove(input) ?? thrown) : thrown;
      if (signal.aborted && !run.settled) this.#settle(input, run, null, isDaemonUnavailableTag((error as { _tag?: string })._tag ?? '') ? 'unknown' : 'failed');
      throw error;
    } finally {
      // Ended after its cancellation without a failure (a realtime target written just before): nothing more of it will move.
      if (signal.aborted && !run.settled) this.#settle(input, run, null, 'sent');
    }
  }

  #settle(input: ExecuteInput, run: Run, uuid: string | null, outcome: 'sent' | 'failed' | 'unknown', stoppedLate = false): void {
    run.settled = true;
    this.#deps.report({ type: 'sender.settled', requestId: input.requestId, uuid, outcome, stoppedLate });
  }

  async #run(input: ExecuteInput, signal: AbortSignal, run: Run): Promise<CommandAccepted> {
    const { command } = input;
    const link = this.#deps.link();
    const { http, sdk } = link;
    await Promise.all([...input.supersedes.map((uuid) => this.#stopQuietly(uuid)), sdk?.readLive()]);
    // A head target after the moves it replaced were stopped: the body target they left is not to swing the body (#holdAfterMoves).
    if (command.op === 'head_target' && input.supersedes.length > 0) await this.#holdAfterMoves(link);
    // A sequence refused for its speed writes nothing, so leaves the held body target as it was.
    if (command.op === 'play') await this.#sequenceSpeed(input, signal, command.move === 'wake_up' ? 'wake_up' : 'goto_sleep');
    // The daemon's own sequences, recorded moves and motor-mode changes set body targets the driver does not see.
    if (command.op === 'play' || command.op === 'recorded' || command.op === 'motor_mode') this.#heldChange(link);
    switch (command.op) {
      case 'head_target':
      case 'antennas_target':
      case 'body_yaw_target':
        return await this.#realtime(input, signal);
      case 'goto':
        return await this.#goto(input, signal, run);
      case 'play':
        if (command.move === 'wake_up') {
          // The daemon's wake_up does not enable the motors (daemon-api §7), and the 1 Hz status
          // may be older than a just-finished goto_sleep: enable every time (idempotent, no snap).
          // Cancelled before the wake-up move is under way, the mode before it is put back.
          return await this.#withMode(input, signal, 'enabled', async () => {
            this.#checkpoint(input, signal);
            return await this.#tracked(input, signal, '/api/move/play/wake_up', http.playWakeUp(this.#moveOptions(input, signal)), WAKE_UP_EXPECTED_MS, run);
          });
        }
        this.#checkpoint(input, signal);
        return await this.#tracked(input, signal, '/api/move/play/goto_sleep', http.playGotoSleep(this.#moveOptions(input, signal)), GOTO_SLEEP_EXPECTED_MS, run);
      case 'recorded':
        return await this.#recorded(input, signal, run);
      case 'sequence':
        return await this.#sequence(input, signal, run);
      case 'motor_mode': {
        const mode = command.mode as MotorMode;
        await this.#withMode(input, signal, mode, async () => undefined);
        // Cancelled meanwhile: its undoing reports the mode put back.
        if (!signal.aborted) this.#deps.report({ type: 'daemon.motor_mode', mode });
        return { uuid: null, expectedDurationMs: 0 };
      }
      default:
        throw new HandlerFailed({ message: `unknown command ${String(command.op)}` });
    }
  }

  /**
   * A motor-mode write then `rest` (what the sender still does after it), tracked like a move
   * request whose fate is unknown: written after every earlier mode write settled (so they land in
   * order) and once the mode in force before it is read; its request stays open
   * (UNANSWERED_MODE_OPEN_MS) while its caller waits the usual deadline. A stop confirms only once it
   * is settled (#settleModes); if its command is cancelled while it runs, or a stop begins before the
   * daemon answered it, the daemon's answer (or silence) is followed by the mode before it, written back.
   */
  async #withMode<T>(input: ExecuteInput, signal: AbortSignal, mode: MotorMode, rest: () => Promise<T>): Promise<T> {
    const link = this.#deps.link();
    const deadlineMs = link.http.requestTimeoutMs;
    const earlier = this.#modeWritesOn(link);
    if (earlier.length > 0) {
      await endOrAbort(within(Promise.all(earlier), deadlineMs, () => new DaemonUnavailable({ message: `an earlier motor mode change is still unanswered after ${deadlineMs} ms`, connectionState: 'stalled' })), signal);
    }
    const prior = (await link.http.motorsStatus({ signal })).mode;
    this.#checkpoint(input, signal);
    const sweepsAtWrite = this.#sweepsBegun;
    const written = link.http.setMotorMode(mode, { ...this.#writeOptions(input, signal), timeoutMs: UNANSWERED_MODE_OPEN_MS });
    // Whether the daemon may have applied it, and whether a stop began before it was answered.
    const landed = written.then(
      () => ({ applied: true, afterStop: this.#sweepsBegun > sweepsAtWrite }),
      (error: unknown) => ({ applied: !droppedAtWrite(error) && fateOfFailedRequest(error) === 'unknown', afterStop: this.#sweepsBegun > sweepsAtWrite }),
    );
    let endedUncancelled = false;
    const sender = (async () => {
      try {
        const route = `/api/motors/set_mode/${mode}`;
        await within(written, deadlineMs, () => postUnanswered(route, deadlineMs));
        return await rest();
      } finally {
        endedUncancelled = !signal.aborted;
      }
    })();
    const aborted = new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    const settled = (async () => {
      const fate = await landed;
      // Cancelled while the sender ran (not only once it is done: a wake-up move request may wait long).
      await Promise.race([sender.then(noop, noop), aborted]);
      if (!fate.applied) return;
      if (endedUncancelled && !fate.afterStop) {
        // In force as asked: an older cancelled write's undoing is moot now.
        this.#modeOwed = null;
        return;
      }
      if (prior === mode) return;
      this.#modeOwed = { link, function: String(input.target.kind ?? input.command.op), owner: input.owner, mode, prior };
      // The first try; a failure is left to the stop's sweep, retried until it succeeds.
      await this.#revertMode(this.#modeOwed).catch(() => undefined);
    })();
    this.#modeWrites.set(settled, link);
    void settled.finally(() => this.#modeWrites.delete(settled));
    return await sender;
  }

  /**
   * Writes back the mode in force before a cancelled motor-mode write (on the stop lane: a stop must
   * not wait behind motion requests), reports it and audits it (`late_mode_reverted`). A daemon
   * that does not answer leaves it owed (the sweep fails and is retried); one that refuses it ends it.
   */
  async #revertMode(owed: OwedMode): Promise<void> {
    if (this.#deps.link() !== owed.link) {
      // Another daemon now: this one's mode is no longer the driver's to put back.
      if (this.#modeOwed === owed) this.#modeOwed = null;
      return;
    }
    try {
      await owed.link.stops.setMotorMode(owed.prior, { timeoutMs: STOP_REQUEST_TIMEOUT_MS });
    } catch (error) {
      if (isDaemonUnavailableTag((error as { _tag?: string })._tag ?? '')) throw error;
      log.warn('the daemon refused to put back the motor mode before a cancelled change', { mode: owed.prior, error: messageOf(error) });
      if (this.#modeOwed === owed) this.#modeOwed = null;
      return;
    }
    if (this.#modeOwed !== owed) return;
    this.#modeOwed = null;
    this.#deps.report({ type: 'daemon.motor_mode', mode: owed.prior });
    this.#deps.report({ type: 'mode.reverted', function: owed.function, owner: owed.owner, from: owed.mode, to: owed.prior });
  }

  /** The motor-mode writes to `link` not settled yet (one to a daemon the driver left does not hold this one's stops). */
  #modeWritesOn(link: DaemonLink): Array<Promise<void>> {
    return [...this.#modeWrites].filter(([, to]) => to === link).map(([settled]) => settled);
  }

  /** A stop's part for motor modes on `link`: every mode write made before it settled, and a cancelled one undone. */
  async #settleModes(link: DaemonLink): Promise<void> {
    const pending = this.#modeWritesOn(link);
    if (pending.length > 0) {
      await within(Promise.all(pending), MODE_SETTLE_TIMEOUT_MS, () => new DaemonUnavailable({ message: `a motor mode change made before the stop is still unanswered after ${MODE_SETTLE_TIMEOUT_MS} ms`, connectionState: 'stalled' }));
    }
    if (this.#modeOwed) await this.#revertMode(this.#modeOwed);
  }

  /** Aborts the realtime fence: every HTTP target still queued under it is dropped unsent. */
  #raiseFence(): void {
    this.#fence.abort(cancelled('a stop or a newer command came first'));
    this.#fence = new AbortController();
  }

  /**
   * /ws/sdk: after realtime targets not yet followed by a hold, a target at the pose the daemon
   * reports when the stop begins (#stopPoseOn), on the same socket. The daemon answers nothing on
   * /ws/sdk and its pushes do not show our frames were read (its receive loop may lag while its
   * 50 Hz pushes flow), so a target is never known to be applied, however old; but that loop
   * handles one socket's frames one after the other (RM ws_server.py `_recv_loop`), so the hold is
   * applied right after any target still waiting. Not at the last pose pushed: pushes can run late
   * (the daemon's per-client queue backs up) while its HTTP answers do not, and a hold at a pose
   * some ticks old pulls the robot back along its path. When the socket cannot take it (closed or
   * reconnecting: the daemon may still hold targets from it) the hold goes on the stop lane, and the
   * sweep fails until it is answered. A daemon slow to report its pose gets the hold at the pose
   * last pushed on this connection instead (#sdkHoldPose, lastPushedPosition).
   */
  async #holdSdk(link: DaemonLink, sdk: NonNullable<DaemonLink['sdk']>): Promise<void> {
    const covers = this.#lastRealtimeMono;
    if (covers === 0 || covers <= this.#heldUpTo) return;
    const pose = await this.#sdkHoldPose(this.#stopPoseOn(link), lastPushedPosition(link));
    if (!this.#holdOnSocket(link, sdk, pose)) await this.#holdOnStopLane(link, pose);
    this.#heldUpTo = covers;
  }

  /**
   * Where a hold on /ws/sdk goes: the pose `read` from the daemon when it answers within
   * HOLD_READ_PROMPT_MS; else (slow or failed) `pushed`, the pose pushed on this connection before
   * the hold; with none, the read's own answer whenever it comes (its failure fails the hold).
   */
  async #sdkHoldPose(read: Promise<RobotPosition>, pushed: RobotPosition | null): Promise<RobotPosition> {
    if (pushed === null) return await read;
    return await within(read, HOLD_READ_PROMPT_MS, () => cancelled('the daemon was slow to report its pose')).catch(() => pushed);
  }

  /** A hold at `pose` on /ws/sdk, behind every frame sent before it; false when the socket cannot take it. */
  #holdOnSocket(link: DaemonLink, sdk: NonNullable<DaemonLink['sdk']>, pose: RobotPosition): boolean {
    if (!sdk.send({ type: 'set_full_target', head: [...poseFromXyzRpy(pose.head)], antennas: [...pose.antennas], body_yaw: pose.bodyYaw }).ok) return false;
    this.#heldChange(link).landed(pose.bodyYaw);
    this.#recent.sent(pose);
    return true;
  }

  /**
   * The HTTP transport's realtime part of a stop (the fence already dropped the queued targets).
   * Targets already written cannot be recalled: the stop waits until each is answered (the daemon
   * applies a target before answering, so none can land after a confirmed stop), and — when one
   * was written lately or is still unanswered — sends a hold on the stop lane at the pose the daemon
   * reports when the stop begins (read once per stop: a goto since the last target moved the robot).
   * Written after them, the daemon handles it after them: if the stop must answer unconfirmed
   * first (a slow or stalled daemon), what they still apply is undone, as /ws/sdk's hold does.
   */
  async #settleHttpTargets(link: DaemonLink): Promise<void> {
    const pending = [...this.#pendingTargets];
    const since = performance.now() - this.#lastRealtimeMono;
    const owed = pending.length > 0 || (this.#lastRealtimeMono > this.#heldUpTo && since <= REALTIME_HOLD_WINDOW_MS);
    let heldSentAt = 0;
    const hold = async (): Promise<void> => {
      if (!owed) return;
      const pose = await this.#stopPoseOn(link);
      const sentAt = (heldSentAt = performance.now());
      await this.#holdOnStopLane(link, pose);
      // Covered only once answered: a hold lost or refused is owed again by the retried sweep.
      this.#heldUpTo = Math.max(this.#heldUpTo, sentAt);
    };
    const answered = within(Promise.allSettled(pending), TARGET_SETTLE_TIMEOUT_MS, () => new DaemonUnavailable({ message: `a realtime target written before the stop is still unanswered after ${TARGET_SETTLE_TIMEOUT_MS} ms`, connectionState: 'stalled' }));
    await Promise.all([hold(), answered]);
    // A target answered after the hold was sent may have been applied after it, whichever answer
    // came first (they travel on different connections): hold again, now that every earlier target
    // is answered, so the hold comes last. One answered before the hold was sent was applied before it.
    if (heldSentAt > 0 && this.#lastRealtimeMono >= heldSentAt) await hold();
  }

  /**
   * Stops one move; a refusal means it already ended (daemon quirk: 500 between list and stop).
   * One only the daemon's listing named (`found`) is reported to the motion machine (audit).
   */
  async #stopOne(link: DaemonLink, uuid: string, run: SweepRun, found = false): Promise<void> {
    if (run.issued.has(uuid)) return;
    run.issued.add(uuid);
    try {
      await link.stops.stopMove(uuid, { timeoutMs: STOP_REQUEST_TIMEOUT_MS });
      run.stopped.push(uuid);
      if (found) this.#deps.report({ type: 'sweep.found_running', uuid });
    } catch (error) {
      // Gone or silent: the sweep fails and is retried.
      if (isDaemonUnavailableTag((error as { _tag?: string })._tag ?? '')) throw error;
    }
  }

  /**
   * The stop sweep: fence off queued realtime targets and hold realtime (over HTTP also wait for the
   * targets already written); stop the moves already known at once (not after a listing that may
   * be slow or lost), and every other move the daemon lists as running as soon as it is listed.
   * `signal`: the sweep was abandoned for a newer one (a new stop); it then leaves shared state alone.
   */
  async sweep(uuids: ReadonlyArray<string>, signal?: AbortSignal): Promise<ReadonlyArray<string>> {
    const link = this.#deps.link();
    this.#sweepsBegun += 1;
    this.#raiseFence();
    const targets = link.sdk ? this.#holdSdk(link, link.sdk) : this.#settleHttpTargets(link);
    const modes = this.#settleModes(link);
    const known = [...new Set(uuids)];
    const run: SweepRun = { known, issued: new Set(), stopped: [], ...(signal ? { signal } : {}) };
    const first = Promise.all(known.map((uuid) => this.#stopOne(link, uuid, run)));
    const listed = this.#stopListed(link, run, Promise.allSettled([first, targets, modes]));
    // All settle before the verdict; a failure of any fails the sweep (it is retried).
    const [done, found, held, moded] = await Promise.allSettled([first, listed, targets, modes]);
    if (done.status === 'rejected') throw done.reason;
    if (found.status === 'rejected') throw found.reason;
    if (held.status === 'rejected') throw held.reason;
    if (moded.status === 'rejected') throw moded.reason;
    if (run.stopped.length > 0 && !signal?.aborted) await this.#holdAfterMoves(link);
    if (!signal?.aborted) this.#stopPose = null;
    return [...run.stopped];
  }

  /**
   * After moves were stopped: a hold at the present pose, so the targets the daemon holds are where
   * the robot is. A move stopped midway leaves the daemon holding the body where its interpolation
   * was, which the head may have pulled the body short of, so the next head target would swing the
   * body there: a move issued before the stop moving the robot after it. At the pose the daemon
   * reports now, the moves stopped (not the last one pushed, which can run some ticks late); on
   * /ws/sdk when it can take it (behind any realtime target and hold sent there), else on the stop
   * lane. Over /ws/sdk a daemon slow to report it gets the hold at the pose last pushed on this
   * connection if fresh (#sdkHoldPose; the moves ran over REST, and a push from before a lag may be
   * a pose they left). Best effort: one not written leaves the held body target as known before or
   * the present yaw (predictions check both), and the stop stands either way.
   */
  async #holdAfterMoves(link: DaemonLink): Promise<void> {
    try {
      const read = readPosition(link.stops, { timeoutMs: STOP_REQUEST_TIMEOUT_MS });
      const pose = link.sdk ? await this.#sdkHoldPose(read, pushedPosition(link)) : await read;
      if (link.sdk && this.#holdOnSocket(link, link.sdk, pose)) return;
      await this.#holdOnStopLane(link, pose);
    } catch (error) {
      this.#held.forget(link);
      log.debug('no hold at the pose where the stopped moves left the robot', { error: messageOf(error) });
    }
  }

  /**
   * Lists the running moves and stops at once those the stop did not know of, and starts over at
   * once whenever move updates reconnect before the whole sweep (`rest`: the known moves' stops, the
   * holds) is done: a move the daemon started after a listing and before the reconnect was heard by
   * nobody (a stalled daemon resuming the requests it held). A pass started over goes on (what it
   * finds is still stopped), only no longer awaited; its listings still queued are dropped.
   */
  async #stopListed(link: DaemonLink, run: SweepRun, rest: Promise<unknown>): Promise<void> {
    let reopened = false;
    let wake = (): void => undefined;
    const off = link.moves.on('open', () => {
      reopened = true;
      wake();
    });
    try {
      for (let pass = 1; ; pass += 1) {
        reopened = false;
        const superseded = new AbortController();
        const current = this.#listAndStop(link, run, run.signal ? AbortSignal.any([run.signal, superseded.signal]) : superseded.signal);
        const woken = new Promise<'reopened'>((resolve) => (wake = () => resolve('reopened')));
        const outcome = await Promise.race([Promise.all([current, rest]).then(() => 'done' as const), woken]);
        if (outcome === 'done' && !reopened) return;
        superseded.abort();
        current.catch(() => undefined);
        if (pass >= SWEEP_LISTING_PASSES) {
          throw new DaemonUnavailable({ message: `move updates reconnected during each of ${pass} listings of running moves`, connectionState: 'reconnecting' });
        }
      }
    } finally {
      off();
    }
  }

  /** One listing pass: the running moves the stop did not know of are stopped as soon as they are listed. */
  async #listAndStop(link: DaemonLink, run: SweepRun, drop: AbortSignal): Promise<void> {
    const running = await this.#listRunning(link, drop);
    await Promise.all(running.filter((uuid) => !run.known.includes(uuid)).map((uuid) => this.#stopOne(link, uuid, run, true)));
  }

  /**
   * The moves the daemon lists as running, from the first of up to LISTINGS_PER_SWEEP listings sent
   * LISTING_HEDGE_MS apart to answer (a hedge waits, re-checking every LISTING_HEDGE_MS, while
   * LISTINGS_OPEN_MAX are open on the lane; those not yet written are dropped once one answered or
   * `drop` aborts); fails as soon as no listing is left waiting (a refused or unreachable daemon is
   * the retried sweep's business).
   */
  #listRunning(link: DaemonLink, drop: AbortSignal): Promise<ReadonlyArray<string>> {
    const answered = new AbortController();
    const unsent = AbortSignal.any([answered.signal, drop]);
    return new Promise((resolve, reject) => {
      let sent = 0;
      let waiting = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        answered.abort();
      };
      const hedge = (): void => {
        if (unsent.aborted) return;
        if (this.#listingsOpen < LISTINGS_OPEN_MAX) send();
        else timer = setTimeout(hedge, LISTING_HEDGE_MS);
      };
      const send = (): void => {
        sent += 1;
        waiting += 1;
        this.#listingsOpen += 1;
        const listing = link.stops.runningMoves({ timeoutMs: STOP_REQUEST_TIMEOUT_MS, signal: unsent }).finally(() => (this.#listingsOpen -= 1));
        listing.then(
          (uuids) => {
            if (answered.signal.aborted) return;
            finish();
            resolve(uuids);
          },
          (error: unknown) => {
            waiting -= 1;
            if (answered.signal.aborted || waiting > 0) return;
            finish();
            reject(error);
          },
        );
        if (sent < LISTINGS_PER_SWEEP) timer = setTimeout(hedge, LISTING_HEDGE_MS);
      };
      send();
    });
  }

  /** A stray move is stopped until the daemon confirms, a bounded number of times. */
  async stopStray(uuid: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#deps.link().stops.stopMove(uuid, { timeoutMs: STOP_REQUEST_TIMEOUT_MS });
        return;
      } catch (error) {
        if (!isDaemonUnavailableTag((error as { _tag?: string })._tag ?? '')) return; // it already ended
        if (attempt >= STRAY_STOP_ATTEMPTS) {
          log.warn('a stray move could not be stopped; the daemon does not answer', { uuid, error: messageOf(error) });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, STRAY_STOP_RETRY_MS));
      }
    }
  };
}

/** What the caller of a POST still open past its usual deadline hears (as daemon-http's own timeout says it). */
function postUnanswered(route: string, deadlineMs: number): DaemonTimeout {
  return new DaemonTimeout({ message: `daemon did not answer POST ${route} within ${deadlineMs} ms`, method: 'POST', route, timeoutMs: deadlineMs });
}

/** `pending`, or the error `late()` makes once `ms` pass first (the timer is cleared either way). */
async function within<T>(pending: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([pending, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}

/** A cancelled motor-mode write that may have been applied: the mode before it is to be written back. */
interface OwedMode {
  /** The daemon it was written to (never put back on another). */
  readonly link: DaemonLink;
  /** The cancelled command (audit). */
  readonly function: string;
  readonly owner: string;
  /** What it set, and the mode before it. */
  readonly mode: MotorMode;
  readonly prior: MotorMode;
}

/** One sweep's bookkeeping: the moves it knew of, those it sent a stop for, those the daemon confirmed stopped. */
interface SweepRun {
  readonly known: ReadonlyArray<string>;
  /** Each move is stopped once per sweep, whichever pass lists it. */
  readonly issued: Set<string>;
  readonly stopped: string[];
  /** Aborted when the sweep is abandoned for a newer one. */
  readonly signal?: AbortSignal;
}

/** A daemon call dropped before it was written (cancelled while queued, or refused at the last moment). */
function droppedAtWrite(error: unknown): boolean {
  return (error as { _tag?: string } | null)?._tag === 'DaemonCallCancelled';
}

/** Resolves when `pending` settles or `signal` aborts (then rejects: a stop or a newer command came first). */
function endOrAbort(pending: Promise<unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(cancelled('a stop or a newer command came first'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      () => resolve(),
      (error: unknown) => reject(error),
    ).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The motion machine's actors (executeCommand, stopMotion, stopMove, readHeadPose) over one runtime's daemon link,
 * under the rules that make a stop a guarantee: a sender honours its abort signal after every await
 * and asks `mayMove` (interlock safe, fence not raised, target inside the envelope in force, link
 * up, power, lease not another owner's)
 * immediately before each daemon write; a goto whose uuid arrives after its command was cancelled
 * is stopped at once, and one whose request went unanswered is reported so its late move is stopped
 * too; realtime targets are never sent into a stalled /ws/sdk; every command first turns /ws/sdk
 * reading live (at idle it is read in batches) and waits for a push read live, so the pose and the
 * stall check it decides on describe the present; a stop waits for nothing and appends a hold at the
 * pose the daemon reports (the last one pushed if it is slow to) after realtime targets the daemon may
 * not have applied yet, and after the moves it stopped (their held targets, the body's included,
 * would move the robot later) — over HTTP it drops
 * the targets still queued, sends the hold on the stop lane and confirms once the written ones are
 * answered. A motor-mode write (no move uuid) is tracked like a move request of unknown fate: a
 * stop confirms once it is answered, and once the mode before it is written back if its command was
 * cancelled or a stop came before its answer. The speed limits apply right before the write
 * (speed-guard.ts): a goto is sent as is, stretched or refused; a realtime target too far for one tick is ramped on the daemon's ticks (each
 * step behind the same guards) or refused.
 */
export function createMotionExecutor(deps: ExecutorDeps) {
  const executor = new MotionExecutor(deps);
  return {
    executeCommand: fromPromise<CommandAccepted, ExecuteInput>(async ({ input, signal }) => await executor.execute(input, signal)),
    stopMotion: fromPromise<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(async ({ input, signal }) => await executor.sweep(input.uuids, signal)),
    stopMove: fromPromise<void, { uuid: string }>(async ({ input }) => await executor.stopStray(input.uuid)),
    readHeadPose: fromPromise<XyzRpyPose, void>(async ({ signal }) => await executor.headPose(signal)),
  };
}
