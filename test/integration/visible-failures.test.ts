// Setup failures are visible (issue 10 item 2): each one is logged ONCE at warn with the URL, the
// cause and what to do, later retries only at debug (no flood over several retry cycles), and a
// recovery is said once. Real peers throughout: the CLI as a process (its stderr), real nats-server
// brokers (plain, JWT, restarted), the real daemon adapters against closed ports, unresolvable
// names and a TCP server that never answers, the emulator without its signalling server, and a
// relay that appears late. Plus the one-line health summary.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { HEALTH_SUMMARY_INTERVAL_MS } from '../../src/actors/health-summary.ts';
import { FAILURE_REPEAT_INTERVAL_MS } from '../../src/logging/failure-notice.ts';
import { INSPECTOR_RETRY_MS } from '../../src/adapters/inspector-relay-watch.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/adapters/daemon-http.ts';
import { DUPLICATE_PROBE_CONNECT_TIMEOUT_MS } from '../../src/adapters/duplicate-device.ts';
import { AUDIT_STOP_DRAIN_MS } from '../../src/driver.ts';
import { startEmulator } from '../../src/sim/emulator.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import { captureLogs, type LogCapture } from '../harness/log-capture.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const INSECURE = { DEVICE_CONNECT_ALLOW_INSECURE: 'true' };
/** Long enough for several retry cycles of every back-off involved (broker 1→5 s, registry 1→30 s). */
const RETRIES_TIMEOUT_MS = 20_000;
/**
 * A hung peer costs a whole connect timeout per attempt (the broker's 5 s, nats-options
 * CONNECT_TIMEOUT_MS): the test shortens it, which only brings the retries it waits for sooner.
 */
const HUNG_BROKER_CONNECT_TIMEOUT_MS = 1_000;
/** The start-up duplicate-id probe dials the hung broker first (DUPLICATE_PROBE_CONNECT_TIMEOUT_MS, 2 s): shortened too. */
const HUNG_BROKER_PROBE_TIMEOUT_MS = 500;
/**
 * A daemon that never answers costs a whole request deadline per attempt (daemon-http
 * DEFAULT_REQUEST_TIMEOUT_MS, 5 s): shortened like the broker's, the same attempts come sooner.
 */
const SILENT_DAEMON_REQUEST_TIMEOUT_MS = 1_000;
/** The inspector redials a missing relay after INSPECTOR_RETRY_MS (5 s): shortened, the same retries come sooner. */
const INSPECTOR_TEST_RETRY_MS = 500;
/**
 * No test here reads the audit stream: a driver that never reached its broker need not wait
 * AUDIT_STOP_DRAIN_MS (2 s) at stop for records nobody takes.
 */
const TEST_AUDIT_STOP_DRAIN_MS = 100;

let logs: LogCapture;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeEach(() => {
  logs = captureLogs('debug');
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  logs.restore();
});

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function broker(options: Parameters<typeof startNatsServer>[0] = {}): Promise<NatsServerHandle> {
  const s = await startNatsServer(options);
  cleanups.push(() => s.stop());
  return s;
}

async function driver(argv: string[], env: Record<string, string> = INSECURE, overrides: Parameters<typeof startTestDriver>[2] = {}): Promise<TestDriver> {
  const d = await startTestDriver(argv, env, { auditStopDrainMs: TEST_AUDIT_STOP_DRAIN_MS, ...overrides });
  cleanups.push(() => d.stop());
  return d;
}

/** A TCP server that accepts connections and never says a word (a hung peer). */
async function silentServer(): Promise<number> {
  const sockets: Socket[] = [];
  const silent: Server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of sockets) c.destroy();
        silent.close(() => resolve());
      }),
  );
  return (silent.address() as { port: number }).port;
}

/** Waits until `parts` were retried at least `retries` times (debug), then returns the warn lines about them: still one. */
async function onceThenQuiet(parts: string[], retries = 2): Promise<string[]> {
  await expect.poll(() => logs.matching('WARN', ...parts).length, { timeout: RETRIES_TIMEOUT_MS, interval: 100 }).toBe(1);
  await expect.poll(() => logs.matching('DEBUG', 'retry failed', ...parts).length, { timeout: RETRIES_TIMEOUT_MS, interval: 200 }).toBeGreaterThanOrEqual(retries);
  const warned = logs.matching('WARN', ...parts);
  expect(warned).toHaveLength(1);
  return warned;
}

test('the repeat interval and the health period are named one-minute constants', () => {
  expect(FAILURE_REPEAT_INTERVAL_MS).toBe(60_000);
  expect(HEALTH_SUMMARY_INTERVAL_MS).toBe(60_000);
});

test('the waits these tests shorten keep their production values', () => {
  expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(5_000);
  expect(INSPECTOR_RETRY_MS).toBe(5_000);
  expect(AUDIT_STOP_DRAIN_MS).toBe(2_000);
  expect(DUPLICATE_PROBE_CONNECT_TIMEOUT_MS).toBe(2_000);
});

