// Credentials upload (reference-driver.md §10 "Upload steps", its bugs fixed): unsafe names, wrong
// extensions, malformed content, a malformed multipart body (400, not a logged 500) and an
// oversized streamed body are refused with nothing written and no setting changed (the settings
// file's bytes are compared); good .creds and portal .creds.json files are stored 0600 and answered
// with path + fingerprint, never the secrets; no silent overwrite. Real server on port 0, undici
// client, one transcript line per call.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { setLogSink } from '../../src/logging/logger.ts';
import { BOUNDARY, call, mintCredentials, multipartFile, startHarness, type Answer, type Harness } from './settings-harness.ts';

const BASE_SETTINGS = {
  use_portal: false,
  nats_credentials_file: '',
  device_id: '',
  tenant: '',
  reachy_target: '127.0.0.1:8000',
  transport_mode: 'websocket',
  allow_insecure: false,
  simulate: false,
  no_media: false,
  messaging_backend: '',
  messaging_urls: '',
  discovery_mode: '',
  portal_credentials_glob: '',
  portal_credentials_dir: '',
  reachy_prefix: 'reachy_mini',
};

let h: Harness;
let token: string;
let secrets: Awaited<ReturnType<typeof mintCredentials>>;
let credsDir: string;

async function upload(name: string, content: string | Buffer, query = '', field = 'file'): Promise<Answer> {
  const m = multipartFile(name, content, field);
  return call(h.server.url, 'POST', `/api/credentials/upload${query}`, { token, body: m.body, headers: m.headers });
}

function storedNames(): string[] {
  return existsSync(credsDir) ? readdirSync(credsDir) : [];
}

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(secrets.jwt);
  expect(text).not.toContain(secrets.seed);
  expect(text).not.toContain(secrets.jwt.split('.')[1] ?? 'unreachable');
}

beforeAll(async () => {
  h = await startHarness();
  token = h.token();
  credsDir = join(h.configDir, 'credentials');
  secrets = await mintCredentials('reachy-portal-7', 'lab');
});
afterAll(async () => {
  await h.stop();
});

