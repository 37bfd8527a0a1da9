// The safety envelope through the settings app (issue 14 item 1, settings key `safety_envelope`),
// in app mode over HTTP against a real broker and the emulator: a bad envelope is refused per axis
// with the policy's own validation and nothing is saved; a good one is saved, applied live to the
// running driver (get_safety_policy and the refusals over NATS follow, the registry receives the
// new minimum/maximum), /api/effective shows it as configured and /api/status as in force; after
// a supervisor's set_safety_policy the two differ, and each says what it is. A saved envelope that
// the motion under way leaves stops it, as set_safety_policy does.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import { startWithSettings, type AppHandle } from '../../src/app-mode.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { fakeRegistry, openClient, rpc, type FakeRegistry } from '../harness/mesh-peer.ts';
import { waitFor } from '../harness/driver-harness.ts';
import { linkAndPower } from '../harness/ready-state.ts';
import { settingsApi, type SettingsApi } from '../harness/settings-api.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const DEVICE = 'settings-envelope';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const dir = mkdtempSync(join(tmpdir(), 'rmd-settings-envelope-'));
const settingsFile = join(dir, 'settings.json');
let server: NatsServerHandle;
let nc: NatsConnection;
let registry: FakeRegistry;
let emulator: Emulator;
let app: AppHandle;
let api: SettingsApi;

const settings = (extra: Record<string, unknown> = {}) => ({
  use_portal: false, nats_credentials_file: '', device_id: DEVICE, tenant: '', reachy_target: `127.0.0.1:${emulator.port}`, transport_mode: 'websocket',
  allow_insecure: true, simulate: false, no_media: true, messaging_backend: '', messaging_urls: server.url, discovery_mode: '', portal_credentials_glob: '', portal_credentials_dir: '', reachy_prefix: 'reachy_mini',
  ...extra,
});

const call = async (method: string, params: object = {}, subject = CMD): Promise<Record<string, any>> => (await rpc(nc, subject, { jsonrpc: '2.0', id: method, method, params }, 10_000)) as Record<string, any>;

beforeAll(async () => {
  server = await startNatsServer();
  emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
  nc = await openClient(server.url);
  registry = fakeRegistry(nc);
  await nc.flush();
  writeFileSync(settingsFile, JSON.stringify(settings()), { mode: 0o600 });
  app = await startWithSettings(
    {
      argv: ['app', '--settings-port', '0', '--settings-host', '127.0.0.1', '--config-dir', dir, '--settings-file', settingsFile],
      env: { HOME: dir, REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_REGISTER_JITTER: '0', PATH: process.env.PATH ?? '' },
    },
    () => undefined,
  );
  api = settingsApi(app.settings.url, dir);
  await waitFor(async () => linkAndPower((await rpc(nc, CMD, { jsonrpc: '2.0', id: 's', method: 'get_status' }, 1_000).catch((): Record<string, any> => ({})) as Record<string, any>).result) === 'connected/awake', 10_000, 'the driver up and the robot awake');
});

afterAll(async () => {
  await app?.stop();
  await nc?.close();
  await Promise.all([server?.stop(), emulator?.close()]);
});

test('a bad envelope is refused per axis and nothing is saved', async () => {
  const before = readFileSync(settingsFile);
  const put = await api('PUT', '/api/settings', settings({ safety_envelope: { head_pitch_deg: { min: 10, max: -10 }, body_yaw_deg: { min: -200, max: 0 }, elbow_deg: { min: 0, max: 1 } } }));
  expect(put.status).toBe(422);
  const issues = put.json.issues as Array<{ field: string; message: string }>;
  expect(issues.map((i) => i.field).sort()).toEqual(['safety_envelope.body_yaw_deg', 'safety_envelope.elbow_deg', 'safety_envelope.head_pitch_deg']);
  expect(issues.find((i) => i.field === 'safety_envelope.head_pitch_deg')?.message).toMatch(/min must not be above max/);
  expect(issues.find((i) => i.field === 'safety_envelope.body_yaw_deg')?.message).toMatch(/mechanical range/);
  expect((await api('PUT', '/api/settings', settings({ safety_envelope: { head_pitch_deg: { min: -5 } } }))).json.issues[0].field).toBe('safety_envelope.head_pitch_deg');
  expect(readFileSync(settingsFile)).toEqual(before);
});

