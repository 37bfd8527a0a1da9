// The CLI contract, run as a real process (src/cli.ts): bad configuration exits 2 with exactly one
// line on stderr naming the problem; missing credentials exit 2 naming both fixes (the security
// gate of device-connect-protocol.md §3.5); `help run` lists every option with its environment
// variable and settings file key. In-process parsing and help are test/unit/cli-command-line.test.ts;
// precedence and credential handling are test/unit/config.test.ts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
  });
}

test('bad config exits 2 with one clear line', () => {
  const result = run(['--transport-mode', 'zenoh'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  expect(result.status).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^reachy-mini-driver: transport mode "zenoh" is not supported/);
});

test('missing credentials exit 2 and name both fixes', () => {
  const result = run(['--messaging-url', 'nats://127.0.0.1:1']);
  expect(result.status).toBe(2);
  expect(result.stderr).toMatch(/MESSAGING_CREDENTIALS_FILE/);
  expect(result.stderr).toMatch(/DEVICE_CONNECT_ALLOW_INSECURE/);
});

test('help run lists every option with its environment variable and settings file key', () => {
  const result = run(['help', 'run']);
  expect(result.status).toBe(0);
  for (const name of ['--device-id', 'DEVICE_ID', 'MESSAGING_URLS', 'DEVICE_CONNECT_ALLOW_INSECURE', '--sim', 'NATS_JWT']) expect(result.stdout).toContain(name);
  expect(result.stdout).toContain('--device-id, DEVICE_ID; settings file: device_id');
  expect(result.stdout).toContain('--sim, REACHY_SIM, REACHY_SIMULATE; settings file: simulate');
});
