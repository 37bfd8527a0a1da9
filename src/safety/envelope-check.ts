// The safety envelope's check (README "Envelope", issue 14 item 1): which axes a motion
// call's `target` (src/rpc/robot-functions.ts `toEvent`) sets, and which of them fall outside the
// operator's envelope. Pure; the gate's one decision (`refusalOf` in src/machines/driver-policy.ts)
// calls `envelopeRefusal`. Does not own the envelope's shape or validation
// (src/safety/safety-policy.ts), nor the mechanical bounds (parameter decoding keeps those).
// wake_up and goto_sleep are checked at the poses the daemon's sequences go to (sequence-poses.ts)
// against the bounds the operator narrowed; an expression under way from its running step on.
import { OutsideEnvelope } from '../errors.ts';
import { MECHANICAL_RANGES, type Envelope, type EnvelopeAxis } from './safety-policy.ts';
import { isSequenceKind, SEQUENCE_POSES } from './sequence-poses.ts';

/** The head's six axes as look_at_world and goto_pose name them. */
const HEAD_AXES = { x_mm: 'head_x_mm', y_mm: 'head_y_mm', z_mm: 'head_z_mm', roll: 'head_roll_deg', pitch: 'head_pitch_deg', yaw: 'head_yaw_deg' } as const;

/** For each motion target kind: target field → envelope axis. A kind not listed sets no checked axis. */
export const TARGET_AXES: Readonly<Record<string, Readonly<Record<string, EnvelopeAxis>>>> = Object.freeze({
  look_at_world: HEAD_AXES,
  goto_pose: { ...HEAD_AXES, antennas_left: 'antenna_left_deg', antennas_right: 'antenna_right_deg', body_yaw_deg: 'body_yaw_deg' },
  body_yaw: { yaw_deg: 'body_yaw_deg' },
  antenna_pose: { left: 'antenna_left_deg', right: 'antenna_right_deg' },
  // The computed head angles; the head's offsets are set to 0 by look_at_point (see IMPLIED_ZERO).
  look_at_point: { roll: 'head_roll_deg', pitch: 'head_pitch_deg', yaw: 'head_yaw_deg' },
});

/** Axes a kind sets to 0 without naming them: look_at_point sends the head pose with no offset. */
const IMPLIED_ZERO: Readonly<Record<string, ReadonlyArray<EnvelopeAxis>>> = Object.freeze({ look_at_point: ['head_x_mm', 'head_y_mm', 'head_z_mm'] });

export interface EnvelopeViolation {
  readonly axis: EnvelopeAxis;
  readonly value: number;
  readonly min: number;
  readonly max: number;
}

/** The axis values a motion `target` names (empty for kinds that name none: wake_up, goto_sleep, play_move, unknown). */
export function targetAxes(target: Readonly<Record<string, unknown>>): Array<{ axis: EnvelopeAxis; value: number }> {
  const kind = typeof target.kind === 'string' ? target.kind : '';
  const fields = TARGET_AXES[kind] ?? {};
  const out: Array<{ axis: EnvelopeAxis; value: number }> = [];
  for (const [field, axis] of Object.entries(fields)) {
    const value = target[field];
    if (typeof value === 'number') out.push({ axis, value });
  }
  for (const axis of IMPLIED_ZERO[kind] ?? []) out.push({ axis, value: 0 });
  return out;
}

/**
 * The daemon's own sequence's poses outside the bounds the operator narrowed, each axis and value
 * once. A bound left at its mechanical value is the daemon's to keep: its sleep pose folds the
 * antennas to ±174.8°, past the ±80° a command may ask.
 */
function sequenceViolations(envelope: Envelope, kind: keyof typeof SEQUENCE_POSES): EnvelopeViolation[] {
  const out: EnvelopeViolation[] = [];
  for (const pose of SEQUENCE_POSES[kind]) {
    for (const [axis, value] of Object.entries(pose) as Array<[EnvelopeAxis, number]>) {
      const { min, max } = envelope[axis];
      const below = value < min && min > MECHANICAL_RANGES[axis].min;
      const above = value > max && max < MECHANICAL_RANGES[axis].max;
      if ((below || above) && !out.some((v) => v.axis === axis && v.value === value)) out.push({ axis, value, min, max });
    }
  }
  return out;
}

/** Every commanded axis outside `envelope` (inclusive bounds), in the target's field order. */
export function envelopeViolations(envelope: Envelope, target: Readonly<Record<string, unknown>>): EnvelopeViolation[] {
  // A sequence (play_expression) is checked step by step; a recorded move (play_move) names no axes.
  if (Array.isArray(target.steps)) return (target.steps as Array<Record<string, unknown>>).flatMap((step) => envelopeViolations(envelope, step));
  if (typeof target.kind === 'string' && isSequenceKind(target.kind)) return sequenceViolations(envelope, target.kind);
  const out: EnvelopeViolation[] = [];
  for (const { axis, value } of targetAxes(target)) {
    const { min, max } = envelope[axis];
    if (value < min || value > max) out.push({ axis, value, min, max });
  }
  return out;
}

/**
 * What is still to run of a motion `target` from step `step` on: an expression's steps from that one
 * (steps already done no longer count against a narrower envelope), any other target whole. The
 * root's narrowing check and the executor's write-time check both cut it here.
 */
export function targetFrom(target: Readonly<Record<string, unknown>>, step: number): Readonly<Record<string, unknown>> {
  if (!Array.isArray(target.steps) || step <= 0) return target;
  return { ...target, steps: (target.steps as ReadonlyArray<unknown>).slice(step) };
}

/** Where each sequence goes, for the refusal's message. */
const SEQUENCE_WORDS = Object.freeze({
  wake_up: 'the init pose with the body at 0°, then the head rolled 20°',
  goto_sleep: 'the init pose, then the sleep pose: head pitched 24.4° down, 44 mm low, antennas folded to ±174.8°, body at 0°',
});

function rounded(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The OutsideEnvelope refusal of a motion call (null when every commanded axis is inside). */
export function envelopeRefusal(envelope: Envelope, fn: string, target: Readonly<Record<string, unknown>>): OutsideEnvelope | null {
  const violations = envelopeViolations(envelope, target);
  if (violations.length === 0) return null;
  const text = violations.map((v) => `${v.axis} ${rounded(v.value)} is outside [${rounded(v.min)}, ${rounded(v.max)}]`).join('; ');
  const kind = typeof target.kind === 'string' ? target.kind : '';
  const whose = isSequenceKind(kind) ? `the daemon's ${kind} sequence would take the robot there (${SEQUENCE_WORDS[kind]}): widen the envelope to run it through the driver` : 'see get_safety_policy';
  return new OutsideEnvelope({
    message: `${fn}: ${text} (the operator's safety envelope; ${whose})`,
    envelope: JSON.parse(JSON.stringify(envelope)) as OutsideEnvelope['envelope'],
    violations: violations.map((v) => ({ ...v })),
  });
}
