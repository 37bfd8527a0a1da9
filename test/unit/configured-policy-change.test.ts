// What a settings apply writes on the live safety policy (src/safety/configured-policy-change.ts):
// only the fields whose configured value changed, so a supervisor's run-time narrowing of any other
// field stays; a changed field the save narrowed keeps the stricter of the value in force and the
// saved one, a field it widened takes the saved value; an axis left with no range is refused
// (PolicyConflict) and nothing changes. The apply over NATS is in test/integration/safety-policy.test.ts.
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
/** Who set the live yaw range in these transcripts. */
const SUPERVISOR = 'ops';
const SET_BY = { head_yaw_deg: SUPERVISOR };

/** The accepted change, or the test fails naming the refusal. */
function accepted(live: SafetyPolicy, before: SafetyPolicy, after: SafetyPolicy) {
  const change = withConfiguredChanges(live, before, after, SET_BY);
  if (!change.ok) throw new Error(`refused: ${change.error.message}`);
  return change;
}

test('an unrelated field changed in the configuration: the supervisor\'s narrowed envelope stays, the field takes its new value', () => {
  const next = policyWith((d) => (d.approval.timeout_s = 20));
  const change = accepted(yawNarrowed, configured, next);
  expect(change.fields).toEqual(['approval.timeout_s']);
  expect(change.policy).toEqual(policyWith((d) => {
    d.envelope.head_yaw_deg = { min: -10, max: 10 };
    d.approval.timeout_s = 20;
  }));
  expect(Object.isFrozen(change.policy.envelope.head_yaw_deg)).toBe(true);
});

test('nothing changed in the configuration: the live policy as it is', () => {
  expect(withConfiguredChanges(yawNarrowed, configured, configured, SET_BY)).toEqual({ ok: true, policy: yawNarrowed, fields: [] });
});

test('a save narrowing the configured min (-45 to -30) keeps the stricter live min -10: nothing in force changes', () => {
  const next = policyWith((d) => (d.envelope.head_yaw_deg = { min: -30, max: 45 }));
  expect(accepted(yawNarrowed, configured, next)).toEqual({ ok: true, policy: yawNarrowed, fields: [] });
});

test('a save narrowing a bound below the live one puts the saved, stricter value in force', () => {
  const next = policyWith((d) => (d.envelope.head_yaw_deg = { min: -45, max: 5 }));
  const change = accepted(yawNarrowed, configured, next);
  expect(change.policy.envelope.head_yaw_deg).toEqual({ min: -10, max: 5 });
  expect(change.fields).toEqual(['envelope.head_yaw_deg.max']);
});

test('a save widening a bound puts the operator\'s value in force, even wider than the live one; the other bound stays', () => {
  const narrowConfigured = policyWith((d) => (d.envelope.head_yaw_deg = { min: -20, max: 20 }));
  const next = policyWith((d) => (d.envelope.head_yaw_deg = { min: -20, max: 30 }));
  const change = accepted(yawNarrowed, narrowConfigured, next);
  expect(change.policy.envelope.head_yaw_deg).toEqual({ min: -10, max: 30 });
  expect(change.fields).toEqual(['envelope.head_yaw_deg.max']);
});

test('a saved min above the live max is refused with PolicyConflict naming the axis, both ranges and who set the live one', () => {
  const next = policyWith((d) => (d.envelope.head_yaw_deg = { min: 20, max: 45 }));
  const change = withConfiguredChanges(yawNarrowed, configured, next, SET_BY);
  expect(change.ok).toBe(false);
  if (change.ok) return;
  expect(change.error).toMatchObject({ _tag: 'PolicyConflict', axis: 'head_yaw_deg', saved: { min: 20, max: 45 }, in_force: { min: -10, max: 10 }, set_by: SUPERVISOR });
});

test('a saved max below the live min is refused too, however the other fields change', () => {
  const next = policyWith((d) => {
    d.envelope.head_yaw_deg = { min: -45, max: -20 };
    d.approval.timeout_s = 20;
  });
  const change = withConfiguredChanges(yawNarrowed, configured, next, SET_BY);
  expect(change.ok ? 'accepted' : change.error._tag).toBe('PolicyConflict');
});

