// Two drivers with one device id on one mesh (issue 10 item 3): the second refuses to start with
// DuplicateDeviceId naming the id and the ways out; the CLI exits with code 1 saying so on stderr;
// `--replace` starts anyway, warning that the other instance keeps answering until stopped. No false
// alarm for another id, nor for a wildcard listener that hears the probe without answering, nor for
// a JetStream stream that records `.cmd` (its PubAck is no device's answer) — which must not hide a
// real twin either. A live reconfigure to an id, tenant or broker where a twin answers is refused
// the same way and changes nothing; a broker list that still reaches the driver's own mesh is not a
// twin, and a twin behind unreachable brokers listed first is still found. Real nats-server, real
// drivers (test/harness).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { DuplicateDeviceId, probeDeviceId } from '../../src/adapters/duplicate-device.ts';
import { loadConfig } from '../../src/adapters/config-files.ts';
import type { DriverConfig } from '../../src/config/config.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import { closedPort, silentBroker } from '../harness/dead-brokers.ts';
import { captureLogs } from '../harness/log-capture.ts';
import { openClient, recorder, rpc } from '../harness/mesh-peer.ts';
import { jetStreamConfig } from '../harness/jetstream-broker.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const INSECURE = { DEVICE_CONNECT_ALLOW_INSECURE: 'true' };
let server: NatsServerHandle;
let nc: NatsConnection;
const drivers: TestDriver[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
});
afterEach(async () => {
  while (drivers.length > 0) await drivers.pop()!.stop();
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

async function driver(id: string, extra: string[] = []): Promise<TestDriver> {
  const d = await startTestDriver(['--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', id, '--messaging-url', server.url, ...extra], INSECURE);
  drivers.push(d);
  return d;
}

async function serving(id: string, on: NatsConnection = nc): Promise<void> {
  await expect.poll(async () => (await rpc(on, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: 'p', method: 'get_status' }, 1_000).catch((): Record<string, unknown> => ({}))).result !== undefined, { timeout: 10_000 }).toBe(true);
}

/** The configuration a reconfigure applies, read from argv as the test harness reads it at start. */
function configOf(argv: string[]): DriverConfig {
  return loadConfig({ argv, env: { DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', REACHY_AUDIT_LOG: 'none', ...INSECURE } });
}

/** How many devices answer one requestRegistration on `id`'s `.cmd` within a second (a stream's PubAck is not counted). */
async function answersOn(id: string, on: NatsConnection = nc): Promise<number> {
  const replies = await on.requestMany(`device-connect.default.${id}.cmd`, JSON.stringify({ jsonrpc: '2.0', id: 'who', method: 'requestRegistration', params: {} }), { strategy: 'timer', maxWait: 1_000 });
  let count = 0;
  for await (const reply of replies) if ((reply.json() as { result?: { device_id?: unknown } }).result?.device_id === id) count += 1;
  return count;
}

test('a second driver with the same id refuses to start, naming the id and the ways out', async () => {
  await driver('twin');
  await serving('twin');
  const refused = await startTestDriver(['--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', 'twin', '--messaging-url', server.url], INSECURE).then(
    (d) => {
      drivers.push(d);
      return undefined;
    },
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(DuplicateDeviceId);
  expect(refused).toMatchObject({ _tag: 'DuplicateDeviceId', deviceId: 'twin', tenant: 'default', subject: 'device-connect.default.twin.cmd' });
  const message = (refused as DuplicateDeviceId).message;
  expect(message).toContain('device id "twin" is already in use on this mesh');
  expect(message).toContain('--device-id');
  expect(message).toContain('--replace');
});

test('the CLI exits with code 1 and says why on stderr', async () => {
  await driver('cli-twin');
  await serving('cli-twin');
  const child = spawn(process.execPath, [CLI, '--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', 'cli-twin', '--messaging-url', server.url], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', REACHY_AUDIT_LOG: 'none' },
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(code).toBe(1);
  expect(stderr).toContain('reachy-mini-driver: device id "cli-twin" is already in use on this mesh (tenant "default")');
  expect(stderr).toContain('--replace');
});

test('--replace starts anyway and warns that the other instance keeps answering until stopped', async () => {
  await driver('replaced');
  await serving('replaced');
  const logs = captureLogs('info');
  try {
    await driver('replaced', ['--replace']);
    expect(logs.matching('WARN', '--replace: device id "replaced" already answers on device-connect.default.replaced.cmd')).toHaveLength(1);
  } finally {
    logs.restore();
  }
});

test('no false alarm: another id, and a wildcard listener that hears the probe without answering', async () => {
  await driver('first-of-two');
  await serving('first-of-two');
  const heard = recorder(nc, 'device-connect.>');
  await nc.flush();
  await driver('second-of-two');
  await serving('second-of-two');
  // The listener did hear the probe on the new id's own subject.
  expect(heard.messages.some((m) => m.subject === 'device-connect.default.second-of-two.cmd' && m.text.includes('requestRegistration'))).toBe(true);
});

test('a stream recording every .cmd subject is not a device: a new id starts, a real twin is still refused', async () => {
  const js = await startNatsServer({ extraConfig: jetStreamConfig() });
  const jsClient = await openClient(js.url);
  try {
    await (await jetstreamManager(jsClient)).streams.add({ name: 'CMD_LOG', subjects: ['device-connect.*.*.cmd'] });
    const argv = ['--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', 'recorded', '--messaging-url', js.url];
    // The stream answers the probe with a PubAck: not a device, so the id is free.
    drivers.push(await startTestDriver(argv, INSECURE));
    await expect.poll(() => answersOn('recorded', jsClient), { timeout: 10_000 }).toBe(1);
    // Now a device answers too, next to the stream's PubAck: that answer counts.
    const refused = await startTestDriver(argv, INSECURE).then(
      (d) => {
        drivers.push(d);
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ _tag: 'DuplicateDeviceId', deviceId: 'recorded' });
  } finally {
    while (drivers.length > 0) await drivers.pop()!.stop();
    await jsClient.close();
    await js.stop();
  }
});

test('a live reconfigure to an id another driver answers with is refused, and nothing changes', async () => {
  await driver('taken');
  const argv = ['--sim', '--no-media', '--discovery-mode', 'd2d', '--messaging-url', server.url];
  const mover = await driver('mover');
  await serving('taken');
  await serving('mover');
  const result = await mover.reconfigure(configOf([...argv, '--device-id', 'taken']));
  expect(result.ok).toBe(false);
  expect(result.restarted).toEqual([]);
  expect(!result.ok && result.error).toMatchObject({ _tag: 'DuplicateDeviceId', deviceId: 'taken', subject: 'device-connect.default.taken.cmd' });
  // Still itself, and still the only one answering as each id.
  expect(mover.config.deviceId).toBe('mover');
  expect(await answersOn('taken')).toBe(1);
  expect(await answersOn('mover')).toBe(1);
});

test('a live move to a broker where a twin answers is refused; the mesh comes back on the old broker', async () => {
  const other = await startNatsServer();
  const otherNc = await openClient(other.url);
  try {
    drivers.push(await startTestDriver(['--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', 'roamer', '--messaging-url', other.url], INSECURE));
    const roamer = await driver('roamer');
    await serving('roamer', otherNc);
    await serving('roamer');
    const result = await roamer.reconfigure(configOf(['--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', 'roamer', '--messaging-url', other.url]));
    expect(!result.ok && result.error).toMatchObject({ _tag: 'DuplicateDeviceId', deviceId: 'roamer' });
    expect(roamer.config.messagingUrls).toEqual([server.url]);
    await serving('roamer');
    expect(await answersOn('roamer', otherNc)).toBe(1);
  } finally {
    while (drivers.length > 0) await drivers.pop()!.stop();
    await otherNc.close();
    await other.stop();
  }
});

test('no false alarm on reconfigure: a new broker list that still reaches the driver itself is applied', async () => {
  const self = await driver('self-reached');
  await serving('self-reached');
  const result = await self.reconfigure(configOf(['--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', 'self-reached', '--messaging-url', server.url, '--messaging-url', server.url]));
  expect(result).toEqual({ ok: true, restarted: ['mesh'] });
  await serving('self-reached');
  expect(await answersOn('self-reached')).toBe(1);
});

/**
 * Starts before 2026-12-06 dialed with nats.js's shuffled server order and maxReconnectAttempts 0,
 * which drops the pool's last server at each failed first dial besides the one that failed: with three
 * dead brokers before the live one, half the starts never dialed it, skipped the check and served as a
 * second 'behind-dead' (all eight starts refused by chance: 1 in 256).
 */
const STARTS_BEHIND_DEAD_BROKERS = 8;

test('a twin on the last of four brokers, the first three unreachable, is found at every start', async () => {
  await driver('behind-dead');
  await serving('behind-dead');
  const dead = await Promise.all([closedPort(), closedPort(), closedPort()]);
  const brokers = [...dead.map((port) => `nats://127.0.0.1:${port}`), server.url];
  const outcomes: string[] = [];
  for (let start = 0; start < STARTS_BEHIND_DEAD_BROKERS; start++) {
    const outcome = await startTestDriver(['--sim', '--no-media', '--discovery-mode', 'd2d', '--device-id', 'behind-dead', '--messaging-url', brokers.join(',')], INSECURE).then(
      (d) => (drivers.push(d), 'started: a second driver with the same id'),
      (error: unknown) => (error as { _tag?: string })._tag ?? String(error),
    );
    outcomes.push(outcome);
  }
  expect(outcomes).toEqual(Array.from({ length: STARTS_BEHIND_DEAD_BROKERS }, () => 'DuplicateDeviceId'));
  expect(await answersOn('behind-dead')).toBe(1);
});

test('no broker reachable (refused, and one that accepts but never answers): the probe gives up and says so', async () => {
  const wedged = await silentBroker();
  try {
    const result = await probeDeviceId({ servers: [`nats://127.0.0.1:${await closedPort()}`, wedged.url] }, 'default', 'nowhere');
    expect(result).toMatchObject({ kind: 'unknown' });
    expect(result.kind === 'unknown' && result.reason).toContain('broker not reachable for the duplicate-id check');
  } finally {
    await wedged.close();
  }
});
