// Shutdown stops the robot before the driver goes (SIGTERM, Ctrl-C and the settings app stopping all
// end in driver.stop()): a goto still running when the driver is stopped is stopped on the daemon
// before stop() returns, audited `shutdown_stop` with the state after it; while that stop waits for a
// slow daemon a caller's own stop_motion is still answered, and a command that reaches the driver
// once shutdown began never moves the robot. A daemon that does not confirm the stop holds shutdown
// for at most SHUTDOWN_STOP_WAIT_MS (audited and logged: the robot may still be moving); one already
// unreachable, or never reached, holds it for no time. The real CLI stops the move on SIGTERM, and
// the settings app on its stop — but not on an apply that restarts nothing. Transcripts over a real
// nats-server.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, expect, test } from 'vitest';
import { SHUTDOWN_STOP_WAIT_MS } from '../../src/actors/leave-robot.ts';
import { startWithSettings } from '../../src/app-mode.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startOperatorScene, errorData, type OperatorScene } from '../harness/operator-scene.ts';
import { startNatsServer } from '../harness/nats-server.ts';
import { openClient, rpc } from '../harness/mesh-peer.ts';
import { startCli } from '../harness/cli-process.ts';
import { captureLogs } from '../harness/log-capture.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough to be running still when the driver stops (a few hundred ms after it was sent). */
const GOTO = { yaw: 40, duration_s: 5, owner: 'mover' };
/** What shutdown may take besides its motion stop: the audit and mesh drains, closing the sockets (a loaded 2-core box). */
const REST_OF_SHUTDOWN_MS = 1_500;

async function emulator(): Promise<Emulator> {
  const e = await startEmulator({ timeScale: 1 });
  cleanups.push(() => e.close());
  return e;
}

/** A driver on its own broker against `daemon` (the test reads the emulator's ground truth). */
async function scene(id: string, daemon: Emulator): Promise<OperatorScene> {
  const s = await startOperatorScene({ deviceId: id, argv: ['--no-media'], overrides: { daemonBaseUrl: daemon.url } });
  cleanups.push(() => s.stop());
  return s;
}

const yawDeg = (daemon: Emulator): number => (daemon.snapshot().headPose.yaw * 180) / Math.PI;
const posted = (daemon: Emulator, path: string) => daemon.received.filter((r) => r.method === 'POST' && r.path === path);
const shutdownRecords = (s: OperatorScene) => s.auditFile().filter((r) => r.kind === 'shutdown_stop');

