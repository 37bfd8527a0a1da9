// get_safety_policy's answer kept per policy (src/safety/safety-policy.ts `policyAnswer`): the same
// frozen object while a policy is in force, exactly the document `policyDocument` gives, and a new
// answer the moment another policy replaces it. The answer over NATS is covered by
// test/integration/safety-policy.test.ts; here only what the memo must never get wrong.
import { expect, test } from 'vitest';
import { APPROVABLE_FUNCTIONS } from '../../src/rpc/catalogue.ts';
import { DEFAULT_SAFETY_POLICY, policyAnswer, policyDocument, validatePolicy } from '../../src/safety/safety-policy.ts';

test('the answer is the policy document, the same frozen object for as long as the policy is in force', () => {
  const first = policyAnswer(DEFAULT_SAFETY_POLICY);
  expect(first).toEqual({ policy: policyDocument(DEFAULT_SAFETY_POLICY) });
  expect(JSON.stringify(first)).toBe(JSON.stringify({ policy: policyDocument(DEFAULT_SAFETY_POLICY) }));
  expect(policyAnswer(DEFAULT_SAFETY_POLICY)).toBe(first);
  // Frozen all the way down: a reply's consumer cannot change what the next caller is answered.
  const envelope = (first.policy.envelope as Record<string, { min: number }>).head_yaw_deg as { min: number };
  expect(Object.isFrozen(first) && Object.isFrozen(first.policy) && Object.isFrozen(envelope)).toBe(true);
  expect(() => {
    envelope.min = 0;
  }).toThrow(TypeError);
});

test('a policy that replaces the one in force gets its own answer; the old one is unchanged', () => {
  const before = policyAnswer(DEFAULT_SAFETY_POLICY);
  const doc = { ...policyDocument(DEFAULT_SAFETY_POLICY), deadman_ms: 1500 };
  const checked = validatePolicy(doc, APPROVABLE_FUNCTIONS);
  if (!checked.ok) throw checked.error;
  const after = policyAnswer(checked.policy);
  expect(after).not.toBe(before);
  expect(after.policy.deadman_ms).toBe(1500);
  expect(before.policy.deadman_ms).toBe(DEFAULT_SAFETY_POLICY.deadman_ms);
  expect(policyAnswer(checked.policy)).toBe(after);
});
