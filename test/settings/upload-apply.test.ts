// A credentials upload applies like a save: its answer carries `applied`, the result of the same
// apply a PATCH runs. The in-effect view tells files apart by content, not only by path: a file
// replaced under the same name (`?replace=1`) that the driver could not take is shown as pending,
// with the fingerprint of each file and never its secrets. The driver is a stand-in that takes the
// saved settings (resolved as the server resolves them) or refuses them. Real server on port 0.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { DriverConfig } from '../../src/config/config.ts';
import { CONFIG_FILE_READS, readSettingsFile } from '../../src/adapters/config-files.ts';
import { resolveEffectiveConfig } from '../../src/settings/effective-config.ts';
import { call, mintCredentials, multipartFile, startHarness, type Answer, type Harness } from './settings-harness.ts';

let h: Harness;
let token: string;
/** The stand-in driver: what it runs with, and whether it takes the next apply. */
let running: DriverConfig | undefined;
let takesApply = true;

const REFUSED = { ok: false, error: 'the robot being left has not settled', issues: [], error_tag: 'StopUnconfirmed', started: false };

async function standInApply(): Promise<Record<string, unknown>> {
  if (!takesApply) return REFUSED;
  const attempt = resolveEffectiveConfig({ argv: [], env: {}, files: CONFIG_FILE_READS }, readSettingsFile(h.settingsFile));
  if (!attempt.ok) return { ok: false, error: attempt.error, issues: [], started: false };
  const started = running === undefined;
  running = attempt.config;
  return { ok: true, started, restarted: started ? ['mesh', 'daemon_link'] : ['mesh'] };
}

async function upload(content: string, query = ''): Promise<Answer> {
  const m = multipartFile('device.creds', content);
  return call(h.server.url, 'POST', `/api/credentials/upload${query}`, { token, body: m.body, headers: m.headers });
}

beforeAll(async () => {
  h = await startHarness({ server: { apply: standInApply, inEffect: () => running } });
  token = h.token();
});
afterAll(async () => h.stop());

test('an upload that makes the settings valid is applied, and its answer says so', async () => {
  await call(h.server.url, 'PATCH', '/api/settings', { token, json: { device_id: 'upload-dev', messaging_urls: 'nats://127.0.0.1:4222', reachy_target: '127.0.0.1:8000' } });
  expect(running).toBeUndefined();
  const first = await mintCredentials();
  const r = await upload(first.creds);
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ ok: true, stored: 'created', applied: { ok: true, started: true } });
  expect(running?.credentialsPath).toBe(r.json.path);
  const effective = await call(h.server.url, 'GET', '/api/effective', { token });
  expect(effective.headers['x-driver-running']).toBe('true');
  expect(effective.json.nats_credentials_file).toEqual({ value: r.json.path, source: 'settings', fingerprint: r.json.fingerprint });
  for (const text of [r.text, effective.text]) expect(text).not.toMatch(new RegExp(`${first.seed}|${first.jwt}`));
});

test('a file replaced under the same name that the driver could not take is pending, told apart by its fingerprint', async () => {
  const inUse = (await call(h.server.url, 'GET', '/api/effective', { token })).json.nats_credentials_file;
  takesApply = false;
  const second = await mintCredentials();
  const r = await upload(second.creds, '?replace=1');
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ ok: true, stored: 'replaced', path: inUse.value, applied: REFUSED });
  expect(r.json.fingerprint).not.toBe(inUse.fingerprint);
  const effective = await call(h.server.url, 'GET', '/api/effective', { token });
  // Same path, other content: the driver still uses the first file, the replaced one waits.
  expect(effective.json.nats_credentials_file).toEqual({ ...inUse, pending: { value: inUse.value, source: 'settings', fingerprint: r.json.fingerprint } });
  expect(effective.text).not.toMatch(new RegExp(`${second.seed}|${second.jwt}`));

  takesApply = true;
  const applied = await call(h.server.url, 'POST', '/api/apply', { token });
  expect(applied.json).toMatchObject({ ok: true, started: false });
  const after = await call(h.server.url, 'GET', '/api/effective', { token });
  expect(after.json.nats_credentials_file).toEqual({ value: inUse.value, source: 'settings', fingerprint: r.json.fingerprint });
});
