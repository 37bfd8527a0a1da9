// The emulated robot's kinematic state and the gotos that move it over time, with the semantics
// of the daemon's mockup backend (reachy-daemon-api.md §7, §10.1): targets per channel (head,
// antennas, body yaw) applied at once, IK with the yaw clamps, unreachable head targets dropped
// (the previous pose stays), gotos interpolated on simulated time, overlapping gotos all
// running (the last started wins each sample), motor mode a mere flag. Owns no transport, no
// uuids/events (move-tasks.ts) and no scripted sequences (move-sequences.ts).
import { forwardKinematics, inverseKinematics, type HeadJoints } from './kinematics.ts';
import { interpolatePose, lerp, timeLaw, type InterpolationMethod } from './interpolation.ts';
import { type Mat4, orthonormalizePose } from '../robot/pose-math.ts';
import {
  type Antennas, INIT_ANTENNAS, INIT_HEAD_POSE, SLEEP_ANTENNAS, SLEEP_HEAD_JOINTS, SLEEP_HEAD_POSE,
} from '../robot/daemon-poses.ts';
import type { SimClock } from './sim-clock.ts';
import { MOTOR_MODES, type MotorMode } from '../protocol/daemon-wire-types.ts';

/** The daemon's motor modes (the wire contract shared with the driver). */
export { MOTOR_MODES, type MotorMode };

export function isMotorMode(value: unknown): value is MotorMode {
  return typeof value === 'string' && (MOTOR_MODES as readonly string[]).includes(value);
}

/** `awake`: at the init pose, as the daemon leaves it after its boot wake-up (the default). */
export type BootPose = 'awake' | 'asleep';

export interface TargetUpdate {
  readonly head?: Mat4 | undefined;
  readonly antennas?: Antennas | undefined;
  readonly bodyYaw?: number | undefined;
}

export interface GotoSpec extends TargetUpdate {
  /** Simulated seconds; ≤ 0 ends at once without moving (the play loop never runs, §1.2). */
  readonly duration: number;
  readonly method: InterpolationMethod;
}

export interface RobotSnapshot {
  /** Present head pose, world frame, orthonormal (sane FK, §6 caveat). */
  readonly headPose: Mat4;
  /** `[body_yaw, stewart_1..6]`. */
  readonly headJoints: HeadJoints;
  readonly bodyYaw: number;
  readonly antennas: Antennas;
  readonly motorMode: MotorMode;
  readonly isMoveRunning: boolean;
}

export interface RobotTargets {
  readonly head: Mat4;
  readonly antennas: Antennas;
  readonly bodyYaw: number;
}

/** How a goto that did not fail ended: at its targets, or interrupted by `stop_move` where it was. */
export type GotoEnd = 'reached' | 'stopped';

interface ActiveGoto {
  readonly startHead: Mat4;
  readonly endHead: Mat4;
  readonly startAntennas: Antennas;
  readonly endAntennas: Antennas;
  readonly startBodyYaw: number;
  readonly endBodyYaw: number;
  readonly startedAt: number;
  readonly duration: number;
  readonly method: InterpolationMethod;
  /** Latest normalised time whose head sample was reachable (and applied). */
  reached: number;
  settle(end: GotoEnd | { readonly error: unknown }): void;
}

/**
 * Bisection steps locating where a goto leaves the reachable space: 12 halvings resolve
 * 1/4096 of the move, finer than the daemon's 100 Hz playback for any move under 40 s.
 */
const REACHABILITY_BISECTION_STEPS = 12;

export class RobotModel {
  readonly #clock: SimClock;
  #targetHead: Mat4 = INIT_HEAD_POSE;
  #targetBodyYaw = 0;
  #targetAntennas: Antennas = INIT_ANTENNAS;
  #headPose: Mat4 = INIT_HEAD_POSE;
  #headJoints: HeadJoints = [0, 0, 0, 0, 0, 0, 0];
  #antennas: Antennas = INIT_ANTENNAS;
  #motorMode: MotorMode = 'enabled';
  #automaticBodyYaw = true;
  #gotos: ActiveGoto[] = [];