test('fields lists every path whose value in force changed, and none that stayed', () => {
  const live = policyWith((d) => {
    d.envelope.head_yaw_deg = { min: -10, max: 10 };
    d.speed.head_deg_per_s = 50;
  });
  const next = policyWith((d) => {
    d.envelope.head_yaw_deg = { min: -5, max: 40 };
    d.speed.head_deg_per_s = 100;
    d.speed.body_deg_per_s = 60;
  });
  const change = accepted(live, configured, next);
  expect(change.fields).toEqual(['envelope.head_yaw_deg.min', 'speed.body_deg_per_s']);
  expect(change.policy.envelope.head_yaw_deg).toEqual({ min: -5, max: 10 });
  expect(change.policy.speed).toMatchObject({ head_deg_per_s: 50, body_deg_per_s: 60 });
});

test('speed, rate and dead-man: a lowered limit keeps the stricter live one, a raised one applies, null (no limit) is the widest', () => {
  const live = policyWith((d) => {
    d.speed.head_deg_per_s = 50;
    d.rate_limits.motion = 2;
    d.deadman_ms = 1_000;
  });
  const narrowing = policyWith((d) => {
    d.speed.head_deg_per_s = 150;
    d.rate_limits.motion = 10;
    d.deadman_ms = 5_000;
  });
  expect(accepted(live, configured, narrowing)).toEqual({ ok: true, policy: live, fields: [] });
  const widening = policyWith((d) => {
    d.speed.body_deg_per_s = 200;
    d.rate_limits.audio = null;
  });
  const change = accepted(live, configured, widening);
  expect(change.fields).toEqual(['speed.body_deg_per_s', 'rate_limits.audio']);
  expect(change.policy.speed).toMatchObject({ head_deg_per_s: 50, body_deg_per_s: 200 });
  expect(change.policy.rate_limits).toMatchObject({ motion: 2, audio: null });
  expect(change.policy.deadman_ms).toBe(1_000);
});

test('a dead-man switched on by the save while the supervisor has a shorter one: the shorter stays; switched off: off', () => {
  const live = policyWith((d) => (d.deadman_ms = 500));
  const on = policyWith((d) => (d.deadman_ms = 3_000));
  expect(accepted(live, configured, on).policy.deadman_ms).toBe(500);
  expect(accepted(live, on, configured)).toMatchObject({ fields: ['deadman_ms'], policy: { deadman_ms: null } });
});

test('speed policies: refuse is the stricter; a save to refuse keeps refuse, a save to stretch applies', () => {
  const stretching = policyWith((d) => (d.speed.goto_policy = 'stretch'));
  expect(accepted(configured, stretching, configured).policy.speed.goto_policy).toBe('refuse');
  expect(accepted(configured, configured, stretching)).toMatchObject({ fields: ['speed.goto_policy'], policy: { speed: { goto_policy: 'stretch' } } });
});

test('the approval list changes by the names the configuration added or removed; the supervisor\'s own names stay', () => {
  const live = policyWith((d) => (d.approval.functions = ['goto_pose', 'play_audio_file']));
  const added = policyWith((d) => (d.approval.functions = ['look_at_world']));
  expect(accepted(live, configured, added)).toMatchObject({ fields: ['approval.functions'], policy: { approval: { functions: ['goto_pose', 'play_audio_file', 'look_at_world'] } } });
  const withBoth = policyWith((d) => (d.approval.functions = ['goto_pose', 'play_audio_file', 'look_at_world']));
  expect(accepted(withBoth, added, configured).policy.approval.functions).toEqual(['goto_pose', 'play_audio_file']);
});

test('an approval function the save adds that the supervisor already holds, or a reordered list: nothing in force changes', () => {
  const live = policyWith((d) => (d.approval.functions = ['goto_pose']));
  const added = policyWith((d) => (d.approval.functions = ['goto_pose']));
  expect(accepted(live, configured, added)).toEqual({ ok: true, policy: live, fields: [] });
  const two = policyWith((d) => (d.approval.functions = ['goto_pose', 'look_at_world']));
  const reordered = policyWith((d) => (d.approval.functions = ['look_at_world', 'goto_pose']));
  expect(accepted(two, two, reordered)).toEqual({ ok: true, policy: two, fields: [] });
});
