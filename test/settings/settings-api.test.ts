// The settings API (reference-driver.md §10 routes plus /api/effective, /api/status, /api/apply):
// reference defaults, PUT/GET round trip written atomically 0600 in the reference format, Effect
// Schema refusals (422 naming the field: unknown key, zenoh, wrong types), /api/validate answering
// {ok:false} (never 500) for a missing credentials path, the per-key precedence view (with --sim,
// reachy_target is the embedded emulator, source `simulator`, the saved address not used), the
// status/apply callbacks, and bodies with a prototype-setting key refused (400). Real server on
// port 0, undici client, one transcript line per call.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { mergeChanges } from '../../src/settings/settings-changes.ts';
import { OPTIONAL_SETTINGS_KEYS, SETTINGS_DEFAULTS } from '../../src/settings/settings-schema.ts';
import { call, mintCredentials, startHarness, type Harness, type HarnessOptions } from './settings-harness.ts';

const FULL = {
  use_portal: false,
  nats_credentials_file: '',
  device_id: 'reachy-lab-3',
  tenant: 'from-settings',
  reachy_target: '127.0.0.1:8000',
  transport_mode: 'http',
  allow_insecure: true,
  simulate: false,
  no_media: true,
  messaging_backend: 'nats',
  messaging_urls: 'nats://127.0.0.1:4222',
  discovery_mode: 'd2d',
  portal_credentials_glob: '*.creds.json',
  portal_credentials_dir: '',
  reachy_prefix: 'reachy_mini',
};

/** A harness of its own for one describe block: started before its tests (handed to `set`), stopped after them. */
function harnessPerBlock(set: (started: Harness) => void, options?: HarnessOptions): void {
  let started: Harness | undefined;
  beforeAll(async () => {
    started = await startHarness(options);
    set(started);
  });
  afterAll(async () => {
    await started?.stop();
  });
}