describe('refused uploads write nothing and change no setting', () => {
  let before: Buffer;
  beforeEach(async () => {
    if (!existsSync(h.settingsFile)) await call(h.server.url, 'PUT', '/api/settings', { token, json: { ...BASE_SETTINGS, tenant: 'kept' } });
    before = readFileSync(h.settingsFile);
  });
  const unchanged = (): void => {
    expect(readFileSync(h.settingsFile)).toEqual(before);
    expect(storedNames()).toEqual([]);
  };

  test('traversal, absolute, NUL, "..", hidden and empty names are 400', async () => {
    const names = ['../../x.json', '..\\..\\x.json', '/etc/x.json', 'C:\\x.json', 'a\u0000b.json', 'x.json\u0000.txt', '..', 'a..json', '.hidden.json', '.creds', 'sub/device.creds', '\t.creds'];
    for (const name of names) {
      const r = await upload(name, secrets.creds);
      expect(r.status, JSON.stringify(name)).toBe(400);
      expect(r.json.ok).toBe(false);
      expect(r.json.error).toMatch(/filename/);
    }
    const empty = await upload('', secrets.creds);
    expect(empty.status).toBe(400);
    unchanged();
    expect(existsSync(join(h.dir, 'x.json'))).toBe(false);
    expect(existsSync(join(h.configDir, 'x.json'))).toBe(false);
  });

  test('an RFC 5987 encoded name is checked after decoding', async () => {
    const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''..%2F..%2Fx.json\r\n\r\n`;
    const body = Buffer.from(`${head}${secrets.creds}\r\n--${BOUNDARY}--\r\n`);
    const r = await call(h.server.url, 'POST', '/api/credentials/upload', { token, body, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } });
    expect(r.status).toBe(400);
    unchanged();
  });

  test('wrong extensions are 400', async () => {
    for (const name of ['device.txt', 'device.creds.bak', 'device', 'device.jsonx', 'device.pem']) {
      const r = await upload(name, secrets.creds);
      expect(r.status, name).toBe(400);
      expect(r.json.error).toBe('credentials file must be .json or .creds');
    }
    unchanged();
  });

  test('malformed content is 422 and says why, without echoing it', async () => {
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ['device.creds', 'hello world', /not a NATS \.creds file/],
      ['device.creds', secrets.creds.replace(secrets.seed, 'SXBADSEED'), /malformed user nkey seed/],
      ['device.creds.json', '{"nats": {"jwt": "a.b.c"', /not valid JSON/],
      ['device.creds.json', JSON.stringify({ device_id: 'x', nats: { jwt: secrets.jwt } }), /nats\.nkey_seed/],
      ['device.json', '[]', /JSON object|not a NATS/],
      ['device.creds', Buffer.from([0xff, 0xfe, 0x00, 0x41]), /not UTF-8/],
      ['device.creds.json', JSON.stringify({ device_id: 'bad.id', nats: { jwt: secrets.jwt, nkey_seed: secrets.seed } }), /device_id/],
    ];
    for (const [name, content, message] of cases) {
      const r = await upload(name, content);
      expect(r.status, String(message)).toBe(422);
      expect(r.json.error).toMatch(message);
      expectNoSecrets(r.text);
    }
    unchanged();
  });

  test('a wrong field name or a missing file is 400; a non-multipart body is refused', async () => {
    expect((await upload('device.creds', secrets.creds, '', 'upload')).status).toBe(400);
    const r = await call(h.server.url, 'POST', '/api/credentials/upload', { token, json: { file: secrets.creds } });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expectNoSecrets(r.text);
    unchanged();
  });

  test('a malformed multipart body (no boundary, cut short) is 400 MultipartMalformed, not a logged internal error', async () => {
    const logged: string[] = [];
    setLogSink((line) => logged.push(line));
    const answers: Answer[] = [];
    try {
      // The boundary is missing from the content type.
      answers.push(await call(h.server.url, 'POST', '/api/credentials/upload', { token, body: multipartFile('device.creds', secrets.creds).body, headers: { 'content-type': 'multipart/form-data' } }));
      // The part starts and the body ends before its closing boundary.
      const cut = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="device.creds"\r\n\r\n${secrets.creds.slice(0, 40)}`);
      answers.push(await call(h.server.url, 'POST', '/api/credentials/upload', { token, body: cut, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } }));
    } finally {
      setLogSink((line) => void process.stderr.write(line + '\n'));
    }
    for (const r of answers) {
      expect(r.status).toBe(400);
      expect(r.json).toEqual({ ok: false, error: 'the upload is not a well-formed multipart/form-data body: send the file in the multipart field "file"', issues: [], error_tag: 'MultipartMalformed' });
    }
    expect(logged.filter((line) => line.includes(' ERROR '))).toEqual([]);
    unchanged();
  });

  test('a streamed 10 MiB upload is 413 before the body is read: the client is still sending when the answer comes', async () => {
    const total = 10 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    let finished = false;
    async function* body(): AsyncGenerator<Buffer> {
      yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.creds.json"\r\nContent-Type: application/json\r\n\r\n`);
      while (sent < total) {
        sent += chunk.length;
        yield chunk;
        // Paced past the first MiB so socket buffers cannot hide whether the server kept reading.
        if (sent > 1024 * 1024) await sleep(5);
      }
      yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
      finished = true;
    }
    // Chunked: no Content-Length, so only the streaming limit can stop it.
    // The server answers 413 and closes while the client is still writing: depending on which the
    // client's socket sees first, it reads the 413 or its next write fails (EPIPE / ECONNRESET). Either
    // way the server stopped reading long before the body ended.
    const r = await call(h.server.url, 'POST', '/api/credentials/upload', { token, body: Readable.from(body()), headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } }).catch((error: NodeJS.ErrnoException) => {
      expect(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET']).toContain(error.code);
      return null;
    });
    if (r) {
      expect(r.status).toBe(413);
      expect(r.json).toMatchObject({ ok: false, error: 'credentials file too large (max 256 KiB)' });
      expect(r.headers.connection).toBe('close');
    }
    expect(finished).toBe(false);
    expect(sent).toBeLessThan(total);
    process.stdout.write(`  (client had sent ${(sent / 1024 / 1024).toFixed(2)} MiB of 10 MiB when the 413 arrived)\n`);
    unchanged();
  });

  test('a good file is refused (409) while the saved settings file is broken; nothing is stored', async () => {
    writeFileSync(h.settingsFile, '{"tenant": "kept", "colour": "red"}\n');
    try {
      const r = await upload('device.creds', secrets.creds);
      expect(r.status).toBe(409);
      expect(r.json.error).toMatch(/unknown keys: colour/);
      expect(readFileSync(h.settingsFile, 'utf8')).toBe('{"tenant": "kept", "colour": "red"}\n');
      expect(storedNames()).toEqual([]);
    } finally {
      writeFileSync(h.settingsFile, before);
    }
  });

  test('a declared Content-Length over the limit is 413 at once', async () => {
    const m = multipartFile('big.creds', Buffer.alloc(300 * 1024, 0x41));
    const r = await call(h.server.url, 'POST', '/api/credentials/upload', { token, body: m.body, headers: m.headers });
    expect(r.status).toBe(413);
    unchanged();
  });

  test('just over 256 KiB of file content inside a small-enough request is still 413 (the part limit)', async () => {
    const m = multipartFile('big.creds', Buffer.alloc(256 * 1024 + 1, 0x41));
    const r = await call(h.server.url, 'POST', '/api/credentials/upload', { token, body: m.body, headers: m.headers });
    expect(r.status).toBe(413);
    unchanged();
  });
});

