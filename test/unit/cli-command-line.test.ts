// The command line before any driver code loads (src/cli/command-line.ts): every command the
// configuration knows has help, "did you mean" finds close names only, NO_COLOR wins, the start-up
// hint names the real device id and the options another terminal needs, and the state file of a
// private `--sim` broker is written, read while its process lives, and removed.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { COMMAND_NAMES, earlyAction } from '../../src/cli/command-line.ts';
import { closestName } from '../../src/cli/did-you-mean.ts';
import { nextCommands, nextStepsText } from '../../src/cli/next-steps.ts';
import { colourWanted } from '../../src/cli/terminal-style.ts';
import { readSimBrokerRecord, removeSimBrokerRecord, simBrokerFilePath, writeSimBrokerRecord } from '../../src/adapters/sim-broker-file.ts';
import { COMMANDS } from '../../src/config/config.ts';

test('every command of the configuration has help (and nothing else does, but help, settings-link and audit, which take their own options)', () => {
  expect([...COMMAND_NAMES].sort()).toEqual([...COMMANDS, 'help', 'settings-link', 'audit'].sort());
});

test('early actions: version, help, unknown command; options after -- are not looked at', () => {
  expect(earlyAction(['--version'])).toEqual({ kind: 'version' });
  expect(earlyAction(['devices', '-V'])).toEqual({ kind: 'version' });
  expect(earlyAction(['call', '--help'])).toEqual({ kind: 'help', command: 'call' });
  expect(earlyAction(['--sim', '-h'])).toEqual({ kind: 'help', command: undefined });
  expect(earlyAction(['help', 'events'])).toEqual({ kind: 'help', command: 'events' });
  expect(earlyAction(['call', 'x', 'echo', '--', '--help'])).toEqual({ kind: 'proceed' });
  expect(earlyAction(['--sim'])).toEqual({ kind: 'proceed' });
  expect(earlyAction(['fnctions'])).toMatchObject({ kind: 'unknown-command', message: expect.stringContaining('did you mean `functions`?') });
  expect(earlyAction(['frobnicate'])).toMatchObject({ kind: 'unknown-command', message: expect.not.stringContaining('did you mean') });
});

test('did you mean: close names only', () => {
  const fns = ['wake_up', 'goto_sleep', 'get_status', 'look_at_world', 'look_at_point', 'stop_motion'];
  expect(closestName('wakeup', fns)).toBe('wake_up');
  expect(closestName('get_stauts', fns)).toBe('get_status');
  expect(closestName('look-at-world', fns)).toBe('look_at_world');
  expect(closestName('dance', fns)).toBeUndefined();
  expect(closestName('run', ['run', 'app'])).toBe('run');
  expect(closestName('ap', ['run', 'app'])).toBe('app');
  expect(closestName('xyz', ['run', 'app'])).toBeUndefined();
});

test('colour: a TTY or FORCE_COLOR turns it on; NO_COLOR and TERM=dumb turn it off', () => {
  expect(colourWanted({}, true)).toBe(true);
  expect(colourWanted({}, false)).toBe(false);
  expect(colourWanted({ NO_COLOR: '1' }, true)).toBe(false);
  expect(colourWanted({ TERM: 'dumb' }, true)).toBe(false);
  expect(colourWanted({ FORCE_COLOR: '1' }, false)).toBe(true);
  expect(colourWanted({ FORCE_COLOR: '1', NO_COLOR: '1' }, false)).toBe(false);
  expect(colourWanted({ NO_COLOR: '' }, true)).toBe(true);
});

test('next steps: the real id; flag/env URLs and tenants are repeated, defaults and private brokers are not', () => {
  const base = { deviceId: 'reachy-mini-sim-1', tenant: 'default', tenantSource: 'default', urls: ['nats://127.0.0.1:4222'], urlsSource: 'default', sim: true };
  expect(nextCommands(base)[2]).toBe(`npx reachy-mini-driver call reachy-mini-sim-1 wake_up '{"wait": true}'`);
  const configured = nextCommands({ ...base, tenant: 'lab', tenantSource: 'flag', urls: ['nats://10.0.0.2:4222'], urlsSource: 'env' });
  expect(configured[0]).toBe('npx reachy-mini-driver devices --messaging-url nats://10.0.0.2:4222 --tenant lab');
  const privateBroker = nextStepsText({ ...base, urls: ['nats://127.0.0.1:40001'], privateBroker: { url: 'nats://127.0.0.1:40001', recordedAt: '/h/.config/reachy_mini_driver/sim-broker.json' } });
  expect(privateBroker).toContain('  npx reachy-mini-driver devices\n');
  expect(privateBroker).toContain('through /h/.config/reachy_mini_driver/sim-broker.json');
  expect(privateBroker).toContain('MESSAGING_URLS=nats://127.0.0.1:40001 npx reachy-mini-driver devices');
});

test('the sim broker record: written 0600, read while its process lives, removed only by its owner', () => {
  const root = mkdtempSync(join(tmpdir(), 'rmd-simrec-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'config');
  const record = { url: 'nats://127.0.0.1:40001', pid: process.pid, deviceId: 'reachy-mini-sim-1', tenant: 'default' };
  const written = writeSimBrokerRecord(dir, record);
  expect(written).toEqual({ ok: true, path: simBrokerFilePath(dir) });
  expect(readSimBrokerRecord(dir)).toEqual(record);
  removeSimBrokerRecord(dir, process.pid + 1);
  expect(readSimBrokerRecord(dir)).toEqual(record);
  removeSimBrokerRecord(dir);
  expect(readSimBrokerRecord(dir)).toBeUndefined();
  // A record whose driver is gone is ignored and cleaned up.
  writeFileSync(simBrokerFilePath(dir), JSON.stringify({ ...record, pid: 999_999_999 }));
  expect(readSimBrokerRecord(dir, () => false)).toBeUndefined();
  expect(() => readFileSync(simBrokerFilePath(dir))).toThrow();
  expect(writeSimBrokerRecord('/dev/null/config', record)).toMatchObject({ ok: false });
});
