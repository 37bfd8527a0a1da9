// Issue 9, "Reconfigure says applied when it did not", pinned to core-contracts.md: a new
// configuration that changes what cannot be applied live (`simulate`, `no_media`) is refused with
// RestartRequired naming the fields — the mesh does not re-register under the sim device id, the
// daemon link keeps driving the same robot, media stays as it was — directly
// (`driver.reconfigure`) and through the settings app (PUT /api/settings); and applies are
// serialised: two at once run one after the other, the second seeing the first's result. With
// --sim, a saved daemon host is answered SimulatorInUse and stays "not in effect" (the emulator
// stays, and /api/effective names it as what the driver dials, source `simulator`, the configured
// address never in effect) while the rest of that save and later ones apply; without --sim a new daemon host is
// applied, not refused. A saved envelope bound past the supervisor's other bound in force is
// answered PolicyConflict and changes nothing; one that conflicts only with a range the supervisor
// set while the apply moved the daemon link is left out of that apply (ok: true, PolicyConflict,
// not in effect, audited reconfigure_refused) while the rest applies, and the next apply takes it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { DriverConfig } from '../../src/config/config.ts';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { startWithSettings } from '../../src/app-mode.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { fakeRegistry, openClient, recorder, rpc, type FakeRegistry } from '../harness/mesh-peer.ts';
import { LEAVE_SETTLE_WAIT_MS } from '../../src/actors/leave-robot.ts';
import { STOP_REQUEST_TIMEOUT_MS } from '../../src/actors/motion-executor.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import { settingsApi } from '../harness/settings-api.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

/** The device ids loadConfig picks when none is configured (config.ts DEFAULT_DEVICE_ID / DEFAULT_SIM_DEVICE_ID). */
const REAL_ID = 'reachy-mini-1';
const SIM_ID = 'reachy-mini-sim-1';
/** A loopback address other than 127.0.0.1 (Linux routes all of 127/8 to lo): a daemon host change on this machine. */
const OTHER_LOOPBACK = '127.0.0.2';
/** A daemon host nothing in the test serves: a --sim driver never goes there anyway. */
const ELSEWHERE = '10.0.0.9:8000';
/**
 * The robot being left handles its stop this late: a window for the supervisor while the apply waits
 * there, inside the stop's own request timeout and the retarget's wait, so the apply goes through.
 */
const LEAVING_STOP_DELAY_MS = Math.min(STOP_REQUEST_TIMEOUT_MS, LEAVE_SETTLE_WAIT_MS) / 2;
/** Long enough for a re-registration to reach the registry (it is sent at once with jitter 0). */
const REGISTRATION_SETTLE_MS = 800;

let a: NatsServerHandle;
let b: NatsServerHandle;
let ncA: NatsConnection;
let ncB: NatsConnection;
let registryA: FakeRegistry;
let registryB: FakeRegistry;
let emulator1: Emulator;
let emulator2: Emulator;
/** On another loopback address: a daemon whose HOST differs from the others' (127.0.0.1). */
let emulator3: Emulator;

