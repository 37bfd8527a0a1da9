// The safety policy as one document over NATS (issue "safety policy", item 6): `get_safety_policy`
// answers the document in force on `.cmd`; `set_safety_policy` is served on `.supervisor` only,
// validates the whole document (every problem named, nothing applied on a bad one), applies it at
// once (rate limits live), and every change is audited with who, before and after — on the audit
// file, the `.audit` subject and `safety_event`. A settings apply changes the policy the same way,
// but only the fields whose configured value changed: a supervisor's run-time narrowing of the others
// stays, a save narrowing a field never loosens it, and one leaving an axis with no range is refused;
// one that leaves no range only with what the supervisor set while the apply ran is left out of that
// apply (with a --sim driver's daemon address, both named), the configured policy staying as it was.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { STOP_REQUEST_TIMEOUT_MS } from '../../src/actors/motion-executor.ts';
import { LEAVE_SETTLE_WAIT_MS } from '../../src/actors/leave-robot.ts';
import { startOperatorScene, type OperatorScene } from '../harness/operator-scene.ts';

let s: OperatorScene;
beforeAll(async () => {
  s = await startOperatorScene({ deviceId: 'policy-1', argv: ['--sim', '--sim-time-scale', '0.05', '--no-media', '--rate-limit', 'motion=50/s', '--deadman', '2000'] });
});
afterAll(async () => {
  await s?.stop();
});

/** The running configuration with `flags` added, loaded as the settings app loads it. */
function configWith(...flags: string[]) {
  return loadConfig({ argv: [...s.driver.config.argv, ...flags], env: { DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: s.auditPath } });
}