describe('settings round trip', () => {
  let h: Harness;
  let token: string;
  harnessPerBlock((started) => ((h = started), (token = started.token())));

  test('without a saved file GET answers the reference defaults', async () => {
    const r = await call(h.server.url, 'GET', '/api/settings', { token });
    expect(r.status).toBe(200);
    expect(r.json).toEqual(SETTINGS_DEFAULTS);
    expect(Object.keys(r.json).sort()).toEqual(Object.keys(FULL).sort());
  });

  test('PUT saves atomically with mode 0600, answers saved + settings + the apply result, and GET returns the same object', async () => {
    const applyCalls = h.applyCalls.length;
    const put = await call(h.server.url, 'PUT', '/api/settings', { token, json: FULL });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ saved: true, settings: FULL, applied: { ok: true, message: 'applied', calls: applyCalls + 1 } });
    expect(h.applyCalls.length).toBe(applyCalls + 1);
    expect(statSync(h.settingsFile).mode & 0o777).toBe(0o600);
    const text = readFileSync(h.settingsFile, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text))).toEqual(Object.keys(FULL).sort());
    expect(text).toContain('\n  "allow_insecure": true,');
    // No temp file is left next to it.
    expect(readdirSync(dirname(h.settingsFile)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const get = await call(h.server.url, 'GET', '/api/settings', { token });
    expect(get.json).toEqual(FULL);
  });

  test('a PUT replaces the whole object: absent keys take the reference defaults', async () => {
    const put = await call(h.server.url, 'PUT', '/api/settings', { token, json: { tenant: 'only-tenant' } });
    expect(put.status).toBe(200);
    expect(put.json.settings).toEqual({ ...SETTINGS_DEFAULTS, tenant: 'only-tenant' });
    await call(h.server.url, 'PUT', '/api/settings', { token, json: FULL });
  });

  test('refusals are 422 {ok:false, error, issues:[{field, message}]} and leave the file untouched', async () => {
    const before = readFileSync(h.settingsFile);
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...FULL, color: 'red' }, 'color', /not a settings key/],
      [{ ...FULL, transport_mode: 'zenoh' }, 'transport_mode', /zenoh.*not supported.*auto.*websocket.*http/],
      [{ ...FULL, transport_mode: 'carrier-pigeon' }, 'transport_mode', /one of "auto", "websocket", "http"/],
      [{ ...FULL, discovery_mode: 'mdns' }, 'discovery_mode', /one of "", "infra", "d2d", "p2p"/],
      [{ ...FULL, messaging_backend: 'zenoh' }, 'messaging_backend', /NATS only/],
      [{ ...FULL, allow_insecure: 'true' }, 'allow_insecure', /true or false/],
      [{ ...FULL, simulate: 1 }, 'simulate', /true or false/],
      [{ ...FULL, device_id: 'a.b' }, 'device_id', /letters, digits/],
      [{ ...FULL, device_id: '<img src=x>' }, 'device_id', /letters, digits/],
      [{ ...FULL, tenant: 'x'.repeat(300) }, 'tenant', /up to 128 letters/],
      [{ ...FULL, reachy_target: 'host\u0000name' }, 'reachy_target', /control characters/],
      [['not', 'an', 'object'], '(body)', /JSON object/],
    ];
    for (const [body, field, message] of cases) {
      const r = await call(h.server.url, 'PUT', '/api/settings', { token, json: body });
      expect(r.status, field).toBe(422);
      expect(r.json.ok).toBe(false);
      expect(r.json.error).toContain(field);
      const issue = (r.json.issues as Array<{ field: string; message: string }>).find((i) => i.field === field);
      expect(issue?.message, field).toMatch(message);
    }
    const several = await call(h.server.url, 'PUT', '/api/settings', { token, json: { ...FULL, tenant: 7, simulate: 'no', transport_mode: 'x' } });
    expect(several.json.issues.map((i: { field: string }) => i.field).sort()).toEqual(['simulate', 'tenant', 'transport_mode']);
    expect((await call(h.server.url, 'PUT', '/api/settings', { token, body: '{"tenant":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect(readFileSync(h.settingsFile)).toEqual(before);
  });

  test('a saved file that is not valid settings is reported (409), never replaced by silent defaults', async () => {
    const good = readFileSync(h.settingsFile);
    writeFileSync(h.settingsFile, JSON.stringify({ ...FULL, transport_mode: 'zenoh' }));
    const r = await call(h.server.url, 'GET', '/api/settings', { token });
    expect(r.status).toBe(409);
    expect(r.json.error).toMatch(/transport_mode/);
    const validate = await call(h.server.url, 'POST', '/api/validate', { token });
    expect(validate.status).toBe(200);
    expect(validate.json.ok).toBe(false);
    writeFileSync(h.settingsFile, good);
  });
});

describe('/api/validate', () => {
  let h: Harness;
  let token: string;
  harnessPerBlock((started) => ((h = started), (token = started.token())));

  test('a missing credentials path is 200 {ok:false} naming the path, not a 500 (reference bug §10)', async () => {
    const missing = join(h.dir, 'nowhere', 'device.creds');
    const candidate = { ...FULL, allow_insecure: false, nats_credentials_file: missing };
    const r = await call(h.server.url, 'POST', '/api/validate', { token, json: candidate });
    expect(r.status).toBe(200);
    expect(r.json.ok).toBe(false);
    expect(r.json.error).toContain(missing);
    // Saved, then validated with no body, and with a JSON null: the saved file.
    await call(h.server.url, 'PUT', '/api/settings', { token, json: candidate });
    for (const o of [{}, { body: 'null', headers: { 'content-type': 'application/json' } }]) {
      const saved = await call(h.server.url, 'POST', '/api/validate', { token, ...o });
      expect(saved.status).toBe(200);
      expect(saved.json).toMatchObject({ ok: false });
      expect(saved.json.error).toContain(missing);
    }
  });

  test('no credentials and not insecure: {ok:false} naming the fields to change, never an environment variable', async () => {
    const r = await call(h.server.url, 'POST', '/api/validate', { token, json: { ...FULL, allow_insecure: false } });
    expect(r.json).toMatchObject({ ok: false });
    expect(r.json.error).toMatch(/no mesh credentials.*“Credentials path”.*“Allow insecure”/);
    expect(r.json.error).not.toMatch(/MESSAGING_CREDENTIALS_FILE|DEVICE_CONNECT_ALLOW_INSECURE|--[a-z]/);
    expect(r.json.issues.map((i: { field: string }) => i.field).sort()).toEqual(['allow_insecure', 'nats_credentials_file']);
  });

  test('a valid candidate is {ok:true, error:null} and is not saved', async () => {
    const before = readFileSync(h.settingsFile);
    const r = await call(h.server.url, 'POST', '/api/validate', { token, json: FULL });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, error: null });
    expect(readFileSync(h.settingsFile)).toEqual(before);
  });

  test('schema failures are {ok:false} with issues, at HTTP 200', async () => {
    const r = await call(h.server.url, 'POST', '/api/validate', { token, json: { ...FULL, transport_mode: 'zenoh', bogus: 1 } });
    expect(r.status).toBe(200);
    expect(r.json.ok).toBe(false);
    expect(r.json.issues.map((i: { field: string }) => i.field).sort()).toEqual(['bogus', 'transport_mode']);
  });
});

