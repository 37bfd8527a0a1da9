// The poses the daemon's own sequences send the robot to, in the envelope's axes (README
// "Envelope"; reachy-daemon-api.md §7): `wake_up` goes to the init pose, rolls the head 20° and
// back; `goto_sleep` may first lift to the init pose, then folds to the sleep pose. Every goto of
// both recentres the body to 0°. Owns the conversion of the daemon's named poses
// (src/robot/daemon-poses.ts) into axis values; not the check (src/safety/envelope-check.ts) nor
// the sequences' speed (sequence-speed.ts).
import { INIT_ANTENNAS, INIT_HEAD_POSE, SEQUENCE_BODY_YAW, SLEEP_ANTENNAS, SLEEP_HEAD_POSE, WAKE_UP_ROLL_RAD, type Antennas } from '../robot/daemon-poses.ts';
import { composePose, type Mat4, orthonormalizePose, radToDeg, rotationFromRpy, xyzRpyFromPose } from '../robot/pose-math.ts';
import type { EnvelopeAxis } from './safety-policy.ts';

export type SequencePose = Readonly<Partial<Record<EnvelopeAxis, number>>>;
export type SequenceKind = 'wake_up' | 'goto_sleep';

/** The pose's axis values, rounded to 0.1 (mm, °): the daemon's constants carry three decimals. */
function axesOf(head: Mat4, antennas: Antennas | null): SequencePose {
  const p = xyzRpyFromPose(orthonormalizePose(head));
  const tenth = (n: number): number => Math.round(n * 10) / 10 + 0;
  const out: Partial<Record<EnvelopeAxis, number>> = {
    head_x_mm: tenth(p.x * 1000), head_y_mm: tenth(p.y * 1000), head_z_mm: tenth(p.z * 1000),
    head_roll_deg: tenth(radToDeg(p.roll)), head_pitch_deg: tenth(radToDeg(p.pitch)), head_yaw_deg: tenth(radToDeg(p.yaw)),
    body_yaw_deg: tenth(radToDeg(SEQUENCE_BODY_YAW)),
  };
  // Antennas are `[right, left]` on the wire (daemon-api §5).
  if (antennas) Object.assign(out, { antenna_right_deg: tenth(radToDeg(antennas[0])), antenna_left_deg: tenth(radToDeg(antennas[1])) });
  return Object.freeze(out);
}

const INIT = axesOf(INIT_HEAD_POSE, INIT_ANTENNAS);
/** The emote's goto names no antennas: they stay at the init pose's. */
const ROLLED = axesOf(composePose(rotationFromRpy(WAKE_UP_ROLL_RAD, 0, 0), [0, 0, 0]), null);
const SLEEP = axesOf(SLEEP_HEAD_POSE, SLEEP_ANTENNAS);

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
