// What a settings apply writes on the live safety policy (src/safety/configured-policy-change.ts):
// only the fields whose configured value changed, so a supervisor's run-time narrowing of any other
// field stays; a changed field takes the operator's new value, even where that widens; the approval
// list changes by the names added or removed. The apply over NATS is in
// test/integration/safety-policy.test.ts; here only the decision.
import { expect, test } from 'vitest';
import { APPROVABLE_FUNCTIONS } from '../../src/rpc/catalogue.ts';
import { withConfiguredChanges } from '../../src/safety/configured-policy-change.ts';
import { DEFAULT_SAFETY_POLICY, policyDocument, validatePolicy, type SafetyPolicy } from '../../src/safety/safety-policy.ts';

type Doc = Record<string, any>;

/** DEFAULT_SAFETY_POLICY with `change` made to its document, validated as set_safety_policy would. */
function policyWith(change: (doc: Doc) => void): SafetyPolicy {
  const doc = policyDocument(DEFAULT_SAFETY_POLICY) as Doc;
  change(doc);
  const checked = validatePolicy(doc, APPROVABLE_FUNCTIONS);
  if (!checked.ok) throw checked.error;
  return checked.policy;
}

const configured = DEFAULT_SAFETY_POLICY;
const yawNarrowed = policyWith((d) => (d.envelope.head_yaw_deg = { min: -10, max: 10 }));

test('an unrelated field changed in the configuration: the supervisor\'s narrowed envelope stays, the field takes its new value', () => {
  const next = policyWith((d) => (d.approval.timeout_s = 20));
  const change = withConfiguredChanges(yawNarrowed, configured, next);
  expect(change.fields).toEqual(['approval.timeout_s']);
  expect(change.policy).toEqual(policyWith((d) => {
    d.envelope.head_yaw_deg = { min: -10, max: 10 };
    d.approval.timeout_s = 20;
  }));
  expect(Object.isFrozen(change.policy.envelope.head_yaw_deg)).toBe(true);
});

test('nothing changed in the configuration: the live policy as it is', () => {
  const change = withConfiguredChanges(yawNarrowed, configured, configured);
  expect(change).toEqual({ policy: yawNarrowed, fields: [] });
});

test('the narrowed bound itself changed: the operator\'s new value applies (even wider); the other bound stays narrowed', () => {
  const next = policyWith((d) => (d.envelope.head_yaw_deg = { min: -45, max: 30 }));
  const change = withConfiguredChanges(yawNarrowed, configured, next);
  expect(change.fields).toEqual(['envelope.head_yaw_deg.max']);
  expect(change.policy.envelope.head_yaw_deg).toEqual({ min: -10, max: 30 });
});

test('a configured bound past the live other bound: the axis takes the configured range whole', () => {
  const next = policyWith((d) => (d.envelope.head_yaw_deg = { min: 20, max: 45 }));
  expect(withConfiguredChanges(yawNarrowed, configured, next).policy.envelope.head_yaw_deg).toEqual({ min: 20, max: 45 });
});

test('speed, rate and dead-man fields change one by one; the supervisor\'s others stay', () => {
  const live = policyWith((d) => {
    d.speed.head_deg_per_s = 50;
    d.rate_limits.motion = 2;
    d.deadman_ms = 1_000;
  });
  const next = policyWith((d) => {
    d.speed.body_deg_per_s = 60;
    d.rate_limits.audio = null;
  });
  const change = withConfiguredChanges(live, configured, next);
  expect(change.fields).toEqual(['speed.body_deg_per_s', 'rate_limits.audio']);
  expect(change.policy.speed).toMatchObject({ head_deg_per_s: 50, body_deg_per_s: 60 });
  expect(change.policy.rate_limits).toMatchObject({ motion: 2, audio: null });
  expect(change.policy.deadman_ms).toBe(1_000);
});

test('the approval list changes by the names the configuration added or removed; the supervisor\'s own names stay', () => {
  const live = policyWith((d) => (d.approval.functions = ['goto_pose', 'play_audio_file']));
  const added = policyWith((d) => (d.approval.functions = ['look_at_world']));
  expect(withConfiguredChanges(live, configured, added).policy.approval.functions).toEqual(['goto_pose', 'play_audio_file', 'look_at_world']);
  const withBoth = policyWith((d) => (d.approval.functions = ['goto_pose', 'play_audio_file', 'look_at_world']));
  expect(withConfiguredChanges(withBoth, added, configured).policy.approval.functions).toEqual(['goto_pose', 'play_audio_file']);
});