describe('the page takes the text the driver takes (its rules are the driver\'s: src/config/settings-text.ts)', () => {
  test('a file the driver runs with, with a relative credentials path and long text values: read, saved and valid, not 409/422', async () => {
    const h = await startHarness();
    try {
      const token = h.token();
      const { creds } = await mintCredentials();
      writeFileSync(join(h.dir, 'device.creds'), creds, { mode: 0o600 });
      // The driver resolves a relative path against its working directory, as it does at start.
      const relativeCreds = relative(process.cwd(), join(h.dir, 'device.creds'));
      const brokers = Array.from({ length: 150 }, (_, i) => `nats://broker-${i}.example.com:4222`).join(',');
      const file = { ...FULL, allow_insecure: false, device_id: '', nats_credentials_file: relativeCreds, messaging_urls: brokers, portal_credentials_glob: `${'x'.repeat(300)}*.creds.json` };
      expect(brokers.length).toBeGreaterThan(4096);
      expect(() => loadConfig({ argv: ['app', '--settings-file', writeSettings(h, file)], env: {} })).not.toThrow();
      const got = await call(h.server.url, 'GET', '/api/settings', { token });
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ nats_credentials_file: relativeCreds, messaging_urls: brokers });
      const validated = await call(h.server.url, 'POST', '/api/validate', { token });
      expect(validated.json).toMatchObject({ ok: true, error: null });
      const effective = (await call(h.server.url, 'GET', '/api/effective', { token })).json;
      expect(effective.nats_credentials_file).toMatchObject({ value: resolve(relativeCreds), source: 'settings' });
      // The page saves such values too (a target URL with a long path, as the driver parses it).
      const target = `http://127.0.0.1:8000/${'p'.repeat(600)}`;
      const saved = await call(h.server.url, 'PATCH', '/api/settings', { token, json: { reachy_target: target, reachy_prefix: 'r'.repeat(300) } });
      expect(saved.status).toBe(200);
      expect(JSON.parse(readFileSync(h.settingsFile, 'utf8'))).toMatchObject({ reachy_target: target, nats_credentials_file: relativeCreds });
      expect((await call(h.server.url, 'POST', '/api/validate', { token })).json).toMatchObject({ ok: true });
      // What the driver refuses, the page refuses, with the driver's own words.
      const refused = await call(h.server.url, 'PATCH', '/api/settings', { token, json: { portal_credentials_dir: 'creds\ndir' } });
      expect(refused.status).toBe(422);
      expect(refused.json.issues).toEqual([{ field: 'portal_credentials_dir', message: 'must be a string without control characters' }]);
      expect(() => loadConfig({ argv: ['app', '--settings-file', writeSettings(h, { ...file, portal_credentials_dir: 'creds\ndir' })], env: {} })).toThrow('settings file key portal_credentials_dir must be a string without control characters');
    } finally {
      await h.stop();
    }
  });
});

/** Writes the harness's settings file as the driver finds it; answers its path (for --settings-file). */
function writeSettings(h: Harness, values: Record<string, unknown>): string {
  mkdirSync(dirname(h.settingsFile), { recursive: true });
  writeFileSync(h.settingsFile, JSON.stringify(values));
  return h.settingsFile;
}

