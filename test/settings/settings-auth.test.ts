// Access control of the settings server (threat model: "treat settings port like root on robot
// config"): every /api route but health needs the token (bearer) or the session cookie of a
// single-use login link; mutating routes refuse a foreign Origin; the token file is 0600 and a
// loose one stops the server. Real server on port 0, undici client, one transcript line per call.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSettingsAuth, LOGIN_CODE_TTL_MS, SESSION_TTL_MS } from '../../src/settings/settings-auth.ts';
import { PROTECTED_ROUTES, STATIC_DIR, startSettingsServer } from '../../src/adapters/settings-http/settings-server.ts';
import { SettingsTokenError } from '../../src/adapters/settings-http/settings-token.ts';
import { call, multipartFile, startHarness, type Harness } from './settings-harness.ts';

let h: Harness;
let base: string;

beforeAll(async () => {
  h = await startHarness({ env: { DEVICE_CONNECT_ALLOW_INSECURE: 'true' } });
  base = h.server.url;
});
afterAll(async () => {
  await h.stop();
});

function bodyFor(method: string, path: string): Parameters<typeof call>[3] {
  if (path === '/api/credentials/upload') {
    const m = multipartFile('device.creds', 'not credentials');
    return { body: m.body, headers: m.headers };
  }
  if (method === 'PUT') return { json: {} };
  return {};
}

function sessionCookie(setCookie: string | string[] | undefined): { pair: string; attributes: string[] } {
  const line = (Array.isArray(setCookie) ? setCookie[0] : setCookie) ?? '';
  const [pair = '', ...attributes] = line.split(';').map((s) => s.trim());
  return { pair, attributes: attributes.map((a) => a.toLowerCase()) };
}

describe('without credentials', () => {
  test('health answers 200 with the reference body', async () => {
    const r = await call(base, 'GET', '/api/health');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'ok', service: 'reachy_mini_device_connect_settings' });
  });

  test('every protected route answers 401 without a token', async () => {
    expect(PROTECTED_ROUTES.map(([m, p]) => `${m} ${p}`)).toEqual([
      'GET /api/settings',
      'PUT /api/settings',
      'POST /api/validate',
      'POST /api/credentials/upload',
      'GET /api/effective',
      'GET /api/status',
      'POST /api/apply',
    ]);
    for (const [method, path] of PROTECTED_ROUTES) {
      const r = await call(base, method, path, bodyFor(method, path));
      expect(r.status, `${method} ${path}`).toBe(401);
      expect(r.json.ok).toBe(false);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    for (const [, path] of PROTECTED_ROUTES.filter(([m]) => m === 'GET')) expect((await call(base, 'HEAD', path)).status, `HEAD ${path}`).toBe(401);
    expect(h.statusCalls).toHaveLength(0);
    expect(h.applyCalls).toHaveLength(0);
    expect(existsSync(h.settingsFile)).toBe(false);
    expect(existsSync(join(h.configDir, 'credentials'))).toBe(false);
  });

  test('a wrong bearer token is 401 on every protected route', async () => {
    for (const [method, path] of PROTECTED_ROUTES) {
      const r = await call(base, method, path, { ...bodyFor(method, path), token: 'x'.repeat(43) });
      expect(r.status, `${method} ${path}`).toBe(401);
    }
    expect((await call(base, 'GET', '/api/settings', { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).status).toBe(401);
  });
});

describe('bearer token', () => {
  test('the token file is 0600 in a 0700 config dir and the token is ≥ 32 random bytes', () => {
    expect(statSync(join(h.configDir, 'settings-token')).mode & 0o777).toBe(0o600);
    expect(statSync(h.configDir).mode & 0o777).toBe(0o700);
    expect(h.token()).toMatch(/^[A-Za-z0-9_-]{43,}$/);
  });

  test('the right token opens every protected route', async () => {
    const token = h.token();
    expect((await call(base, 'GET', '/api/settings', { token })).status).toBe(200);
    expect((await call(base, 'GET', '/api/status', { token })).status).toBe(200);
    expect((await call(base, 'GET', '/api/effective', { token })).status).toBe(200);
    expect((await call(base, 'POST', '/api/validate', { token })).status).toBe(200);
    expect((await call(base, 'POST', '/api/apply', { token })).status).toBe(200);
  });

  test('the login link carries a code, never the token', () => {
    expect(h.server.loginUrl.startsWith(`${base}/login?code=`)).toBe(true);
    expect(h.server.loginUrl).not.toContain(h.token());
    expect(h.server.loginUrl.endsWith(h.server.loginPath)).toBe(true);
  });
});

describe('login link', () => {
  test('the printed link is exchanged once for an HttpOnly SameSite=Strict cookie; reuse is 401', async () => {
    const path = new URL(h.server.loginUrl).pathname + new URL(h.server.loginUrl).search;
    // A link previewer's HEAD does not spend the code.
    expect((await call(base, 'HEAD', path)).status).not.toBe(303);
    const login = await call(base, 'GET', path);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const { pair, attributes } = sessionCookie(login.headers['set-cookie']);
    expect(pair).toMatch(/^reachy_settings_session=[A-Za-z0-9_-]{43,}$/);
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=strict');
    expect(attributes).toContain('path=/');
    expect(pair).not.toContain(h.token());

    const withCookie = await call(base, 'GET', '/api/settings', { cookie: pair });
    expect(withCookie.status).toBe(200);
    const put = await call(base, 'PUT', '/api/settings', { cookie: pair, origin: base, json: { tenant: 'cookie-tenant' } });
    expect(put.status).toBe(200);
    expect(put.json.settings.tenant).toBe('cookie-tenant');

    // A wrong bearer is not rescued by a valid cookie.
    expect((await call(base, 'GET', '/api/settings', { cookie: pair, token: 'wrong' })).status).toBe(401);

    const reuse = await call(base, 'GET', path);
    expect(reuse.status).toBe(401);
    expect(reuse.headers['set-cookie']).toBeUndefined();
    expect(reuse.json.error).toMatch(/already used/);
  });

  test('a made-up code, a missing code and the token itself are all refused', async () => {
    expect((await call(base, 'GET', '/login')).status).toBe(401);
    expect((await call(base, 'GET', `/login?code=${'A'.repeat(43)}`)).status).toBe(401);
    expect((await call(base, 'GET', `/login?token=${h.token()}`)).status).toBe(401);
    expect((await call(base, 'GET', '/api/settings', { cookie: `reachy_settings_session=${'B'.repeat(43)}` })).status).toBe(401);
  });

  test('`token` is accepted as the name of the code parameter, still once', async () => {
    const code = new URL(h.server.issueLoginUrl()).searchParams.get('code') ?? '';
    expect((await call(base, 'GET', `/login?token=${code}`)).status).toBe(303);
    expect((await call(base, 'GET', `/login?token=${code}`)).status).toBe(401);
  });

  test('a newer link replaces an unused older one', async () => {
    const older = new URL(h.server.issueLoginUrl());
    const newer = new URL(h.server.issueLoginUrl());
    expect((await call(base, 'GET', older.pathname + older.search)).status).toBe(401);
    expect((await call(base, 'GET', newer.pathname + newer.search)).status).toBe(303);
  });

  test('codes expire after LOGIN_CODE_TTL_MS and sessions after SESSION_TTL_MS', () => {
    let now = 1_000_000;
    const auth = createSettingsAuth('t'.repeat(43), () => now);
    const late = auth.issueLoginCode();
    now += LOGIN_CODE_TTL_MS + 1;
    expect(auth.redeemLoginCode(late)).toBeUndefined();
    const code = auth.issueLoginCode();
    now += LOGIN_CODE_TTL_MS - 1;
    const session = auth.redeemLoginCode(code);
    expect(session).toBeDefined();
    expect(auth.authorised(undefined, session)).toBe(true);
    now += SESSION_TTL_MS + 1;
    expect(auth.authorised(undefined, session)).toBe(false);
    expect(auth.authorised('t'.repeat(43), undefined)).toBe(true);
    expect(auth.authorised('', session)).toBe(false);
  });
});

describe('Origin on PUT/POST', () => {
  test('a foreign or null Origin is 403 on every mutating route; nothing is called or written', async () => {
    const token = h.token();
    const before = existsSync(h.settingsFile) ? readFileSync(h.settingsFile) : undefined;
    const applyCalls = h.applyCalls.length;
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${h.server.port + 1}`, `https://127.0.0.1:${h.server.port}`]) {
      for (const [method, path] of PROTECTED_ROUTES.filter(([m]) => m !== 'GET')) {
        const r = await call(base, method, path, { ...bodyFor(method, path), token, origin, ...(method === 'PUT' ? { json: { tenant: 'evil' } } : {}) });
        expect(r.status, `${method} ${path} from ${origin}`).toBe(403);
      }
    }
    expect(h.applyCalls.length).toBe(applyCalls);
    expect(existsSync(h.settingsFile) ? readFileSync(h.settingsFile) : undefined).toEqual(before);
  });

  test('the server\'s own origin and no Origin at all (non-browser client) are allowed', async () => {
    const token = h.token();
    expect((await call(base, 'POST', '/api/validate', { token, origin: base })).status).toBe(200);
    expect((await call(base, 'POST', '/api/validate', { token })).status).toBe(200);
    expect((await call(base, 'POST', '/api/apply', { token, origin: `http://localhost:${h.server.port}`, headers: { host: `localhost:${h.server.port}` } })).status).toBe(200);
  });

  test('GET routes do not check Origin', async () => {
    expect((await call(base, 'GET', '/api/settings', { token: h.token(), origin: 'http://evil.example' })).status).toBe(200);
  });
});

