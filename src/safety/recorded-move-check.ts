// Whether a recorded move may be played under the policy in force (README "Recorded moves",
// "Safety policy"): the daemon plays a dataset's poses at their recorded speed, which the driver
// cannot see, so play_move is checked against neither the envelope nor the speed limits. While the
// operator has narrowed either below the defaults (the mechanical ranges, DEFAULT_SPEED_LIMITS),
// "a narrower policy holds" would break: play_move is refused UncheckedMove. One decision, used by the
// gate (driver-policy.ts `refusalOf`) and right before the write (motion-executor.ts). Pure.
import { UncheckedMove } from '../errors.ts';
import { DEFAULT_SPEED_LIMITS, ENVELOPE_AXES, MECHANICAL_RANGES, type SafetyPolicy } from './safety-policy.ts';

/** The speed limits a recorded move is played regardless of: any of them lowered narrows the policy. */
const SPEED_LIMIT_FIELDS = ['head_deg_per_s', 'head_translation_mm_per_s', 'body_deg_per_s', 'antenna_deg_per_s'] as const;

/** The policy fields narrower than the defaults (`envelope.<axis>`, `speed.<limit>`), in document order. */
export function narrowedFields(policy: SafetyPolicy): string[] {
  const envelope = ENVELOPE_AXES.filter((axis) => policy.envelope[axis].min > MECHANICAL_RANGES[axis].min || policy.envelope[axis].max < MECHANICAL_RANGES[axis].max).map((axis) => `envelope.${axis}`);
  const speed = SPEED_LIMIT_FIELDS.filter((field) => policy.speed[field] < DEFAULT_SPEED_LIMITS[field]).map((field) => `speed.${field}`);
  return [...envelope, ...speed];
}

/** UncheckedMove for a recorded move (`target.kind` recorded_move) under a narrowed policy; else null. */
export function uncheckedMoveRefusal(policy: SafetyPolicy, fn: string, target: Readonly<Record<string, unknown>>): UncheckedMove | null {
  if (target.kind !== 'recorded_move') return null;
  const narrowed = narrowedFields(policy);
  if (narrowed.length === 0) return null;
  return new UncheckedMove({
    message: `${fn}: a recorded move plays the dataset's poses at their recorded speed, which the driver cannot check against the operator's narrowed safety policy (${narrowed.join(', ')}); to play it, restore the mechanical envelope and the default speed limits (set_safety_policy on the supervisor subject), or use play_expression or goto_pose, which are checked`,
    function: fn,
    narrowed,
  });
}
