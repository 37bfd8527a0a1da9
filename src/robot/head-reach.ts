// Where the head is, as a caller reads it: the daemon's head pose (metres, radians) in the units
// look_at_world and goto_pose take (roll/pitch/yaw degrees, x_mm/y_mm/z_mm), for the answers of
// motion that did not get where it was sent (motion.machine.ts). Pure maths over pose-math.ts;
// decides nothing.
import { radToDeg, type XyzRpyPose } from './pose-math.ts';

/** A head pose in the callers' units, rounded to what a servo can tell apart. */
export interface HeadPoseView {
  readonly roll: number;
  readonly pitch: number;
  readonly yaw: number;
  readonly x_mm: number;
  readonly y_mm: number;
  readonly z_mm: number;
}

/** One decimal: a tenth of a degree or of a millimetre, about one encoder tick (0.088°). */
const round1 = (value: number): number => Math.round(value * 10) / 10;

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