describe('accepted uploads', () => {
  test('a NATS .creds is stored 0600 under credentials/, answered with path + fingerprint only, and sets only the path', async () => {
    await call(h.server.url, 'PUT', '/api/settings', { token, json: { ...BASE_SETTINGS, tenant: 'kept' } });
    const r = await upload('device.creds', secrets.creds);
    expect(r.status).toBe(200);
    const path = join(credsDir, 'device.creds');
    expect(r.json).toMatchObject({ ok: true, path, kind: 'nats-creds', device_id: null, tenant: null, stored: 'created' });
    expect(r.json.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expectNoSecrets(r.text);
    expect(readFileSync(path, 'utf8')).toBe(secrets.creds);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(h.settingsFile).mode & 0o777).toBe(0o600);
    // A plain .creds does not switch portal mode on (it would point the identity at the portal broker).
    expect(r.json.settings).toEqual({ ...BASE_SETTINGS, tenant: 'kept', nats_credentials_file: path });
    expect(JSON.parse(readFileSync(h.settingsFile, 'utf8'))).toEqual(r.json.settings);
    for (const route of ['/api/settings', '/api/effective', '/api/status'] as const) expectNoSecrets((await call(h.server.url, 'GET', route, { token })).text);
    expectNoSecrets((await call(h.server.url, 'POST', '/api/validate', { token })).text);
  });

  test('the same content again is idempotent; different content is 409 unless ?replace=1', async () => {
    const path = join(credsDir, 'device.creds');
    const again = await upload('device.creds', secrets.creds);
    expect(again.status).toBe(200);
    expect(again.json.stored).toBe('unchanged');

    const other = await mintCredentials();
    const settingsBefore = readFileSync(h.settingsFile);
    const conflict = await upload('device.creds', other.creds);
    expect(conflict.status).toBe(409);
    expect(conflict.json.error).toMatch(/already stored.*replace=1/);
    expect(readFileSync(path, 'utf8')).toBe(secrets.creds);
    expect(readFileSync(h.settingsFile)).toEqual(settingsBefore);
    expect(conflict.text).not.toContain(other.seed);

    const replaced = await upload('device.creds', other.creds, '?replace=1');
    expect(replaced.status).toBe(200);
    expect(replaced.json.stored).toBe('replaced');
    expect(replaced.json.fingerprint).not.toBe(again.json.fingerprint);
    expect(readFileSync(path, 'utf8')).toBe(other.creds);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(credsDir).filter((n) => n.startsWith('.'))).toEqual([]);
    // Back to the first file for the next test.
    await upload('device.creds', secrets.creds, '?replace=1');
  });

  test('a portal .creds.json turns portal mode on and fills device_id/tenant only where blank', async () => {
    await call(h.server.url, 'PUT', '/api/settings', { token, json: { ...BASE_SETTINGS, tenant: 'my-tenant' } });
    const r = await upload('Robot.CREDS.JSON', secrets.portal);
    expect(r.status).toBe(200);
    const path = join(credsDir, 'Robot.CREDS.JSON');
    expect(r.json).toMatchObject({ ok: true, path, kind: 'portal-json', device_id: 'reachy-portal-7', tenant: 'lab', stored: 'created' });
    expect(r.json.settings).toEqual({ ...BASE_SETTINGS, use_portal: true, nats_credentials_file: path, device_id: 'reachy-portal-7', tenant: 'my-tenant' });
    expectNoSecrets(r.text);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(credsDir).mode & 0o777).toBe(0o700);
    const validate = await call(h.server.url, 'POST', '/api/validate', { token });
    expect(validate.status).toBe(200);
    expectNoSecrets(validate.text);
  });
});
