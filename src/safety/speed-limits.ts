// Speed limits of the safety policy (issue 14 item 2; README "Safety"): per-axis distance from the
// present pose to a target in the policy's units (degrees, millimetres), the peak speed a goto of a
// given duration and time law reaches, the shortest duration within every limit, the next step of a
// realtime target ramped on the daemon's 50 Hz tick (keeping the body the daemon pulls along within a
// body step, src/robot/body-follow.ts), and a planned goto's peaks against limits set later
// (`peakExcess`). Pure: the present pose is the caller's observation, the decision to refuse, stretch
// or ramp the executor's. Axes named as the envelope's; units in: metres and radians, as the daemon's.
import { poseFromXyzRpy, radToDeg, degToRad, type Mat4, type XyzRpyPose } from '../robot/pose-math.ts';
import { peakSpeedFactor, type InterpolationMethod } from '../robot/time-laws.ts';
import { resolveBodyYaw } from '../robot/body-follow.ts';
import type { SpeedLimits } from './safety-policy.ts';

/** The daemon's control loop period (50 Hz, reachy-daemon-api.md §2): a realtime target is applied on the next tick. */
export const DAEMON_TICK_MS = 20;
/**
 * Fraction of one tick's travel at the limit that a ramp step (or a realtime target sent as is) may
 * cover: the daemon's ticks jitter, and a tick that comes up to 20 % early after a late one must
 * still show a change within the limit × its actual Δt.
 */
export const STEP_FRACTION = 0.8;
/** The longest goto the functions accept (robot-functions.ts LIMITS.gotoDurationS): a stretch beyond it is refused. */
export const MAX_STRETCHED_DURATION_S = 30;
/** Durations are reported and sent in whole milliseconds, rounded up (never below the shortest allowed). */
const DURATION_STEPS_PER_S = 1000;
/** Float noise tolerated before rounding up (0.421875 s must not become 0.423 s through a stray 1e-16). */
const ROUNDING_NOISE = 1e-9;
/** Distances below this (policy units) are "no motion" on an axis: float noise of the pose round trip. */
const NEGLIGIBLE = 1e-6;

export type SpeedAxis =
  | 'head_x_mm' | 'head_y_mm' | 'head_z_mm' | 'head_roll_deg' | 'head_pitch_deg' | 'head_yaw_deg'
  | 'body_yaw_deg' | 'antenna_right_deg' | 'antenna_left_deg';

/** Where the robot is, as the daemon reports it (metres, radians; antennas `[right, left]`). */
export interface RobotPosition {
  readonly head: XyzRpyPose;
  readonly bodyYaw: number;
  readonly antennas: readonly [number, number];
  /**
   * The body targets the daemon may hold, when the driver knows them (src/actors/held-body-target.ts:
   * one, or those it knows the daemon holds one of — after a daemon socket closed, a write whose
   * answer never came): a realtime target naming only the head turns the body toward the one it
   * holds. Absent or empty: `bodyYaw`.
   */
  readonly heldBodyYaws?: ReadonlyArray<number> | undefined;
}

/** The body targets a realtime head target may leave the daemon to pull from: the held ones, else the present yaw. */
export function heldBodiesOf(present: RobotPosition): ReadonlyArray<number> {
  return present.heldBodyYaws && present.heldBodyYaws.length > 0 ? present.heldBodyYaws : [present.bodyYaw];
}

/** Where a command sends it; an absent channel is left alone. */
export interface PositionTarget {
  readonly head?: XyzRpyPose | undefined;
  readonly bodyYaw?: number | undefined;
  readonly antennas?: readonly [number, number] | undefined;
}

export interface AxisTravel {
  readonly axis: SpeedAxis;
  /** Signed travel from present to target, in `unit`. */
  readonly delta: number;
  /** The policy's limit for the axis, in `unit` per second. */
  readonly limit: number;
  readonly unit: 'deg/s' | 'mm/s';
}

const HEAD_TRANSLATION = [['head_x_mm', 'x'], ['head_y_mm', 'y'], ['head_z_mm', 'z']] as const;
const HEAD_ROTATION = [['head_roll_deg', 'roll'], ['head_pitch_deg', 'pitch'], ['head_yaw_deg', 'yaw']] as const;

