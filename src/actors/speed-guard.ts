// The motion executor's speed limits (issue 14 item 2; README "Safety", speed limits): reads the
// present pose right before a write (the /ws/sdk cache, else GET /api/state/full), decides a goto
// (as is, stretched to the shortest allowed duration, or TooFast; the body the daemon pulls along
// with the head counts, src/safety/body-follow-check.ts) and runs the ramp of a realtime target too
// far for one tick: one step per daemon tick from the observed pose, each write behind the caller's
// guard (fence, interlock, lease, link), paused by a stall, ending with why it ended. Remembers the
// targets it sent lately (the daemon may hold one before a push shows it). The maths is
// src/safety/speed-limits.ts; the stop guarantee and the senders are motion-executor.ts's.
import type { DaemonLink } from './daemon-link.ts';
import type { CallOptions } from '../adapters/daemon-http.ts';
import type { HeadPose } from '../adapters/daemon-wire.ts';
import { HandlerFailed, TooFast } from '../errors.ts';
import type { SpeedLimited } from '../machines/motion.machine.ts';
import { type Mat4, xyzRpyFromPose, type XyzRpyPose } from '../robot/pose-math.ts';
import type { InterpolationMethod } from '../robot/time-laws.ts';
import type { SpeedLimits } from '../safety/safety-policy.ts';
import {
  axisTravels, DAEMON_TICK_MS, gotoExcess, gotoPeaks, MAX_STRETCHED_DURATION_S, rampStep, realtimeExcess,
  type PlannedPeak, type PositionTarget, type RobotPosition, type SpeedExcess,
} from '../safety/speed-limits.ts';
import { pulledBodyTravel, pulledRampSeconds } from '../safety/body-follow-check.ts';

/**
 * A target we sent this recently may be the pose the daemon holds at its current tick although no
 * push shows it yet (one tick of push latency, one of scheduling): the next target keeps within one
 * step of it as well as of the observation.
 */
export const RECENT_TARGET_MS = 3 * DAEMON_TICK_MS;
/**
 * The longest ramp accepted: longer ones (far targets under very low limits) are refused, so a
 * waiting caller hears the outcome within the gate's default wait (20 s) with margin.
 */
export const MAX_RAMP_S = 15;
/**
 * Without /ws/sdk (HTTP transport) the driver cannot see the daemon's ticks: a ramp steps on a timer
 * of two ticks, so however the daemon's ticks fall, at most one step lands between two of them
 * unless they are two ticks apart — when the limit allows two steps anyway.
 */
export const HTTP_RAMP_PERIOD_MS = 2 * DAEMON_TICK_MS;
/**
 * A ramp step waits this long for the daemon's next tick; none by then is a stall, and the ramp
 * waits on (nothing is written meanwhile) until the daemon ticks again or its deadline passes.
 */
export const RAMP_TICK_TIMEOUT_MS = 150;

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** A flat or nested 4×4 (or XYZRPY) head pose as XYZRPY. */
function xyzRpyOf(pose: HeadPose | readonly (readonly number[])[]): XyzRpyPose {
  if (Array.isArray(pose)) return xyzRpyFromPose((pose as number[][]).flat());
  if ('m' in (pose as object)) return xyzRpyFromPose((pose as { m: Mat4 }).m);
  return pose as XyzRpyPose;
}

/** The pose of the latest /ws/sdk pushes, or null when either is missing or stale. */
export function pushedPosition(link: DaemonLink): RobotPosition | null {
  return latestPushed(link, (push) => !push.stale);
}

/**
 * The pose last pushed on the /ws/sdk connection open now, however old, or null. Only on this
 * connection: one from before a reconnect may be far from where the robot is now (others may have
 * moved it meanwhile). A stalled loop's last push is kept: nothing could command the robot through it since.
 */
export function lastPushedPosition(link: DaemonLink): RobotPosition | null {
  return latestPushed(link, (push) => push.thisConnection);
}

function latestPushed(link: DaemonLink, usable: (push: { readonly stale: boolean; readonly thisConnection: boolean }) => boolean): RobotPosition | null {
  const pose = link.sdk?.latest('head_pose');
  const joints = link.sdk?.latest('joint_positions');
  if (!pose || !joints || !usable(pose) || !usable(joints)) return null;
  return { head: xyzRpyOf(pose.value.head_pose), bodyYaw: joints.value.head_joint_positions[0] ?? 0, antennas: joints.value.antennas_joint_positions };
}

/** The present pose: the /ws/sdk cache when fresh, else the daemon's full state (HTTP transport). */
export async function presentPosition(link: DaemonLink, signal: AbortSignal): Promise<RobotPosition> {
  return pushedPosition(link) ?? (await readPosition(link.http, { signal }));
}

