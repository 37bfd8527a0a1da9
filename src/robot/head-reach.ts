// Where the head is against where a command sent it: the daemon's head pose (metres, radians) in
// the units look_at_world and goto_pose take (roll/pitch/yaw degrees, x_mm/y_mm/z_mm), the head goal
// a motion command carries, and whether the head got there within the daemon's tracking error at
// rest — for the answers of motion that did not get where it was sent (motion.machine.ts; the
// daemon drops a head pose its kinematics cannot reach without a word, daemon-api §6 item 3, §11
// item 6). Pure maths over pose-math.ts; decides nothing.
import { angleBetween, poseFromXyzRpy, radToDeg, rotationOf, translationOf, xyzRpyFromPose, type Mat4, type XyzRpyPose } from './pose-math.ts';

/**
 * A head further than this from its goal (the rotation between them) did not get there. The daemon
 * reports the pose by forward kinematics of the present joints: the emulator and the mockup copy
 * targets to the joints exactly, and a servo at rest sits within a few encoder ticks (0.088° each)
 * of its goal, a few tenths of a degree through the Stewart platform. A dropped pose leaves the head
 * where the last reachable target put it — tens of degrees off in the review's case (12° of 45°).
 */
export const HEAD_REACH_TOLERANCE_DEG = 2;
/** The same for the head's translation: a few tenths of a millimetre at rest, against tens for a dropped pose. */
export const HEAD_REACH_TOLERANCE_MM = 3;

/** A head pose in the callers' units, rounded to what a servo can tell apart. */
export interface HeadPoseView {
  readonly roll: number;
  readonly pitch: number;
  readonly yaw: number;
  readonly x_mm: number;
  readonly y_mm: number;
  readonly z_mm: number;
}

/** One decimal: a tenth of a degree or of a millimetre, about one encoder tick (0.088°); never -0. */
const round1 = (value: number): number => Math.round(value * 10) / 10 || 0;

export function headPoseView(head: XyzRpyPose): HeadPoseView {
  return {
    roll: round1(radToDeg(head.roll)),
    pitch: round1(radToDeg(head.pitch)),
    yaw: round1(radToDeg(head.yaw)),
    x_mm: round1(head.x * 1000),
    y_mm: round1(head.y * 1000),
    z_mm: round1(head.z * 1000),
  };
}

/**
 * The head pose a motion command ends at (flat 4×4), or null when it sets none the driver chose
 * (a goto or realtime target without a head, a recorded move, wake_up / goto_sleep, a motor mode):
 * a goto's `head_pose`, a realtime target's `head`, an expression's last step's.
 */
export function headGoalOf(command: Record<string, unknown>): Mat4 | null {
  if (command.op === 'sequence') {
    const last = (command.steps as ReadonlyArray<Record<string, unknown>> | undefined)?.at(-1);
    return last ? headGoalOf({ op: 'goto', ...last }) : null;
  }
  if (command.op === 'goto') return (command.head_pose as { m?: Mat4 } | undefined)?.m ?? null;
  if (command.op === 'head_target') return (command.head as Mat4 | undefined) ?? null;
  return null;
}

/** How far the head is from its goal: null within the tolerances, else both poses and the offsets. */
export interface OffTarget {
  readonly reached: HeadPoseView;
  readonly target: HeadPoseView;
  readonly rotationDeg: number;
  readonly translationMm: number;
}

export function offTarget(head: XyzRpyPose, goal: Mat4): OffTarget | null {
  const present = poseFromXyzRpy(head);
  const rotationDeg = radToDeg(angleBetween(rotationOf(present), rotationOf(goal)));
  const [px, py, pz] = translationOf(present);
  const [gx, gy, gz] = translationOf(goal);
  const translationMm = Math.hypot(px - gx, py - gy, pz - gz) * 1000;
  if (rotationDeg <= HEAD_REACH_TOLERANCE_DEG && translationMm <= HEAD_REACH_TOLERANCE_MM) return null;
  return { reached: headPoseView(head), target: headPoseView(xyzRpyFromPose(goal)), rotationDeg: round1(rotationDeg), translationMm: round1(translationMm) };
}
