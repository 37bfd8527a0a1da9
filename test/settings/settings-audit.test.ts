// Issue 13 §1: the settings app tells the audit trail of every saved change — settings keys saved
// (PATCH and PUT) and credentials stored — with names and fingerprints, never the values or the
// secrets; a refused save or upload is not reported as a change. Real server on port 0.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { SettingsAuditChange } from '../../src/adapters/settings-http/settings-audit-change.ts';
import { call, mintCredentials, multipartFile, startHarness, type Harness } from './settings-harness.ts';

let h: Harness;
let token: string;
const changes: SettingsAuditChange[] = [];

beforeAll(async () => {
  h = await startHarness({ argv: ['--sim'], server: { onAudit: (change) => changes.push(change) } });
  token = h.token();
});
afterAll(async () => h.stop());

test('a PATCH save is audited with the changed keys; a refused one is not', async () => {
  changes.length = 0;
  expect((await call(h.server.url, 'PATCH', '/api/settings', { token, json: { changes: { tenant: 'lab', no_media: true } } })).status).toBe(200);
  expect(changes).toEqual([{ kind: 'settings_changed', reason: 'settings saved', fields: { keys: ['no_media', 'tenant'], via: 'PATCH /api/settings' } }]);
  expect((await call(h.server.url, 'PATCH', '/api/settings', { token, json: { changes: { transport_mode: 'carrier-pigeon' } } })).status).toBe(422);
  expect(changes).toHaveLength(1);
});

test('a stored credentials file is audited with its name, kind and fingerprint, never its secrets', async () => {
  changes.length = 0;
  const secrets = await mintCredentials('reachy-audit-1', 'lab');
  const m = multipartFile('robot.creds', secrets.creds);
  const r = await call(h.server.url, 'POST', '/api/credentials/upload', { token, body: m.body, headers: m.headers });
  expect(r.status).toBe(200);
  expect(changes).toHaveLength(1);
  expect(changes[0]).toMatchObject({ kind: 'credentials_uploaded', reason: 'credentials created', fields: { file: 'robot.creds', kind: 'nats-creds', stored: 'created', fingerprint: (r.json as { fingerprint: string }).fingerprint } });
  const text = JSON.stringify(changes);
  expect(text).not.toContain(secrets.seed);
  expect(text).not.toContain(secrets.jwt);
  const refused = multipartFile('robot.creds', 'not credentials');
  expect((await call(h.server.url, 'POST', '/api/credentials/upload', { token, body: refused.body, headers: refused.headers })).status).toBe(422);
  expect(changes).toHaveLength(1);
});