/**
 * The pose the daemon reports now (GET /api/state/full) through `client` (the command or the stop
 * lane). A body yaw it does not report is not taken as 0: a stop's hold writes the present body yaw
 * back as the body target, which would turn the body there.
 */
export async function readPosition(client: DaemonLink['http'], options: CallOptions): Promise<RobotPosition> {
  const state = await client.fullState({ withHeadPose: true, withBodyYaw: true, withAntennaPositions: true, withHeadJoints: true }, options);
  const bodyYaw = state.body_yaw ?? state.head_joints?.[0];
  if (!state.head_pose || !state.antennas_position || bodyYaw === undefined || bodyYaw === null) throw new HandlerFailed({ message: 'the daemon did not report its present pose (head pose, antennas and body yaw): nothing was written' });
  return { head: xyzRpyOf(state.head_pose), bodyYaw, antennas: state.antennas_position };
}

/** The channels a daemon command sets (goto or realtime target), as a position target. */
export function targetOf(command: Record<string, unknown>): PositionTarget {
  const head = (command.head_pose as { m?: Mat4 } | undefined)?.m ?? (command.head as Mat4 | undefined);
  return {
    head: head ? xyzRpyFromPose(head) : undefined,
    bodyYaw: typeof command.body_yaw === 'number' ? command.body_yaw : undefined,
    antennas: (command.antennas as [number, number] | undefined) ?? undefined,
  };
}

function tooFast(what: string, e: SpeedExcess, shortest: number | null, hint: string): TooFast {
  return new TooFast({
    message: `${what} would move ${e.axis} at ${round(e.peakSpeed, 1)} ${e.unit}, above the limit of ${e.limit} ${e.unit}${hint}`,
    axis: e.axis,
    peak_speed: round(e.peakSpeed, 3),
    limit: e.limit,
    unit: e.unit,
    shortest_duration_s: shortest,
  });
}

/**
 * A goto as sent: its duration, how the speed limits changed it (null: unchanged), and the peak
 * speed it reaches on each axis it moves (reported to the motion machine: a narrower limit stops it).
 */
export interface GotoPlan {
  readonly durationS: number;
  readonly limited: SpeedLimited | null;
  readonly peaks: ReadonlyArray<PlannedPeak>;
}

/** The goto's plan under the limits; throws TooFast when refused (policy `refuse`, or a stretch beyond 30 s). */
export function planGoto(present: RobotPosition, command: Record<string, unknown>, speed: SpeedLimits): GotoPlan {
  const durationS = Number(command.duration);
  const method = (command.interpolation as InterpolationMethod | undefined) ?? 'minjerk';
  const target = targetOf(command);
  // The body the daemon pulls along with the head counts as if the goto had set it.
  const pulled = pulledBodyTravel(present, target, speed, method);
  const travels = [...axisTravels(present, target, speed), ...(pulled ? [pulled] : [])];
  const excess = gotoExcess(travels, durationS, method);
  if (!excess) return { durationS, limited: null, peaks: gotoPeaks(travels, durationS, method) };
  const shortest = excess.shortestDurationS;
  if (shortest > MAX_STRETCHED_DURATION_S) throw tooFast(`a ${durationS} s ${method} goto`, excess, shortest, `; even the longest goto (${MAX_STRETCHED_DURATION_S} s) would be too fast — split the move`);
  if (speed.goto_policy === 'refuse') throw tooFast(`a ${durationS} s ${method} goto`, excess, shortest, `; the shortest allowed duration is ${shortest} s`);
  return {
    durationS: shortest,
    peaks: gotoPeaks(travels, shortest, method),
    limited: { mode: 'stretched', axis: excess.axis, peak_speed: round(excess.peakSpeed, 3), limit: excess.limit, unit: excess.unit, requested_duration_s: durationS, duration_s: shortest },
  };
}

/** What a realtime target becomes: sent as is, or ramped (first step now, the rest on the ticks). */
export type RealtimePlan = { readonly kind: 'direct' } | { readonly kind: 'ramp'; readonly first: PositionTarget; readonly limited: SpeedLimited };

/** Recent realtime targets per channel (the daemon may hold one of them before a push shows it). */
export class RecentTargets {
  #head: { value: XyzRpyPose; at: number } | null = null;
  #bodyYaw: { value: number; at: number } | null = null;
  #antennas: { value: readonly [number, number]; at: number } | null = null;

  sent(target: PositionTarget): void {
    const at = performance.now();
    if (target.head) this.#head = { value: target.head, at };
    if (target.bodyYaw !== undefined) this.#bodyYaw = { value: target.bodyYaw, at };
    if (target.antennas) this.#antennas = { value: target.antennas, at };
  }