test('a wrong broker URL: the CLI says which URL, why and how it retries — once, even at --log-level debug over several retries', async () => {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [CLI, '--sim', '--no-media', '--log-level', 'debug', '--messaging-url', `nats://127.0.0.1:${port}`], {
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', REACHY_AUDIT_LOG: 'none' },
  });
  cleanups.push(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const lines = (level: string, text: string) => stderr.split('\n').filter((l) => l.includes(` ${level} `) && l.includes(text));
  const what = `cannot reach the NATS broker at nats://127.0.0.1:${port}: connection refused`;
  await expect.poll(() => lines('DEBUG', `retry failed: ${what}`).length, { timeout: RETRIES_TIMEOUT_MS, interval: 200 }).toBeGreaterThanOrEqual(2);
  const warned = lines('WARN', what);
  expect(warned).toHaveLength(1);
  expect(warned[0]).toContain('retrying with back-off 1 s → 5 s');
  expect(warned[0]).toContain('start nats-server there, or point --messaging-url / MESSAGING_URLS at a running broker');
  expect(warned[0]).toContain('code=ECONNREFUSED');
});

test('a broker host name that does not resolve is a DNS failure, logged once', async () => {
  const d = await driver(['--sim', '--no-media', '--device-id', 'dns-broker', '--messaging-url', 'nats://no-such-host.invalid:4222']);
  const warned = await onceThenQuiet(['cannot reach the NATS broker at nats://no-such-host.invalid:4222: DNS lookup failed']);
  expect(warned[0]).toContain('check the host name in --messaging-url / MESSAGING_URLS');
  // The mesh child's own truth says it too.
  expect(d.runtime.mesh.getSnapshot().context.lastError).toBeTruthy();
});

test('a broker that accepts but never speaks: a timeout, logged once', async () => {
  const port = await silentServer();
  await driver(['--device-id', 'hung-broker', '--no-media', '--sim', '--messaging-url', `nats://127.0.0.1:${port}`], INSECURE, {
    natsConnectTimeoutMs: HUNG_BROKER_CONNECT_TIMEOUT_MS,
    duplicateProbeConnectTimeoutMs: HUNG_BROKER_PROBE_TIMEOUT_MS,
  });
  const warned = await onceThenQuiet([`cannot reach the NATS broker at nats://127.0.0.1:${port}: timed out`], 1);
  expect(warned[0]).toContain('check the address and any firewall');
});

test('credentials the broker refuses: an authorization failure naming the credentials setting, once', async () => {
  const s = await broker({ auth: 'jwt' });
  const untrusted = await s.jwt!.mintUntrustedUser();
  await driver(['--device-id', 'auth-dev', '--no-media', '--sim', '--messaging-url', s.url], { MESSAGING_CREDENTIALS_FILE: untrusted.credsFile });
  const warned = await onceThenQuiet([`cannot reach the NATS broker at ${s.url}: authorization refused`]);
  expect(warned[0]).toContain('--nats-credentials-file / MESSAGING_CREDENTIALS_FILE');
  expect(warned[0]).toContain('cause=authorization');
});

test('a TLS broker whose certificate is not trusted: a TLS failure naming the TLS settings, once', async () => {
  const s = await broker({ tls: 'server' });
  const url = `tls://127.0.0.1:${s.port}`;
  // No --tls-ca-file: the broker's private CA is not trusted.
  await driver(['--device-id', 'tls-dev', '--no-media', '--sim', '--messaging-url', url]);
  const warned = await onceThenQuiet([`cannot reach the NATS broker at ${url}: TLS handshake failed`]);
  expect(warned[0]).toContain('--tls-ca-file');
});

