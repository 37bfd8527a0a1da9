// The decision on a recorded move under the policy in force (src/safety/recorded-move-check.ts): the
// driver cannot check a dataset's poses or speeds, so play_move is refused UncheckedMove while the
// envelope is narrower than the mechanical ranges or a speed limit lower than its default, naming the
// narrowed fields; other motion and wider policies are left alone.
import { expect, test } from 'vitest';
import { DEFAULT_SAFETY_POLICY, MAX_SPEED_LIMITS, type SafetyPolicy } from '../../src/safety/safety-policy.ts';
import { narrowedFields, uncheckedMoveRefusal } from '../../src/safety/recorded-move-check.ts';

const RECORDED = { kind: 'recorded_move', dataset: 'd', move_name: 'm' };
const policy = (change: Partial<SafetyPolicy>): SafetyPolicy => ({ ...DEFAULT_SAFETY_POLICY, ...change });

test('the default policy, and speed limits above the defaults, narrow nothing: play_move may run', () => {
  expect(narrowedFields(DEFAULT_SAFETY_POLICY)).toEqual([]);
  expect(uncheckedMoveRefusal(DEFAULT_SAFETY_POLICY, 'play_move', RECORDED)).toBeNull();
  expect(uncheckedMoveRefusal(policy({ speed: { ...DEFAULT_SAFETY_POLICY.speed, ...MAX_SPEED_LIMITS, goto_policy: 'stretch' } }), 'play_move', RECORDED)).toBeNull();
});

test('one bound of one axis narrowed, or one limit lowered: UncheckedMove naming each field', () => {
  const narrowed = policy({
    envelope: { ...DEFAULT_SAFETY_POLICY.envelope, head_yaw_deg: { min: -45, max: 40 }, antenna_left_deg: { min: -10, max: 80 } },
    speed: { ...DEFAULT_SAFETY_POLICY.speed, antenna_deg_per_s: 599 },
  });
  const refusal = uncheckedMoveRefusal(narrowed, 'play_move', RECORDED);
  expect(refusal?._tag).toBe('UncheckedMove');
  expect(refusal?.narrowed).toEqual(['envelope.head_yaw_deg', 'envelope.antenna_left_deg', 'speed.antenna_deg_per_s']);
  expect(refusal?.message).toMatch(/^play_move: a recorded move .* cannot check .*\(envelope\.head_yaw_deg, envelope\.antenna_left_deg, speed\.antenna_deg_per_s\); to play it, restore/);
});

test('only a recorded move is refused: checked motion is the envelope check\'s business', () => {
  const narrowed = policy({ envelope: { ...DEFAULT_SAFETY_POLICY.envelope, head_pitch_deg: { min: -2, max: 2 } } });
  expect(uncheckedMoveRefusal(narrowed, 'goto_pose', { kind: 'goto_pose', pitch: 0 })).toBeNull();
  expect(uncheckedMoveRefusal(narrowed, 'play_expression', { kind: 'expression', steps: [] })).toBeNull();
});
