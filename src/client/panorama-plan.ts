// The poses of a panorama scan (reference-driver.md §6.1: body steps → pitches → head yaws) on the
// daemon's semantics: the head pose is in the world frame (reachy-daemon-api.md §5), so a pose
// commands the body to its step b and the head to world yaw b + y, the reference's intended view
// direction. Bounded by the ranges the device advertises (look_at_world's yaw/pitch and
// set_body_yaw's yaw_deg minimum/maximum: the operator's safety envelope): a view outside the
// head-yaw range moves to the range's nearest edge, a pose repeating a view or outside the pitch/body
// ranges is skipped, and the cut is said once. Pure. Does not move anything (panorama-scan.ts) nor
// place frames.
import type { DeviceFunction } from './device-record.ts';
import { wrapDeg } from './panorama-projection.ts';
import { MECHANICAL_ENVELOPE } from '../safety/safety-policy.ts';

export interface PoseRange {
  readonly min: number;
  readonly max: number;
}

/** What the device accepts, and whether it came from its advertised schemas or the driver's mechanical limits. */
export interface PoseRanges {
  readonly headYaw: PoseRange;
  readonly headPitch: PoseRange;
  readonly bodyYaw: PoseRange;
  readonly source: 'advertised' | 'mechanical';
}

/** The driver's mechanical ranges (src/safety/safety-policy.ts): what an envelope can at most allow. */
export const MECHANICAL_POSE_RANGES: PoseRanges = Object.freeze({
  headYaw: { min: -MECHANICAL_ENVELOPE.head_yaw_deg, max: MECHANICAL_ENVELOPE.head_yaw_deg },
  headPitch: { min: -MECHANICAL_ENVELOPE.head_pitch_deg, max: MECHANICAL_ENVELOPE.head_pitch_deg },
  bodyYaw: { min: -MECHANICAL_ENVELOPE.body_yaw_deg, max: MECHANICAL_ENVELOPE.body_yaw_deg },
  source: 'mechanical',
});

/** Floating-point slack on range bounds: ±2.8 rad steps land a few ulps past the advertised ±160.43°. */
const RANGE_EPS_DEG = 1e-6;

function rangeOf(functions: readonly DeviceFunction[], fn: string, param: string): PoseRange | null {
  const properties = functions.find((f) => f.name === fn)?.parameters['properties'];
  const schema = typeof properties === 'object' && properties !== null ? (properties as Record<string, unknown>)[param] : undefined;
  if (typeof schema !== 'object' || schema === null) return null;
  const { minimum, maximum } = schema as Record<string, unknown>;
  return typeof minimum === 'number' && typeof maximum === 'number' ? { min: minimum, max: maximum } : null;
}

/** The ranges a device advertises (its schemas carry the envelope's min/max); the mechanical ones when it advertises none. */
export function advertisedPoseRanges(functions: readonly DeviceFunction[]): PoseRanges {
  const headYaw = rangeOf(functions, 'look_at_world', 'yaw');
  const headPitch = rangeOf(functions, 'look_at_world', 'pitch');
  if (!headYaw || !headPitch) return MECHANICAL_POSE_RANGES;
  return { headYaw, headPitch, bodyYaw: rangeOf(functions, 'set_body_yaw', 'yaw_deg') ?? MECHANICAL_POSE_RANGES.bodyYaw, source: 'advertised' };
}

export interface PlannedPose {
  readonly bodyYawDeg: number;
  readonly pitchDeg: number;
  /** The head step, relative to the body step (the reference's `yaw`). */
  readonly headStepDeg: number;
  /** The head's world yaw to command: body step + head step, in (−180, 180]; clamped into the head-yaw range when it was outside. */
  readonly worldYawDeg: number;
  /** The world yaw the grid asked for (body step + head step), when the head-yaw range moved it to its nearest edge. */
  readonly clampedFromDeg?: number;
}

export interface ScanPlan {
  readonly poses: readonly PlannedPose[];
  /** Grid poses not taken: a pitch or body yaw outside the ranges, or a clamped view another pose already takes. */
  readonly skipped: readonly PlannedPose[];
  /** How many taken poses had their world yaw moved into the head-yaw range. */
  readonly clamped: number;
  readonly ranges: PoseRanges;
}

const inside = (value: number, r: PoseRange) => value >= r.min - RANGE_EPS_DEG && value <= r.max + RANGE_EPS_DEG;
const clampTo = (value: number, r: PoseRange) => Math.min(r.max, Math.max(r.min, value));

