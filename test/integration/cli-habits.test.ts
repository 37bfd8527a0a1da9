// Issue 10 item 4, through the real binary (`node bin/reachy-mini-driver.mjs`): --version, help and
// help <command>, per-command --help, --json on every client command (stdout is JSON and nothing
// else), errors on stderr with the documented exit codes (0 ok, 1 failed, 2 usage), NO_COLOR,
// `events` saying what it watches, and "did you mean" for commands and functions.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { COMMANDS, CONFIG_KEYS } from '../../src/config/config.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';

const BIN = fileURLToPath(new URL('../../bin/reachy-mini-driver.mjs', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const ESC = '\u001b[';

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}, killAfterMs?: number): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), killAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One option's entry of `help run`: the line naming it first (at two spaces) and the lines under it. */
function optionEntry(help: string, name: string): string | undefined {
  const lines = help.split('\n');
  const start = lines.findIndex((line) => /^  \S/.test(line) && line.slice(2).split(/[,;]/)[0] === name);
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && !/^   /.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

describe('without a mesh', () => {
  test('--version and -V print the package version on stdout, exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      expect(await cli([flag])).toEqual({ code: 0, stdout: `reachy-mini-driver ${VERSION}\n`, stderr: '' });
    }
  });

  test('help, --help and -h print the same overview: every command and the exit codes', async () => {
    const help = await cli(['help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 the operation failed');
    expect(help.stdout).toContain('NO_COLOR');
    expect(await cli(['--help'])).toEqual(help);
    expect(await cli(['-h'])).toEqual(help);
  });

  test('help events says what events prints: one JSON object per line, with or without --json', async () => {
    const help = await cli(['help', 'events']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('One JSON object per event and line on stdout ({"deviceId", "name", "params"}), with or without --json');
    expect(help.stdout).not.toMatch(/One line per event; --json/);
  });

  test('call --help prints the call usage only, the same as help call', async () => {
    const own = await cli(['call', '--help']);
    expect(own.code).toBe(0);
    expect(own.stdout.split('\n')[0]).toBe(`Usage: reachy-mini-driver call <device_id> <function> ['{"param": value}'] [--json]`);
    expect(own.stdout).not.toContain('--device-id');
    expect(own.stdout.split('\n').length).toBeLessThan(20);
    expect(await cli(['help', 'call'])).toEqual(own);
  });

  test('help run (and run --help, help app) lists every driver option with its environment variables and settings file key, in 100 columns', async () => {
    const run = await cli(['help', 'run']);
    expect(run.code).toBe(0);
    for (const key of CONFIG_KEYS) {
      const entry = optionEntry(run.stdout, key.flag ?? key.env?.[0] ?? '');
      expect(entry, key.key).toBeDefined();
      if (key.flag) expect(entry, key.key).toContain(key.flag);
      for (const env of key.env ?? []) expect(entry, key.key).toContain(env);
      if (key.settings) expect(entry, key.key).toContain(`settings file: ${key.settings}`);
      else expect(entry, key.key).not.toContain('settings file:');
    }
    for (const line of run.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    expect((await cli(['run', '--help'])).stdout).toBe(run.stdout);
    const app = await cli(['help', 'app']);
    expect(app.stdout).toContain(run.stdout.slice(run.stdout.indexOf('Options (')));
    for (const line of app.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  test('an unknown command: exit 2, one line on stderr with a suggestion, nothing on stdout', async () => {
    const r = await cli(['devics']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'reachy-mini-driver: unknown command "devics"; did you mean `devices`? (`reachy-mini-driver help` lists the commands)\n' });
    expect((await cli(['help', 'cal'])).stderr).toContain('did you mean `call`?');
    expect((await cli(['help', 'cal'])).code).toBe(2);
  });

  test('usage errors of a client command: exit 2 on stderr, before any connection', async () => {
    const r = await cli(['call', 'reachy-mini-sim-1', '--messaging-url', 'nats://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('usage: call <device_id> <function>');
  });

  test('no broker: exit 1, stderr names the URL tried and what to do; --json puts the error on stdout', async () => {
    const r = await cli(['devices', '--messaging-url', 'nats://127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error cannot connect to NATS at nats://127.0.0.1:1:');
    expect(r.stderr).toContain('reachy-mini-driver --sim');
    const json = await cli(['devices', '--json', '--messaging-url', 'nats://127.0.0.1:1']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { _tag: 'ConnectFailed', servers: 'nats://127.0.0.1:1' } });
  });

  test('colour only when asked for, never with NO_COLOR', async () => {
    const args = ['devices', '--messaging-url', 'nats://127.0.0.1:1'];
    expect((await cli(args)).stderr).not.toContain(ESC);
    expect((await cli(args, { FORCE_COLOR: '1' })).stderr).toContain(`${ESC}31merror${ESC}0m cannot connect`);
    expect((await cli(args, { FORCE_COLOR: '1', NO_COLOR: '1' })).stderr).not.toContain(ESC);
  });
});

describe('against a running driver', () => {
  let server: NatsServerHandle;
  let driver: TestDriver;
  const mesh = () => ['--messaging-url', server.url, '--tenant', 'habits'];

  beforeAll(async () => {
    server = await startNatsServer();
    driver = await startTestDriver(['--device-id', 'habits-1', '--tenant', 'habits', '--messaging-url', server.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  });
  afterAll(async () => {
    await driver?.stop();
    await server?.stop();
  });

  test('--json: devices, functions and call print JSON and only JSON on stdout', async () => {
    const devices = await cli(['devices', '--json', ...mesh()]);
    expect(devices.code, devices.stderr).toBe(0);
    expect((JSON.parse(devices.stdout) as { deviceId: string }[]).map((d) => d.deviceId)).toEqual(['habits-1']);
    const functions = await cli(['functions', 'habits-1', '--json', ...mesh()]);
    expect(functions.code, functions.stderr).toBe(0);
    expect((JSON.parse(functions.stdout) as { functions: { name: string }[] }).functions.map((f) => f.name)).toContain('wake_up');
    const call = await cli(['call', 'habits-1', 'get_status', '--json', ...mesh()]);
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ driver_state: { rig: 'reachy_mini' } });
  });

  test('an unknown function: exit 1, the error and "did you mean" on stderr; with --json the error object on stdout', async () => {
    const r = await cli(['call', 'habits-1', 'wake_upp', ...mesh()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error -32601 /m);
    expect(r.stderr).toContain('did you mean `wake_up`?');
    const json = await cli(['call', 'habits-1', 'wake_upp', '--json', ...mesh()]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { _tag: 'RpcError', code: -32601, method: 'wake_upp' } });
  });

  test('an error reply: exit 1, the code and _tag on stderr, stdout empty', async () => {
    const r = await cli(['call', 'habits-1', 'get_status', '{"bogus": 1}', ...mesh()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('-32602');
    expect(r.stderr).toContain('data._tag: InvalidParams');
  });

  test('a wrong device id: exit 1, and stderr names the devices that are there', async () => {
    const r = await cli(['call', 'reachy-mini-1', 'get_status', ...mesh()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error NoResponders nobody is subscribed to device-connect.habits.reachy-mini-1.cmd');
    expect(r.stderr).toContain('devices in tenant habits: habits-1');
    const functions = await cli(['functions', 'reachy-mini-1', ...mesh()]);
    expect(functions.code).toBe(1);
    expect(functions.stderr).toContain('error DeviceNotFound device reachy-mini-1 not found in tenant habits (auto discovery)');
    expect(functions.stderr).toContain('devices in tenant habits: habits-1');
  });

  test('infra discovery with no registry: devices and functions say no registry answers and how to go on (exit 1)', async () => {
    const said = 'error NoResponders no registry answers on device-connect.habits.discovery (infra discovery): start one, or use --discovery-mode d2d';
    for (const args of [['devices'], ['functions', 'habits-1']]) {
      const r = await cli([...args, ...mesh(), '--discovery-mode', 'infra']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(said);
      expect(r.stderr).not.toContain('offline device, wrong id or wrong tenant');
    }
  });

  test('events says on stderr what it watches; stdout stays for the events', async () => {
    const r = await cli(['events', 'habits-1', ...mesh()], {}, 4_000);
    expect(r.stderr).toContain('watching habits-1 (device-connect.habits.habits-1.event.>)');
    expect(r.stdout.split('\n').filter(Boolean).every((line) => JSON.parse(line) !== undefined)).toBe(true);
  });
});