/** Per-axis travel of every channel the target sets (the daemon interpolates roll/pitch/yaw and x/y/z each as a scalar). */
export function axisTravels(present: RobotPosition, target: PositionTarget, speed: SpeedLimits): AxisTravel[] {
  const out: AxisTravel[] = [];
  const { head } = target;
  if (head) {
    for (const [axis, key] of HEAD_TRANSLATION) out.push({ axis, delta: (head[key] - present.head[key]) * 1000, limit: speed.head_translation_mm_per_s, unit: 'mm/s' });
    for (const [axis, key] of HEAD_ROTATION) out.push({ axis, delta: radToDeg(head[key] - present.head[key]), limit: speed.head_deg_per_s, unit: 'deg/s' });
  }
  if (target.bodyYaw !== undefined) out.push({ axis: 'body_yaw_deg', delta: radToDeg(target.bodyYaw - present.bodyYaw), limit: speed.body_deg_per_s, unit: 'deg/s' });
  if (target.antennas) {
    out.push({ axis: 'antenna_right_deg', delta: radToDeg(target.antennas[0] - present.antennas[0]), limit: speed.antenna_deg_per_s, unit: 'deg/s' });
    out.push({ axis: 'antenna_left_deg', delta: radToDeg(target.antennas[1] - present.antennas[1]), limit: speed.antenna_deg_per_s, unit: 'deg/s' });
  }
  return out;
}

/** The axis that exceeds its limit the most, with its peak speed and the shortest duration for all axes. */
export interface SpeedExcess {
  readonly axis: SpeedAxis;
  readonly peakSpeed: number;
  readonly limit: number;
  readonly unit: 'deg/s' | 'mm/s';
  /** The shortest duration (whole ms, rounded up) at which every axis stays within its limit. */
  readonly shortestDurationS: number;
}

/**
 * The peak factor a goto under `method` is assumed to reach: the REST goto route of the daemon
 * ignores `interpolation` and runs min-jerk (reachy-daemon-api.md §11.1), so the steeper of the
 * requested law and min-jerk.
 */
function gotoPeakFactor(method: InterpolationMethod): number {
  return Math.max(peakSpeedFactor(method), peakSpeedFactor('minjerk'));
}

/**
 * A goto of `durationS` under `method` peaks at factor × |delta| / duration on each axis
 * (`gotoPeakFactor`). Null when every axis is within its limit.
 */
export function gotoExcess(travels: ReadonlyArray<AxisTravel>, durationS: number, method: InterpolationMethod): SpeedExcess | null {
  const factor = gotoPeakFactor(method);
  let worst: AxisTravel | null = null;
  let shortest = 0;
  for (const t of travels) {
    const distance = Math.abs(t.delta);
    if (distance < NEGLIGIBLE) continue;
    const needed = (factor * distance) / t.limit;
    if (needed > shortest) {
      shortest = needed;
      worst = t;
    }
  }
  if (!worst || shortest <= durationS) return null;
  return {
    axis: worst.axis,
    peakSpeed: (factor * Math.abs(worst.delta)) / durationS,
    limit: worst.limit,
    unit: worst.unit,
    shortestDurationS: Math.ceil(shortest * DURATION_STEPS_PER_S - ROUNDING_NOISE) / DURATION_STEPS_PER_S,
  };
}

/** The peak speed a goto as sent reaches on one axis it moves, in the policy's unit. */
export interface PlannedPeak {
  readonly axis: SpeedAxis;
  readonly peak_speed: number;
  readonly unit: 'deg/s' | 'mm/s';
}

/** Each axis a goto of `durationS` under `method` moves, with the peak speed it reaches there (as `gotoExcess` reckons it). */
export function gotoPeaks(travels: ReadonlyArray<AxisTravel>, durationS: number, method: InterpolationMethod): PlannedPeak[] {
  const factor = gotoPeakFactor(method);
  return travels.filter((t) => Math.abs(t.delta) >= NEGLIGIBLE).map((t) => ({ axis: t.axis, peak_speed: (factor * Math.abs(t.delta)) / durationS, unit: t.unit }));
}

/**
 * Relative float noise tolerated when a planned peak is compared with a limit set later: a goto
 * stretched to its limit peaks there up to the rounding of its duration to whole ms (less than
 * ROUNDING_NOISE s, a relative 1e-9 even for a 1 ms goto); the same limit set again must not stop it.
 */
export const PEAK_NOISE = 1e-6;