describe('media_policy (issue 13 part 3): the settings field of --media-policy', () => {
  test('saved when set, refused (422 naming it) when not allow|supervisor|deny, and the driver config reads it unless a flag wins', async () => {
    const h = await startHarness();
    try {
      const token = h.token();
      const bad = await call(h.server.url, 'PUT', '/api/settings', { token, json: { ...FULL, media_policy: 'off' } });
      expect(bad.status).toBe(422);
      expect(bad.json.issues).toEqual([{ field: 'media_policy', message: 'must be one of "allow", "supervisor", "deny"' }]);
      const put = await call(h.server.url, 'PUT', '/api/settings', { token, json: { ...FULL, media_policy: 'supervisor' } });
      expect(put.status).toBe(200);
      expect(JSON.parse(readFileSync(h.settingsFile, 'utf8')).media_policy).toBe('supervisor');
      expect((await call(h.server.url, 'GET', '/api/settings', { token })).json.media_policy).toBe('supervisor');
      expect((await call(h.server.url, 'GET', '/api/effective', { token })).json.media_policy).toEqual({ value: 'supervisor', source: 'settings' });
      // Blank means "not set": the key is not written at all.
      await call(h.server.url, 'PUT', '/api/settings', { token, json: { ...FULL, media_policy: '' } });
      expect(JSON.parse(readFileSync(h.settingsFile, 'utf8'))).not.toHaveProperty('media_policy');
    } finally {
      await h.stop();
    }
    const flagged = await startHarness({ argv: ['app', '--media-policy', 'deny'] });
    try {
      const token = flagged.token();
      await call(flagged.server.url, 'PUT', '/api/settings', { token, json: { ...FULL, media_policy: 'allow' } });
      expect((await call(flagged.server.url, 'GET', '/api/effective', { token })).json.media_policy).toEqual({ value: 'deny', source: 'flag' });
    } finally {
      await flagged.stop();
    }
  });
});

describe('the safety keys of the settings file (speed limits, speed policies, dead-man, approval)', () => {
  test('a file the driver runs with is read, shown and kept by a save (the page answered 409 on it, and PUT dropped the keys)', async () => {
    const h = await startHarness();
    try {
      const token = h.token();
      writeFileSync(h.settingsFile, JSON.stringify({ ...FULL, max_head_speed: 50, deadman_ms: 2_000, require_approval: ['goto_pose'], speed_policy: 'stretch' }));
      const got = await call(h.server.url, 'GET', '/api/settings', { token });
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ max_head_speed: 50, deadman_ms: 2_000, require_approval: ['goto_pose'], speed_policy: 'stretch' });
      const effective = (await call(h.server.url, 'GET', '/api/effective', { token })).json;
      expect(effective.max_head_speed).toEqual({ value: 50, source: 'settings' });
      expect(effective.deadman_ms).toEqual({ value: 2_000, source: 'settings' });
      expect(effective.require_approval).toEqual({ value: ['goto_pose'], source: 'settings' });
      // A save of another key keeps them.
      expect((await call(h.server.url, 'PATCH', '/api/settings', { token, json: { tenant: 'lab' } })).status).toBe(200);
      expect(JSON.parse(readFileSync(h.settingsFile, 'utf8'))).toMatchObject({ tenant: 'lab', max_head_speed: 50, deadman_ms: 2_000, require_approval: ['goto_pose'], speed_policy: 'stretch' });
      // Out of the driver's bounds: refused naming the key, the file untouched.
      const bad = await call(h.server.url, 'PATCH', '/api/settings', { token, json: { max_body_speed: 5_000, deadman_ms: 5, speed_policy: 'fast', require_approval: 'Goto Pose' } });
      expect(bad.status).toBe(422);
      expect(bad.json.issues.map((i: { field: string }) => i.field).sort()).toEqual(['deadman_ms', 'max_body_speed', 'require_approval', 'speed_policy']);
      expect(JSON.parse(readFileSync(h.settingsFile, 'utf8')).deadman_ms).toBe(2_000);
    } finally {
      await h.stop();
    }
  });
});

