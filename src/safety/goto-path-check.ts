// The envelope check of a goto's whole path (README "Safety envelope"): a goto's target inside the
// envelope is not enough when its time law overshoots (cartoon swings ~10 % of the travel past each
// end) or the daemon's rotation interpolation bulges past both ends. From the present pose read right
// before the write (motion-executor.ts `#goto`), the path is sampled with the daemon's own
// interpolation (src/robot/goto-path.ts) under the requested law and min-jerk (the daemon's REST goto
// runs min-jerk whatever is asked, daemon-api §11.1; a daemon may honour it). Pure. Does not check
// the target itself (envelope-check.ts, at the gate) nor speeds (speed-limits.ts).
import { OutsideEnvelope } from '../errors.ts';
import { interpolatePose, lerp } from '../robot/goto-path.ts';
import { poseFromXyzRpy, radToDeg, xyzRpyFromPose, type Mat4 } from '../robot/pose-math.ts';
import { INTERPOLATION_METHODS, progressRange, type InterpolationMethod } from '../robot/time-laws.ts';
import type { EnvelopeViolation } from './envelope-check.ts';
import type { Envelope, EnvelopeAxis } from './safety-policy.ts';
import type { PositionTarget, RobotPosition } from './speed-limits.ts';

/**
 * Points of the progress range where the path is read. Translation, yaw and the joints are linear
 * in progress (their extremes are the range's ends, always sampled); roll and pitch follow a
 * geodesic whose bulge is smooth and within a few degrees, so 64 steps place it well within a
 * thousandth of a degree.
 */
const PATH_SAMPLES = 64;
/** Float noise of the matrix round trip (degrees and millimetres): a point this close to its bound is inside. */
const PATH_EPSILON = 1e-3;
/** The law the daemon's REST goto runs whatever `interpolation` asks (daemon-api §11.1). */
const REST_LAW: InterpolationMethod = 'minjerk';

type AxisValues = Partial<Record<EnvelopeAxis, number>>;

/** The envelope axes of a pose (degrees, millimetres) for the channels the goto moves. */
function axesOf(head: Mat4 | null, bodyYaw: number | null, antennas: readonly [number, number] | null): AxisValues {
  const out: AxisValues = {};
  if (head) {
    const p = xyzRpyFromPose(head);
    Object.assign(out, { head_x_mm: p.x * 1000, head_y_mm: p.y * 1000, head_z_mm: p.z * 1000, head_roll_deg: radToDeg(p.roll), head_pitch_deg: radToDeg(p.pitch), head_yaw_deg: radToDeg(p.yaw) });
  }
  if (bodyYaw !== null) out.body_yaw_deg = radToDeg(bodyYaw);
  if (antennas) Object.assign(out, { antenna_right_deg: radToDeg(antennas[0]), antenna_left_deg: radToDeg(antennas[1]) });
  return out;
}

/** The path's pose at progress `s` on the channels the goto moves (an absent channel stays where it is). */
function pointAt(present: RobotPosition, target: PositionTarget, s: number): AxisValues {
  const head = target.head ? interpolatePose(poseFromXyzRpy(present.head), poseFromXyzRpy(target.head), s) : null;
  const bodyYaw = target.bodyYaw === undefined ? null : lerp(present.bodyYaw, target.bodyYaw, s);
  const antennas = target.antennas ? ([lerp(present.antennas[0], target.antennas[0], s), lerp(present.antennas[1], target.antennas[1], s)] as const) : null;
  return axesOf(head, bodyYaw, antennas);
}

/**
 * The points of `method`'s path outside `envelope` AND beyond both of its ends on that axis (the
 * farthest per axis). A path from a pose outside a narrowed envelope back towards it is not refused
 * for where it starts: only for going past where it starts or ends.
 */
export function pathViolations(envelope: Envelope, present: RobotPosition, target: PositionTarget, method: InterpolationMethod): EnvelopeViolation[] {
  const { min, max } = progressRange(method);
  const [start, end] = [pointAt(present, target, 0), pointAt(present, target, 1)];
  const worst = new Map<EnvelopeAxis, EnvelopeViolation & { beyond: number }>();
  for (let i = 0; i <= PATH_SAMPLES; i++) {
    const point = pointAt(present, target, min + ((max - min) * i) / PATH_SAMPLES);
    for (const [axis, value] of Object.entries(point) as Array<[EnvelopeAxis, number]>) {
      const [a, b] = [start[axis] as number, end[axis] as number];
      const bound = envelope[axis];
      const past = Math.max(value - Math.max(a, b, bound.max), Math.min(a, b, bound.min) - value);
      if (past > PATH_EPSILON && past > (worst.get(axis)?.beyond ?? 0)) worst.set(axis, { axis, value, min: bound.min, max: bound.max, beyond: past });
    }
  }
  return [...worst.values()].map(({ beyond: _beyond, ...v }) => v);
}

function rounded(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * The OutsideEnvelope refusal of a goto whose path leaves the envelope (null when it stays inside):
 * under `method`, and under min-jerk, which the daemon's REST goto runs whatever is asked. The message
 * names the laws whose path stays inside from this pose.
 */
export function gotoPathRefusal(envelope: Envelope, fn: string, present: RobotPosition, target: PositionTarget, method: InterpolationMethod): OutsideEnvelope | null {
  // Each law's path is sampled once (the default law is min-jerk itself: once in all).
  for (const law of method === REST_LAW ? [method] : [method, REST_LAW]) {
    const violations = pathViolations(envelope, present, target, law);
    if (violations.length > 0) return overshootRefusal(envelope, fn, present, target, law, violations);
  }
  return null;
}

/** The refusal of a path that leaves the envelope under `law`, naming the laws whose path stays inside. */
function overshootRefusal(envelope: Envelope, fn: string, present: RobotPosition, target: PositionTarget, law: InterpolationMethod, violations: EnvelopeViolation[]): OutsideEnvelope {
  const inside = INTERPOLATION_METHODS.filter((m) => pathViolations(envelope, present, target, m).length === 0);
  const text = violations.map((v) => `${v.axis} reaches ${rounded(v.value)}, outside [${rounded(v.min)}, ${rounded(v.max)}]`).join('; ');
  const hint = inside.length > 0 ? `${inside.join(', ')} ${inside.length === 1 ? 'stays' : 'stay'} inside from this pose` : 'no interpolation stays inside from this pose: move in two steps';
  return new OutsideEnvelope({
    message: `${fn}: the ${law} path from the present pose overshoots the operator's safety envelope: ${text} (${hint}; see get_safety_policy)`,
    envelope: JSON.parse(JSON.stringify(envelope)) as OutsideEnvelope['envelope'],
    violations: violations.map((v) => ({ ...v })),
  });
}
