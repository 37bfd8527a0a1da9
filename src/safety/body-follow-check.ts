// Where the daemon takes the body for a command that may not name it (README "Envelope", "Speed
// limits"; reachy-daemon-api.md §6 item 2): within 65° of the head's world yaw (the emulator's own
// rule, src/robot/body-follow.ts). From the present pose read right before the write, the body's end
// and path are checked as if the command had set them: the envelope (OutsideEnvelope naming
// body_yaw_deg) and the body speed limit (a travel for speed-limits.ts). A goto starts the body from
// its present yaw; a realtime head target pulls it from the body target the daemon holds
// (`heldBodiesOf`: the tracked one, each of a few when only that is known, else the present yaw).
// Pure. Does not check the channels a command sets (envelope-check.ts, goto-path-check.ts).
import { OutsideEnvelope } from '../errors.ts';
import { MAX_BODY_YAW_RAD, MAX_RELATIVE_YAW_RAD, resolveBodyYaw } from '../robot/body-follow.ts';
import { lerp, posePath } from '../robot/goto-path.ts';
import { degToRad, poseFromXyzRpy, radToDeg } from '../robot/pose-math.ts';
import { peakSpeedFactor, progressRange, timeLaw, type InterpolationMethod, type ProgressRange } from '../robot/time-laws.ts';
import type { Envelope, SpeedLimits } from './safety-policy.ts';
import { heldBodiesOf, stepSize, type AxisTravel, type PositionTarget, type RobotPosition } from './speed-limits.ts';

/**
 * Points where a goto's body path is read. The pulled body follows the head's yaw, which is linear
 * in progress, with a kink where the pull begins or ends: 128 steps of a time law whose slope
 * changes smoothly place the path's extremes and its steepest slope within a thousandth (the
 * extremes of a linear stretch are its ends, always read).
 */
const BODY_PATH_SAMPLES = 128;
/** Body motion below this (degrees) is none: float noise of the pose round trip. */
const NO_MOTION_DEG = 1e-3;
/**
 * Above this head tilt the quick bound (a tilt of θ moves the daemon's reading of the head's yaw
 * by at most θ, measured over every axis and yaw up to 80°) is not relied on: the path is read.
 */
const MAX_BOUNDED_TILT = degToRad(60);
/** The law the daemon's REST goto runs whatever `interpolation` asks (daemon-api §11.1). */
const REST_LAW: InterpolationMethod = 'minjerk';

/** A goto's body as the daemon commands it, by progress (radians), and whether it can differ from the commanded one. */
interface BodyPath {
  at(s: number): number;
  /** False when over `progress` the daemon cannot pull the body: it follows the commanded path (or stays). */
  mayPull(progress: ProgressRange): boolean;
}

/**
 * The body yaw the daemon commands along a goto from `present` to `target`: the requested body (the
 * target's, or the present one when the command leaves the body alone) interpolated, then pulled
 * toward the interpolated head (the daemon's goto starts the body from its present yaw, whatever body
 * target it held). A realtime target's end is `realtimeBodyEnd`.
 */
export function bodyPath(present: RobotPosition, target: PositionTarget): BodyPath {
  const start = poseFromXyzRpy(present.head);
  const head = posePath(start, target.head ? poseFromXyzRpy(target.head) : start);
  const requested = (s: number): number => lerp(present.bodyYaw, target.bodyYaw ?? present.bodyYaw, s);
  return {
    at: (s) => resolveBodyYaw(head.at(s), requested(s)),
    mayPull: ({ min, max }) => {
      // The daemon's yaw of a head tilted by θ is within θ of its roll/pitch/yaw yaw (measured up to
      // 80°); the tilt along the path is within the start's plus the part of the turn travelled.
      const tilt = head.tiltStart + Math.max(Math.abs(min), Math.abs(max)) * head.tiltTurn;
      if (tilt > MAX_BOUNDED_TILT) return true;
      const yaws = [lerp(head.yaws[0], head.yaws[1], min), lerp(head.yaws[0], head.yaws[1], max)];
      const bodies = [requested(min), requested(max)];
      const farthest = Math.max(Math.max(...bodies) - Math.min(...yaws), Math.max(...yaws) - Math.min(...bodies)) + tilt;
      return farthest >= MAX_RELATIVE_YAW_RAD || Math.max(...bodies.map(Math.abs)) >= MAX_BODY_YAW_RAD;
    },
  };
}

/** `bodyPath(present, target)` at progress `s`. */
export function bodyYawAt(present: RobotPosition, target: PositionTarget, s: number): number {
  return bodyPath(present, target).at(s);
}

