// Issue 9, "Events describe the past", pinned to core-contracts.md "Events and audit records carry
// the state AFTER the change": every interlock and lease transition, through the RPC functions and
// through the `.supervisor` subject, is recorded with the state it produced (interlock_tripped →
// "tripped", interlock_reset → "safe", lease_acquired → the new owner, lease_released/revoked →
// null); refusals carry the state at refusal. The three channels — `safety_event`, the `.audit`
// subject and the `--audit-log` file — carry the same records in the same order.
import { afterEach, expect, test } from 'vitest';
import { startOperatorScene, type OperatorScene, type Reply } from '../harness/operator-scene.ts';

const scenes: OperatorScene[] = [];
afterEach(async () => {
  while (scenes.length > 0) await scenes.pop()!.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The daemon reports its state at 1 Hz: within this the driver has heard the next report. */
const NEXT_DAEMON_STATUS_MS = 1_500;

/** Waits up to `timeoutMs` for `check`; never throws, so the soft assertions after it all report. */
async function settle(check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(25);
}

async function scene(id: string): Promise<OperatorScene> {
  const s = await startOperatorScene({ deviceId: id, argv: ['--sim', '--sim-time-scale', '0.05', '--no-media'] });
  scenes.push(s);
  return s;
}

type Expected = Record<string, unknown> & { kind: string };

/**
 * One step of the transcript: runs `action`, waits for the audit file to gain a record of each
 * expected kind, and checks each (softly) against its expected fields. Other records the step may
 * add (e.g. a lease revoked by a trip) are allowed; the expected ones must be there.
 */
async function step(s: OperatorScene, label: string, action: () => Promise<Reply>, expected: Expected[]): Promise<Reply> {
  const before = s.auditFile().length;
  const reply = await action();
  const fresh = () => s.auditFile().slice(before);
  await settle(() => expected.every((e) => fresh().some((r) => r.kind === e.kind)));
  for (const e of expected) {
    expect.soft(fresh().find((r) => r.kind === e.kind && (e.function === undefined || r.function === e.function)), `${label}: ${e.kind}`).toMatchObject(e);
  }
  return reply;
}

/** Every event's `params` also carries what the Device Connect protocol adds: `event_id` and trace info. */
function withoutEnvelope(params: Record<string, any>): Record<string, any> {
  return Object.fromEntries(Object.entries(params).filter(([key]) => key !== 'event_id' && !key.startsWith('_trace')));
}

/** The three channels carry one trail: file line == `.audit` body == `safety_event` params. */
async function expectOneTrail(s: OperatorScene): Promise<void> {
  const count = s.auditFile().length;
  await settle(() => s.auditBus.messages.length >= count && s.safetyEvents.messages.length >= count);
  const file = s.auditFile();
  expect(file.length).toBeGreaterThan(0);
  expect.soft(s.auditBus.messages.map((m) => m.body), '.audit subject == audit file').toEqual(file);
  expect.soft(s.safetyParams().map(withoutEnvelope), 'safety_event params (less the event envelope) == audit file').toEqual(file);
}

test('RPC: emergency_stop, reset_interlock and the lease calls are recorded with the state after the change; refusals with the state at refusal', async () => {
  const s = await scene('after-rpc');
  const acquired = await step(s, 'acquire_lease alice', () => s.call('acquire_lease', { owner: 'alice', ttl_s: 60 }), [
    { kind: 'lease_acquired', owner: 'alice', state: { lease_owner: 'alice', interlock: 'safe' } },
  ]);
  expect(acquired.result).toMatchObject({ status: 'held', owner: 'alice' });
  await step(s, 'motion by the holder', () => s.call('antenna_pose', { left: 5, owner: 'alice' }), [
    { kind: 'lease_renewed', owner: 'alice', state: { lease_owner: 'alice' } },
  ]);
  await step(s, 'motion by another owner', () => s.call('antenna_pose', { left: 5, owner: 'bob' }), [
    { kind: 'refused', function: 'antenna_pose', owner: 'bob', error_tag: 'LeaseHeld', state: { lease_owner: 'alice', interlock: 'safe' } },
  ]);
  const tripped = await step(s, 'emergency_stop', () => s.call('emergency_stop', { reason: 'after-state trip', owner: 'ops' }), [
    { kind: 'interlock_tripped', reason: 'after-state trip', owner: 'ops', state: { interlock: 'tripped' } },
  ]);
  expect(tripped.result).toMatchObject({ status: 'tripped', interlock_state: 'tripped' });
  await step(s, 'motion while tripped', () => s.call('look_at_world', { yaw: 3, owner: 'alice' }), [
    { kind: 'refused', function: 'look_at_world', owner: 'alice', error_tag: 'InterlockTripped', state: { interlock: 'tripped' } },
  ]);
  const reset = await step(s, 'reset_interlock', () => s.call('reset_interlock', { reason: 'area clear', owner: 'ops' }), [
    { kind: 'interlock_reset', owner: 'ops', state: { interlock: 'safe' } },
  ]);
  expect(reset.result).toMatchObject({ status: 'safe' });
  await step(s, 'reset_interlock when safe', () => s.call('reset_interlock', { reason: 'again', owner: 'ops' }), [
    { kind: 'refused', function: 'reset_interlock', owner: 'ops', state: { interlock: 'safe' } },
  ]);
  // The lease may or may not survive a trip (the contract leaves it open); take it again if it did not.
  if ((await s.status()).command_owner !== 'alice') await s.call('acquire_lease', { owner: 'alice', ttl_s: 60 });
  const released = await step(s, 'release_lease', () => s.call('release_lease', { owner: 'alice' }), [
    { kind: 'lease_released', owner: 'alice', state: { lease_owner: null } },
  ]);
  expect(released.result).toMatchObject({ status: 'released' });
  await expectOneTrail(s);
});

test('supervisor subject: trip, reset_interlock and revoke_lease are recorded with the state after the change', async () => {
  const s = await scene('after-sup');
  // The acting owner is an owner name like any other: an escape sequence in it never reaches a record.
  // A trip is never refused for its form: it runs as the default owner and names `owner` as ignored.
  const escaped = await step(s, 'trip with an escape sequence as owner', () => s.supervise('trip', { reason: 'x', owner: '\u001b[31mX\n' }), [
    { kind: 'interlock_tripped', reason: 'x', owner: 'supervisor', state: { interlock: 'tripped' } },
    { kind: 'stop_params_ignored', function: 'trip', owner: 'supervisor', ignored_params: [{ param: 'owner', problem: expect.any(String), handling: 'default' }], state: { interlock: 'tripped' } },
  ]);
  expect(escaped.result).toMatchObject({ status: 'tripped', ignored_params: [{ param: 'owner', handling: 'default' }] });
  expect(JSON.stringify(s.auditFile())).not.toContain('\\u001b');
  expect((await s.supervise('reset_interlock', { reason: 'clear', owner: 'safety-officer' })).result).toMatchObject({ status: 'safe' });
  await step(s, 'acquire_lease bob', () => s.call('acquire_lease', { owner: 'bob', ttl_s: 60 }), [
    { kind: 'lease_acquired', owner: 'bob', state: { lease_owner: 'bob' } },
  ]);
  const tripped = await step(s, 'supervisor trip', () => s.supervise('trip', { reason: 'supervisor stop', owner: 'safety-officer' }), [
    { kind: 'interlock_tripped', reason: 'supervisor stop', owner: 'safety-officer', state: { interlock: 'tripped' } },
  ]);
  expect(tripped.result).toMatchObject({ status: 'tripped', interlock_state: 'tripped' });
  await step(s, 'motion while tripped', () => s.call('antenna_pose', { left: 3, owner: 'bob' }), [
    { kind: 'refused', function: 'antenna_pose', owner: 'bob', error_tag: 'InterlockTripped', state: { interlock: 'tripped' } },
  ]);
  const reset = await step(s, 'supervisor reset_interlock', () => s.supervise('reset_interlock', { reason: 'clear', owner: 'safety-officer' }), [
    { kind: 'interlock_reset', owner: 'safety-officer', state: { interlock: 'safe' } },
  ]);
  expect(reset.result).toMatchObject({ status: 'safe' });
  if ((await s.status()).command_owner !== 'bob') await s.call('acquire_lease', { owner: 'bob', ttl_s: 60 });
  const revoked = await step(s, 'supervisor revoke_lease', () => s.supervise('revoke_lease', { reason: 'bob is gone', owner: 'safety-officer' }), [
    // Whose lease it was, and who took it away (before 2026-12-06 the record named bob as its caller).
    { kind: 'lease_revoked', reason: 'bob is gone', owner: 'bob', caller: { id: 'safety-officer', verified: false }, state: { lease_owner: null } },
  ]);
  expect(revoked.result).toMatchObject({ status: 'revoked', previous_owner: 'bob' });
  expect((await s.status()).command_owner).toBeNull();
  await expectOneTrail(s);
});

test('a daemon error trips the interlock; reset_interlock is refused while the daemon still reports it, accepted once it clears', async () => {
  const s = await scene('after-daemon-error');
  const emulator = s.driver.emulator!;
  await step(s, 'daemon error', async () => (emulator.setFault({ kind: 'daemon-error', error: 'motor 11 overload' }), { jsonrpc: '2.0', id: 'fault', result: null }), [
    { kind: 'interlock_tripped', source: 'daemon', state: { interlock: 'tripped' } },
  ]);
  // Before 2026-12-06 the reset was accepted, and motion let through until the next 1 Hz status tripped it again.
  const early = await s.supervise('reset_interlock', { reason: 'try', owner: 'safety-officer' });
  expect(early.error?.data).toMatchObject({ _tag: 'NotAllowedInState', state: { daemon_state: 'error' } });
  expect((await s.status()).interlock_state).toBe('tripped');
  emulator.setFault({ kind: 'none' });
  await sleep(NEXT_DAEMON_STATUS_MS);
  const reset = await step(s, 'reset once the daemon recovered', () => s.supervise('reset_interlock', { reason: 'motor replaced', owner: 'safety-officer' }), [
    { kind: 'interlock_reset', owner: 'safety-officer', state: { interlock: 'safe' } },
  ]);
  expect(reset.result).toMatchObject({ status: 'safe' });
}, 30_000);
