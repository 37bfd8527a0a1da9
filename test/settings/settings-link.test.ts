// `reachy-mini-driver settings-link` through the real binary against a running settings server:
// it finds the server through settings-server.json in the config dir (a port that is not the
// default), authenticates with the 0600 token, prints a fresh one-time link that logs a browser in
// once; the link printed before stops working; with no server it exits 1 saying what to start.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  expect(r.stderr).toMatch(/no settings app answers.*reachy-mini-driver app/);
}, 30_000);