describe('page and headers', () => {
  test.skipIf(!existsSync(join(STATIC_DIR, 'index.html')))('GET / serves the page as text/html without a token', async () => {
    const r = await call(base, 'GET', '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
  });

  test('API answers are not cached, not sniffed and not framed', async () => {
    const r = await call(base, 'GET', '/api/settings', { token: h.token() });
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('token file policy', () => {
  test('a token file that group/other can read stops the server from starting; the token is reused across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'settings-token-'));
    try {
      const configDir = join(dir, 'config');
      const options = { host: '127.0.0.1', port: 0, configDir, settingsFile: join(configDir, 's.json'), argv: [], env: {}, status: () => ({}), apply: async () => ({}) };
      const first = await startSettingsServer(options);
      await first.close();
      const token = readFileSync(join(configDir, 'settings-token'), 'utf8');
      const second = await startSettingsServer(options);
      await second.close();
      expect(readFileSync(join(configDir, 'settings-token'), 'utf8')).toBe(token);

      chmodSync(join(configDir, 'settings-token'), 0o644);
      await expect(startSettingsServer(options)).rejects.toThrow(SettingsTokenError);
      await expect(startSettingsServer(options)).rejects.toThrow(/mode 0644.*delete it/);
      expect(statSync(join(configDir, 'settings-token')).mode & 0o777).toBe(0o644);

      writeFileSync(join(configDir, 'settings-token'), 'short\n', { mode: 0o600 });
      chmodSync(join(configDir, 'settings-token'), 0o600);
      await expect(startSettingsServer(options)).rejects.toThrow(/not a valid token/);

      const other = join(dir, 'other');
      mkdirSync(join(other, 'settings-token'), { recursive: true });
      await expect(startSettingsServer({ ...options, configDir: other })).rejects.toThrow(/not a regular file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
