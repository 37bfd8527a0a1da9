// `reachy-mini-driver settings-link` through the real binary against a running settings server:
// it finds the server through settings-server.json in the config dir (a port that is not the
// default), has the server prove it holds the 0600 token, prints a fresh one-time link that logs a
// browser in once; the link printed before stops working; with no server it exits 1 saying what to
// start. The token never goes to a port the app does not hold: a stale file (its pid dead, or alive
// but another process) or a relay in front of the real server gets a random nonce and nothing else.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SERVER_FILE_NAME } from '../../src/adapters/settings-http/settings-server.ts';
import { call, startHarness, type Harness } from './settings-harness.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'reachy-mini-driver.mjs'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      process.stdout.write(`  $ reachy-mini-driver ${args.join(' ')} → ${code}\n${stdout}${stderr}`);
      resolve({ code, stdout, stderr });
    });
  });
}

interface Heard {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: string;
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function fieldsOf(body: string): string {
  try {
    return Object.keys(JSON.parse(body) as object).join(', ') || 'none';
  } catch {
    return body === '' ? 'none' : 'not JSON';
  }
}

/** A listener on a free loopback port that records every request and lets `answer` reply. */
async function listener(answer: (heard: Heard) => Promise<{ status: number; body: string }>): Promise<{ port: number; heard: Heard[]; close: () => Promise<void> }> {
  const heard: Heard[] = [];
  const server: Server = createServer(async (req, res) => {
    const one = { method: String(req.method), url: String(req.url), authorization: req.headers.authorization, body: await bodyOf(req) };
    heard.push(one);
    // Named, never shown: were a regression to send the token, the transcript must not print it.
    process.stdout.write(`  listener heard ${one.method} ${one.url} authorization: ${one.authorization === undefined ? 'none' : 'SENT'}, body fields: ${fieldsOf(one.body)}\n`);
    const { status, body } = await answer(one);
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, heard, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Points settings-server.json at `port` with a live pid (this test process: a reused pid after an unclean exit); gives back the old file. */
function staleServerFile(configDir: string, port: number): () => void {
  const file = join(configDir, SERVER_FILE_NAME);
  const before = readFileSync(file, 'utf8');
  writeFileSync(file, JSON.stringify({ pid: process.pid, host: '0.0.0.0', port, url: `http://127.0.0.1:${port}` }), { mode: 0o600 });
  return () => writeFileSync(file, before, { mode: 0o600 });
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

test('settings-link prints a fresh link of the running server; it logs in once and the earlier link no longer works', async () => {
  expect(existsSync(join(h.configDir, SERVER_FILE_NAME))).toBe(true);
  const earlier = h.server.loginPath;
  const r = await cli(['settings-link', '--config-dir', h.configDir]);
  expect(r.code).toBe(0);
  const link = /http:\/\/127\.0\.0\.1:(\d+)\/login\?code=[A-Za-z0-9_-]{43}/.exec(r.stdout);
  expect(link?.[1]).toBe(String(h.server.port));
  const url = new URL(link?.[0] ?? '');
  expect((await call(h.server.url, 'GET', url.pathname + url.search)).status).toBe(303);
  expect((await call(h.server.url, 'GET', url.pathname + url.search)).status).toBe(401);
  expect((await call(h.server.url, 'GET', earlier)).status).toBe(401);
  expect(r.stdout).not.toContain(h.token());
}, 30_000);

test('a stale file naming a live pid and another listener: that listener gets a random nonce, never the token or a proof from it; no link, exit 1 saying what to do', async () => {
  // What the reviewer saw: after an unclean exit the recorded pid is another process and
  // something else listens on the recorded port. It answers whatever it is asked, link included.
  const fake = await listener(async () => ({
    status: 200,
    body: JSON.stringify({ ok: true, server_nonce: 'A'.repeat(43), proof: 'B'.repeat(43), url: 'http://evil/login?code=x', urls: ['http://evil/login?code=x'], expires_in_s: 3600 }),
  }));
  const restore = staleServerFile(h.configDir, fake.port);
  try {
    const r = await cli(['settings-link', '--config-dir', h.configDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain('evil');
    expect(r.stderr).toMatch(/did not prove it is the settings app.*token was not used and no link is printed/);
    expect(r.stderr).toMatch(/start the app with `reachy-mini-driver app`, or remove that file/);
    expect(fake.heard.map((x) => `${x.method} ${x.url}`)).toEqual(['POST /api/login-link/challenge']);
    const [challenge] = fake.heard;
    expect(challenge?.authorization).toBeUndefined();
    expect(Object.keys(JSON.parse(challenge?.body ?? '{}'))).toEqual(['client_nonce']);
    expect(challenge?.body).not.toContain(h.token());
  } finally {
    restore();
    await fake.close();
  }
  // The real server is still there, and its link still comes through once the file is right again.
  expect((await cli(['settings-link', '--config-dir', h.configDir])).code).toBe(0);
}, 30_000);

test('a relay in front of the real server cannot pass its proof on: the proof names the port it answered on; no link request is ever relayed', async () => {
  const realAnswers: number[] = [];
  const relay = await listener(async (x) => {
    const res = await request(`${h.server.url}${x.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: x.body });
    realAnswers.push(res.statusCode);
    return { status: res.statusCode, body: await res.body.text() };
  });
  const restore = staleServerFile(h.configDir, relay.port);
  try {
    const r = await cli(['settings-link', '--config-dir', h.configDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/did not prove it is the settings app/);
    expect(relay.heard.map((x) => `${x.method} ${x.url}`)).toEqual(['POST /api/login-link/challenge']);
    expect(realAnswers).toEqual([200]);
    expect(relay.heard[0]?.body).not.toContain(h.token());
  } finally {
    restore();
    await relay.close();
  }
}, 30_000);

test('with no settings app running it exits 1 and says what to start, on stderr', async () => {
  await h.server.close();
  expect(existsSync(join(h.configDir, SERVER_FILE_NAME))).toBe(false);
  const r = await cli(['settings-link', '--config-dir', h.configDir, '--settings-port', '1']);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/no settings app is running.*reachy-mini-driver app/);
}, 30_000);

test('the token goes to no one but the server settings-server.json names, and only while its process lives', async () => {
  // Something else listens on the configured port while the app is down; a stale file names a dead process.
  const heard: string[] = [];
  const impostor = createServer((req, res) => {
    heard.push(String(req.headers.authorization ?? ''));
    res.end('{}');
  });
  await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
  const port = (impostor.address() as AddressInfo).port;
  try {
    const none = await cli(['settings-link', '--config-dir', h.configDir, '--settings-port', String(port)]);
    expect(none.code).toBe(1);
    writeFileSync(join(h.configDir, SERVER_FILE_NAME), JSON.stringify({ pid: 2 ** 22 + 7, host: '127.0.0.1', port }), { mode: 0o600 });
    const stale = await cli(['settings-link', '--config-dir', h.configDir]);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/no longer running/);
    expect(heard).toEqual([]);
  } finally {
    await new Promise<void>((resolve) => impostor.close(() => resolve()));
  }
}, 30_000);
