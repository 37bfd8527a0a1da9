// A settings apply that restarts the mesh connection (a new device TTL, another broker list) while
// the robot moves: the mesh is the way to stop the robot, so the driver stops the move — as
// stop_motion does — and waits for it to settle before the old mesh stops taking calls; the robot
// stands still when the apply answers, and the apply is audited with the state after it. A stop
// sent as the apply starts is answered; so is a call still inside the gate when the old mesh
// drains (a slow daemon read): the drain takes no new calls but answers those before it closes.
// An apply to a broker that cannot be reached (a mistyped port) is refused with BrokerUnreachable
// before anything changes: the old mesh keeps answering, the move it could stop runs on; one
// reachable broker in the new list (after one that is down) is enough.
// Real nats-server, real driver, the emulator as the robot (time at scale 1: a 6 s goto is still
// running when the apply starts).
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { MESH_DRAIN_CALLS_WAIT_MS } from '../../src/actors/device-runtime.ts';
import type { DriverConfig } from '../../src/config/config.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, recorder, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';
import { closedPort } from '../harness/dead-brokers.ts';

const ID = 'mesh-mover';
const CMD = `device-connect.default.${ID}.cmd`;
const env = { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', REACHY_AUDIT_LOG: 'none' };
/** Long enough to be running when the apply starts and when it answers (the emulator runs at time scale 1). */
const GOTO_S = 6;
/** The robot answers a volume read this late: the read is still inside the gate when the mesh drains, within MESH_DRAIN_CALLS_WAIT_MS. */
const SLOW_READ_MS = Math.round(MESH_DRAIN_CALLS_WAIT_MS * 0.6);
let broker: NatsServerHandle;
let nc: NatsConnection;
let emulator: Emulator;
let driver: TestDriver;
let base: string[];

const call = async (method: string, params: object = {}, timeoutMs = 3_000): Promise<Record<string, any>> => await rpc(nc, CMD, { jsonrpc: '2.0', id: method, method, params }, timeoutMs);

/** The configuration the CLI would load from these flags. */
const configOf = (argv: string[]): DriverConfig => loadConfig({ argv, env });

beforeAll(async () => {
  broker = await startNatsServer();
  nc = await openClient(broker.url);
  emulator = await startEmulator({ timeScale: 1 });
  // A host with volume control: get_volume is a plain daemon read (the slow call of the drain tests).
  emulator.volume.available = true;
  base = ['--device-id', ID, '--messaging-url', broker.url, '--no-media', '--discovery-mode', 'd2d'];
  driver = await startTestDriver(base, env, { daemonBaseUrl: emulator.url });
  await waitFor(async () => (await call('get_status', {}, 500).catch(() => null))?.result?.driver_state?.connection_state === 'connected', 10_000, 'the driver answers, connected to the robot');
});

afterAll(async () => {
  await driver?.stop();
  await nc?.close();
  await Promise.all([broker?.stop(), emulator?.close()]);
});

/** A goto that runs for GOTO_S seconds, accepted and running on the robot. */
async function moving(): Promise<void> {
  await waitFor(async () => (await call('get_status', {}, 500).catch(() => null))?.result?.driver_state?.execution_state === 'idle', 5_000, 'the robot idle');
  expect((await call('goto_pose', { yaw: 30, duration_s: GOTO_S, owner: 'mover' })).result.status).toBe('accepted');
  await expect.poll(() => emulator.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
}

/** When the mesh child running now starts to close (`mesh.stop` → closing). */
function closingAt(): () => number | undefined {
  let at: number | undefined;
  const mesh = driver.runtime.mesh;
  const sub = mesh.subscribe((snapshot) => {
    if (at === undefined && snapshot.matches('closing')) {
      at = Date.now();
      sub.unsubscribe();
    }
  });
  return () => at;
}

/** The robot's stop requests received since `since`, oldest first. */
const stopsSince = (since: number) => emulator.received.filter((r) => r.method === 'POST' && r.path === '/api/move/stop' && r.ts >= since);

/** The flags in force with `what` changed: the device TTL 7 s longer, or the broker list with an alias of the broker added or taken away. */
function argvFor(what: 'ttl' | 'brokers'): string[] {
  const ttl = driver.config.deviceTtlS + (what === 'ttl' ? 7 : 0);
  const aliased = driver.config.messagingUrls.length > 1;
  const alias = what === 'brokers' ? !aliased : aliased;
  return [...base, '--device-ttl', String(ttl), ...(alias ? ['--messaging-url', broker.url.replace('127.0.0.1', 'localhost')] : [])];
}

for (const change of ['a new device TTL', 'another broker list (an alias of the same broker added)'] as const) {
  test(`${change} while a goto runs: the move is stopped before the old mesh closes, and the apply is audited with the state after`, async () => {
    const argv = argvFor(change === 'a new device TTL' ? 'ttl' : 'brokers');
    const audit = recorder(nc, `device-connect.default.${ID}.audit`);
    await nc.flush();
    await moving();
    const closing = closingAt();
    const started = Date.now();

    const applied = await driver.reconfigure(configOf(argv));

    expect(applied).toEqual({ ok: true, restarted: ['mesh'] });
    // The robot got the stop while the old mesh still took calls, and stands still now.
    const stops = stopsSince(started);
    expect(stops.length).toBeGreaterThan(0);
    expect(closing()).toBeDefined();
    expect(stops[0]!.ts).toBeLessThanOrEqual(closing()!);
    expect(emulator.snapshot().runningMoves).toEqual([]);
    const record = (await audit.next((m) => (m.body as { kind?: string }).kind === 'reconfigured', 5_000)).body as Record<string, any>;
    expect(record).toMatchObject({ owner: 'settings', restarted: ['mesh'], stopped_motion: true, state: { execution: 'idle' } });
    await expect.poll(async () => (await call('get_status', {}, 500).catch(() => null))?.result?.driver_state?.execution_state, { timeout: 5_000 }).toBe('idle');
  });
}

for (const change of ['ttl', 'brokers'] as const) {
  test(`a stop sent as an apply (${change}) starts is answered, and the robot stands still`, async () => {
    await moving();
    const stop = call('stop_motion', { owner: 'operator' });
    const applied = await driver.reconfigure(configOf(argvFor(change)));
    expect(applied.ok).toBe(true);
    expect((await stop).result.status).toBe('stopped');
    expect(emulator.snapshot().runningMoves).toEqual([]);
  });

  test(`a call inside the gate when the mesh drains for an apply (${change}) is answered before the connection closes`, async () => {
    await moving();
    expect((await call('stop_motion', { owner: 'mover' })).result.status).toBe('stopped');
    const asked = Date.now();
    emulator.faults.apply({ routeDelays: [{ path: '/api/volume/current', requestMs: [SLOW_READ_MS, SLOW_READ_MS] }] }, 1);
    try {
      const volume = call('get_volume');
      await expect.poll(() => emulator.received.some((r) => r.path === '/api/volume/current' && r.ts >= asked), { timeout: 2_000 }).toBe(true);

      const applied = await driver.reconfigure(configOf(argvFor(change)));

      expect(applied).toEqual({ ok: true, restarted: ['mesh'] });
      // Before 2026-12-06 the drain closed the connection under it: the caller heard nothing, and timed out.
      expect((await volume).result).toMatchObject({ status: 'success', device: 'speaker' });
    } finally {
      emulator.faults.clear();
    }
  });
}

test('an apply to a broker nothing listens on is refused with BrokerUnreachable; the old mesh keeps answering and nothing is stopped', async () => {
  await moving();
  const audit = recorder(nc, `device-connect.default.${ID}.audit`);
  await nc.flush();
  const mistyped = `nats://127.0.0.1:${await closedPort()}`;
  const before = driver.config.messagingUrls;

  const applied = await driver.reconfigure(configOf(['--device-id', ID, '--messaging-url', mistyped, '--no-media', '--discovery-mode', 'd2d']));

  expect(applied).toMatchObject({ ok: false, restarted: [], error: { _tag: 'BrokerUnreachable', brokers: [mistyped], cause: 'refused' } });
  expect(!applied.ok && applied.error.message).toContain(mistyped);
  expect(driver.config.messagingUrls).toEqual(before);
  // Before 2026-12-06 this answered ok: true, and nothing answered on the mesh until the setting was fixed.
  expect((await call('get_status')).result.driver_state.execution_state).toBe('moving');
  expect(emulator.snapshot().runningMoves).toHaveLength(1);
  const record = (await audit.next((m) => (m.body as { kind?: string }).kind === 'reconfigure_refused', 2_000)).body as Record<string, any>;
  expect(record).toMatchObject({ owner: 'settings', error_tag: 'BrokerUnreachable', brokers: [mistyped], cause: 'refused' });
  expect((await call('stop_motion', { owner: 'mover' })).result.status).toBe('stopped');
});

test('one broker of the new list answering is enough: an apply listing an unreachable broker first is applied', async () => {
  const dead = `nats://127.0.0.1:${await closedPort()}`;
  const applied = await driver.reconfigure(configOf(['--device-id', ID, '--messaging-url', dead, '--messaging-url', broker.url, '--no-media', '--discovery-mode', 'd2d']));
  expect(applied).toEqual({ ok: true, restarted: ['mesh'] });
  expect(driver.config.messagingUrls).toEqual([dead, broker.url]);
  await expect.poll(async () => (await call('get_status', {}, 500).catch(() => null))?.result?.driver_state?.mesh_state, { timeout: 10_000 }).toBe('registered');
});