describe('/api/effective: which layer wins per key', () => {
  const saved = { ...FULL, tenant: 'from-settings' };

  test('env beats the settings file: tenant source env; untouched keys say settings or default', async () => {
    const h = await startHarness({ env: { TENANT: 'from-env' } });
    try {
      const token = h.token();
      await call(h.server.url, 'PUT', '/api/settings', { token, json: saved });
      const r = await call(h.server.url, 'GET', '/api/effective', { token });
      expect(r.status).toBe(200);
      expect(r.headers['x-config-loaded']).toBe('true');
      expect(r.json.tenant).toEqual({ value: 'from-env', source: 'env' });
      expect(r.json.device_id).toEqual({ value: 'reachy-lab-3', source: 'settings' });
      expect(r.json.transport_mode).toEqual({ value: 'http', source: 'settings' });
      expect(r.json.messaging_backend).toEqual({ value: 'nats', source: 'settings' });
      expect(r.json.portal_credentials_glob).toEqual({ value: '*.creds.json', source: 'settings' });
      // The reference's keys and the optional safety_envelope and media_policy.
      expect(Object.keys(r.json).sort()).toEqual([...Object.keys(FULL), ...OPTIONAL_SETTINGS_KEYS].sort());
      expect(r.json.max_head_speed).toEqual({ value: 200, source: 'default' });
      expect(r.json.media_policy).toEqual({ value: 'allow', source: 'default' });
      for (const entry of Object.values(r.json) as Array<{ source: string }>) expect(['flag', 'env', 'settings', 'credentials', 'default', 'derived']).toContain(entry.source);
    } finally {
      await h.stop();
    }
  });

  test('a flag beats env and the file: tenant source flag (argv is the driver\'s, --settings-file included)', async () => {
    const h = await startHarness({ argv: ['app', '--tenant', 'from-flag', '--settings-file', '/nonexistent/ignored.json'], env: { TENANT: 'from-env' } });
    try {
      const token = h.token();
      await call(h.server.url, 'PUT', '/api/settings', { token, json: saved });
      const r = await call(h.server.url, 'GET', '/api/effective', { token });
      expect(r.json.tenant).toEqual({ value: 'from-flag', source: 'flag' });
      expect(r.json.device_id.source).toBe('settings');
    } finally {
      await h.stop();
    }
  });

  test('with --sim and no driver running yet, reachy_target is the embedded emulator (source simulator), the saved address not used', async () => {
    const h = await startHarness({ argv: ['app', '--sim'] });
    try {
      const token = h.token();
      await call(h.server.url, 'PUT', '/api/settings', { token, json: saved });
      const r = await call(h.server.url, 'GET', '/api/effective', { token });
      expect(r.headers['x-driver-running']).toBe('false');
      expect(r.json.reachy_target).toEqual({ value: 'sim', source: 'simulator', pending: { value: '127.0.0.1:8000', source: 'settings' } });
      expect(r.json.simulate).toEqual({ value: true, source: 'flag' });
    } finally {
      await h.stop();
    }
  });

  test('without a saved file the defaults show as default; without credentials the map is still complete', async () => {
    const h = await startHarness({ env: { TENANT: 'from-env' } });
    try {
      const token = h.token();
      const r = await call(h.server.url, 'GET', '/api/effective', { token });
      expect(r.status).toBe(200);
      expect(r.headers['x-config-loaded']).toBe('false');
      expect(r.json.tenant).toEqual({ value: 'from-env', source: 'env' });
      expect(r.json.device_id).toEqual({ value: 'reachy-mini-1', source: 'default' });
      expect(r.json.allow_insecure).toEqual({ value: false, source: 'default' });
      expect(existsSync(h.settingsFile)).toBe(false);
    } finally {
      await h.stop();
    }
  });
});