  /** The channels sent within RECENT_TARGET_MS. */
  recent(): PositionTarget {
    const now = performance.now();
    const fresh = <T>(entry: { value: T; at: number } | null): T | undefined => (entry && now - entry.at <= RECENT_TARGET_MS ? entry.value : undefined);
    return { head: fresh(this.#head), bodyYaw: fresh(this.#bodyYaw), antennas: fresh(this.#antennas) };
  }
}

/** Decides a realtime target; throws TooFast under policy `refuse` or when the ramp would take over MAX_RAMP_S. */
export function planRealtime(present: RobotPosition, goal: PositionTarget, speed: SpeedLimits, recent: PositionTarget, stepPeriodMs: number = DAEMON_TICK_MS): RealtimePlan {
  const first = rampStep(present, goal, speed, recent);
  if (first.reached) return { kind: 'direct' };
  const pulled = pulledBodyTravel(present, goal, speed, null);
  // A body the head keeps short of its target travels only as far as the daemon turns it (`pulled`).
  const asked = pulled && goal.bodyYaw !== undefined ? { ...goal, bodyYaw: undefined } : goal;
  const excess = realtimeExcess([...axisTravels(present, asked, speed), ...(pulled ? [pulled] : [])], stepPeriodMs) ?? {
    // Within one step of the observation but not of a target just sent: one more tick.
    axis: 'head_yaw_deg' as const, peakSpeed: 0, limit: speed.head_deg_per_s, unit: 'deg/s' as const, shortestDurationS: (2 * stepPeriodMs) / 1000,
  };
  const rampS = Math.max(excess.shortestDurationS, (2 * stepPeriodMs) / 1000, pulledRampSeconds(present, goal, speed, stepPeriodMs));
  if (speed.realtime_policy === 'refuse') throw tooFast('this realtime target', excess, null, ' in one 20 ms tick; send closer targets, a goto with a duration, or use --realtime-speed-policy ramp');
  if (rampS > MAX_RAMP_S) throw tooFast('this realtime target', excess, null, `; ramping it would take ${round(rampS, 2)} s (at most ${MAX_RAMP_S} s): use a goto`);
  return { kind: 'ramp', first: first.next, limited: { mode: 'ramped', axis: excess.axis, peak_speed: round(excess.peakSpeed, 3), limit: excess.limit, unit: excess.unit, requested_duration_s: null, duration_s: round(rampS, 3) } };
}

/** What one ramp needs from the executor. */
export interface RampIo {
  /** Resolves after the daemon's next tick (both pose pushes), false when none came in time. */
  nextTick(): Promise<boolean>;
  observe(): Promise<RobotPosition | null>;
  /** False while the daemon is stalled (a write now would only be applied when it resumes). */
  flowing(): boolean;
  /** Throws the refusal when nothing may be written now (fence, interlock, lease, power, envelope, link). */
  guard(): void;
  write(target: PositionTarget): Promise<void>;
  speed(): SpeedLimits;
  recent(): PositionTarget;
}

/**
 * How a ramp ended, with the pose it last observed (null: none since it began): `reached` (the
 * goal written), `refused` (the guard: a stop, a newer command, the interlock, the lease…),
 * `failed` (a write failed), or at its deadline `stalled` (the daemon was not ticking) or
 * `not_followed` (it ticked, the steps were written, the head did not get there: a pose the daemon
 * cannot reach is dropped silently, daemon-api §6).
 */
export type RampEnd =
  | { readonly outcome: 'reached'; readonly last: RobotPosition | null }
  | { readonly outcome: 'refused' | 'failed'; readonly error: unknown; readonly last: RobotPosition | null }
  | { readonly outcome: 'stalled' | 'not_followed'; readonly last: RobotPosition | null };

/**
 * The rest of a ramp after its first step: a step toward `goal` on each daemon tick, from the pose
 * observed then, until the goal is written, the guard refuses, a write fails or `deadlineMs`
 * passes. A stall (no tick, no pose, a stalled link) writes nothing and the ramp goes on once the
 * daemon ticks again, behind the same guard: what a stop or a refusal would end is ended by them.
 */
export async function runRamp(goal: PositionTarget, io: RampIo, deadlineMs: number): Promise<RampEnd> {
  const end = performance.now() + deadlineMs;
  let last: RobotPosition | null = null;
  let stalled = false;
  while (performance.now() < end) {
    const present = (await io.nextTick()) ? await io.observe() : null;
    stalled = present === null || !io.flowing();
    if (present) last = present;
    if (stalled || !present) continue;
    const step = rampStep(present, goal, io.speed(), io.recent());
    try {
      io.guard();
    } catch (error) {
      return { outcome: 'refused', error, last };
    }
    try {
      await io.write(step.next);
    } catch (error) {
      return { outcome: 'failed', error, last };
    }
    if (step.reached) return { outcome: 'reached', last };
  }
  return { outcome: stalled ? 'stalled' : 'not_followed', last };
}
