// The motion machine's I/O: the sender of each command, the stop sweep and the stop of one late
// move, written so a stop is a guarantee (README "Safety"): a sender honours its abort signal after
// every await and asks `mayMove` (interlock safe, fence not raised, link up) immediately before each
// daemon write; a goto whose uuid arrives after its command was cancelled is stopped at once;
// realtime targets are never sent into a stalled /ws/sdk; a stop appends a hold of the last
// observed pose after realtime targets the daemon may not have applied yet. Owns no state beyond
// when the last realtime target went out; decisions stay in the machines. reachy-daemon-api.md §1.2, §2, §7.
import { fromPromise } from 'xstate';
import type { DaemonLink } from './daemon-link.ts';
import { DaemonUnavailable, HandlerFailed, isDaemonUnavailableTag, MotionCancelled, messageOf, type RpcFailure } from '../errors.ts';
import type { ReportEvent } from '../machines/driver.machine.ts';
import type { CommandAccepted, ExecuteInput } from '../machines/motion.machine.ts';
import type { MotorMode } from '../machines/power.machine.ts';
import { REALTIME_SETTLE_MS } from '../rpc/robot-functions.ts';
import { createLogger } from '../logging/logger.ts';

const log = createLogger('motion');

/** Daemon wake_up takes ~2.3 s, goto_sleep ~4–5 s (daemon-api §7); the machines add their margins. */
export const WAKE_UP_EXPECTED_MS = 3_000;
export const GOTO_SLEEP_EXPECTED_MS = 5_500;
/**
 * /ws/sdk pushes joint positions at 50 Hz (daemon-api §2): 150 ms without a frame is 7 missed
 * ticks — the daemon is stalled, and a target sent now would only be applied when it resumes.
 */
export const SDK_STALL_MS = 150;
/** Each request of a stop sweep gives up after this and the sweep is retried (STOP_RETRY_MS). */
export const STOP_REQUEST_TIMEOUT_MS = 2_000;
/** A stray move's stop is retried this often, this many times, while the daemon does not answer (~10 s in all with the deadline). */
export const STRAY_STOP_RETRY_MS = 250;
export const STRAY_STOP_ATTEMPTS = 5;
/** A realtime target sent this recently may not be applied yet when a stop comes: the stop appends a hold. */
export const REALTIME_HOLD_WINDOW_MS = 1_000;

export interface ExecutorDeps {
  /** The daemon adapters in force (swapped by retarget). */
  link(): DaemonLink;
  /** Null when a command of `epoch` may move the robot now; else why not. */
  mayMove(epoch: number): RpcFailure | null;
  /** Reports to the root: settled cancelled senders, motor modes the daemon accepted. */
  report(event: ReportEvent): void;
}

function cancelled(reason: string): MotionCancelled {
  return new MotionCancelled({ message: `cancelled before it moved the robot: ${reason}`, reason: 'stopped' });
}

/** The motion machine's senders and stoppers over one runtime's daemon link. */
class MotionExecutor {
  readonly #deps: ExecutorDeps;
  /** `performance.now()` of the last realtime target handed to the daemon; 0 before any. */
  #lastRealtimeMono = 0;
  /** Targets up to this moment are covered by a hold already sent (a retried sweep does not repeat it). */
  #heldUpTo = 0;

  constructor(deps: ExecutorDeps) {
    this.#deps = deps;
  }