/** Waits until the audit file holds a record of `kind` after the first `from` records. */
async function auditRecord(kind: string, from: number): Promise<Record<string, any>> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = s.auditFile().slice(from).find((r) => r.kind === kind);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${kind} audit record`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('get_safety_policy answers the configured document; set_safety_policy is not served on .cmd', async () => {
  const got = await s.call('get_safety_policy');
  const policy = (got.result as any).policy;
  expect(policy.rate_limits).toEqual({ motion: 50, audio: 2, capture: 10 });
  expect(policy.deadman_ms).toBe(2000);
  expect(policy.envelope.head_yaw_deg).toEqual({ min: -45, max: 45 });
  expect(policy.speed).toMatchObject({ head_deg_per_s: 200, goto_policy: 'refuse', realtime_policy: 'ramp' });
  expect(policy.approval).toEqual({ functions: [], timeout_s: 25 });
  const onCmd = await s.call('set_safety_policy', { policy });
  expect((onCmd.error as any).data._tag).toBe('UnknownMethod');
});

test('a bad document is refused whole, naming every problem, and nothing changes', async () => {
  const policy = ((await s.call('get_safety_policy')).result as any).policy;
  const bad = {
    ...policy,
    envelope: { ...policy.envelope, head_pitch_deg: { min: -60, max: 10 } },
    speed: { ...policy.speed, body_deg_per_s: -1 },
    approval: { functions: ['stop_motion', 'fly'], timeout_s: 25 },
    extra: true,
  };
  const reply = await s.supervise('set_safety_policy', { policy: bad, reason: 'typo' });
  const error = reply.error as any;
  expect(error.data._tag).toBe('InvalidParams');
  const params = error.data.issues.map((i: { parameter: string }) => i.parameter);
  expect(params).toEqual(expect.arrayContaining(['policy.envelope.head_pitch_deg', 'policy.speed.body_deg_per_s', 'policy.approval.functions', 'policy.extra']));
  expect(((await s.call('get_safety_policy')).result as any).policy).toEqual(policy);
});

test('set_safety_policy applies at once: a tighter motion rate limit holds on the next calls; audited with who, before and after', async () => {
  const before = ((await s.call('get_safety_policy')).result as any).policy;
  const from = s.auditFile().length;
  const next = { ...before, rate_limits: { ...before.rate_limits, motion: 2 } };
  const applied = await s.supervise('set_safety_policy', { policy: next, reason: 'calm the agent down', owner: 'operator-ann' });
  expect(applied.result).toMatchObject({ status: 'applied', before, policy: next });
  expect(((await s.call('get_safety_policy')).result as any).policy).toEqual(next);
  const record = await auditRecord('policy_changed', from);
  expect(record).toMatchObject({ kind: 'policy_changed', owner: 'operator-ann', reason: 'calm the agent down', function: 'set_safety_policy', before, after: next });
  expect(record.state).toMatchObject({ interlock: 'safe' });
  // The safety_event carries the same record.
  await expect.poll(() => s.safetyParams().some((p) => p.kind === 'policy_changed' && p.owner === 'operator-ann')).toBe(true);

  // 2 motion calls per second now: a burst of 6 from one caller gets at most 2 (plus refill) through.
  const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => s.call('antenna_pose', { left: i, owner: 'burst' })));
  const limited = replies.filter((r) => (r.error as any)?.data?._tag === 'RateLimited');
  expect(limited.length).toBeGreaterThanOrEqual(3);
  expect((limited[0]!.error as any).data).toMatchObject({ rateClass: 'motion', limitPerSecond: 2 });

  // Back to the old policy: the limit lifts for the next second's calls.
  await s.supervise('set_safety_policy', { policy: before, reason: 'restore' });
  await new Promise((r) => setTimeout(r, 1_000));
  const after = await Promise.all(Array.from({ length: 6 }, (_, i) => s.call('antenna_pose', { left: i, owner: 'burst' })));
  expect(after.filter((r) => (r.error as any)?.data?._tag === 'RateLimited')).toHaveLength(0);
});

test('a settings apply that changes only the policy applies it live (no restart) and is audited as a policy change by "settings"', async () => {
  const from = s.auditFile().length;
  const result = await s.driver.reconfigure(configWith('--max-body-speed', '60'));
  expect(result).toEqual({ ok: true, restarted: [] });
  expect(((await s.call('get_safety_policy')).result as any).policy.speed.body_deg_per_s).toBe(60);
  const record = await auditRecord('policy_changed', from);
  expect(record).toMatchObject({ owner: 'settings', before: { speed: { body_deg_per_s: 120 } }, after: { speed: { body_deg_per_s: 60 } } });
});

test('a settings apply keeps a supervisor\'s narrowed envelope: only the changed field takes its new value, audited before and after', async () => {
  const policy = ((await s.call('get_safety_policy')).result as any).policy;
  const narrowed = { ...policy, envelope: { ...policy.envelope, head_yaw_deg: { min: -10, max: 10 } } };
  expect((await s.supervise('set_safety_policy', { policy: narrowed, reason: 'incident: keep yaw small', owner: 'ops' })).result).toMatchObject({ status: 'applied' });

  const from = s.auditFile().length;
  expect(await s.driver.reconfigure(configWith('--approval-timeout', '20'))).toEqual({ ok: true, restarted: [] });
  const after = ((await s.call('get_safety_policy')).result as any).policy;
  expect(after).toEqual({ ...narrowed, approval: { ...narrowed.approval, timeout_s: 20 } });
  const yaw = await s.call('look_at_world', { yaw: 40 });
  expect((yaw.error as any)?.data).toMatchObject({ _tag: 'OutsideEnvelope', violations: [{ axis: 'head_yaw_deg', value: 40, min: -10, max: 10 }] });
  const record = await auditRecord('policy_changed', from);
  expect(record).toMatchObject({ owner: 'settings', reason: 'settings applied: approval.timeout_s', before: narrowed, after });
});

/** An envelope file holding `axes`, as `--envelope` (or the settings app's safety_envelope) reads it. */
function envelopeFileWith(axes: Record<string, { min: number; max: number }>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rmd-policy-envelope-')), 'envelope.json');
  writeFileSync(file, JSON.stringify(axes));
  return file;
}

/** The supervisor narrowed yaw to ±10 (the test before); the configuration still says ±45. */
test('a save narrowing the configured yaw min (-45 to -30) keeps the supervisor\'s stricter live min -10: nothing in force changes', async () => {
  const before = ((await s.call('get_safety_policy')).result as any).policy;
  expect(before.envelope.head_yaw_deg).toEqual({ min: -10, max: 10 });
  const from = s.auditFile().length;
  expect(await s.driver.reconfigure(configWith('--envelope', envelopeFileWith({ head_yaw_deg: { min: -30, max: 45 } })))).toEqual({ ok: true, restarted: [] });
  expect(((await s.call('get_safety_policy')).result as any).policy).toEqual(before);
  expect(((await s.call('look_at_world', { yaw: -20 })).error as any)?.data).toMatchObject({ _tag: 'OutsideEnvelope', violations: [{ axis: 'head_yaw_deg', min: -10, max: 10 }] });
  const record = await auditRecord('reconfigured', from);
  expect(record).toMatchObject({ owner: 'settings', policy_changed: false });
  expect(s.auditFile().slice(from).filter((r) => r.kind === 'policy_changed')).toEqual([]);
});

test('a save setting yaw min 20 (above the supervisor\'s max 10) is refused with PolicyConflict; the policy in force is unchanged', async () => {
  const before = ((await s.call('get_safety_policy')).result as any).policy;
  const from = s.auditFile().length;
  const result = await s.driver.reconfigure(configWith('--envelope', envelopeFileWith({ head_yaw_deg: { min: 20, max: 45 } })));
  expect(result.ok).toBe(false);
  expect(!result.ok && result.error).toMatchObject({ _tag: 'PolicyConflict', axis: 'head_yaw_deg', saved: { min: 20, max: 45 }, in_force: { min: -10, max: 10 }, set_by: 'ops' });
  expect(((await s.call('get_safety_policy')).result as any).policy).toEqual(before);
  expect(((await s.call('look_at_world', { yaw: 30 })).error as any)?.data).toMatchObject({ _tag: 'OutsideEnvelope', violations: [{ axis: 'head_yaw_deg', min: -10, max: 10 }] });
  expect(await auditRecord('reconfigure_refused', from)).toMatchObject({ owner: 'settings', error_tag: 'PolicyConflict', axis: 'head_yaw_deg', set_by: 'ops' });
  expect(s.auditFile().slice(from).filter((r) => r.kind === 'policy_changed')).toEqual([]);
});

test('a save widening the yaw min (-30 to -40) puts the operator\'s value in force; the max the save did not touch stays 10', async () => {
  const from = s.auditFile().length;
  expect(await s.driver.reconfigure(configWith('--envelope', envelopeFileWith({ head_yaw_deg: { min: -40, max: 45 } })))).toEqual({ ok: true, restarted: [] });
  const policy = ((await s.call('get_safety_policy')).result as any).policy;
  expect(policy.envelope.head_yaw_deg).toEqual({ min: -40, max: 10 });
  expect(policy.approval.timeout_s).toBe(20);
  expect(await auditRecord('policy_changed', from)).toMatchObject({ owner: 'settings', reason: 'settings applied: envelope.head_yaw_deg.min' });
});

/** The emulator handles a stop this late: the apply waits on the link it retargets, inside the stop's timeout and the retarget's wait. */
const STOP_DELAY_MS = Math.min(STOP_REQUEST_TIMEOUT_MS, LEAVE_SETTLE_WAIT_MS) / 2;

test('an apply whose envelope conflicts only with what the supervisor set while the link moved leaves the policy out, named with the --sim daemon address; both are not in effect', async () => {
  const emulator = s.driver.emulator!;
  const start = ((await s.call('get_safety_policy')).result as any).policy;
  const wide = { ...start, envelope: { ...start.envelope, head_yaw_deg: { min: -45, max: 45 } } };
  expect((await s.supervise('set_safety_policy', { policy: wide, reason: 'reset', owner: 'ops' })).result).toMatchObject({ status: 'applied' });
  const configured = s.driver.config.safetyPolicy;
  // 'burst' holds the motion lease since the rate-limit test.
  const moved = await s.call('goto_pose', { yaw: 5, duration_s: 30, owner: 'burst' });
  expect((moved.result as any)?.status, JSON.stringify(moved)).toBe('accepted');
  await expect.poll(() => emulator.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/stop', requestMs: [STOP_DELAY_MS, STOP_DELAY_MS] }] }, 1);
  emulator.clearReceived();
  const from = s.auditFile().length;

  // A new transport (the link to the emulator restarts), a daemon address (never used on --sim) and yaw [20, 45].
  const applying = s.driver.reconfigure(configWith('--transport-mode', 'http', '--target', '10.0.0.9:8000', '--envelope', envelopeFileWith({ head_yaw_deg: { min: 20, max: 45 } })));
  await expect.poll(() => emulator.received.some((r) => r.method === 'POST' && r.path === '/api/move/stop'), { timeout: 2_000 }).toBe(true);
  const narrowed = { ...wide, envelope: { ...wide.envelope, head_yaw_deg: { min: -10, max: 10 } } };
  expect((await s.supervise('set_safety_policy', { policy: narrowed, reason: 'incident', owner: 'ops' })).result).toMatchObject({ status: 'applied' });
  const result = await applying;
  emulator.faults.clear();

  expect(result).toMatchObject({
    ok: true,
    restarted: ['daemon_link'],
    notInEffect: [
      { error: { _tag: 'SimulatorInUse' }, fields: ['reachy_target'] },
      { error: { _tag: 'PolicyConflict', axis: 'head_yaw_deg', set_by: 'ops', saved: { min: 20, max: 45 }, in_force: { min: -10, max: 10 } }, fields: ['safety_envelope'] },
    ],
  });
  // Not widened; the configuration in effect keeps the configured policy the save could not replace, and the new transport.
  expect(((await s.call('get_safety_policy')).result as any).policy).toEqual(narrowed);
  expect(s.driver.config.safetyPolicy).toEqual(configured);
  expect(s.driver.config.transportMode).toBe('http');
  expect(await auditRecord('reconfigure_refused', from)).toMatchObject({ owner: 'settings', error_tag: 'PolicyConflict', axis: 'head_yaw_deg', set_by: 'ops', not_in_effect: ['safety_envelope'], state: { interlock: 'safe' } });
  expect(await auditRecord('reconfigured', from)).toMatchObject({ error_tag: 'SimulatorInUse', not_in_effect: ['reachy_target', 'safety_envelope'], left_out: [{ error_tag: 'SimulatorInUse', fields: ['reachy_target'] }, { error_tag: 'PolicyConflict', fields: ['safety_envelope'] }] });
  expect(s.auditFile().slice(from).filter((r) => r.kind === 'policy_changed' && r.owner === 'settings')).toEqual([]);
});