/** The policy's field that limits `axis`. */
export function limitFieldOf(axis: SpeedAxis): 'head_translation_mm_per_s' | 'head_deg_per_s' | 'body_deg_per_s' | 'antenna_deg_per_s' {
  if (axis === 'head_x_mm' || axis === 'head_y_mm' || axis === 'head_z_mm') return 'head_translation_mm_per_s';
  if (axis === 'body_yaw_deg') return 'body_deg_per_s';
  if (axis === 'antenna_right_deg' || axis === 'antenna_left_deg') return 'antenna_deg_per_s';
  return 'head_deg_per_s';
}

/** The limit `speed` sets on `axis`, in `unit` per second. */
export function axisLimit(axis: SpeedAxis, speed: SpeedLimits): number {
  return speed[limitFieldOf(axis)];
}

/** A planned peak above a limit: the axis, its peak and the limit now in force. */
export interface PeakExcess extends PlannedPeak {
  readonly limit: number;
}

/** The planned peak farthest above its limit under `speed` (relative to the limit), or null when every one is within. */
export function peakExcess(peaks: ReadonlyArray<PlannedPeak>, speed: SpeedLimits): PeakExcess | null {
  let worst: PeakExcess | null = null;
  for (const p of peaks) {
    const limit = axisLimit(p.axis, speed);
    if (p.peak_speed <= limit * (1 + PEAK_NOISE)) continue;
    if (!worst || p.peak_speed / limit > worst.peak_speed / worst.limit) worst = { ...p, limit };
  }
  return worst;
}

/** Travel allowed on an axis in one ramp step. */
export function stepSize(limit: number): number {
  return limit * (DAEMON_TICK_MS / 1000) * STEP_FRACTION;
}

/**
 * A realtime target farther than one step from the present pose on some axis: the axis that
 * overshoots the most, the speed the jump would ask for in one tick, and how long a ramp of one
 * step per `stepPeriodMs` takes.
 * Null when the target is within one step on every axis (it is sent as is).
 */
export function realtimeExcess(travels: ReadonlyArray<AxisTravel>, stepPeriodMs: number = DAEMON_TICK_MS): SpeedExcess | null {
  let worst: AxisTravel | null = null;
  let worstRatio = 1;
  for (const t of travels) {
    const ratio = Math.abs(t.delta) / stepSize(t.limit);
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worst = t;
    }
  }
  if (!worst) return null;
  return {
    axis: worst.axis,
    peakSpeed: Math.abs(worst.delta) / (DAEMON_TICK_MS / 1000),
    limit: worst.limit,
    unit: worst.unit,
    shortestDurationS: (Math.ceil(worstRatio - ROUNDING_NOISE) * stepPeriodMs) / 1000,
  };
}

/**
 * One axis stepped toward `goal`: within `step` of the observed `present` and, when we sent a target
 * on this channel a moment ago (`recent`), within `step` of it too — the daemon may hold it already.
 */
function toward(present: number, goal: number, step: number, recent: number | undefined): number {
  let lo = present - step;
  let hi = present + step;
  if (recent !== undefined) {
    lo = Math.max(lo, recent - step);
    hi = Math.min(hi, recent + step);
    // Only if our own targets were more than two steps apart (not sent by this code): meet halfway.
    if (lo > hi) return (present + recent) / 2;
  }
  return Math.min(hi, Math.max(lo, goal));
}

const HEAD_KEYS = ['x', 'y', 'z', 'roll', 'pitch', 'yaw'] as const;

/**
 * A body target stepped toward `goal`: the goal itself once the body the daemon would turn to for it
 * — pulled within 65° of the head the daemon holds (the observed one and, when one was just sent,
 * the recent head target) — is within a step of the observed body and of where the recent body
 * target puts it: the head keeps the body short of the goal, so the daemon may hold the goal now
 * (the body turns on toward it as the head allows, checked with each head command) and the ramp
 * ends instead of stepping a target the body cannot follow until its deadline. Else one step (`toward`).
 */
function bodyToward(present: RobotPosition, goal: number, step: number, recent: PositionTarget): number {
  const heads = [present.head, ...(recent.head ? [recent.head] : [])].map(poseFromXyzRpy);
  const near = heads.every((h) => {
    const end = resolveBodyYaw(h, goal);
    return Math.abs(end - present.bodyYaw) <= step && (recent.bodyYaw === undefined || Math.abs(end - resolveBodyYaw(h, recent.bodyYaw)) <= step);
  });
  return near ? goal : toward(present.bodyYaw, goal, step, recent.bodyYaw);
}