  /** Stops one move on the stop lane; a failure is left to the next sweep (the move may have ended). */
  async #stopQuietly(uuid: string): Promise<void> {
    await this.#deps.link().stops.stopMove(uuid, { timeoutMs: STOP_REQUEST_TIMEOUT_MS }).catch(() => undefined);
  }

  /** Throws when the command must not write to the daemon now; called right before every write. */
  #checkpoint(input: ExecuteInput, signal: AbortSignal): void {
    if (signal.aborted) throw cancelled('a stop or a newer command came first');
    const refusal = this.#deps.mayMove(input.epoch);
    if (refusal) throw refusal;
  }

  async #realtime(input: ExecuteInput, signal: AbortSignal): Promise<CommandAccepted> {
    const { command } = input;
    const link = this.#deps.link();
    const sdk = link.sdk;
    if (sdk) {
      const silent = sdk.silentForMs();
      if (silent > SDK_STALL_MS || sdk.bufferedAmount > 0) {
        throw new DaemonUnavailable({ message: `the daemon has pushed nothing for ${Number.isFinite(silent) ? Math.round(silent) : '∞'} ms (stalled or reconnecting); realtime targets are not queued for it`, connectionState: 'stalled' });
      }
      this.#checkpoint(input, signal);
      const sent =
        command.op === 'head_target'
          ? sdk.send({ type: 'set_target', head: command.head as number[] })
          : command.op === 'antennas_target'
            ? sdk.send({ type: 'set_antennas', antennas: command.antennas as [number, number] })
            : sdk.send({ type: 'set_body_yaw', body_yaw: command.body_yaw as number });
      if (!sent.ok) throw sent.error;
    } else {
      const body =
        command.op === 'head_target'
          ? { target_head_pose: { m: command.head as number[] } }
          : command.op === 'antennas_target'
            ? { target_antennas: command.antennas as [number, number] }
            : { target_body_yaw: command.body_yaw as number };
      this.#checkpoint(input, signal);
      const result = await link.http.setTarget(body as never, { signal });
      if (result.status === 'ignored') throw new HandlerFailed({ message: `the daemon ignored the target (${result.reason}): a move is running; stop it or wait` });
    }
    this.#lastRealtimeMono = performance.now();
    return { uuid: null, expectedDurationMs: REALTIME_SETTLE_MS };
  }

  /**
   * Awaits a move request. If the command was cancelled (or the interlock tripped) while the request
   * was in flight, the move it started is stopped at once and reported; the caller hears MotionCancelled.
   */
  async #tracked(input: ExecuteInput, signal: AbortSignal, pending: Promise<{ readonly uuid: string }>, expectedDurationMs: number): Promise<CommandAccepted> {
    let uuid: string;
    try {
      ({ uuid } = await pending);
    } catch (error) {
      // Cancelled: a request still queued was dropped unsent (DaemonCallCancelled) or the daemon
      // refused it — nothing moves; one that timed out may still be acted on, so its move is watched for.
      if (signal.aborted) this.#deps.report({ type: 'sender.settled', requestId: input.requestId, uuid: null, outcome: isDaemonUnavailableTag((error as { _tag?: string })._tag ?? '') ? 'unknown' : 'failed', stoppedLate: false });
      throw error;
    }
    const refusal = signal.aborted ? cancelled('a stop or a newer command came first') : this.#deps.mayMove(input.epoch);
    if (refusal === null) return { uuid, expectedDurationMs };
    await this.#stopQuietly(uuid);
    this.#deps.report({ type: 'sender.settled', requestId: input.requestId, uuid, outcome: 'sent', stoppedLate: true });
    throw refusal;
  }

  async execute(input: ExecuteInput, signal: AbortSignal): Promise<CommandAccepted> {
    const { command } = input;
    const { http } = this.#deps.link();
    await Promise.all(input.supersedes.map((uuid) => this.#stopQuietly(uuid)));
    switch (command.op) {
      case 'head_target':
      case 'antennas_target':
      case 'body_yaw_target':
        return await this.#realtime(input, signal);
      case 'goto': {
        const { op: _op, ...body } = command;
        this.#checkpoint(input, signal);
        return await this.#tracked(input, signal, http.goto(body as never, { signal }), Number(command.duration) * 1000);
      }
      case 'play':
        if (command.move === 'wake_up') {
          // The daemon's wake_up does not enable the motors (daemon-api §7), and the 1 Hz status
          // may be older than a just-finished goto_sleep: enable every time (idempotent, no snap).
          this.#checkpoint(input, signal);
          await http.setMotorMode('enabled', { signal });
          this.#checkpoint(input, signal);
          return await this.#tracked(input, signal, http.playWakeUp({ signal }), WAKE_UP_EXPECTED_MS);
        }
        this.#checkpoint(input, signal);
        return await this.#tracked(input, signal, http.playGotoSleep({ signal }), GOTO_SLEEP_EXPECTED_MS);
      case 'motor_mode': {
        const mode = command.mode as MotorMode;
        this.#checkpoint(input, signal);
        await http.setMotorMode(mode, { signal });
        this.#deps.report({ type: 'daemon.motor_mode', mode });
        return { uuid: null, expectedDurationMs: 0 };
      }
      default:
        throw new HandlerFailed({ message: `unknown command ${String(command.op)}` });
    }
  }

  /** After realtime targets the daemon may not have applied yet, a target at the last observed pose. */
  #hold(link: DaemonLink): void {
    const sdk = link.sdk;
    if (!sdk || this.#lastRealtimeMono === 0 || this.#lastRealtimeMono <= this.#heldUpTo) return;
    const since = performance.now() - this.#lastRealtimeMono;
    if (since > REALTIME_HOLD_WINDOW_MS && sdk.silentForMs() < since) return;
    const pose = sdk.latest('head_pose');
    const joints = sdk.latest('joint_positions');
    if (!pose || !joints) return;
    const sent = sdk.send({ type: 'set_full_target', head: pose.value.head_pose.flat(), antennas: joints.value.antennas_joint_positions, body_yaw: joints.value.head_joint_positions[0] ?? 0 });
    if (sent.ok) this.#heldUpTo = this.#lastRealtimeMono;
  }

  /** Stops one move; a refusal means it already ended (daemon quirk: 500 between list and stop). */
  async #stopOne(link: DaemonLink, uuid: string, stopped: string[]): Promise<void> {
    try {
      await link.stops.stopMove(uuid, { timeoutMs: STOP_REQUEST_TIMEOUT_MS });
      stopped.push(uuid);
    } catch (error) {
      // Gone or silent: the sweep fails and is retried.
      if (isDaemonUnavailableTag((error as { _tag?: string })._tag ?? '')) throw error;
    }
  }

  /**
   * The stop sweep: hold realtime; stop the moves already known at once (not after a listing that
   * may be slow or lost), then every other move the daemon lists as running.
   */
  async sweep(uuids: ReadonlyArray<string>): Promise<ReadonlyArray<string>> {
    const link = this.#deps.link();
    this.#hold(link);
    const stopped: string[] = [];
    const known = [...new Set(uuids)];
    const first = Promise.all(known.map((uuid) => this.#stopOne(link, uuid, stopped)));
    const listing = link.stops.runningMoves({ timeoutMs: STOP_REQUEST_TIMEOUT_MS });
    // Both settle before the verdict; a failure of either fails the sweep (it is retried).
    const [running, done] = await Promise.allSettled([listing, first]);
    if (done.status === 'rejected') throw done.reason;
    if (running.status === 'rejected') throw running.reason;
    await Promise.all(running.value.filter((uuid) => !known.includes(uuid)).map((uuid) => this.#stopOne(link, uuid, stopped)));
    return stopped;
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

/** The motion machine's actors (executeCommand, stopMotion, stopMove) over one runtime's daemon link. */
export function createMotionExecutor(deps: ExecutorDeps) {
  const executor = new MotionExecutor(deps);
  return {
    executeCommand: fromPromise<CommandAccepted, ExecuteInput>(async ({ input, signal }) => await executor.execute(input, signal)),
    stopMotion: fromPromise<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(async ({ input }) => await executor.sweep(input.uuids)),
    stopMove: fromPromise<void, { uuid: string }>(async ({ input }) => await executor.stopStray(input.uuid)),
  };
}