test('a goto running when the driver stops is stopped on the daemon before stop() returns, and audited', async () => {
  const daemon = await emulator();
  const s = await scene('shut-goto', daemon);
  expect((await s.call('goto_pose', GOTO)).result?.status).toBe('accepted');
  await expect.poll(() => daemon.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
  await sleep(300);

  await s.driver.stop();

  // Before 2026-12-06 the daemon heard nothing after the goto and the head went on to 40°.
  expect(daemon.snapshot().runningMoves).toEqual([]);
  expect(posted(daemon, '/api/move/stop').length).toBeGreaterThan(0);
  const stoppedAt = yawDeg(daemon);
  await sleep(500);
  expect(Math.abs(yawDeg(daemon) - stoppedAt)).toBeLessThan(0.5);
  const [record] = shutdownRecords(s);
  expect(record).toMatchObject({ kind: 'shutdown_stop', owner: 'shutdown', settled: true, state: { execution: 'idle', connection: 'connected' } });
  // Published too, while the mesh was still up.
  expect(s.auditBus.messages.some((m) => (m.body as { kind?: string }).kind === 'shutdown_stop')).toBe(true);
});

test('while the shutdown stop waits for a slow daemon, a caller\'s own stop_motion is answered', async () => {
  const daemon = await emulator();
  const s = await scene('shut-slow', daemon);
  expect((await s.call('goto_pose', GOTO)).result?.status).toBe('accepted');
  await expect.poll(() => daemon.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
  // The daemon's stops are handled this late: inside the shutdown's bound.
  daemon.faults.apply({ routeDelays: [{ path: '/api/move/stop', requestMs: [800, 800] }] }, 1);

  const stopping = s.driver.stop();
  await sleep(100);
  const own = await s.call('stop_motion', { owner: 'mover' });

  expect(own.result).toMatchObject({ status: 'stopped' });
  await stopping;
  expect(daemon.snapshot().runningMoves).toEqual([]);
  expect(shutdownRecords(s)).toMatchObject([{ settled: true }]);
});

test('a command that reaches the driver once shutdown began never moves the robot', async () => {
  const daemon = await emulator();
  const s = await scene('shut-late', daemon);
  expect(await s.driver.robot.stopMotionForShutdown()).toEqual({ settled: true });
  daemon.clearReceived();

  // The mesh still answers (it is drained next); the command is refused at its daemon write.
  const late = await s.call('goto_pose', GOTO);

  expect(errorData(late)._tag).toBe('DaemonUnavailable');
  expect(late.error?.message).toMatch(/shutting down/);
  expect(posted(daemon, '/api/move/goto')).toEqual([]);
  expect(daemon.snapshot().runningMoves).toEqual([]);
});

test('a daemon that does not confirm the stop holds shutdown for SHUTDOWN_STOP_WAIT_MS at most, said and audited', async () => {
  const logs = captureLogs('info');
  cleanups.push(async () => logs.restore());
  const daemon = await emulator();
  const s = await scene('shut-stalled', daemon);
  expect((await s.call('goto_pose', GOTO)).result?.status).toBe('accepted');
  await expect.poll(() => daemon.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
  daemon.faults.apply({ routeDelays: [{ path: '/api/move/stop', requestMs: [SHUTDOWN_STOP_WAIT_MS + 2_000, SHUTDOWN_STOP_WAIT_MS + 2_000] }] }, 1);

  const startedAt = Date.now();
  await s.driver.stop();
  const took = Date.now() - startedAt;

  expect(took).toBeGreaterThanOrEqual(SHUTDOWN_STOP_WAIT_MS - 50);
  expect(took).toBeLessThan(SHUTDOWN_STOP_WAIT_MS + REST_OF_SHUTDOWN_MS);
  const [record] = shutdownRecords(s);
  expect(record).toMatchObject({ settled: false, owner: 'shutdown' });
  expect(record?.cause).toMatch(/not confirmed/);
  expect(record?.reason).toMatch(/may still be moving/);
  const said = logs.matching('WARN', 'the driver stops while the robot may still be moving');
  expect(said).toHaveLength(1);
  expect(said[0]).toContain(`daemon=${daemon.url}`);
});

/** The driver stops without waiting for a robot it cannot reach, and audits that it may not have settled. */
async function expectStopWithoutWaiting(s: OperatorScene): Promise<void> {
  const startedAt = Date.now();
  await s.driver.stop();

  expect(Date.now() - startedAt).toBeLessThan(REST_OF_SHUTDOWN_MS);
  const [record] = shutdownRecords(s);
  expect(record).toMatchObject({ settled: false });
  expect(record?.cause).toMatch(/link (backoff|connecting|disconnected)/);
}

test('a daemon already unreachable at shutdown holds the driver back for no time', async () => {
  const daemon = await emulator();
  const s = await scene('shut-gone', daemon);
  await daemon.stop();
  await expect.poll(async () => (await s.status()).connection_state, { timeout: 5_000 }).not.toBe('connected');

  await expectStopWithoutWaiting(s);
});

test('a driver that never reached its daemon stops at once (nothing was ever sent there, and a stop could not be)', async () => {
  // A daemon address that takes connections and never answers (a wrong host that swallows packets, a
  // name still resolving): the link stays `connecting` and the shutdown stop's own requests hang too.
  const held = new Set<Socket>();
  const silent = createServer((socket) => {
    held.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => {
    for (const socket of held) socket.destroy();
    silent.close(resolve);
  }));
  const port = (silent.address() as AddressInfo).port;
  const s = await startOperatorScene({ deviceId: 'shut-never', argv: ['--no-media'], overrides: { daemonBaseUrl: `http://127.0.0.1:${port}` }, waitReady: false });
  cleanups.push(() => s.stop());
  await expect.poll(async () => (await s.status()).connection_state, { timeout: 5_000 }).toMatch(/backoff|connecting/);

  // Before, it waited out SHUTDOWN_STOP_WAIT_MS for a daemon it had never reached.
  await expectStopWithoutWaiting(s);
});

test('SIGTERM to the real CLI stops the goto it was running before it exits', async () => {
  const daemon = await emulator();
  const broker = await startNatsServer();
  cleanups.push(() => broker.stop());
  const nc = await openClient(broker.url);
  cleanups.push(() => nc.close());
  const cli = startCli(['run', '--target', daemon.url, '--no-media', '--device-id', 'shut-cli', '--messaging-url', broker.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: 'none' });
  cleanups.push(async () => cli.child.kill('SIGKILL'));
  await cli.line((line) => line.startsWith('reachy-mini-driver shut-cli'), 15_000);
  const call = (method: string, params: object) => rpc(nc, 'device-connect.default.shut-cli.cmd', { jsonrpc: '2.0', id: method, method, params });
  await expect.poll(async () => ((await call('get_status', {})).result as any)?.driver_state?.connection_state, { timeout: 10_000 }).toBe('connected');
  expect(((await call('goto_pose', GOTO)).result as any)?.status).toBe('accepted');
  await expect.poll(() => daemon.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);

  cli.child.kill('SIGTERM');
  const { code, stderr } = await cli.done;

  expect(code, stderr).toBe(0);
  expect(daemon.snapshot().runningMoves).toEqual([]);
  expect(posted(daemon, '/api/move/stop').length).toBeGreaterThan(0);
  expect(stderr).toContain('motion stopped before the driver stops');
}, 30_000);

// An apply that restarts the mesh stops motion first (test/integration/mesh-apply-while-moving.test.ts); one that
// restarts nothing (a safety setting the robot's motion does not depend on) leaves the move alone.
test('the settings app stops the move when it stops, not when an apply restarts nothing', async () => {
  const daemon = await emulator();
  const a = await startNatsServer();
  cleanups.push(() => a.stop());
  const dir = mkdtempSync(join(tmpdir(), 'rmd-shut-app-'));
  const settingsFile = join(dir, 'settings.json');
  const settings = { device_id: 'shut-app', reachy_target: `127.0.0.1:${daemon.port}`, allow_insecure: true, no_media: true, messaging_urls: a.url, discovery_mode: 'd2d' };
  writeFileSync(settingsFile, JSON.stringify(settings));
  const app = await startWithSettings(
    { argv: ['app', '--settings-port', '0', '--settings-host', '127.0.0.1', '--config-dir', dir, '--settings-file', settingsFile], env: { HOME: dir, REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_REGISTER_JITTER: '0', PATH: process.env.PATH ?? '' } },
    () => {},
  );
  let stopped = false;
  cleanups.push(async () => stopped || (await app.stop()));
  const driver = app.driver()!;
  await expect.poll(() => String(driver.robot.children.connection.getSnapshot().value), { timeout: 10_000 }).toBe('connected');
  const caller = { sourceDevice: null, traceId: null };
  expect(((await driver.gate.call('goto_pose', GOTO, caller)) as any).result?.status).toBe('accepted');
  await expect.poll(() => daemon.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);

  writeFileSync(settingsFile, JSON.stringify({ ...settings, approval_timeout_s: 40 }));
  const bearer = `Bearer ${readFileSync(join(dir, 'settings-token'), 'utf8').trim()}`;
  const applied = (await (await request(`${app.settings.url}/api/apply`, { method: 'POST', headers: { authorization: bearer } })).body.json()) as Record<string, unknown>;

  expect(applied).toMatchObject({ ok: true, restarted: [] });
  expect(daemon.snapshot().runningMoves).toHaveLength(1);
  expect(posted(daemon, '/api/move/stop')).toEqual([]);

  await app.stop();
  stopped = true;

  expect(daemon.snapshot().runningMoves).toEqual([]);
  expect(posted(daemon, '/api/move/stop').length).toBeGreaterThan(0);
});