test('a saved envelope applies live: the policy, the refusals and the advertised ranges follow; effective says configured, status says in force', async () => {
  const mark = registry.requests.messages.length;
  const envelope = { head_pitch_deg: { min: -5, max: 5 } };
  const put = await api('PUT', '/api/settings', settings({ safety_envelope: envelope }));
  expect(put.status, JSON.stringify(put.json)).toBe(200);
  expect(put.json.settings.safety_envelope).toEqual(envelope);
  expect(put.json.applied).toMatchObject({ ok: true });
  expect(JSON.parse(readFileSync(settingsFile, 'utf8')).safety_envelope).toEqual(envelope);
  expect((await api('GET', '/api/settings')).json.safety_envelope).toEqual(envelope);

  // In force on the robot at once.
  expect((await call('get_safety_policy')).result.policy.envelope.head_pitch_deg).toEqual({ min: -5, max: 5 });
  expect((await call('look_at_world', { pitch: 10 })).error?.data).toMatchObject({ _tag: 'OutsideEnvelope', violations: [{ axis: 'head_pitch_deg', value: 10, min: -5, max: 5 }] });
  // Re-advertised (the device registers again): the registry receives the new range.
  await expect
    .poll(() => registry.requests.messages.slice(mark).some((m) => (m.body as any).params?.capabilities?.functions?.find((f: any) => f.name === 'look_at_world')?.parameters.properties.pitch.maximum === 5), { timeout: 10_000 })
    .toBe(true);

  expect((await api('GET', '/api/effective')).json.safety_envelope).toEqual({ value: envelope, source: 'settings' });
  expect((await api('GET', '/api/status')).json.safety_envelope).toEqual(envelope);

  // The supervisor changes the live policy: status follows, the configured value stays what was saved.
  const policy = (await call('get_safety_policy')).result.policy;
  const live = { ...policy, envelope: { ...policy.envelope, head_pitch_deg: { min: -20, max: 20 } } };
  expect((await call('set_safety_policy', { policy: live, reason: 'supervisor', owner: 'ops' }, `device-connect.default.${DEVICE}.supervisor`)).result?.status).toBe('applied');
  expect((await api('GET', '/api/status')).json.safety_envelope).toEqual({ head_pitch_deg: { min: -20, max: 20 } });
  expect((await api('GET', '/api/effective')).json.safety_envelope).toEqual({ value: envelope, source: 'settings' });

  // Saving without the key goes back to the mechanical ranges.
  const cleared = await api('PUT', '/api/settings', settings());
  expect(cleared.json.applied).toMatchObject({ ok: true });
  expect('safety_envelope' in JSON.parse(readFileSync(settingsFile, 'utf8'))).toBe(false);
  expect((await api('GET', '/api/effective')).json.safety_envelope).toEqual({ value: {}, source: 'default' });
});

test('a saved envelope that the motion under way leaves: the apply stops it as set_safety_policy does, announced as policy_narrowed_stop by settings', async () => {
  const events: Array<Record<string, any>> = [];
  const sub = nc.subscribe(`device-connect.default.${DEVICE}.event.safety_event`, {
    callback: (_e, m) => {
      events.push((m.json() as any).params);
    },
  });
  await nc.flush();
  emulator.motionRecord.clear();
  // → goto_pose yaw 40 over 30 s (1.5 s on this emulator's clock) … → PUT /api/settings head yaw ±5 while it runs.
  const accepted = await call('goto_pose', { yaw: 40, duration_s: 30 });
  expect(accepted.result?.status, JSON.stringify(accepted)).toBe('accepted');
  const put = await api('PUT', '/api/settings', settings({ safety_envelope: { head_yaw_deg: { min: -5, max: 5 } } }));
  expect(put.json.applied, JSON.stringify(put.json)).toMatchObject({ ok: true });
  // ← the goto was stopped by the daemon, far short of 40°.
  await expect.poll(() => emulator.motionRecord.moves.at(-1)?.outcome, { timeout: 5_000 }).toBe('cancelled');
  expect(Math.max(...emulator.motionRecord.poses.map((p) => (p.head.yaw * 180) / Math.PI))).toBeLessThan(20);
  await expect.poll(() => events.find((e) => e.kind === 'policy_narrowed_stop'), { timeout: 5_000 }).toMatchObject({ function: 'goto_pose', caller: { id: 'settings' }, violations: [{ axis: 'head_yaw_deg', value: 40, min: -5, max: 5 }] });
  sub.unsubscribe();
  expect((await api('PUT', '/api/settings', settings())).json.applied).toMatchObject({ ok: true });
});
