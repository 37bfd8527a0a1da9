// The CLI subcommands against the real driver over a real broker (D2D mode, no registry needed):
// `devices` lists it, `functions` shows get_status, `call` returns its result, bad params exit 1
// with the JSON-RPC code and `_tag` on stderr, invalid JSON exits 2.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
let server: NatsServerHandle;
let driver: TestDriver;

beforeAll(async () => {
  server = await startNatsServer();
  driver = await startTestDriver(['--device-id', 'cli-dev', '--tenant', 'lab', '--messaging-url', server.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
});
afterAll(async () => {
  await driver?.stop();
  await server?.stop();
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args, '--messaging-url', server.url, '--tenant', 'lab', '--discovery-mode', 'd2d'], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('devices lists the driver', async () => {
  const r = await cli(['devices']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('cli-dev');
  expect(r.stdout).toContain('reachy_mini');
});

test('functions shows get_status', async () => {
  const r = await cli(['functions', 'cli-dev']);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('get_status');
});

test('call returns the result', async () => {
  const r = await cli(['call', 'cli-dev', 'get_status', '{}']);
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).driver_state.rig).toBe('reachy_mini');
});

test('call with an unknown parameter exits 1 with the code and tag', async () => {
  const r = await cli(['call', 'cli-dev', 'get_status', '{"bogus":1}']);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('-32602');
  expect(r.stderr).toContain('InvalidParams');
});

test('call with invalid JSON exits 2', async () => {
  const r = await cli(['call', 'cli-dev', 'get_status', '{nope']);
  expect(r.code).toBe(2);
});
