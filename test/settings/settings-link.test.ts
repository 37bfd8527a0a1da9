// `reachy-mini-driver settings-link` through the real binary against a running settings server:
// it finds the server through settings-server.json in the config dir (a port that is not the
// default), authenticates with the 0600 token, prints a fresh one-time link that logs a browser in
// once; the link printed before stops working; with no server it exits 1 saying what to start, and
// the token is never sent to a port the app does not hold (a stale file, another listener).
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
