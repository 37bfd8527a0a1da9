// set_safety_policy's refusal stays small whatever the document (src/safety/safety-policy.ts
// `validatePolicy`): unknown fields at any level and refused approval names are named up to
// MAX_UNKNOWN_PARAMS_NAMED (each cut to MAX_UNKNOWN_PARAM_NAME_CHARS) and the rest counted, as the
// params check does; before, 100,000 unknown fields made 100,000 issues each repeating the known list.
import { expect, test } from 'vitest';
import { MAX_UNKNOWN_PARAM_NAME_CHARS, MAX_UNKNOWN_PARAMS_NAMED } from '../../src/rpc/params.ts';
import { APPROVABLE_FUNCTIONS } from '../../src/rpc/catalogue.ts';
import { DEFAULT_SAFETY_POLICY, policyDocument, validatePolicy } from '../../src/safety/safety-policy.ts';

const MANY = 100_000;
const many = (prefix: string) => Object.fromEntries(Array.from({ length: MANY }, (_, i) => [`${prefix}${i}`, 1]));
const valid = () => policyDocument(DEFAULT_SAFETY_POLICY) as Record<string, any>;

function refusal(doc: unknown) {
  const result = validatePolicy(doc, APPROVABLE_FUNCTIONS);
  if (result.ok) throw new Error('expected a refusal');
  return result.error;
}

test('100,000 unknown fields at the top and in speed: five named each, the rest counted, the refusal a few KiB', () => {
  const doc = { ...valid(), ...many('extra_') };
  doc.speed = { ...doc.speed, ...many('fast_') };
  const error = refusal(doc);
  expect(JSON.stringify(error.issues).length + error.message.length).toBeLessThan(8_000);
  expect(error.issues.filter((i) => /^extra_\d+$/.test(i.parameter))).toHaveLength(MAX_UNKNOWN_PARAMS_NAMED);
  expect(error.issues).toContainEqual({ parameter: 'policy', problem: `has ${MANY - MAX_UNKNOWN_PARAMS_NAMED} more unknown fields` });
  expect(error.issues.filter((i) => /^speed\.fast_\d+$/.test(i.parameter))).toHaveLength(MAX_UNKNOWN_PARAMS_NAMED);
  expect(error.issues).toContainEqual({ parameter: 'speed', problem: `has ${MANY - MAX_UNKNOWN_PARAMS_NAMED} more unknown fields` });
});

test('100,000 approval names that are not functions, one of a megabyte: five named and cut, the rest counted', () => {
  const doc = valid();
  doc.approval = { ...doc.approval, functions: ['x'.repeat(1_000_000), ...Array.from({ length: MANY }, (_, i) => `nope_${i}`)] };
  const error = refusal(doc);
  expect(JSON.stringify(error.issues).length + error.message.length).toBeLessThan(8_000);
  const named = error.issues.filter((i) => i.parameter === 'approval.functions' && i.problem.endsWith('is not a function of this device'));
  expect(named).toHaveLength(MAX_UNKNOWN_PARAMS_NAMED);
  expect(named[0]!.problem).toBe(`${JSON.stringify(`${'x'.repeat(MAX_UNKNOWN_PARAM_NAME_CHARS)}…`)} is not a function of this device`);
  expect(error.issues).toContainEqual({ parameter: 'approval.functions', problem: `has ${MANY + 1 - MAX_UNKNOWN_PARAMS_NAMED} more names refused` });
});

test('a few unknown fields are each named with the known ones, as before', () => {
  const error = refusal({ ...valid(), colour: 'red' });
  expect(error.issues).toEqual([{ parameter: 'colour', problem: 'is not a policy field (known: envelope, speed, rate_limits, deadman_ms, approval)' }]);
});