/**
 * How far the body may stay from a clamped head's world yaw: inside the daemon's ±65° head-vs-body
 * clamp (reachy-daemon-api.md §5) with margin, so the daemon does not pull the body on its own.
 */
const BODY_UNDER_HEAD_DEG = 60;
/** Two views closer than this (same pitch) are one pose: clamping folds many grid poses onto the range's edges. */
const SAME_VIEW_DEG = 0.5;

/**
 * Every pose of the grid, in the reference's order. A view outside the head-yaw range is moved to
 * the range's nearest edge (so a narrow envelope still gets its full width scanned) with the body
 * kept within BODY_UNDER_HEAD_DEG of it; a view another pose already takes is skipped, as is a pitch
 * or body yaw outside the ranges.
 */
export function planScan(steps: { bodyYawSteps: readonly number[]; pitchSteps: readonly number[]; yawSteps: readonly number[] }, ranges: PoseRanges): ScanPlan {
  const poses: PlannedPose[] = [];
  const skipped: PlannedPose[] = [];
  let clamped = 0;
  const taken = (pitchDeg: number, worldYawDeg: number) => poses.some((p) => p.pitchDeg === pitchDeg && Math.abs(p.worldYawDeg - worldYawDeg) < SAME_VIEW_DEG);
  for (const bodyYawDeg of steps.bodyYawSteps) {
    for (const pitchDeg of steps.pitchSteps) {
      for (const headStepDeg of steps.yawSteps) {
        const wanted = wrapDeg(bodyYawDeg + headStepDeg);
        const pose: PlannedPose = { bodyYawDeg, pitchDeg, headStepDeg, worldYawDeg: wanted };
        if (!inside(pitchDeg, ranges.headPitch) || !inside(bodyYawDeg, ranges.bodyYaw)) {
          skipped.push(pose);
          continue;
        }
        if (inside(wanted, ranges.headYaw)) {
          (taken(pitchDeg, wanted) ? skipped : poses).push(pose);
          continue;
        }
        const world = clampTo(wanted, ranges.headYaw);
        if (taken(pitchDeg, world)) {
          skipped.push(pose);
          continue;
        }
        const body = clampTo(clampTo(bodyYawDeg, { min: world - BODY_UNDER_HEAD_DEG, max: world + BODY_UNDER_HEAD_DEG }), ranges.bodyYaw);
        poses.push({ bodyYawDeg: body, pitchDeg, headStepDeg, worldYawDeg: world, clampedFromDeg: wanted });
        clamped += 1;
      }
    }
  }
  return { poses, skipped, clamped, ranges };
}

const deg = (x: number) => `${Math.round(x * 10) / 10}°`;

/** The one warning when the ranges cut the grid: the range in force, the coverage left, and how the operator widens it. */
export function skippedPosesWarning(plan: ScanPlan): string | null {
  if (plan.skipped.length === 0 && plan.clamped === 0) return null;
  const { headYaw } = plan.ranges;
  const total = plan.poses.length + plan.skipped.length;
  const yaws = plan.poses.map((p) => p.worldYawDeg);
  const coverage = yaws.length === 0 ? 'no pose is left' : `the frame centres span world yaw ${deg(Math.min(...yaws))}…${deg(Math.max(...yaws))} (plus half the camera's field of view on each side)`;
  const mechanical = MECHANICAL_POSE_RANGES.headYaw;
  const widen =
    headYaw.min > mechanical.min || headYaw.max < mechanical.max
      ? `the operator widens it with --envelope FILE or the settings file's safety_envelope (axis head_yaw_deg), up to the driver's mechanical ${deg(mechanical.min)}…${deg(mechanical.max)}`
      : `this is already the driver's mechanical head-yaw range, which no envelope widens, so a 360° panorama is out of reach on this driver`;
  return (
    `the device's ranges cut the plan (${plan.ranges.source === 'advertised' ? "its advertised ranges, the operator's safety envelope" : "the driver's mechanical ranges"}: head yaw ${deg(headYaw.min)}…${deg(headYaw.max)}, ` +
    `pitch ${deg(plan.ranges.headPitch.min)}…${deg(plan.ranges.headPitch.max)}, body yaw ${deg(plan.ranges.bodyYaw.min)}…${deg(plan.ranges.bodyYaw.max)}): ` +
    `${plan.clamped} poses look at the nearest edge of the head-yaw range instead, ${plan.skipped.length} of ${total} are skipped (outside the ranges, or a view already taken); ` +
    `the head pose is in the world frame, so the camera turns only as far as the head yaw range; ${coverage}; ${widen}`
  );
}
