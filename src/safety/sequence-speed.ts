// The speed of the daemon's own sequences (README "Speed limits"; reachy-daemon-api.md §7): the
// gotos `wake_up` and `goto_sleep` run from a present pose, with the daemon's durations and
// thresholds (src/robot/daemon-poses.ts; wake_up's first goto lasts 0.02 s per unit of the head's
// distance and carries the body and the antennas with it), their peak speeds, and the refusal when
// one is above a limit — they cannot be stretched. Pure: the present pose is the caller's reading.
// Not the poses' envelope check (envelope-check.ts) nor the waits between the gotos.
import { TooFast } from '../errors.ts';
import {
  FAR_FROM_INIT_MAGIC, INIT_ANTENNAS, INIT_HEAD_POSE, INIT_TARGET_ATOL, SECONDS_PER_MAGIC_UNIT, SLEEP_GOTO_DURATION_S,
  SLEEP_GOTO_INIT_S, SLEEP_HEAD_POSE, SLEEP_POSE_MAGIC_ATOL, WAKE_UP_ROLL_DURATION_S,
} from '../robot/daemon-poses.ts';
import { allClose, magicDistance, type Mat4, poseFromXyzRpy } from '../robot/pose-math.ts';
import { MAX_SPEED_LIMITS, type SpeedLimits } from './safety-policy.ts';
import { INIT_TARGET, ROLLED_TARGET, SLEEP_TARGET, type SequenceKind } from './sequence-poses.ts';
import { axisTravels, DAEMON_TICK_MS, gotoPeaks, peakExcess, limitFieldOf, type PeakExcess, type PlannedPeak, type PositionTarget, type RobotPosition, type SpeedAxis } from './speed-limits.ts';

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

/** The robot at the init pose and rolled there: where the emote's gotos start. */
const AT_INIT: RobotPosition = INIT_TARGET;
const AT_ROLLED: RobotPosition = { ...INIT_TARGET, head: ROLLED_TARGET.head! };

function wakeUpLegs(present: RobotPosition, head: Mat4): SequenceLeg[] {
  if (allClose(head, INIT_HEAD_POSE, INIT_TARGET_ATOL) && allClose(present.antennas, INIT_ANTENNAS, INIT_TARGET_ATOL)) return [];
  return [
    { from: present, to: INIT_TARGET, durationS: magicDistance(head, INIT_HEAD_POSE) * SECONDS_PER_MAGIC_UNIT, fromPresent: true },
    { from: AT_INIT, to: ROLLED_TARGET, durationS: WAKE_UP_ROLL_DURATION_S, fromPresent: false },
    { from: AT_ROLLED, to: { head: INIT_TARGET.head, bodyYaw: INIT_TARGET.bodyYaw }, durationS: WAKE_UP_ROLL_DURATION_S, fromPresent: false },
  ];
}

function gotoSleepLegs(present: RobotPosition, head: Mat4): SequenceLeg[] {
  if (magicDistance(head, SLEEP_HEAD_POSE) <= SLEEP_POSE_MAGIC_ATOL) return [];
  const fromInit = magicDistance(head, INIT_HEAD_POSE);
  const legs: SequenceLeg[] = [];
  if (fromInit > FAR_FROM_INIT_MAGIC - THRESHOLD_MARGIN_MAGIC) {
    legs.push({ from: present, to: INIT_TARGET, durationS: SLEEP_GOTO_INIT_S, fromPresent: true }, { from: AT_INIT, to: SLEEP_TARGET, durationS: SLEEP_GOTO_DURATION_S, fromPresent: false });
  }
  if (fromInit <= FAR_FROM_INIT_MAGIC + THRESHOLD_MARGIN_MAGIC) legs.push({ from: present, to: SLEEP_TARGET, durationS: SLEEP_GOTO_DURATION_S, fromPresent: true });
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

/** A sequence's speed from a present pose: its gotos' peaks, and the refusal when one is above a limit. */
export interface SequenceSpeed {
  /** The highest peak on each axis over its gotos (what a limit lowered while it runs is checked against). */
  readonly peaks: ReadonlyArray<PlannedPeak>;
  /** TooFast for its first goto above a limit under `speed`; null when every one is within. */
  readonly refusal: TooFast | null;
}

/** `kind` from `present` under `speed`: each goto's peaks computed once, for both answers. */
export function sequenceSpeed(kind: SequenceKind, present: RobotPosition, speed: SpeedLimits): SequenceSpeed {
  const best = new Map<string, PlannedPeak>();
  let refusal: TooFast | null = null;
  for (const leg of sequenceLegs(kind, present)) {
    const peaks = legPeaks(leg, speed);
    for (const peak of peaks) if ((best.get(peak.axis)?.peak_speed ?? -1) < peak.peak_speed) best.set(peak.axis, peak);
    const excess = refusal ? null : peakExcess(peaks, speed);
    if (excess) refusal = tooFast(kind, leg, excess);
  }
  return { peaks: [...best.values()], refusal };
}

function tooFast(kind: SequenceKind, leg: SequenceLeg, excess: PeakExcess): TooFast {
  return new TooFast({
    message: `${kind}: the daemon's sequence would move ${excess.axis} at ${round(excess.peak_speed, 1)} ${excess.unit}, above the limit of ${excess.limit} ${excess.unit} (its gotos' durations are the daemon's: they cannot be stretched); ${remedy(kind, leg.fromPresent, excess.axis, excess.peak_speed)}`,
    axis: excess.axis,
    peak_speed: round(excess.peak_speed, 3),
    limit: excess.limit,
    unit: excess.unit,
    shortest_duration_s: null,
  });
}
