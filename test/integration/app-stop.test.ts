// Stopping the settings app (`reachy-mini-driver app`) while an apply is under way: motion is
// stopped first, before the stop waits for the apply (a goto running while a reconfigure probes a
// broker that swallows connections is stopped on the daemon while that probe still runs); an apply
// that never ends holds the stop APPLY_WAIT_AT_STOP_MS at most, said once in the log with the cause
// and what to check; a start that ends after the stop gave up on it stops the driver it started.
// Before 2026-12-06 stop() waited for the apply without any limit. Real nats-server, emulator,
// HTTP to the settings app.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, expect, test } from 'vitest';
import { APPLY_WAIT_AT_STOP_MS, startWithSettings, type AppHandle } from '../../src/app-mode.ts';
import { findNatsServer, startPrivateBroker, type BrokerChoiceDeps, type PrivateBroker } from '../../src/adapters/private-nats-server.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer } from '../harness/nats-server.ts';
import { captureLogs } from '../harness/log-capture.ts';
import { setLogSink } from '../../src/logging/logger.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Long enough to be running still when the app stops. */
const GOTO = { yaw: 40, duration_s: 5, owner: 'mover' };

const posted = (daemon: Emulator, path: string) => daemon.received.filter((r) => r.method === 'POST' && r.path === path);

/** The app on `settingsFile`, in a config dir of its own; stopped after the test unless the test did. */
async function startApp(dir: string, settingsFile: string, extraArgv: string[] = [], brokers?: BrokerChoiceDeps): Promise<{ app: AppHandle; bearer: string }> {
  const app = await startWithSettings(
    {
      argv: ['app', ...extraArgv, '--settings-port', '0', '--settings-host', '127.0.0.1', '--config-dir', dir, '--settings-file', settingsFile],
      env: { HOME: dir, REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_REGISTER_JITTER: '0', PATH: process.env.PATH ?? '' },
    },
    () => {},
    brokers ? { brokers } : {},
  );
  cleanups.push(() => app.stop());
  return { app, bearer: `Bearer ${readFileSync(join(dir, 'settings-token'), 'utf8').trim()}` };
}

/** A TCP server that accepts every connection and never says a word (a hung broker). */
async function swallowingServer(): Promise<{ url: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `nats://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets };
}

test('motion is stopped first: a goto running while an apply probes a silent broker is stopped on the daemon before that probe ends', async () => {
  const logs = captureLogs('info');
  cleanups.push(async () => logs.restore());
  const daemon = await startEmulator({ timeScale: 1 });
  cleanups.push(() => daemon.close());
  const a = await startNatsServer();
  cleanups.push(() => a.stop());
  const silent = await swallowingServer();
  const dir = mkdtempSync(join(tmpdir(), 'rmd-app-stop-moving-'));
  const settingsFile = join(dir, 'settings.json');
  const settings = { device_id: 'app-stop-moving', reachy_target: `127.0.0.1:${daemon.port}`, allow_insecure: true, no_media: true, messaging_urls: a.url, discovery_mode: 'd2d' };
  writeFileSync(settingsFile, JSON.stringify(settings));
  const { app, bearer } = await startApp(dir, settingsFile);
  const driver = app.driver()!;
  await expect.poll(() => String(driver.robot.children.connection.getSnapshot().value), { timeout: 10_000 }).toBe('connected');
  expect(((await driver.gate.call('goto_pose', GOTO, { sourceDevice: null, traceId: null })) as any).result?.status).toBe('accepted');
  await expect.poll(() => daemon.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);

  // Apply a broker that accepts the connection and never answers: the apply's reach probe waits on it.
  writeFileSync(settingsFile, JSON.stringify({ ...settings, messaging_urls: silent.url }));
  const apply = request(`${app.settings.url}/api/apply`, { method: 'POST', headers: { authorization: bearer } }).then((r) => r.body.text(), () => 'closed');
  await expect.poll(() => silent.sockets.length, { timeout: 5_000 }).toBeGreaterThan(0);
  // The stops the daemon had heard when the apply gave up on the silent broker (the driver says so in its log).
  let stopsWhenApplyEnded: number | undefined;
  setLogSink((line) => {
    logs.lines.push(line);
    if (line.includes('configuration not applied')) stopsWhenApplyEnded ??= posted(daemon, '/api/move/stop').length;
  });

  await app.stop();

  // Before 2026-12-06 the stop waited for the apply first: the daemon heard no stop until the probe was over.
  expect(logs.matching('WARN', 'configuration not applied', 'none of the brokers')).toHaveLength(1);
  expect(stopsWhenApplyEnded).toBeGreaterThan(0);
  expect(daemon.snapshot().runningMoves).toEqual([]);
  await apply;
});

test('an apply that never ends holds the stop APPLY_WAIT_AT_STOP_MS at most, said once with the cause and the fix; a start that ends later stops its driver', { timeout: 30_000 }, async () => {
  const logs = captureLogs('info');
  cleanups.push(async () => logs.restore());
  const dir = mkdtempSync(join(tmpdir(), 'rmd-app-stop-hung-'));
  const settingsFile = join(dir, 'settings.json');
  // Not valid yet (a dotted device id): the app serves without a driver until a save fixes it.
  writeFileSync(settingsFile, JSON.stringify({ device_id: 'bad.id' }));
  // The --sim start asks whether a broker answers on the default URL; here that question is not
  // answered until the test says so, standing in for anything an apply may wait on without end.
  let answer: (answers: boolean) => void = () => {};
  let asked = 0;
  const brokers: PrivateBroker[] = [];
  const hung: BrokerChoiceDeps = {
    answers: () => ((asked += 1), new Promise<boolean>((resolve) => (answer = resolve))),
    findBinary: findNatsServer,
    start: async (binary) => brokers[brokers.push(await startPrivateBroker(binary)) - 1]!,
  };
  cleanups.push(() => Promise.all(brokers.map((broker) => broker.stop())));
  const { app, bearer } = await startApp(dir, settingsFile, ['--sim', '--no-media'], hung);
  expect(app.driver()).toBeUndefined();
  const save = request(`${app.settings.url}/api/settings`, { method: 'PUT', headers: { authorization: bearer, 'content-type': 'application/json' }, body: JSON.stringify({ device_id: 'app-stop-hung', allow_insecure: true }) }).then((r) => r.body.text(), () => 'closed');
  await expect.poll(() => asked, { timeout: 5_000 }).toBe(1);

  const startedAt = Date.now();
  await app.stop();

  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(APPLY_WAIT_AT_STOP_MS - 50);
  const said = logs.matching('WARN', 'stopping without waiting any longer for the settings apply under way');
  expect(said).toHaveLength(1);
  expect(said[0]).toContain(`waited_ms=${APPLY_WAIT_AT_STOP_MS}`);
  expect(said[0]).toMatch(/cause=.*starting the driver has not finished/);
  expect(said[0]).toMatch(/fix=.*Reachy daemon address and the messaging URLs/);
  expect(app.driver()).toBeUndefined();
  await save;

  // The start ends after all (nothing answers on the default URL: a private broker is started): the driver it started is stopped at once.
  answer(false);
  await expect.poll(() => logs.matching('INFO', 'the driver started after the settings app began stopping: stopping it').length, { timeout: 15_000 }).toBe(1);
  await expect.poll(() => logs.matching('INFO', 'motion stopped before the driver stops').length + logs.matching('WARN', 'the driver stops while the robot may still be moving').length, { timeout: 10_000 }).toBe(1);
  expect(app.driver()).toBeUndefined();
  expect(logs.matching('WARN', 'stopping without waiting any longer')).toHaveLength(1);
});