  constructor(clock: SimClock, boot: BootPose) {
    this.#clock = clock;
    this.reboot(boot);
  }

  /** Fresh backend state: motors enabled, no move, at the init pose or the mockup's sleep joints. */
  reboot(boot: BootPose): void {
    this.cancelAll(new Error('backend rebooted'));
    this.#motorMode = 'enabled';
    this.#automaticBodyYaw = true;
    if (boot === 'awake') {
      this.#targetHead = INIT_HEAD_POSE;
      this.#targetBodyYaw = 0;
      this.#targetAntennas = INIT_ANTENNAS;
      this.#antennas = INIT_ANTENNAS;
      this.#headPose = INIT_HEAD_POSE;
      this.#headJoints = inverseKinematics(INIT_HEAD_POSE, 0) ?? this.#headJoints;
    } else {
      this.#headJoints = SLEEP_HEAD_JOINTS;
      this.#headPose = forwardKinematics(SLEEP_HEAD_JOINTS, SLEEP_HEAD_POSE) ?? orthonormalizePose(SLEEP_HEAD_POSE);
      this.#targetHead = this.#headPose;
      this.#targetBodyYaw = 0;
      this.#targetAntennas = SLEEP_ANTENNAS;
      this.#antennas = SLEEP_ANTENNAS;
    }
  }

  /** `is_move_running`: a goto is being played (not merely a sequence waiting between gotos). */
  get isMoveRunning(): boolean {
    return this.#gotos.length > 0;
  }

  get motorMode(): MotorMode {
    return this.#motorMode;
  }

  /** Mockup semantics: a flag only; it neither blocks nor pins motion (§7 last item). */
  setMotorMode(mode: MotorMode): void {
    this.#motorMode = mode;
  }

  /** `set_automatic_body_yaw`: off → the body yaw is used as given, no clamps (§6 item 2). */
  setAutomaticBodyYaw(enabled: boolean): void {
    this.#automaticBodyYaw = enabled;
  }

  snapshot(): RobotSnapshot {
    this.#refresh();
    return {
      headPose: this.#headPose,
      headJoints: this.#headJoints,
      bodyYaw: this.#headJoints[0] ?? 0,
      antennas: this.#antennas,
      motorMode: this.#motorMode,
      isMoveRunning: this.isMoveRunning,
    };
  }