beforeAll(async () => {
  [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
  [emulator1, emulator2, emulator3] = await Promise.all([startEmulator({ timeScale: EMULATOR_TIME_SCALE }), startEmulator({ timeScale: EMULATOR_TIME_SCALE }), startEmulator({ timeScale: EMULATOR_TIME_SCALE, host: OTHER_LOOPBACK })]);
  [ncA, ncB] = await Promise.all([openClient(a.url), openClient(b.url)]);
  registryA = fakeRegistry(ncA);
  registryB = fakeRegistry(ncB);
  await Promise.all([ncA.flush(), ncB.flush()]);
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
afterAll(async () => {
  await Promise.all([ncA?.close(), ncB?.close()]);
  await Promise.all([a?.stop(), b?.stop(), emulator1?.close(), emulator2?.close(), emulator3?.close()]);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `answered` when `id` answers get_status on that broker within 500 ms, else `silent`. */
const presence = (nc: NatsConnection, id: string) => call(nc, id, 'get_status', {}, 500).then(() => 'answered', () => 'silent');

interface Setup {
  readonly dir: string;
  readonly argv: string[];
  readonly env: Record<string, string>;
  save(values: Record<string, unknown>): void;
  /** The configuration the CLI would load now (flags + env + the saved settings). */
  load(): DriverConfig;
}

function setup(extraArgv: string[] = []): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-refusal-'));
  const settingsFile = join(dir, 'device_connect_app.json');
  const argv = ['--settings-file', settingsFile, ...extraArgv];
  const env = { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', REACHY_AUDIT_LOG: 'none', HOME: dir };
  return {
    dir,
    argv,
    env,
    save: (values) => writeFileSync(settingsFile, JSON.stringify(values), { mode: 0o600 }),
    load: () => loadConfig({ argv, env }),
  };
}

async function driverOn(s: Setup): Promise<TestDriver> {
  const driver = await startTestDriver(s.argv, s.env);
  cleanups.push(() => driver.stop());
  return driver;
}

const call = (nc: NatsConnection, id: string, method: string, params: object = {}, timeoutMs = 2_000) =>
  rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: method, method, params }, timeoutMs) as Promise<Record<string, any>>;

async function waitConnected(nc: NatsConnection, id: string): Promise<void> {
  await expect
    .poll(async () => (await call(nc, id, 'get_status').catch((): Record<string, any> => ({}))).result?.driver_state?.connection_state, { timeout: 8_000 })
    .toBe('connected');
}

/** Whatever an apply answered: its resolved value or what it rejected with. */
async function outcomeOf(apply: Promise<unknown>): Promise<{ readonly rejected: boolean; readonly value: any }> {
  try {
    return { rejected: false, value: await apply };
  } catch (error) {
    return { rejected: true, value: error };
  }
}

/** The typed refusal of an apply: a rejection with a tagged error, or a resolved value carrying one. */
function refusalOf(outcome: { readonly rejected: boolean; readonly value: any }): { _tag?: string; fields?: unknown } | undefined {
  if (outcome.rejected) return outcome.value;
  const v = outcome.value;
  return v?._tag ? v : (v?.error ?? v?.refused);
}

/** Registry requests naming `deviceId`, from the `since`-th request on. */
const registrationsOf = (registry: FakeRegistry, deviceId: string, since: number) => registry.requests.messages.slice(since).filter((m) => m.text.includes(`"${deviceId}`));

test('reconfigure of simulate is refused with RestartRequired; the mesh keeps its device id and the daemon link its robot', async () => {
  const s = setup();
  const base = { messaging_urls: a.url, reachy_target: `127.0.0.1:${emulator1.port}`, no_media: true };
  s.save(base);
  const driver = await driverOn(s);
  expect(driver.config.deviceId).toBe(REAL_ID);
  await waitConnected(ncA, REAL_ID);

  const mark = registryA.requests.messages.length;
  s.save({ ...base, simulate: true });
  const next = s.load();
  // The danger of applying it: the sim configuration names another device.
  expect(next).toMatchObject({ sim: true, deviceId: SIM_ID });
  const outcome = await outcomeOf(driver.reconfigure(next));
  const refusal = refusalOf(outcome);
  expect.soft(refusal?._tag, `reconfigure answered ${JSON.stringify(outcome.value)}`).toBe('RestartRequired');
  expect.soft(refusal?.fields, 'the refusal names the field').toEqual(expect.arrayContaining([expect.stringMatching(/^(sim|simulate)$/)]));

  await sleep(REGISTRATION_SETTLE_MS);
  expect.soft(registrationsOf(registryA, SIM_ID, mark).map((m) => m.subject), 'no registration under the sim device id').toEqual([]);
  expect.soft(driver.config).toMatchObject({ deviceId: REAL_ID, sim: false });
  expect.soft(driver.emulator, 'no embedded emulator was started').toBeUndefined();
  expect.soft(await presence(ncA, SIM_ID), 'nothing answers as the sim device').toBe('silent');
  // The real device still answers and still drives the same robot.
  expect.soft(await presence(ncA, REAL_ID), 'the real device still answers').toBe('answered');
  expect(driver.robot.daemonBaseUrl).toBe(emulator1.url);
  emulator1.clearReceived();
  const id = driver.config.deviceId; // the id it answers as now (REAL_ID unless the apply went through)
  expect((await call(ncA, id, 'look_at_world', { yaw: 7 })).result).toMatchObject({ status: 'accepted' });
  await expect.poll(() => emulator1.received.some((r) => r.transport === 'ws' && r.path === '/ws/sdk')).toBe(true);
});

test('reconfigure of no_media is refused with RestartRequired; media stays off', async () => {
  const s = setup(['--device-id', 'refusal-media']);
  const base = { messaging_urls: a.url, reachy_target: `127.0.0.1:${emulator1.port}`, no_media: true };
  s.save(base);
  const driver = await driverOn(s);
  await waitConnected(ncA, 'refusal-media');
  s.save({ ...base, no_media: false });
  const next = s.load();
  expect(next.noMedia).toBe(false);
  const outcome = await outcomeOf(driver.reconfigure(next));
  const refusal = refusalOf(outcome);
  expect.soft(refusal?._tag, `reconfigure answered ${JSON.stringify(outcome.value)}`).toBe('RestartRequired');
  expect.soft(refusal?.fields, 'the refusal names the field').toEqual(expect.arrayContaining([expect.stringMatching(/^(noMedia|no_media)$/)]));
  expect.soft(driver.config.noMedia, 'the configuration in force keeps no_media').toBe(true);
  expect(driver.media).toBeUndefined();
  expect((await call(ncA, 'refusal-media', 'get_status')).result.driver_state.connection_state).toBe('connected');
});

test('two applies at once are serialised: the second sees the first one\'s result', async () => {
  const s = setup(['--device-id', 'refusal-serial']);
  s.save({ messaging_urls: a.url, reachy_target: `127.0.0.1:${emulator1.port}`, no_media: true });
  const driver = await driverOn(s);
  await waitConnected(ncA, 'refusal-serial');
  const markB = registryB.requests.messages.length;
  // First apply: a new broker. Second apply (saved after it): the same broker and a new robot.
  s.save({ messaging_urls: b.url, reachy_target: `127.0.0.1:${emulator1.port}`, no_media: true });
  const first = s.load();
  s.save({ messaging_urls: b.url, reachy_target: `127.0.0.1:${emulator2.port}`, no_media: true });
  const second = s.load();
  const [r1, r2] = await Promise.all([outcomeOf(driver.reconfigure(first)), outcomeOf(driver.reconfigure(second))]);
  expect(r1.rejected || r2.rejected, `applies answered ${JSON.stringify([r1.value, r2.value])}`).toBe(false);
  expect.soft(r1.value.restarted, 'the first apply moves the mesh').toEqual(['mesh']);
  expect.soft(r2.value.restarted, 'the second apply, after the first, only retargets the daemon link').toEqual(['daemon_link']);

  await sleep(REGISTRATION_SETTLE_MS);
  expect.soft(registrationsOf(registryB, 'refusal-serial', markB).length, 'one mesh registered on the new broker').toBe(1);
  await waitConnected(ncB, 'refusal-serial');
  expect(driver.robot.daemonBaseUrl).toBe(emulator2.url);
  expect.soft(await presence(ncA, 'refusal-serial'), 'gone from the old broker').toBe('silent');
});

/** Every key of the settings app's form (as the page saves it). */
const appSettings = (overrides: Record<string, unknown>) => ({
  use_portal: false, nats_credentials_file: '', device_id: '', tenant: '', reachy_target: `127.0.0.1:${emulator1.port}`, transport_mode: 'websocket',
  allow_insecure: true, simulate: false, no_media: true, messaging_backend: '', messaging_urls: a.url, discovery_mode: '', portal_credentials_glob: '', portal_credentials_dir: '', reachy_prefix: 'reachy_mini',
  ...overrides,
});

async function startApp(values: Record<string, unknown>, extraArgs: ReadonlyArray<string> = []) {
  const dir = mkdtempSync(join(tmpdir(), 'rmd-refusal-app-'));
  const settingsFile = join(dir, 'settings.json');
  writeFileSync(settingsFile, JSON.stringify(values), { mode: 0o600 });
  const app = await startWithSettings(
    {
      argv: ['app', ...extraArgs, '--settings-port', '0', '--settings-host', '127.0.0.1', '--config-dir', dir, '--settings-file', settingsFile],
      env: { HOME: dir, REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_REGISTER_JITTER: '0', PATH: process.env.PATH ?? '' },
    },
    () => undefined,
  );
  cleanups.push(() => app.stop());
  const api = settingsApi(app.settings.url, dir, { nonJsonAsNull: true });
  return { app, api, settingsFile };
}

test('settings app: saving simulate answers a restart-required refusal and the mesh does not re-register as the sim device', async () => {
  const { app, api } = await startApp(appSettings({}));
  expect(app.driver()?.config.deviceId).toBe(REAL_ID);
  await waitConnected(ncA, REAL_ID);
  const mark = registryA.requests.messages.length;
  const saved = await api('PUT', '/api/settings', appSettings({ simulate: true }));
  expect(saved.status).toBe(200);
  const applied = JSON.stringify(saved.json?.applied);
  expect.soft(saved.json?.applied?.ok, `applied: ${applied}`).toBe(false);
  expect.soft(applied, 'the answer says a restart is required').toMatch(/RestartRequired/);
  expect.soft(applied, 'the answer names the field').toMatch(/simulate/);
  await sleep(REGISTRATION_SETTLE_MS);
  expect.soft(registrationsOf(registryA, SIM_ID, mark).map((m) => m.subject), 'no registration under the sim device id').toEqual([]);
  expect.soft(app.driver()?.config.deviceId).toBe(REAL_ID);
  expect.soft(await presence(ncA, REAL_ID), 'the real device still answers').toBe('answered');
  expect.soft(await presence(ncA, SIM_ID), 'nothing answers as the sim device').toBe('silent');
});

test('settings app: two applies at once are serialised — one restarts the mesh, the other finds nothing left to do', async () => {
  const { app, api, settingsFile } = await startApp(appSettings({ device_id: 'refusal-app-serial' }));
  await waitConnected(ncA, 'refusal-app-serial');
  const markB = registryB.requests.messages.length;
  writeFileSync(settingsFile, JSON.stringify(appSettings({ device_id: 'refusal-app-serial', messaging_urls: b.url })), { mode: 0o600 });
  const answers = await Promise.all([api('POST', '/api/apply'), api('POST', '/api/apply')]);
  expect(answers.map((x) => x.status)).toEqual([200, 200]);
  const restarted = answers.map((x) => x.json?.restarted);
  expect.soft(restarted, `applies answered ${JSON.stringify(answers.map((x) => x.json))}`).toEqual(expect.arrayContaining([['mesh'], []]));
  await sleep(REGISTRATION_SETTLE_MS);
  expect.soft(registrationsOf(registryB, 'refusal-app-serial', markB).length, 'one mesh registered on the new broker').toBe(1);
  await waitConnected(ncB, 'refusal-app-serial');
  expect(app.driver()?.config.messagingUrls).toEqual([b.url]);
});

test('settings app with --sim: a saved daemon host is "not in effect" (SimulatorInUse, the driver keeps its emulator) while the rest of that save and later saves apply', async () => {
  const { app, api } = await startApp(appSettings({ device_id: 'refusal-sim' }), ['--sim']);
  const emulatorUrl = app.driver()?.robot.daemonBaseUrl;
  expect(emulatorUrl, 'the --sim driver runs on its own emulator, not the saved target').not.toBe(emulator1.url);
  const running = `127.0.0.1:${emulator1.port}`;
  /** /api/effective's reachy_target on a --sim driver: the emulator it dials, the saved address `pending` (never used). */
  const dialing = (saved: string) => ({ value: new URL(emulatorUrl!).host, source: 'simulator', pending: { value: saved, source: 'settings' } });

  // A new daemon HOST (its signalling host follows it): not in effect, named by its settings field.
  const saved = await api('PATCH', '/api/settings', { changes: { reachy_target: ELSEWHERE } });
  expect(saved.json?.applied).toMatchObject({ ok: true, error_tag: 'SimulatorInUse', not_in_effect: ['reachy_target'], issues: [{ field: 'reachy_target' }] });
  expect(JSON.stringify(saved.json?.applied), 'no restart asked for, no internal key named').not.toMatch(/RestartRequired|signallingHost|restart_required/);
  expect((await api('GET', '/api/effective')).json.reachy_target, 'saved, not in effect').toEqual(dialing(ELSEWHERE));
  expect((await api('GET', '/api/status')).json.daemon_link.daemon, 'Live status: still the emulator').toBe(emulatorUrl);

  // A later save of the safety policy is applied at once, the daemon address still not in effect.
  const later = await api('PATCH', '/api/settings', { changes: { approval_timeout_s: 9 } });
  expect(later.json?.applied).toMatchObject({ ok: true, restarted: [], error_tag: 'SimulatorInUse', not_in_effect: ['reachy_target'] });
  const policy = await call(ncA, 'refusal-sim', 'get_safety_policy');
  expect(policy.result?.policy?.approval?.timeout_s, 'the live policy has the saved timeout').toBe(9);
  const effective = (await api('GET', '/api/effective')).json;
  expect(effective.approval_timeout_s, 'in effect').toEqual({ value: 9, source: 'settings' });
  expect(effective.reachy_target, 'still not in effect').toEqual(dialing(ELSEWHERE));

  // The target put back, with another transport: applied, and the link to the emulator uses it.
  const transport = await api('PATCH', '/api/settings', { changes: { reachy_target: running, transport_mode: 'http' } });
  expect(transport.json?.applied).toEqual({ ok: true, started: false, restarted: ['daemon_link'] });
  const after = (await api('GET', '/api/effective')).json;
  expect(after.transport_mode).toEqual({ value: 'http', source: 'settings' });
  expect(after.reachy_target, 'the address it started with is not used either').toEqual(dialing(running));
  await expect.poll(async () => (await api('GET', '/api/status')).json.daemon_link).toMatchObject({ state: 'connected', transport: 'http', daemon: emulatorUrl });
});

test('settings app with --sim: /api/effective answers reachy_target with the emulator the driver dials (source simulator), the configured address as not used', async () => {
  const { app, api } = await startApp(appSettings({ device_id: 'effective-sim' }), ['--sim']);
  const emulatorUrl = app.driver()?.robot.daemonBaseUrl;
  expect(emulatorUrl).toBeDefined();
  const configured = `127.0.0.1:${emulator1.port}`;
  const answer = await api('GET', '/api/effective');
  expect(answer.json.reachy_target).toEqual({ value: new URL(emulatorUrl!).host, source: 'simulator', pending: { value: configured, source: 'settings' } });
  expect(answer.json.reachy_target.value, 'not the configured address').not.toBe(configured);
  expect(answer.json.simulate).toMatchObject({ value: true, source: 'flag' });
  // Live status names the same daemon.
  expect((await api('GET', '/api/status')).json.daemon_link.daemon).toBe(emulatorUrl);
});

test('settings app: a saved yaw min above the supervisor\'s max is answered PolicyConflict naming the envelope field; the policy in force is unchanged', async () => {
  const id = 'refusal-policy';
  const { api } = await startApp(appSettings({ device_id: id }));
  await waitConnected(ncA, id);
  const policy = (await call(ncA, id, 'get_safety_policy')).result.policy;
  const narrowed = { ...policy, envelope: { ...policy.envelope, head_yaw_deg: { min: -10, max: 10 } } };
  const set = (await rpc(ncA, `device-connect.default.${id}.supervisor`, { jsonrpc: '2.0', id: 'narrow', method: 'set_safety_policy', params: { policy: narrowed, reason: 'incident', owner: 'ops' } })) as Record<string, any>;
  expect(set.result).toMatchObject({ status: 'applied' });
  const saved = await api('PUT', '/api/settings', { ...appSettings({ device_id: id }), safety_envelope: { head_yaw_deg: { min: 20, max: 45 } } });
  expect(saved.json?.applied).toMatchObject({ ok: false, error_tag: 'PolicyConflict', axis: 'head_yaw_deg', issues: [{ field: 'safety_envelope.head_yaw_deg' }] });
  expect(saved.json?.applied.error).toMatch(/ops/);
  expect((await call(ncA, id, 'get_safety_policy')).result.policy).toEqual(narrowed);
});

test('settings app without --sim: a new daemon host moves the daemon link (and media, which follows it), it is not a restart', async () => {
  const { app, api } = await startApp(appSettings({ device_id: 'refusal-host' }));
  await waitConnected(ncA, 'refusal-host');
  const saved = await api('PATCH', '/api/settings', { changes: { reachy_target: `${OTHER_LOOPBACK}:${emulator3.port}` } });
  expect(saved.json?.applied).toEqual({ ok: true, started: false, restarted: ['daemon_link'] });
  expect(app.driver()?.robot.daemonBaseUrl).toBe(emulator3.url);
  expect((await api('GET', '/api/effective')).json.reachy_target).toEqual({ value: `${OTHER_LOOPBACK}:${emulator3.port}`, source: 'settings' });
  await waitConnected(ncA, 'refusal-host');
});

test('settings app: a saved envelope that conflicts only with a range the supervisor set while the apply moved the daemon link is left out (PolicyConflict, not in effect) while the rest applies', async () => {
  const id = 'refusal-late-policy';
  const [leaving, arriving] = await Promise.all([startEmulator(), startEmulator()]);
  cleanups.push(() => Promise.all([leaving.close(), arriving.close()]));
  const { api } = await startApp(appSettings({ device_id: id, reachy_target: `127.0.0.1:${leaving.port}` }));
  await waitConnected(ncA, id);
  const audit = recorder(ncA, `device-connect.default.${id}.audit`);
  await ncA.flush();
  const policy = (await call(ncA, id, 'get_safety_policy')).result.policy;
  expect(policy.envelope.head_yaw_deg).toEqual({ min: -45, max: 45 });

  // A move runs on the robot being left, whose daemon answers its stop late: the apply waits there.
  expect((await call(ncA, id, 'goto_pose', { yaw: 5, duration_s: 8, owner: 'mover' })).result.status).toBe('accepted');
  await expect.poll(() => leaving.snapshot().runningMoves.length, { timeout: 2_000 }).toBe(1);
  leaving.faults.apply({ routeDelays: [{ path: '/api/move/stop', requestMs: [LEAVING_STOP_DELAY_MS, LEAVING_STOP_DELAY_MS] }] }, 1);
  leaving.clearReceived();
  // Yaw [20, 45] saved with the new robot: with yaw ±45 in force it has a range, so the apply starts.
  const saving = api('PATCH', '/api/settings', { changes: { reachy_target: `127.0.0.1:${arriving.port}`, safety_envelope: { head_yaw_deg: { min: 20, max: 45 } } } });
  await expect.poll(() => leaving.received.some((r) => r.method === 'POST' && r.path === '/api/move/stop'), { timeout: 2_000 }).toBe(true);
  // Meanwhile the supervisor holds yaw at ±10: with the saved min 20, no range is left.
  const narrowed = { ...policy, envelope: { ...policy.envelope, head_yaw_deg: { min: -10, max: 10 } } };
  const set = (await rpc(ncA, `device-connect.default.${id}.supervisor`, { jsonrpc: '2.0', id: 'narrow', method: 'set_safety_policy', params: { policy: narrowed, reason: 'incident', owner: 'ops' } })) as Record<string, any>;
  expect(set.result).toMatchObject({ status: 'applied' });
  const saved = await saving;
  leaving.faults.clear();

  // The daemon link moved; the envelope was not applied, and the answer says so.
  const applied = saved.json?.applied;
  expect(applied, JSON.stringify(applied)).toMatchObject({
    ok: true,
    restarted: ['daemon_link'],
    error_tag: 'PolicyConflict',
    not_in_effect: ['safety_envelope'],
    issues: [{ field: 'safety_envelope.head_yaw_deg' }],
    left_out: [{ error_tag: 'PolicyConflict', fields: ['safety_envelope'], axis: 'head_yaw_deg', set_by: 'ops', saved: { min: 20, max: 45 }, in_force: { min: -10, max: 10 } }],
  });
  expect(applied.message).toMatch(/not in effect.*head_yaw_deg.*ops/);
  expect(applied.left_out[0].message).toMatch(/the rest of the settings applied/);
  const refusal = (await audit.next((m) => (m.body as { kind?: string }).kind === 'reconfigure_refused', 2_000)).body as Record<string, any>;
  expect(refusal).toMatchObject({ owner: 'settings', error_tag: 'PolicyConflict', axis: 'head_yaw_deg', set_by: 'ops', not_in_effect: ['safety_envelope'], state: { interlock: expect.any(String), connection: expect.any(String) } });
  const done = (await audit.next((m) => (m.body as { kind?: string }).kind === 'reconfigured', 2_000)).body as Record<string, any>;
  expect(done).toMatchObject({ restarted: ['daemon_link'], policy_changed: false, not_in_effect: ['safety_envelope'], left_out: [{ error_tag: 'PolicyConflict', fields: ['safety_envelope'] }] });

  // The live policy is the supervisor's, not widened; the page shows the saved envelope as not in effect, the new robot as in effect.
  expect((await call(ncA, id, 'get_safety_policy')).result.policy).toEqual(narrowed);
  const effective = (await api('GET', '/api/effective')).json;
  expect(effective.safety_envelope).toEqual({ value: {}, source: 'default', pending: { value: { head_yaw_deg: { min: 20, max: 45 } }, source: 'settings' } });
  expect(effective.reachy_target).toEqual({ value: `127.0.0.1:${arriving.port}`, source: 'settings' });

  // Once the supervisor widens yaw again, the next apply takes the saved envelope.
  const widened = (await rpc(ncA, `device-connect.default.${id}.supervisor`, { jsonrpc: '2.0', id: 'widen', method: 'set_safety_policy', params: { policy, reason: 'incident over', owner: 'ops' } })) as Record<string, any>;
  expect(widened.result).toMatchObject({ status: 'applied' });
  expect((await api('POST', '/api/apply')).json).toEqual({ ok: true, started: false, restarted: [] });
  expect((await call(ncA, id, 'get_safety_policy')).result.policy.envelope.head_yaw_deg).toEqual({ min: 20, max: 45 });
  expect((await api('GET', '/api/effective')).json.safety_envelope).toEqual({ value: { head_yaw_deg: { min: 20, max: 45 } }, source: 'settings' });
}, 20_000);
