// The safety trail and the supervisor subject: refusals and interlock/lease transitions are
// appended to the audit file (JSON lines, appended, never rewritten) and published on `.audit`;
// privileged operations work on `.supervisor`; with --supervisor-only the RPC forms are refused.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, recorder, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import { linkAndPower } from '../harness/ready-state.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
const cleanup: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
});
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

async function robot(id: string, argv: string[], auditPath: string): Promise<{ driver: TestDriver; emulator: Emulator; call: (m: string, p?: object) => Promise<Record<string, any>>; supervise: (m: string, p?: object) => Promise<Record<string, any>> }> {
  const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
  const driver = await startTestDriver(['--device-id', id, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--audit-log', auditPath, ...argv], { DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: auditPath }, { daemonBaseUrl: emulator.url });
  cleanup.push(async () => {
    await driver.stop();
    await emulator.close();
  });
  const call = (method: string, params: object = {}) => rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: method, method, params });
  const supervise = (method: string, params: object = {}) => rpc(nc, `device-connect.default.${id}.supervisor`, { jsonrpc: '2.0', id: method, method, params });
  await expect.poll(async () => linkAndPower((await call('get_status').catch((): Record<string, any> => ({}))).result), { timeout: 5_000 }).toBe('connected/awake');
  return { driver, emulator, call, supervise };
}

function lines(path: string): Array<Record<string, any>> {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('refusals and interlock/lease changes are appended to the audit file and published on .audit', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'rmd-audit-')), 'audit.jsonl');
  const audit = recorder(nc, 'device-connect.default.audit-dev.audit');
  await nc.flush();
  const r = await robot('audit-dev', [], path);
  await r.call('antenna_pose', { left: 5, owner: 'alice' });
  await r.call('antenna_pose', { left: 5, owner: 'bob' });
  await r.call('emergency_stop', { reason: 'test trip', owner: 'ops' });
  await r.call('look_at_world', { yaw: 3, owner: 'alice' });
  await r.call('reset_interlock', { reason: 'clear', owner: 'ops' });
  await expect.poll(() => lines(path).map((l) => l.kind), { timeout: 2_000 }).toEqual(['accepted', 'lease_acquired', 'refused', 'interlock_tripped', 'refused', 'interlock_reset']);
  const first = lines(path);
  // The accepted motion command (issue 13), then what it caused; every record chained (seq 1, 2, 3…).
  expect(first[0]).toMatchObject({ kind: 'accepted', function: 'antenna_pose', owner: 'alice', params: { left: 5, owner: 'alice' }, seq: 1 });
  expect(first.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(first[2]).toMatchObject({ kind: 'refused', function: 'antenna_pose', owner: 'bob', error_tag: 'LeaseHeld', state: { interlock: 'safe' } });
  expect(first[4]).toMatchObject({ kind: 'refused', function: 'look_at_world', error_tag: 'InterlockTripped' });
  for (const line of first) expect(line.ts).toMatch(/Z$/);
  await r.call('antenna_pose', { left: 5, owner: 'bob' });
  const second = lines(path);
  expect(second.slice(0, first.length)).toEqual(first); // appended, never rewritten
  expect(second.length).toBeGreaterThan(first.length);
  await expect.poll(() => audit.messages.length).toBeGreaterThanOrEqual(first.length);
  expect((audit.messages[2]!.body as Record<string, unknown>).kind).toBe('refused');
});

test('the supervisor subject trips, resets and revokes; --supervisor-only refuses the RPC forms', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'rmd-audit-')), 'audit.jsonl');
  const r = await robot('sup-dev', ['--supervisor-only'], path);
  const rpcTrip = await r.call('emergency_stop', { reason: 'not allowed here' });
  expect(rpcTrip.error.data._tag).toBe('NotAllowedInState');
  expect(rpcTrip.error.message).toContain('supervisor subject');
  expect((await r.supervise('trip', { reason: 'supervisor stop' })).result.status).toBe('tripped');
  expect((await r.call('look_at_world', { yaw: 2 })).error.data._tag).toBe('InterlockTripped');
  expect((await r.call('reset_interlock', { reason: 'x' })).error.data._tag).toBe('NotAllowedInState');
  expect((await r.supervise('reset_interlock', { reason: 'clear' })).result.status).toBe('safe');
  expect((await r.call('acquire_lease', { owner: 'alice', ttl_s: 60 })).result.status).toBe('held');
  expect((await r.call('look_at_world', { yaw: 2, owner: 'bob' })).error.data._tag).toBe('LeaseHeld');
  expect((await r.supervise('revoke_lease', { reason: 'alice is gone' })).result).toMatchObject({ status: 'revoked', previous_owner: 'alice' });
  expect((await r.call('look_at_world', { yaw: 2, owner: 'bob' })).result.status).toBe('accepted');
  expect((await r.supervise('nope')).error.code).toBe(-32601);
  // stop_motion is never gated.
  expect((await r.call('stop_motion')).result.status).toBe('stopped');
});
