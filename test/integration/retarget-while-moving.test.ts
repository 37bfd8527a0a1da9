// A daemon change in the settings while the robot moves: the driver stops the move on the robot it
// is leaving and stays until that robot has settled — an apply made while the old daemon delays its
// stops past LEAVE_SETTLE_WAIT_MS is refused (StopUnconfirmed, audited, nothing else changed) instead of
// leaving a move running where nothing would watch it; the next apply, once the stop went through,
// moves the link. An unreachable old daemon does not hold the driver back, and a driver stopped while
// a retarget waits opens no link to the new daemon.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { LEAVE_SETTLE_WAIT_MS } from '../../src/actors/leave-robot.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { fakeRegistry, openClient, recorder, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';
import { startUpgradeHoldProxy } from '../harness/upgrade-hold-proxy.ts';

const dir = mkdtempSync(join(tmpdir(), 'rmd-leave-'));
const settingsFile = join(dir, 'device_connect_app.json');
const argv = ['--device-id', 'leave-dev', '--settings-file', settingsFile];
const env = { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', REACHY_AUDIT_LOG: 'none', HOME: dir };
const CMD = 'device-connect.default.leave-dev.cmd';
/** The old daemon's stops reach its handler this late: longer than a retarget waits for them. */
const STOP_DELAY_MS = LEAVE_SETTLE_WAIT_MS + 1_500;
let broker: NatsServerHandle;
let nc: NatsConnection;
let first: Emulator;
let second: Emulator;
let third: Emulator;
let driver: TestDriver;

function saveTarget(emulator: Emulator): void {
  writeFileSync(settingsFile, JSON.stringify({ messaging_urls: broker.url, reachy_target: `127.0.0.1:${emulator.port}` }), { mode: 0o600 });
}

const call = async (method: string, params: object = {}, timeoutMs = 5_000): Promise<Record<string, any>> =>
  await rpc(nc, CMD, { jsonrpc: '2.0', id: method, method, params }, timeoutMs);

/** The driver's connection state as get_status reports it (null while it does not answer yet). */
const connectionState = async (): Promise<string | null> => (await call('get_status').catch(() => null))?.result?.driver_state?.connection_state ?? null;

beforeAll(async () => {
  broker = await startNatsServer();
  [first, second, third] = await Promise.all([startEmulator(), startEmulator(), startEmulator()]);
  nc = await openClient(broker.url);
  fakeRegistry(nc);
  await nc.flush();
  saveTarget(first);
  driver = await startTestDriver(argv, env);
  await waitFor(async () => (await connectionState()) === 'connected', 10_000, 'the driver connected to the first robot');
});

afterAll(async () => {
  await driver?.stop();
  await nc?.close();
  await Promise.all([broker?.stop(), first?.close(), second?.close(), third?.close()]);
});

test('an apply while the old robot has not confirmed its stop is refused, and the driver stays on it', async () => {
  const audit = recorder(nc, 'device-connect.default.leave-dev.audit');
  await nc.flush();
  expect((await call('goto_pose', { yaw: 30, duration_s: 8, owner: 'mover' })).result.status).toBe('accepted');
  await expect.poll(() => first.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
  first.faults.apply({ routeDelays: [{ path: '/api/move/stop', requestMs: [STOP_DELAY_MS, STOP_DELAY_MS] }] }, 1);
  saveTarget(second);

  const refused = await driver.reconfigure(loadConfig({ argv, env }));

  expect(refused).toMatchObject({ ok: false, restarted: [], error: { _tag: 'StopUnconfirmed', daemon: first.url } });
  expect(driver.robot.daemonBaseUrl).toBe(first.url);
  expect(second.received).toHaveLength(0);
  const record = (await audit.next((m) => (m.body as { kind?: string }).kind === 'reconfigure_refused', 2_000)).body as Record<string, unknown>;
  expect(record).toMatchObject({ owner: 'settings', error_tag: 'StopUnconfirmed' });
  // The stop goes on against the robot the driver stayed on, and lands once its daemon handles it.
  await expect.poll(() => first.snapshot().runningMoves.length, { timeout: STOP_DELAY_MS + 2_000 }).toBe(0);
  first.faults.clear();

  const applied = await driver.reconfigure(loadConfig({ argv, env }));

  expect(applied).toEqual({ ok: true, restarted: ['daemon_link'] });
  expect(driver.robot.daemonBaseUrl).toBe(second.url);
  await expect.poll(connectionState, { timeout: 5_000 }).toBe('connected');
});

test('an apply leaves at once when the old robot stops within the wait, its move stopped first', async () => {
  expect((await call('goto_pose', { yaw: -30, duration_s: 8, owner: 'mover' })).result.status).toBe('accepted');
  await expect.poll(() => second.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
  saveTarget(third);

  const applied = await driver.reconfigure(loadConfig({ argv, env }));

  expect(applied).toEqual({ ok: true, restarted: ['daemon_link'] });
  expect(second.snapshot().runningMoves).toEqual([]);
  expect(second.received.some((r) => r.method === 'POST' && r.path === '/api/move/stop')).toBe(true);
  expect(driver.robot.daemonBaseUrl).toBe(third.url);
});

test('an unreachable old robot does not hold the driver back', async () => {
  await expect.poll(connectionState, { timeout: 5_000 }).toBe('connected');
  await third.stop();
  await expect.poll(connectionState, { timeout: 5_000 }).not.toBe('connected');
  saveTarget(first);

  const applied = await driver.reconfigure(loadConfig({ argv, env }));

  expect(applied).toEqual({ ok: true, restarted: ['daemon_link'] });
  expect(driver.robot.daemonBaseUrl).toBe(first.url);
  await expect.poll(connectionState, { timeout: 5_000 }).toBe('connected');
});

test('a driver stopped while a retarget waits for the old robot to settle opens no link to the new daemon', async () => {
  const old = await startEmulator();
  const next = await startEmulator();
  const proxy = await startUpgradeHoldProxy({ host: next.host, port: next.port });
  const own = await startTestDriver(['--device-id', 'leave-stop', '--messaging-url', broker.url, '--no-media'], { ...env, REACHY_MINI_DRIVER_SETTINGS_FILE: join(dir, 'none.json') }, { daemonBaseUrl: old.url });
  try {
    await waitFor(() => String(own.robot.driver.getSnapshot().context.children.connection.getSnapshot().value) === 'connected', 10_000, 'connected to the old robot');
    const moved = await rpc(nc, 'device-connect.default.leave-stop.cmd', { jsonrpc: '2.0', id: 'g', method: 'goto_pose', params: { yaw: 30, duration_s: 8, owner: 'mover' } });
    expect((moved.result as { status?: string } | undefined)?.status).toBe('accepted');
    old.faults.apply({ routeDelays: [{ path: '/api/move/stop', requestMs: [STOP_DELAY_MS, STOP_DELAY_MS] }] }, 1);
    const retarget = own.robot.retarget(proxy.url, 'websocket');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await own.stop();
    expect(await retarget).toMatchObject({ ok: false });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Before 2026-12-06 the retarget went on after stop(): both sockets to the new daemon stayed open, reconnecting for ever.
    expect(proxy.openWebSockets('/ws/sdk') + proxy.openWebSockets('/api/move/ws/updates')).toBe(0);
    expect(next.received.filter((e) => e.transport === 'ws')).toEqual([]);
  } finally {
    old.faults.clear();
    await own.stop();
    await proxy.close();
    await Promise.all([old.close(), next.close()]);
  }
}, 30_000);