/**
 * Where a realtime target may take the body (radians), one end per body target the daemon may hold:
 * the daemon's IK of the target head (or the head it holds) with the body the target names, else the
 * body target it holds — not the present yaw: after a pull the body goes on toward that target once
 * the head allows.
 */
export function realtimeBodyEnds(present: RobotPosition, target: PositionTarget): number[] {
  const head = poseFromXyzRpy(target.head ?? present.head);
  return target.bodyYaw !== undefined ? [resolveBodyYaw(head, target.bodyYaw)] : heldBodiesOf(present).map((held) => resolveBodyYaw(head, held));
}

/** The end of `realtimeBodyEnds` farthest from the present yaw (the one the checks must allow). */
export function realtimeBodyEnd(present: RobotPosition, target: PositionTarget): number {
  return farthestFrom(present.bodyYaw, realtimeBodyEnds(present, target));
}

function farthestFrom(from: number, values: ReadonlyArray<number>): number {
  return values.reduce((far, v) => (Math.abs(v - from) > Math.abs(far - from) ? v : far));
}

/** Ends closer than this (degrees) to the body target a command names count as on it: float noise. */
const ON_TARGET_DEG = 0.01;

/**
 * A caller's `body_held_short` (README "Envelope"): where the daemon keeps a body that the command
 * names short of its target once the command's head (or the present one) is in place — within 65°
 * of the head's yaw and ±160° — and the head's yaw there. The daemon holds the target and turns the
 * body on toward it as the head allows.
 */
export interface BodyHeldShort {
  readonly body_yaw_deg: number;
  readonly head_yaw_deg: number;
  readonly target_body_yaw_deg: number;
}

/** The command's `body_held_short`, or null when it names no body or the body reaches its target. */
export function bodyHeldShort(present: RobotPosition, target: PositionTarget): BodyHeldShort | null {
  if (target.bodyYaw === undefined) return null;
  const end = radToDeg(realtimeBodyEnd(present, target));
  const asked = radToDeg(target.bodyYaw);
  if (Math.abs(end - asked) <= ON_TARGET_DEG) return null;
  return { body_yaw_deg: rounded(end), head_yaw_deg: rounded(radToDeg((target.head ?? present.head).yaw)), target_body_yaw_deg: rounded(asked) };
}

/** Whether a realtime target's body may end other than as commanded (a head target pulling it or letting it swing back, a body target clamped). */
function pulls(present: RobotPosition, target: PositionTarget): boolean {
  const asked = radToDeg(target.bodyYaw ?? present.bodyYaw);
  return realtimeBodyEnds(present, target).some((end) => Math.abs(radToDeg(end) - asked) > NO_MOTION_DEG);
}

/** The goto laws whose path is read: `method`, and min-jerk, which the daemon's REST goto runs whatever is asked. */
function lawsOf(method: InterpolationMethod): InterpolationMethod[] {
  return method === REST_LAW ? [method] : [method, REST_LAW];
}

/** The progress range covering every law's. */
function widest(laws: ReadonlyArray<InterpolationMethod>): ProgressRange {
  const ranges = laws.map(progressRange);
  return { min: Math.min(...ranges.map((r) => r.min)), max: Math.max(...ranges.map((r) => r.max)) };
}

