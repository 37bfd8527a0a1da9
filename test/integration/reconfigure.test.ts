// Applying new settings without restarting the process (issue "settings app"): a changed broker
// moves the mesh connection to a second nats-server (registered there, answering there, gone from
// the first); a changed daemon target retargets the daemon link to a second emulator; safety state
// (a tripped interlock) survives both, and each apply is audited; a new signalling port moves the media session to that robot.
// Mesh and media restart as the root's own children: the old one is gone, the new one is in the same system.
// A mesh stopped while it dials has its connection drained without telling it: no "sent to stopped actor" warning.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { fakeRegistry, openClient, recorder, rpc, type FakeRegistry } from '../harness/mesh-peer.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import type { NatsConnection } from '@nats-io/nats-core';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const dir = mkdtempSync(join(tmpdir(), 'rmd-apply-'));
const settingsFile = join(dir, 'device_connect_app.json');
const argv = ['--device-id', 'apply-dev', '--settings-file', settingsFile];
const env = { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', REACHY_AUDIT_LOG: 'none', HOME: dir };
let a: NatsServerHandle;
let b: NatsServerHandle;
let ncA: NatsConnection;
let ncB: NatsConnection;
let registryB: FakeRegistry;
let emulator1: Emulator;
let emulator2: Emulator;
let driver: TestDriver;

function saveSettings(values: Record<string, unknown>): void {
  writeFileSync(settingsFile, JSON.stringify(values), { mode: 0o600 });
}

beforeAll(async () => {
  [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
  [emulator1, emulator2] = await Promise.all([startEmulator({ timeScale: EMULATOR_TIME_SCALE }), startEmulator({ timeScale: EMULATOR_TIME_SCALE, withMedia: true })]);
  ncA = await openClient(a.url);
  ncB = await openClient(b.url);
  fakeRegistry(ncA);
  registryB = fakeRegistry(ncB);
  await Promise.all([ncA.flush(), ncB.flush()]);
  saveSettings({ messaging_urls: a.url, reachy_target: `127.0.0.1:${emulator1.port}` });
  driver = await startTestDriver(argv, env);
});

afterAll(async () => {
  await driver?.stop();
  await Promise.all([ncA?.close(), ncB?.close()]);
  await Promise.all([a?.stop(), b?.stop(), emulator1?.close(), emulator2?.close()]);
});

const status = async (nc: NatsConnection) => (await rpc(nc, 'device-connect.default.apply-dev.cmd', { jsonrpc: '2.0', id: 's', method: 'get_status' }, 1_000)).result as Record<string, any>;

test('a new broker in the settings moves the mesh connection without a restart', async () => {
  await expect.poll(async () => (await status(ncA).catch(() => ({}) as Record<string, any>)).driver_state?.connection_state, { timeout: 5_000 }).toBe('connected');
  expect(((await rpc(ncA, 'device-connect.default.apply-dev.cmd', { jsonrpc: '2.0', id: 't', method: 'emergency_stop', params: { reason: 'keep me' } })) as Record<string, any>).result.status).toBe('tripped');
  saveSettings({ messaging_urls: b.url, reachy_target: `127.0.0.1:${emulator1.port}` });
  const before = driver.runtime.mesh;
  const applied = await driver.reconfigure(loadConfig({ argv, env }));
  expect(applied.restarted).toEqual(['mesh']);
  expect(driver.runtime.mesh).not.toBe(before);
  expect(before.getSnapshot().status).not.toBe('active');
  expect(driver.robot.driver.system.get('mesh')).toBe(driver.runtime.mesh);
  expect(driver.robot.driver.getSnapshot().children['mesh']).toBe(driver.runtime.mesh);
  await registryB.requests.next(() => true, 5_000);
  await expect.poll(async () => (await status(ncB)).driver_state.mesh_state).toBe('registered');
  expect((await status(ncB)).driver_state.interlock_state).toBe('tripped');
  await expect(status(ncA)).rejects.toThrow();
});

test('a new daemon target retargets the daemon link and keeps safety state', async () => {
  saveSettings({ messaging_urls: b.url, reachy_target: `127.0.0.1:${emulator2.port}` });
  const audit = recorder(ncB, 'device-connect.default.apply-dev.audit');
  await ncB.flush();
  const applied = await driver.reconfigure(loadConfig({ argv, env }));
  expect(applied.restarted).toEqual(['daemon_link']);
  // The apply is audited (issue 13): who, what restarted, chained after the records before it.
  // (The previous apply's record may reach this broker late: it was sent once the mesh had moved here.)
  const record = (await audit.next((m) => (m.body as { kind?: string; restarted?: string[] }).kind === 'reconfigured' && (m.body as { restarted: string[] }).restarted.includes('daemon_link'), 5_000)).body as Record<string, any>;
  expect(record).toMatchObject({ kind: 'reconfigured', owner: 'settings', restarted: ['daemon_link'], policy_changed: false });
  expect(record.seq).toBeGreaterThan(1);
  await expect.poll(async () => (await status(ncB)).driver_state.connection_state, { timeout: 3_000 }).toBe('connected');
  expect((await status(ncB)).driver_state.interlock_state).toBe('tripped');
  const call = async (method: string, params: object = {}): Promise<Record<string, any>> => await rpc(ncB, 'device-connect.default.apply-dev.cmd', { jsonrpc: '2.0', id: method, method, params });
  expect((await call('reset_interlock', { reason: 'after move' })).result.status).toBe('safe');
  emulator1.clearReceived();
  emulator2.clearReceived();
  expect((await call('look_at_world', { yaw: 12 })).result.status).toBe('accepted');
  await expect.poll(() => emulator2.received.some((r) => r.transport === 'ws')).toBe(true);
  expect(emulator1.received.some((r) => r.transport === 'ws')).toBe(false);
  const unchanged = await driver.reconfigure(loadConfig({ argv, env }));
  expect(unchanged.restarted).toEqual([]);
});

test('a new signalling port restarts only the media session, which streams from the new robot', async () => {
  const port = new URL(emulator2.signallingUrl!).port;
  const before = driver.media!.session;
  const applied = await driver.reconfigure(loadConfig({ argv: [...argv, '--signalling-port', port], env }));
  expect(applied.restarted).toEqual(['media']);
  expect(before.getSnapshot().status).toBe('stopped');
  expect(driver.robot.driver.system.get('media')).toBe(driver.media!.session);
  expect(driver.robot.driver.getSnapshot().children['media']).toBe(driver.media!.session);
  const call = async (method: string, params: object = {}): Promise<Record<string, any>> => await rpc(ncB, 'device-connect.default.apply-dev.cmd', { jsonrpc: '2.0', id: method, method, params }, 10_000);
  await expect.poll(async () => (await call('get_media_status')).result.session_state, { timeout: 8_000 }).toBe('streaming');
  expect(emulator2.media!.sessionCount()).toBe(1);
  expect((await call('capture_video_frame', { encoding: 'thumbnail' })).result.status).toBe('success');
  expect((await status(ncB)).driver_state.interlock_state).toBe('safe');
});

test('a mesh restarted while it dials drains that connection without sending to the stopped mesh', async () => {
  const warn = vi.spyOn(console, 'warn');
  const stderr = vi.spyOn(process.stderr, 'write');
  try {
    // To the other broker, then at once back, while the new mesh still dials: stopped mid-dial, its connection drained later.
    const [away, back, backNc] = driver.config.messagingUrls[0] === a.url ? [b.url, a.url, ncA] : [a.url, b.url, ncB];
    expect((await driver.reconfigure({ ...driver.config, messagingUrls: [away] })).restarted).toEqual(['mesh']);
    const dialing = driver.runtime.mesh;
    expect((await driver.reconfigure({ ...driver.config, messagingUrls: [back] })).restarted).toEqual(['mesh']);
    await expect.poll(async () => (await status(backNc).catch(() => ({}) as Record<string, any>)).driver_state?.mesh_state, { timeout: 5_000 }).toBe('registered');
    expect(dialing.getSnapshot().status).toBe('done');
    const printed = [...warn.mock.calls, ...stderr.mock.calls].map((args) => String(args[0]));
    expect(printed.filter((line) => line.includes('was sent to stopped actor'))).toEqual([]);
  } finally {
    warn.mockRestore();
    stderr.mockRestore();
  }
});