/**
 * Halvings locating how far a head step may go before the body the daemon pulls along moves more
 * than its own step: 16 resolve 1/65536 of the step, far below a thousandth of a degree.
 */
const PULL_BISECTION_STEPS = 16;

/**
 * A head step shortened so the body the daemon pulls along (within 65° of the head's yaw,
 * src/robot/body-follow.ts) moves at most `step` from where the head now holds it — the observed
 * head and, when one was just sent, the recent head target: a pulled body turns as fast as the
 * head's yaw, which may be above the body's limit, or swings back toward the body target the daemon
 * holds once the head allows (`heldBodiesOf`).
 */
function pulledBodyWithinStep(present: RobotPosition, head: XyzRpyPose, step: number, recentHead: XyzRpyPose | undefined): XyzRpyPose {
  const helds = heldBodiesOf(present);
  // Per body target the daemon may hold, where the head puts the body: each must stay within a step.
  const bodiesFor = (h: XyzRpyPose): number[] => {
    const pose = poseFromXyzRpy(h);
    return helds.map((held) => resolveBodyYaw(pose, held));
  };
  const now = bodiesFor(present.head);
  const from = [now, ...(recentHead ? [bodiesFor(recentHead)] : [])];
  const at = (f: number): XyzRpyPose => Object.fromEntries(HEAD_KEYS.map((k) => [k, present.head[k] + (head[k] - present.head[k]) * f])) as unknown as XyzRpyPose;
  const within = (a: number[], b: number[]): boolean => a.every((v, i) => Math.abs(v - (b[i] as number)) <= step);
  // A recent target the observation does not reach within a step (only sent by other code) is not held to.
  const anchors = from.every((b) => within(now, b)) ? from : from.slice(0, 1);
  const fits = (h: XyzRpyPose): boolean => {
    const bodies = bodiesFor(h);
    return anchors.every((b) => within(bodies, b));
  };
  if (fits(head)) return head;
  let [lo, hi] = [0, 1];
  for (let i = 0; i < PULL_BISECTION_STEPS; i++) {
    const mid = (lo + hi) / 2;
    if (fits(at(mid))) lo = mid;
    else hi = mid;
  }
  return at(lo);
}

/**
 * The next ramp target: each axis of each channel the goal sets moved from the OBSERVED present
 * toward the goal by at most one step. Computed from the observation, not from the last step sent,
 * so two steps landing in one daemon tick still change the pose by at most one step; a head step
 * is shortened further when the daemon would pull the body along more than a body step.
 * `reached`: the step is the goal itself (a target within one step on every axis is sent as is).
 */
export function rampStep(present: RobotPosition, goal: PositionTarget, speed: SpeedLimits, recent: PositionTarget = {}): { next: PositionTarget; reached: boolean } {
  const rot = degToRad(stepSize(speed.head_deg_per_s));
  const tr = stepSize(speed.head_translation_mm_per_s) / 1000;
  const body = degToRad(stepSize(speed.body_deg_per_s));
  const ant = degToRad(stepSize(speed.antenna_deg_per_s));
  const g = goal.head;
  const stepped = g ? (Object.fromEntries(HEAD_KEYS.map((k) => [k, toward(present.head[k], g[k], k === 'x' || k === 'y' || k === 'z' ? tr : rot, recent.head?.[k])])) as unknown as XyzRpyPose) : undefined;
  // A head target leaves the body to the daemon, which pulls it along: at most a body step per tick.
  const head = stepped && goal.bodyYaw === undefined ? pulledBodyWithinStep(present, stepped, body, recent.head) : stepped;
  const bodyYaw = goal.bodyYaw !== undefined ? bodyToward(present, goal.bodyYaw, body, recent) : undefined;
  const antennas = goal.antennas
    ? ([toward(present.antennas[0], goal.antennas[0], ant, recent.antennas?.[0]), toward(present.antennas[1], goal.antennas[1], ant, recent.antennas?.[1])] as const)
    : undefined;
  const reached =
    (!g || !head || HEAD_KEYS.every((k) => head[k] === g[k])) &&
    bodyYaw === goal.bodyYaw &&
    (!goal.antennas || !antennas || (antennas[0] === goal.antennas[0] && antennas[1] === goal.antennas[1]));
  return { next: { head, bodyYaw, antennas }, reached };
}

/** A head pose for the daemon's commands (flat row-major 4×4). */
export function headMatrix(head: XyzRpyPose): Mat4 {
  return poseFromXyzRpy(head);
}