  /** Commanded targets (what `wake_up`'s "already awake" check compares, §7). */
  targets(): RobotTargets {
    this.#refresh();
    return { head: this.#targetHead, antennas: this.#targetAntennas, bodyYaw: this.#targetBodyYaw };
  }

  /**
   * `set_target`: each given channel becomes the new target at once. Head and body yaw go
   * through IK; when it has no solution nothing moves and the bad head target is kept (so a later
   * body-yaw-only target is also refused, as on the daemon). Returns whether the IK succeeded.
   */
  setTargets(update: TargetUpdate): boolean {
    this.#refresh();
    return this.#apply(update);
  }

  /** `set_head_joints`: raw joint targets, no IK; the pose follows by FK. False if unsolvable. */
  setHeadJoints(joints: readonly number[]): boolean {
    this.#refresh();
    const pose = joints.length === 7 ? forwardKinematics(joints, this.#headPose) : null;
    if (!pose) return false;
    this.#headJoints = [...joints];
    this.#headPose = orthonormalizePose(pose);
    return true;
  }

  /**
   * Plays a goto (GotoMove through `play_move`): from the present state to the given targets
   * over `duration` simulated seconds. Omitted channels keep their present value. Resolves at the
   * end (`reached`) or when stopped by `stopMoves()` (`stopped`); rejects with the signal's reason
   * when aborted (the robot stays where it was, as a cancelled REST move).
   */
  goto(spec: GotoSpec, signal?: AbortSignal): Promise<GotoEnd> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#refresh();
    if (!(spec.duration > 0)) return Promise.resolve('reached');
    const startBodyYaw = this.#headJoints[0] ?? 0;
    return new Promise<GotoEnd>((resolve, reject) => {
      let cancelTimer = (): void => undefined;
      const onAbort = (): void => {
        this.#refresh();
        goto.settle({ error: signal?.reason });
      };
      const goto: ActiveGoto = {
        startHead: this.#headPose,
        endHead: spec.head ?? this.#headPose,
        startAntennas: this.#antennas,
        endAntennas: spec.antennas ?? this.#antennas,
        startBodyYaw,
        endBodyYaw: spec.bodyYaw ?? startBodyYaw,
        startedAt: this.#clock.now(),
        duration: spec.duration,
        method: spec.method,
        reached: 0,
        settle: (end) => {
          const index = this.#gotos.indexOf(goto);
          if (index < 0) return;
          this.#gotos.splice(index, 1);
          cancelTimer();
          signal?.removeEventListener('abort', onAbort);
          if (typeof end === 'string') resolve(end);
          else reject(end.error);
        },
      };
      this.#gotos.push(goto);
      signal?.addEventListener('abort', onAbort, { once: true });
      cancelTimer = this.#clock.after(spec.duration, () => {
        this.#refresh();
        this.#evaluate(goto, 1);
        goto.settle('reached');
      });
    });
  }

  /** `stop_move`: interrupts every goto being played where it is. True if one was running. */
  stopMoves(): boolean {
    this.#refresh();
    const running = [...this.#gotos];
    for (const goto of running) goto.settle('stopped');
    return running.length > 0;
  }

  /** Drops every goto at once (backend stopped or emulator closed); their promises reject. */
  cancelAll(reason: unknown): void {
    for (const goto of [...this.#gotos]) goto.settle({ error: reason });
  }

  #refresh(): void {
    const now = this.#clock.now();
    for (const goto of [...this.#gotos]) {
      this.#evaluate(goto, Math.min(1, (now - goto.startedAt) / goto.duration));
    }
  }

  /** GotoMove.evaluate at normalised time `t`; the end lands exactly on the targets. */
  #sample(goto: ActiveGoto, t: number): { head: Mat4; antennas: Antennas; bodyYaw: number } {
    if (t >= 1) return { head: goto.endHead, antennas: goto.endAntennas, bodyYaw: goto.endBodyYaw };
    const s = timeLaw(t, goto.method);
    return {
      head: interpolatePose(goto.startHead, goto.endHead, s),
      antennas: [lerp(goto.startAntennas[0], goto.endAntennas[0], s), lerp(goto.startAntennas[1], goto.endAntennas[1], s)],
      bodyYaw: lerp(goto.startBodyYaw, goto.endBodyYaw, s),
    };
  }

  /**
   * Writes the goto's sample at `t` (every channel, as `play_move` does). Samples are taken
   * lazily, not at the daemon's 100 Hz, so when the head has left the reachable space since the
   * last good sample, bisection finds the last reachable one — where dense playback would have
   * left the head — while the unreachable target stays commanded, as on the daemon.
   */
  #evaluate(goto: ActiveGoto, t: number): void {
    if (this.#apply(this.#sample(goto, t))) {
      goto.reached = t;
      return;
    }
    let lo = goto.reached;
    let hi = t;
    for (let step = 0; step < REACHABILITY_BISECTION_STEPS; step += 1) {
      const mid = (lo + hi) / 2;
      const sample = this.#sample(goto, mid);
      if (this.#solve(sample.head, sample.bodyYaw)) lo = mid;
      else hi = mid;
    }
    goto.reached = lo;
  }

  #apply(update: TargetUpdate): boolean {
    if (update.antennas) {
      this.#targetAntennas = update.antennas;
      this.#antennas = update.antennas;
    }
    if (update.head === undefined && update.bodyYaw === undefined) return true;
    if (update.head !== undefined) this.#targetHead = update.head;
    if (update.bodyYaw !== undefined) this.#targetBodyYaw = update.bodyYaw;
    return this.#solve(this.#targetHead, this.#targetBodyYaw);
  }

  /** IK of a head target; on success it becomes the present pose, otherwise nothing moves. */
  #solve(head: Mat4, bodyYaw: number): boolean {
    const joints = inverseKinematics(head, bodyYaw, this.#automaticBodyYaw);
    if (!joints) return false;
    this.#headJoints = joints;
    this.#headPose = orthonormalizePose(head);
    return true;
  }
}