describe('/api/status and /api/apply', () => {
  let h: Harness;
  harnessPerBlock((started) => (h = started));

  test('status answers what the status callback returns, on every call', async () => {
    const token = h.token();
    const r = await call(h.server.url, 'GET', '/api/status', { token });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ mesh: 'registered', daemon_link: 'connected', power: 'awake', interlock: 'clear', lease: 'free', media: 'disabled', last_error: null });
    await call(h.server.url, 'GET', '/api/status', { token });
    expect(h.statusCalls).toHaveLength(2);
  });

  test('apply calls the apply callback once per request and answers its result', async () => {
    const token = h.token();
    const first = await call(h.server.url, 'POST', '/api/apply', { token, json: {} });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ ok: true, message: 'applied', calls: 1 });
    const second = await call(h.server.url, 'POST', '/api/apply', { token, origin: h.server.url });
    expect(second.json.calls).toBe(2);
    expect(h.applyCalls).toHaveLength(2);
  });
});

describe('/api/apply when the apply throws (a driver start that fails)', () => {
  let h: Harness;
  harnessPerBlock((started) => (h = started), {
    server: {
      apply: async () => {
        throw new Error('the audit log directory is not writable');
      },
    },
  });

  test('the failure is answered as a value, as a save reports it, not a bare 500', async () => {
    const r = await call(h.server.url, 'POST', '/api/apply', { token: h.token(), json: {} });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: false, error: 'the audit log directory is not writable' });
  });
});

describe('keys that would set a prototype (`__proto__`, `constructor.prototype`) are refused at any depth', () => {
  let h: Harness;
  let token: string;
  harnessPerBlock((started) => ((h = started), (token = started.token())));

  // Raw text: a JS literal `{__proto__: …}` would set the literal's prototype, not send the key.
  const refused: ReadonlyArray<readonly [string, string]> = [
    ['{"__proto__": {"safety_envelope": {"head_pitch_deg": {"min": -90, "max": 90}}}}', '__proto__'],
    ['{"changes": {"__proto__": {"tenant": "evil"}}}', 'changes.__proto__'],
    ['{"changes": {"safety_envelope": {"head_pitch_deg": {"__proto__": {"min": -90}}}}}', 'changes.safety_envelope.head_pitch_deg.__proto__'],
    ['{"constructor": {"prototype": {"tenant": "evil"}}}', 'constructor.prototype'],
    ['{"changes": {"constructor": {"prototype": {}}}}', 'changes.constructor.prototype'],
  ];
  const json = { 'content-type': 'application/json' };

  test('PATCH /api/settings and POST /api/validate answer 400 naming the key; nothing is saved or applied', async () => {
    for (const [body, key] of refused) {
      for (const [method, path] of [['PATCH', '/api/settings'], ['POST', '/api/validate']] as const) {
        const r = await call(h.server.url, method, path, { token, body, headers: json });
        expect(r.status, `${method} ${path} ${body}`).toBe(400);
        expect(r.json).toMatchObject({ ok: false, issues: [] });
        expect(r.json.error).toBe(`request body refused: key "${key}" could set an object's prototype`);
      }
    }
    expect(existsSync(h.settingsFile)).toBe(false);
    expect(h.applyCalls).toHaveLength(0);
    // Such a key is refused however deep it sits; the path named keeps its last few segments.
    const deep = `${'{"a":'.repeat(8_000)}{"__proto__": {}}${'}'.repeat(8_000)}`;
    const r = await call(h.server.url, 'PATCH', '/api/settings', { token, body: deep, headers: json });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe('request body refused: key "….a.a.a.a.a.a.a.__proto__" could set an object\'s prototype');
    // The same keys without their danger are ordinary unknown keys (422), and a clean save still works.
    expect((await call(h.server.url, 'PATCH', '/api/settings', { token, body: '{"constructor": {"name": "x"}}', headers: json })).status).toBe(422);
    expect((await call(h.server.url, 'PATCH', '/api/settings', { token, json: { changes: { tenant: 'lab' } } })).status).toBe(200);
    expect(JSON.parse(readFileSync(h.settingsFile, 'utf8'))).toEqual({ tenant: 'lab' });
  });

  test('mergeChanges itself never sets a prototype: `__proto__` is an unknown key', () => {
    const merged = mergeChanges({ tenant: 'lab' }, JSON.parse('{"__proto__": {"tenant": "evil", "no_media": true}}') as Record<string, unknown>);
    expect(merged).toMatchObject({ ok: false, issues: [{ field: '__proto__' }] });
  });
});