test('tenant-scoped credentials without $SRV.>: one notice, not nine permission warnings, and none again after a reconnect', async () => {
  const s = await broker({ auth: 'jwt' });
  const member = await s.jwt!.mintUser({ name: 'tenant-member', pub: ['device-connect.default.>', '_INBOX.>'], sub: ['device-connect.default.>', '_INBOX.>'] });
  const d = await driver(['--device-id', 'srv-dev', '--no-media', '--sim', '--discovery-mode', 'd2d', '--messaging-url', s.url], { MESSAGING_CREDENTIALS_FILE: member.credsFile });
  await expect.poll(() => d.runtime.mesh.getSnapshot().matches('registered'), { timeout: 10_000 }).toBe(true);
  await expect.poll(() => logs.matching('WARN', 'may not subscribe to $SRV.>').length, { timeout: 10_000, interval: 100 }).toBe(1);
  await s.restart();
  await expect.poll(() => logs.matching('INFO', 'reconnected to broker').length, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(1);
  await new Promise((r) => setTimeout(r, 500));
  expect(logs.matching('WARN', '$SRV')).toHaveLength(1);
  // The broker refused all nine $SRV subscriptions at connect and nine again after the restart
  // (each was a warning of its own before): the other seventeen are debug lines now.
  expect(logs.matching('DEBUG', '$SRV subscription refused').length).toBeGreaterThanOrEqual(17);
  expect(logs.matching('WARN', 'Permissions Violation')).toHaveLength(0);
  expect(logs.matching('WARN', 'broker reported an error')).toHaveLength(0);
});

test('the default daemon target does not resolve: logged once with what to do (--target, --sim)', async () => {
  const s = await broker();
  await driver(['--device-id', 'dns-daemon', '--no-media', '--discovery-mode', 'd2d', '--messaging-url', s.url]);
  const warned = await onceThenQuiet(['cannot reach the robot daemon at http://reachy-mini.local:8000: DNS lookup failed'], 3);
  expect(warned[0]).toContain("Set --target (REACHY_TARGET) to the robot's IP address, or run with --sim");
  expect(warned[0]).toContain('retrying every 100 ms → 1 s');
});

test('nothing listens on the daemon port: connection refused, logged once', async () => {
  const s = await broker();
  const port = await freePort();
  await driver(['--device-id', 'refused-daemon', '--no-media', '--discovery-mode', 'd2d', '--target', `127.0.0.1:${port}`, '--messaging-url', s.url]);
  const warned = await onceThenQuiet([`cannot reach the robot daemon at http://127.0.0.1:${port}: connection refused`], 3);
  expect(warned[0]).toContain(`nothing listens on port ${port}: start the robot's daemon, or check the port in --target / --api-port`);
});

test('a daemon that accepts but never answers: a timeout, logged once', async () => {
  const s = await broker();
  const port = await silentServer();
  await driver(['--device-id', 'silent-daemon', '--no-media', '--discovery-mode', 'd2d', '--target', `127.0.0.1:${port}`, '--messaging-url', s.url], INSECURE, {
    daemonRequestTimeoutMs: SILENT_DAEMON_REQUEST_TIMEOUT_MS,
  });
  const warned = await onceThenQuiet([`cannot reach the robot daemon at http://127.0.0.1:${port}: timed out`], 1);
  expect(warned[0]).toContain('code=DaemonTimeout');
});

test('the signalling server is unreachable: media failure logged once with the URL and what it means', async () => {
  const s = await broker();
  const emulator = await startEmulator({ withMedia: false, timeScale: EMULATOR_TIME_SCALE });
  cleanups.push(() => emulator.close());
  const port = await freePort();
  await driver(['--device-id', 'no-signalling', '--discovery-mode', 'd2d', '--messaging-url', s.url], INSECURE, { daemonBaseUrl: emulator.url, signallingUrl: `ws://127.0.0.1:${port}` });
  const warned = await onceThenQuiet([`cannot reach the robot's WebRTC signalling server at ws://127.0.0.1:${port}: connection refused`]);
  expect(warned[0]).toContain('--signalling-port');
  expect(warned[0]).toContain('--no-media turns media off');
});

test('--inspect with no relay: logged once with `npm run inspect`; connecting later is said once', async () => {
  const s = await broker();
  const port = await freePort();
  await driver(['--device-id', 'no-relay', '--sim', '--no-media', '--discovery-mode', 'd2d', '--inspect', `ws://127.0.0.1:${port}`, '--messaging-url', s.url], INSECURE, {
    inspectorRetryMs: INSPECTOR_TEST_RETRY_MS,
  });
  const warned = await onceThenQuiet([`cannot reach the inspector relay at ws://127.0.0.1:${port}: connection refused`], 1);
  expect(warned[0]).toContain('start it with `npm run inspect`');
  const relay = new WebSocketServer({ host: '127.0.0.1', port });
  cleanups.push(() => new Promise<void>((resolve) => { for (const c of relay.clients) c.terminate(); relay.close(() => resolve()); }));
  await expect.poll(() => logs.matching('INFO', 'connected to the inspector relay').length, { timeout: 12_000, interval: 200 }).toBe(1);
});

test('infra discovery with no registry: logged once, naming the subject and --discovery-mode d2d', async () => {
  const s = await broker();
  await driver(['--device-id', 'no-registry', '--sim', '--no-media', '--discovery-mode', 'infra', '--messaging-url', s.url]);
  const warned = await onceThenQuiet(['no registry answers on device-connect.default.registry']);
  expect(warned[0]).toContain('run the driver with --discovery-mode d2d');
  expect(warned[0]).toContain('retrying with back-off 1 s → 30 s');
});

test('the health summary: one info line with mesh, daemon, media, interlock and lease', async () => {
  const s = await broker();
  await driver(['--device-id', 'healthy', '--sim', '--discovery-mode', 'd2d', '--messaging-url', s.url], INSECURE, { healthIntervalMs: 250 });
  await expect.poll(() => logs.matching('INFO', 'driver:health health', 'mesh=registered', 'daemon=connected').length, { timeout: 15_000, interval: 100 }).toBeGreaterThanOrEqual(1);
  const line = logs.matching('INFO', 'driver:health health', 'mesh=registered', 'daemon=connected').at(-1)!;
  expect(line).toMatch(/ media=\w+ interlock=safe lease=free execution=\w+$/);
});
