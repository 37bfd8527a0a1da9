// The speed of the daemon's own sequences (README "Speed limits"; reachy-daemon-api.md §7): the
// gotos `wake_up` and `goto_sleep` run from a present pose, with the daemon's durations and
// thresholds (src/robot/daemon-poses.ts; wake_up's first goto lasts 0.02 s per unit of the head's
// distance and carries the body and the antennas with it), their peak speeds, and the refusal when
// one is above a limit — they cannot be stretched. Pure: the present pose is the caller's reading.
// Not the poses' envelope check (envelope-check.ts) nor the waits between the gotos.
import { TooFast } from '../errors.ts';
import {
  FAR_FROM_INIT_MAGIC, INIT_ANTENNAS, INIT_HEAD_POSE, INIT_TARGET_ATOL, SECONDS_PER_MAGIC_UNIT, SEQUENCE_BODY_YAW, SLEEP_ANTENNAS,
  SLEEP_GOTO_DURATION_S, SLEEP_GOTO_INIT_S, SLEEP_HEAD_POSE, SLEEP_POSE_MAGIC_ATOL, WAKE_UP_ROLL_DURATION_S, WAKE_UP_ROLL_RAD,
} from '../robot/daemon-poses.ts';
import { allClose, composePose, magicDistance, type Mat4, orthonormalizePose, poseFromXyzRpy, rotationFromRpy, xyzRpyFromPose } from '../robot/pose-math.ts';
import { MAX_SPEED_LIMITS, type SpeedLimits } from './safety-policy.ts';
import type { SequenceKind } from './sequence-poses.ts';
import { axisTravels, DAEMON_TICK_MS, gotoPeaks, peakExcess, limitFieldOf, type PlannedPeak, type PositionTarget, type RobotPosition, type SpeedAxis } from './speed-limits.ts';

/**
 * Either side of the daemon's thresholds both choices are counted: it decides from the pose when
 * it starts, a few ms after the driver's reading (a head moving at 200 °/s covers 2 units in 10 ms).
 */
const THRESHOLD_MARGIN_MAGIC = 2;
/** A goto shorter than a daemon tick still takes one: its target is reached at the next tick. */
const SHORTEST_LEG_S = DAEMON_TICK_MS / 1000;

/** One goto of a sequence: from, to (a channel left out stays), duration as the daemon sets it. */
export interface SequenceLeg {
  readonly from: RobotPosition;
  readonly to: PositionTarget;
  readonly durationS: number;
  /** Its start is where the robot is now (the caller can change it), not a pose of the sequence. */
  readonly fromPresent: boolean;
}

const INIT: PositionTarget = { head: xyzRpyFromPose(INIT_HEAD_POSE), antennas: INIT_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW };
const INIT_POSITION: RobotPosition = { head: xyzRpyFromPose(INIT_HEAD_POSE), antennas: INIT_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW };
const ROLLED: PositionTarget = { head: xyzRpyFromPose(composePose(rotationFromRpy(WAKE_UP_ROLL_RAD, 0, 0), [0, 0, 0])), bodyYaw: SEQUENCE_BODY_YAW };
const ROLLED_POSITION: RobotPosition = { ...INIT_POSITION, head: ROLLED.head! };
const SLEEP: PositionTarget = { head: xyzRpyFromPose(orthonormalizePose(SLEEP_HEAD_POSE)), antennas: SLEEP_ANTENNAS, bodyYaw: SEQUENCE_BODY_YAW };

function wakeUpLegs(present: RobotPosition, head: Mat4): SequenceLeg[] {
  if (allClose(head, INIT_HEAD_POSE, INIT_TARGET_ATOL) && allClose(present.antennas, INIT_ANTENNAS, INIT_TARGET_ATOL)) return [];
  return [
    { from: present, to: INIT, durationS: magicDistance(head, INIT_HEAD_POSE) * SECONDS_PER_MAGIC_UNIT, fromPresent: true },
    { from: INIT_POSITION, to: ROLLED, durationS: WAKE_UP_ROLL_DURATION_S, fromPresent: false },
    { from: ROLLED_POSITION, to: { head: INIT.head, bodyYaw: SEQUENCE_BODY_YAW }, durationS: WAKE_UP_ROLL_DURATION_S, fromPresent: false },
  ];
}