function rounded(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * OutsideEnvelope when the daemon would pull the body outside the body envelope: to its end (a body
 * that moves and ends outside, as if the command had set it there — a realtime head target letting
 * it swing back toward the body target the daemon holds included), or along a goto's path under
 * `method` and min-jerk beyond both ends (`method` null: a realtime target, the end only). A body the
 * command sets and the daemon does not pull is the gate's (envelope-check.ts): its end was checked there.
 */
export function pulledBodyRefusal(envelope: Envelope, fn: string, present: RobotPosition, target: PositionTarget, method: InterpolationMethod | null): OutsideEnvelope | null {
  if (!target.head && target.bodyYaw === undefined) return null;
  if (method === null && !pulls(present, target)) return null;
  const { min, max } = envelope.body_yaw_deg;
  const path = bodyPath(present, target);
  const laws = method === null ? [] : lawsOf(method);
  if (method !== null && !path.mayPull(widest(laws))) return null;
  const from = radToDeg(present.bodyYaw);
  const outside = (v: number): boolean => v < min - NO_MOTION_DEG || v > max + NO_MOTION_DEG;
  // A realtime target's ends (one per body target the daemon may hold): any that moves the body outside refuses it.
  const ends = method === null ? realtimeBodyEnds(present, target).map(radToDeg) : [radToDeg(path.at(1))];
  const leaving = ends.filter((end) => Math.abs(end - from) > NO_MOTION_DEG && outside(end));
  const pastEnvelope = (v: number): number => Math.max(v - max, min - v);
  let worst: number | null = leaving.length > 0 ? leaving.reduce((a, b) => (pastEnvelope(b) > pastEnvelope(a) ? b : a)) : null;
  // A goto's path (one end) beyond it and its start.
  const to = ends[0] as number;
  // The path: the point farthest past both ends and the envelope, under each law read.
  let farthest = NO_MOTION_DEG;
  for (const law of laws) {
    const range = progressRange(law);
    for (let i = 0; i <= BODY_PATH_SAMPLES; i++) {
      const v = radToDeg(path.at(range.min + ((range.max - range.min) * i) / BODY_PATH_SAMPLES));
      const past = Math.max(v - Math.max(from, to, max), Math.min(from, to, min) - v);
      if (past > farthest) [farthest, worst] = [past, v];
    }
  }
  if (worst === null) return null;
  return new OutsideEnvelope({
    message: `${fn}: the daemon would pull the body to body_yaw_deg ${rounded(worst)} (it keeps the body within 65° of the head's yaw, and turns it toward the body target it holds once the head allows), outside [${rounded(min)}, ${rounded(max)}] (the operator's safety envelope; turn the body first with set_body_yaw, or keep the head nearer the body; see get_safety_policy)`,
    envelope: JSON.parse(JSON.stringify(envelope)) as OutsideEnvelope['envelope'],
    violations: [{ axis: 'body_yaw_deg', value: worst, min, max }],
  });
}

/** Steepest slope (degrees per unit of normalised time) of a body path under `law`. */
function peakSlope(path: BodyPath, law: InterpolationMethod): number {
  let peak = 0;
  let previous = radToDeg(path.at(timeLaw(0, law)));
  for (let i = 1; i <= BODY_PATH_SAMPLES; i++) {
    const value = radToDeg(path.at(timeLaw(i / BODY_PATH_SAMPLES, law)));
    peak = Math.max(peak, Math.abs(value - previous) * BODY_PATH_SAMPLES);
    previous = value;
  }
  return peak;
}

/**
 * The body's travel where the daemon pulls it (none when it does not), for the speed limits: a
 * realtime target (`method` null) moves it from the present yaw to the pulled one; a goto's body
 * follows the head, as fast as the head's yaw where it is pulled, so its travel is given as the
 * distance whose peak under the goto's law (speed-limits.ts `gotoExcess`: the steeper of `method` and
 * min-jerk) equals the steepest slope of the pulled path under either — the shortest duration and
 * the peak speed speed-limits.ts derives from it are the body's own.
 */
export function pulledBodyTravel(present: RobotPosition, target: PositionTarget, speed: SpeedLimits, method: InterpolationMethod | null): AxisTravel | null {
  if (!target.head && target.bodyYaw === undefined) return null;
  if (method === null && !pulls(present, target)) return null;
  const travel = (delta: number): AxisTravel => ({ axis: 'body_yaw_deg', delta, limit: speed.body_deg_per_s, unit: 'deg/s' });
  if (method === null) return travel(radToDeg(realtimeBodyEnd(present, target) - present.bodyYaw));
  const path = bodyPath(present, target);
  const end = radToDeg(path.at(1) - present.bodyYaw);
  const laws = lawsOf(method);
  if (!path.mayPull(widest(laws))) return null;
  const slope = Math.max(...laws.map((law) => peakSlope(path, law)));
  const factor = Math.max(...laws.map((law) => peakSpeedFactor(law)));
  return travel(Math.sign(end || 1) * (slope / factor));
}

/**
 * How long the ramp of a head target takes when the daemon pulls the body along (0 when it does
 * not): the head's yaw turns a head step per tick until the pull begins, then at most a body step
 * (speed-limits.ts `rampStep`), one step per `stepPeriodMs`.
 */
export function pulledRampSeconds(present: RobotPosition, goal: PositionTarget, speed: SpeedLimits, stepPeriodMs: number): number {
  if (!goal.head || goal.bodyYaw !== undefined) return 0;
  const pulled = Math.abs(radToDeg(realtimeBodyEnd(present, goal) - present.bodyYaw));
  if (pulled <= NO_MOTION_DEG) return 0;
  const headStep = stepSize(speed.head_deg_per_s);
  const free = Math.max(0, Math.abs(radToDeg(goal.head.yaw - present.head.yaw)) - pulled);
  const ticks = free / headStep + pulled / Math.min(headStep, stepSize(speed.body_deg_per_s));
  return (Math.ceil(ticks) * stepPeriodMs) / 1000;
}
