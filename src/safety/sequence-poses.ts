// The poses the daemon's own sequences send the robot to, in the envelope's axes (README
// "Envelope"; reachy-daemon-api.md §7): `wake_up` goes to the init pose, rolls the head 20° and
// back; `goto_sleep` may first lift to the init pose, then folds to the sleep pose. Every goto of
// both recentres the body to 0°. Owns those goals, from the daemon's named poses
// (src/robot/daemon-poses.ts), and their axis values; not the check (src/safety/envelope-check.ts)
// nor the sequences' speed (sequence-speed.ts, which reads the goals here).
import { INIT_ANTENNAS, INIT_HEAD_POSE, SEQUENCE_BODY_YAW, SLEEP_ANTENNAS, SLEEP_HEAD_POSE, WAKE_UP_ROLLED_HEAD_POSE } from '../robot/daemon-poses.ts';
import { orthonormalizePose, radToDeg, xyzRpyFromPose } from '../robot/pose-math.ts';
import type { EnvelopeAxis } from './safety-policy.ts';
import type { PositionTarget, RobotPosition } from './speed-limits.ts';

export type SequencePose = Readonly<Partial<Record<EnvelopeAxis, number>>>;
export type SequenceKind = 'wake_up' | 'goto_sleep';

/** Where the sequences' gotos go (metres, radians; the sleep pose as written is not quite orthonormal). The init pose is whole: the emote starts there. */
export const INIT_TARGET: RobotPosition = Object.freeze({ head: xyzRpyFromPose(INIT_HEAD_POSE), antennas: INIT_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW });
/** The emote's goto names no antennas: they stay at the init pose's. */
export const ROLLED_TARGET: PositionTarget = Object.freeze({ head: xyzRpyFromPose(WAKE_UP_ROLLED_HEAD_POSE), bodyYaw: SEQUENCE_BODY_YAW });
export const SLEEP_TARGET: PositionTarget = Object.freeze({ head: xyzRpyFromPose(orthonormalizePose(SLEEP_HEAD_POSE)), antennas: SLEEP_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW });

/** A target's axis values, rounded to 0.1 (mm, °): the daemon's constants carry three decimals. */
function axesOf({ head, antennas, bodyYaw }: PositionTarget): SequencePose {
  const tenth = (n: number): number => Math.round(n * 10) / 10 + 0;
  const out: Partial<Record<EnvelopeAxis, number>> = {};
  if (head) {
    Object.assign(out, {
      head_x_mm: tenth(head.x * 1000), head_y_mm: tenth(head.y * 1000), head_z_mm: tenth(head.z * 1000),
      head_roll_deg: tenth(radToDeg(head.roll)), head_pitch_deg: tenth(radToDeg(head.pitch)), head_yaw_deg: tenth(radToDeg(head.yaw)),
    });
  }
  if (bodyYaw !== undefined) out.body_yaw_deg = tenth(radToDeg(bodyYaw));
  // Antennas are `[right, left]` on the wire (daemon-api §5).
  if (antennas) Object.assign(out, { antenna_right_deg: tenth(radToDeg(antennas[0])), antenna_left_deg: tenth(radToDeg(antennas[1])) });
  return Object.freeze(out);
}

const INIT = axesOf(INIT_TARGET);
const ROLLED = axesOf(ROLLED_TARGET);
const SLEEP = axesOf(SLEEP_TARGET);

/**
 * Every pose a sequence's gotos may end at. `goto_sleep` lifts to init first only when the head is
 * far from it (the daemon decides at its start, from where the head is then): counted always, so
 * the decision does not hang on a pose read that can be a tick old. Gotos between these poses run
 * min-jerk, which does not overshoot: the path stays between its start and its goal on every axis.
 */
export const SEQUENCE_POSES: Readonly<Record<SequenceKind, ReadonlyArray<SequencePose>>> = Object.freeze({
  wake_up: Object.freeze([INIT, ROLLED]),
  goto_sleep: Object.freeze([INIT, SLEEP]),
});

export function isSequenceKind(kind: string): kind is SequenceKind {
  return kind === 'wake_up' || kind === 'goto_sleep';
}
