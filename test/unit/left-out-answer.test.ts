// The settings app's answer to an apply that left parts out while the rest applied
// (src/settings/settings-advice.ts leftOutAnswer): both kinds at once — a --sim driver's daemon
// address (SimulatorInUse) and a safety-policy change that conflicted with what the supervisor set
// while the apply ran (PolicyConflict) — each named with its fields, the fields the page reads
// (`not_in_effect`, `message`, `issues`, `error_tag`) kept as a single kind's answer has them.
import { expect, test } from 'vitest';
import { PolicyConflict, SimulatorInUse } from '../../src/errors.ts';
import { leftOutAnswer } from '../../src/settings/settings-advice.ts';

const simulator = { error: new SimulatorInUse({ message: 'not in effect: reachy_target names a daemon…', fields: ['reachy_target'] }), fields: ['reachy_target'] };
const conflict = {
  error: new PolicyConflict({ message: 'safety policy not changed, the rest of the settings applied: …', axis: 'head_yaw_deg', saved: { min: 20, max: 45 }, in_force: { min: -10, max: 10 }, set_by: 'ops' }),
  fields: ['safety_envelope', 'approval_timeout_s'],
};

test('a daemon address and a late policy conflict in one apply: both named, each with its fields and tag; error_tag is the first', () => {
  const answer = leftOutAnswer([simulator, conflict]);
  expect(answer).toMatchObject({
    error_tag: 'SimulatorInUse',
    not_in_effect: ['reachy_target', 'safety_envelope', 'approval_timeout_s'],
    left_out: [
      { error_tag: 'SimulatorInUse', fields: ['reachy_target'], message: simulator.error.message },
      { error_tag: 'PolicyConflict', fields: ['safety_envelope', 'approval_timeout_s'], axis: 'head_yaw_deg', set_by: 'ops', saved: { min: 20, max: 45 }, in_force: { min: -10, max: 10 }, message: conflict.error.message },
    ],
  });
  expect((answer.issues as Array<{ field: string }>).map((issue) => issue.field)).toEqual(['reachy_target', 'safety_envelope.head_yaw_deg', 'approval_timeout_s']);
  expect(answer.message).toMatch(/emulator.*; .*head_yaw_deg \[20, 45\], in force \[-10, 10\] \(set by ops.*the rest of the save was applied/);
});

test('a late policy conflict alone: error_tag PolicyConflict, the envelope field named', () => {
  expect(leftOutAnswer([conflict])).toMatchObject({ error_tag: 'PolicyConflict', not_in_effect: ['safety_envelope', 'approval_timeout_s'], issues: [{ field: 'safety_envelope.head_yaw_deg' }, { field: 'approval_timeout_s' }] });
});