function gotoSleepLegs(present: RobotPosition, head: Mat4): SequenceLeg[] {
  if (magicDistance(head, SLEEP_HEAD_POSE) <= SLEEP_POSE_MAGIC_ATOL) return [];
  const fromInit = magicDistance(head, INIT_HEAD_POSE);
  const legs: SequenceLeg[] = [];
  if (fromInit > FAR_FROM_INIT_MAGIC - THRESHOLD_MARGIN_MAGIC) {
    legs.push({ from: present, to: INIT, durationS: SLEEP_GOTO_INIT_S, fromPresent: true }, { from: INIT_POSITION, to: SLEEP, durationS: SLEEP_GOTO_DURATION_S, fromPresent: false });
  }
  if (fromInit <= FAR_FROM_INIT_MAGIC + THRESHOLD_MARGIN_MAGIC) legs.push({ from: present, to: SLEEP, durationS: SLEEP_GOTO_DURATION_S, fromPresent: true });
  return legs;
}

/** The gotos the daemon's `kind` may run from `present` (none when it would move nothing). */
export function sequenceLegs(kind: SequenceKind, present: RobotPosition): SequenceLeg[] {
  const head = poseFromXyzRpy(present.head);
  return kind === 'wake_up' ? wakeUpLegs(present, head) : gotoSleepLegs(present, head);
}

function legPeaks(leg: SequenceLeg, speed: SpeedLimits): PlannedPeak[] {
  return gotoPeaks(axisTravels(leg.from, leg.to, speed), Math.max(leg.durationS, SHORTEST_LEG_S), 'minjerk');
}

/** The highest peak on each axis over the sequence's gotos (what a limit lowered while it runs is checked against). */
export function sequencePeaks(kind: SequenceKind, present: RobotPosition, speed: SpeedLimits): PlannedPeak[] {
  const best = new Map<string, PlannedPeak>();
  for (const leg of sequenceLegs(kind, present)) {
    for (const peak of legPeaks(leg, speed)) if ((best.get(peak.axis)?.peak_speed ?? -1) < peak.peak_speed) best.set(peak.axis, peak);
  }
  return [...best.values()];
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** What the caller can do: bring the robot nearer the sequence's start (when the goto starts where it is), or have the limit raised. */
function remedy(kind: SequenceKind, fromPresent: boolean, axis: SpeedAxis, peak: number): string {
  const field = limitFieldOf(axis);
  const needed = Math.ceil(peak);
  const raise = needed <= MAX_SPEED_LIMITS[field] ? `have speed.${field} raised to at least ${needed} (set_safety_policy)` : `no speed.${field} allows it (at most ${MAX_SPEED_LIMITS[field]})`;
  if (!fromPresent) return `this goto of the sequence is the same from any pose: ${raise}`;
  if (kind === 'goto_sleep') return `bring the robot nearer its init pose first (e.g. goto_pose with the body at 0°), or ${raise}`;
  return `with the motors off, turn the robot by hand nearer its init pose (head centred, body at 0°), or ${raise}`;
}

/** The TooFast refusal of `kind` from `present` under `speed` (null when every goto of it is within the limits). */
export function sequenceSpeedRefusal(kind: SequenceKind, present: RobotPosition, speed: SpeedLimits): TooFast | null {
  for (const leg of sequenceLegs(kind, present)) {
    const excess = peakExcess(legPeaks(leg, speed), speed);
    if (!excess) continue;
    return new TooFast({
      message: `${kind}: the daemon's sequence would move ${excess.axis} at ${round(excess.peak_speed, 1)} ${excess.unit}, above the limit of ${excess.limit} ${excess.unit} (its gotos' durations are the daemon's: they cannot be stretched); ${remedy(kind, leg.fromPresent, excess.axis, excess.peak_speed)}`,
      axis: excess.axis,
      peak_speed: round(excess.peak_speed, 3),
      limit: excess.limit,
      unit: excess.unit,
      shortest_duration_s: null,
    });
  }
  return null;
}
