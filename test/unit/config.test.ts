// Configuration: one precedence (flags > env > settings file > defaults) with the winning layer
// recorded per key; every bad value is a ConfigError (the CLI turns it into exit code 2); the
// security gate of device-connect-protocol.md §3.5; credentials never readable from the result.
import { mkdtempSync, writeFileSync, chmodSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createUser } from '@nats-io/nkeys';
import { describe, expect, test } from 'vitest';
import { loadConfig, newestMatch } from '../../src/adapters/config-files.ts';
import { CONFIG_KEYS, ConfigError, parseTarget, resolveConfig, settingsLayerFrom, type ConfigFileReads } from '../../src/config/config.ts';
import { parseCredentialsText } from '../../src/config/credentials.ts';
import { mediaOptions, startPolicy } from '../../src/driver.ts';
import { APPROVABLE_FUNCTIONS } from '../../src/rpc/catalogue.ts';
import { decodeSettings } from '../../src/settings/settings-schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'rmd-config-'));
const JWT = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVQUJDIn0.c2lnbmF0dXJl';
const SEED = 'SUAM' + 'A'.repeat(54);
const NO_SETTINGS = { REACHY_MINI_DRIVER_SETTINGS_FILE: join(dir, 'absent.json') };

function write(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

const credsText = `-----BEGIN NATS USER JWT-----\n${JWT}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\n\n-----BEGIN USER NKEY SEED-----\n${SEED}\n------END USER NKEY SEED------\n`;
const credsFile = write('device.creds', credsText);
const insecure = { ...NO_SETTINGS, DEVICE_CONNECT_ALLOW_INSECURE: 'true' };

describe('precedence', () => {
  const settings = write('settings.json', JSON.stringify({ device_id: 'from-settings', tenant: 'settings-tenant', transport_mode: 'http', allow_insecure: true }));

  test('flags beat env, env beats the settings file, the file beats defaults', () => {
    const fromAll = loadConfig({ argv: ['--device-id', 'from-flag', '--settings-file', settings], env: { DEVICE_ID: 'from-env' } });
    expect(fromAll.deviceId).toBe('from-flag');
    expect(fromAll.sources.deviceId).toBe('flag');
    const fromEnv = loadConfig({ argv: ['--settings-file', settings], env: { DEVICE_ID: 'from-env' } });
    expect(fromEnv.deviceId).toBe('from-env');
    expect(fromEnv.sources.deviceId).toBe('env');
    const fromFile = loadConfig({ argv: ['--settings-file', settings], env: {} });
    expect(fromFile.deviceId).toBe('from-settings');
    expect(fromFile.tenant).toBe('settings-tenant');
    expect(fromFile.transportMode).toBe('http');
    expect(fromFile.sources.transportMode).toBe('settings');
    const defaults = loadConfig({ argv: [], env: insecure });
    expect(defaults.deviceId).toBe('reachy-mini-1');
    expect(defaults.tenant).toBe('default');
    expect(defaults.messagingUrls).toEqual(['nats://127.0.0.1:4222']);
    expect(defaults.sources.deviceId).toBe('default');
  });

  test('env transport mode wins over the settings file (the reference inverted this)', () => {
    const c = loadConfig({ argv: ['--settings-file', settings], env: { REACHY_TRANSPORT_MODE: 'websocket' } });
    expect(c.transportMode).toBe('websocket');
  });

  test('URLs: flag list, then MESSAGING_URLS / NATS_URL / NATS_URLS, then the credentials file', () => {
    expect(loadConfig({ argv: ['--messaging-url', 'nats://a:1', '--messaging-url', 'nats://b:2'], env: insecure }).messagingUrls).toEqual(['nats://a:1', 'nats://b:2']);
    expect(loadConfig({ argv: [], env: { ...insecure, NATS_URLS: 'nats://c:3, nats://d:4' } }).messagingUrls).toEqual(['nats://c:3', 'nats://d:4']);
    const portal = write('p.creds.json', JSON.stringify({ device_id: 'lab-1', tenant: 'lab', nats: { urls: ['nats://portal:4222'], jwt: JWT, nkey_seed: SEED } }));
    const c = loadConfig({ argv: [], env: { ...NO_SETTINGS, MESSAGING_CREDENTIALS_FILE: portal } });
    expect(c.messagingUrls).toEqual(['nats://portal:4222']);
    expect(c.deviceId).toBe('lab-1');
    expect(c.tenant).toBe('lab');
    expect(c.sources.deviceId).toBe('credentials');
  });

  test('TENANT applies to the device', () => {
    expect(loadConfig({ argv: [], env: { ...insecure, TENANT: 'lab7' } }).tenant).toBe('lab7');
  });

  test('--sim picks the sim device id and allows an insecure loopback broker', () => {
    const c = loadConfig({ argv: ['--sim'], env: NO_SETTINGS });
    expect(c.sim).toBe(true);
    expect(c.deviceId).toBe('reachy-mini-sim-1');
    expect(c.allowInsecure).toBe(true);
    expect(c.warnings.some((w) => w.includes('INSECURE'))).toBe(true);
  });

  test('portal mode: NATS, creds URLs or the portal default, infra discovery', () => {
    const portal = write('q.creds.json', JSON.stringify({ device_id: 'p-1', tenant: 'acme', nats: { jwt: JWT, nkey_seed: SEED } }));
    const c = loadConfig({ argv: ['--portal', '--portal-credentials', portal], env: { ...NO_SETTINGS, DEVICE_CONNECT_DISCOVERY_MODE: 'infra' } });
    expect(c.messagingUrls).toEqual(['nats://portal.deviceconnect.dev:4222']);
    expect(c.deviceId).toBe('p-1');
    expect(c.discoveryMode).toBe('infra');
  });

  test('discoveryMode left unset: infra, d2d with --sim, infra in portal mode even with --sim — as its documented default says', () => {
    const documented = CONFIG_KEYS.find((key) => key.key === 'discoveryMode')?.default ?? '';
    expect(loadConfig({ argv: [], env: insecure }).discoveryMode).toBe('infra');
    expect(documented).toMatch(/^infra\b/);
    expect(loadConfig({ argv: ['--sim'], env: NO_SETTINGS }).discoveryMode).toBe('d2d');
    expect(documented).toContain('d2d with --sim');
    const portal = write('sim.creds.json', JSON.stringify({ device_id: 'p-2', tenant: 'acme', nats: { jwt: JWT, nkey_seed: SEED } }));
    expect(loadConfig({ argv: ['--sim', '--portal', '--portal-credentials', portal], env: NO_SETTINGS }).discoveryMode).toBe('infra');
    expect(documented).toContain('outside portal mode');
  });
});

describe('refusals (exit code 2 in the CLI)', () => {
  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['no credentials', [], NO_SETTINGS, /no mesh credentials/],
    ['unknown flag', ['--frobnicate'], insecure, /frobnicate/],
    ['zenoh transport', ['--transport-mode', 'zenoh'], insecure, /zenoh.*not supported/],
    ['zenoh backend', [], { ...insecure, MESSAGING_BACKEND: 'zenoh' }, /NATS only/],
    ['bad boolean', [], { ...NO_SETTINGS, DEVICE_CONNECT_ALLOW_INSECURE: 'maybe' }, /DEVICE_CONNECT_ALLOW_INSECURE/],
    ['dotted device id', ['--device-id', 'a.b'], insecure, /no dots/],
    ['bad port', ['--target', 'robot:99999'], insecure, /port/],
    ['tls without CA', ['--messaging-url', 'tls://broker:4222'], { ...NO_SETTINGS, MESSAGING_CREDENTIALS_FILE: credsFile }, /CA file/],
    ['half inline JWT', [], { ...NO_SETTINGS, NATS_JWT: JWT }, /together/],
    ['device id mismatch', ['--device-id', 'other'], { ...NO_SETTINGS, MESSAGING_CREDENTIALS_FILE: write('m.creds.json', JSON.stringify({ device_id: 'mine', nats: { jwt: JWT, nkey_seed: SEED } })) }, /does not match/],
    ['malformed creds', [], { ...NO_SETTINGS, MESSAGING_CREDENTIALS_FILE: write('bad.creds', 'not a creds file') }, /not a NATS \.creds file/],
    ['portal without creds', ['--portal'], NO_SETTINGS, /portal mode needs a credentials file/],
    ['unknown settings key', ['--settings-file', write('s2.json', JSON.stringify({ nope: 1 }))], insecure, /unknown keys: nope/],
  ];
  test.each(cases)('%s', (_name, argv, env, message) => {
    expect(() => loadConfig({ argv, env })).toThrow(ConfigError);
    expect(() => loadConfig({ argv, env })).toThrow(message);
  });

  test('a broker URL with a user name or password is refused, and the refusal does not repeat the password', () => {
    for (const url of ['nats://alice:S3cretPw@127.0.0.1:4222', 'nats://S3cretPw@broker:4222', 'ftp://alice:S3cretPw@broker', 'nats://alice:S3cretPw@[bad']) {
      let message = '';
      try {
        loadConfig({ argv: ['--messaging-url', url], env: insecure });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, url).toMatch(/user name or password|must use nats|is not a URL/);
      expect(message, url).not.toContain('S3cretPw');
    }
  });

  test('`on` counts as true for DEVICE_CONNECT_ALLOW_INSECURE (the reference rejected it)', () => {
    expect(loadConfig({ argv: [], env: { ...NO_SETTINGS, DEVICE_CONNECT_ALLOW_INSECURE: 'on' } }).allowInsecure).toBe(true);
  });
});

describe('credentials', () => {
  test('a .creds file is parsed and its secrets are not printable', () => {
    const c = loadConfig({ argv: [], env: { ...NO_SETTINGS, MESSAGING_CREDENTIALS_FILE: credsFile } });
    expect(c.credentials?.kind).toBe('nats-creds');
    expect(c.credentials?.jwt.reveal()).toBe(JWT);
    const printed = [JSON.stringify(c), inspect(c, { depth: 10 }), String(c.credentials?.seed)].join('\n');
    expect(printed).not.toContain(SEED);
    expect(printed).not.toContain(JWT);
  });

  test('a group-readable credentials file is accepted with a warning', () => {
    const loose = write('loose.creds', credsText, 0o644);
    const c = loadConfig({ argv: [], env: { ...NO_SETTINGS, MESSAGING_CREDENTIALS_FILE: loose } });
    expect(c.warnings.some((w) => w.includes('chmod 600'))).toBe(true);
  });

  test('NATS_JWT + NATS_NKEY_SEED work inline', () => {
    const c = loadConfig({ argv: [], env: { ...NO_SETTINGS, NATS_JWT: JWT, NATS_NKEY_SEED: SEED } });
    expect(c.credentials?.kind).toBe('inline-jwt');
  });
});

describe('targets', () => {
  test.each([
    ['sim', { host: '127.0.0.1', port: 8000, sim: true }],
    ['192.168.4.12:8010', { host: '192.168.4.12', port: 8010, sim: false }],
    ['http://reachy-mini.local:8000/api', { host: 'reachy-mini.local', port: 8000, sim: false }],
    ['[::1]:9000', { host: '::1', port: 9000, sim: false }],
    ['robot', { host: 'robot', port: 8000, sim: false }],
  ])('%s', (raw, expected) => {
    expect(parseTarget(raw, 8000)).toEqual(expected);
  });
});

describe('resolveConfig: the layers in memory, files through the injected reader', () => {
  /** A file system of one credentials file, recording every path asked for. */
  function fakeFiles(): ConfigFileReads & { asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      credentials: (path) => {
        asked.push(path);
        if (path !== '/virtual/device.creds') throw new ConfigError(`no such file ${path}`);
        return { credentials: parseCredentialsText(credsText, path) };
      },
      newestMatch: (dir, glob) => {
        asked.push(`${dir}/${glob}`);
        return undefined;
      },
      exists: (path) => {
        asked.push(path);
        return false;
      },
      readJson: (path) => {
        asked.push(path);
        if (path !== '/virtual/envelope.json') throw new ConfigError(`no such file ${path}`);
        return { head_pitch_deg: { min: -10, max: 30 }, body_yaw_deg: { min: -45, max: 45 } };
      },
      readText: (path) => {
        asked.push(path);
        throw new ConfigError(`no such file ${path}`);
      },
    };
  }

  test('the safety policy: --envelope narrows the named axes, speed/dead-man/approval flags land in one frozen document', () => {
    const files = fakeFiles();
    const c = resolveConfig({ argv: ['--sim', '--envelope', '/virtual/envelope.json', '--max-head-speed', '90', '--speed-policy', 'stretch', '--deadman', '500', '--require-approval', 'goto_pose,play_audio_file'], env: {}, settings: undefined, files });
    expect(c.safetyPolicy.envelope.head_pitch_deg).toEqual({ min: -10, max: 30 });
    expect(c.safetyPolicy.envelope.body_yaw_deg).toEqual({ min: -45, max: 45 });
    expect(c.safetyPolicy.envelope.head_yaw_deg).toEqual({ min: -45, max: 45 });
    expect(c.safetyPolicy.speed).toMatchObject({ head_deg_per_s: 90, goto_policy: 'stretch', realtime_policy: 'ramp' });
    expect(c.safetyPolicy.deadman_ms).toBe(500);
    expect(c.safetyPolicy.approval).toEqual({ functions: ['goto_pose', 'play_audio_file'], timeout_s: 25 });
    expect(Object.isFrozen(c.safetyPolicy)).toBe(true);
    expect(() => resolveConfig({ argv: ['--sim', '--deadman', '5'], env: {}, settings: undefined, files })).toThrow(/--deadman/);
    expect(() => resolveConfig({ argv: ['--sim', '--speed-policy', 'fast'], env: {}, settings: undefined, files })).toThrow(/--speed-policy/);
    const wide = settingsLayerFrom('/virtual/settings.json', { safety_envelope: { head_yaw_deg: { min: -90, max: 90 } } });
    expect(() => resolveConfig({ argv: ['--sim'], env: {}, settings: wide, files })).toThrow(/mechanical range/);
  });

  test('safety settings of the wrong type in the settings file are refused, never silently the default; require_approval may be a list', () => {
    const files = fakeFiles();
    const layer = (doc: Record<string, unknown>) => settingsLayerFrom('/virtual/settings.json', doc);
    expect(() => resolveConfig({ argv: ['--sim'], env: {}, settings: layer({ speed_policy: 1 }), files })).toThrow(/speed_policy must be a string/);
    expect(() => resolveConfig({ argv: ['--sim'], env: {}, settings: layer({ realtime_speed_policy: ['ramp'] }), files })).toThrow(/realtime_speed_policy must be a string/);
    expect(() => resolveConfig({ argv: ['--sim'], env: {}, settings: layer({ require_approval: { goto_pose: true } }), files })).toThrow(/require_approval must be a list/);
    const listed = resolveConfig({ argv: ['--sim'], env: {}, settings: layer({ require_approval: ['goto_pose', 'play_move'] }), files });
    expect(listed.safetyPolicy.approval.functions).toEqual(['goto_pose', 'play_move']);
    expect(resolveConfig({ argv: ['--sim'], env: {}, settings: layer({ require_approval: 'goto_pose' }), files }).safetyPolicy.approval.functions).toEqual(['goto_pose']);
    expect(resolveConfig({ argv: ['--sim'], env: {}, settings: layer({ speed_policy: 'stretch' }), files }).safetyPolicy.speed.goto_policy).toBe('stretch');
  });

  test('a candidate settings object is a layer like the file: same precedence, same sources, no file read for it', () => {
    const files = fakeFiles();
    const settings = settingsLayerFrom('/virtual/settings.json', { device_id: 'candidate', nats_credentials_file: '/virtual/device.creds', transport_mode: 'http' });
    const c = resolveConfig({ argv: [], env: { REACHY_TRANSPORT_MODE: 'websocket' }, settings, files });
    expect(c.deviceId).toBe('candidate');
    expect(c.sources.deviceId).toBe('settings');
    expect(c.transportMode).toBe('websocket');
    expect(c.sources.transportMode).toBe('env');
    expect(c.credentialsPath).toBe('/virtual/device.creds');
    expect(c.credentials?.kind).toBe('nats-creds');
    expect(files.asked).toEqual(['/virtual/device.creds']);
  });

  test('the reader\'s refusal and a bad settings document are config errors', () => {
    const settings = settingsLayerFrom('/virtual/settings.json', { nats_credentials_file: '/virtual/missing.creds' });
    expect(() => resolveConfig({ argv: [], env: {}, settings, files: fakeFiles() })).toThrow('no such file /virtual/missing.creds');
    expect(() => settingsLayerFrom('/virtual/settings.json', { colour: 'blue' })).toThrow('has unknown keys: colour');
    expect(() => settingsLayerFrom('/virtual/settings.json', [1, 2])).toThrow('must hold a JSON object');
  });
});

test('a settings file whose portal credentials glob or dir is not a string: the driver refuses it at start, naming the key, as the settings page does', () => {
  for (const key of ['portal_credentials_glob', 'portal_credentials_dir'] as const) {
    const doc = { [key]: 5 };
    const argv = ['--settings-file', write(`${key}.json`, JSON.stringify(doc))];
    // Not in portal mode, where the key is not used: the file is refused all the same (before, only the page refused it).
    expect(() => loadConfig({ argv, env: insecure }), key).toThrow(ConfigError);
    expect(() => loadConfig({ argv, env: insecure }), key).toThrow(`settings file key ${key} must be a string`);
    const page = decodeSettings(doc);
    expect(page.ok, key).toBe(false);
    expect(page.ok ? [] : page.issues.map((issue) => issue.field), key).toEqual([key]);
  }
});

test('the settings page and the driver take the same text: each value is accepted by both or refused by both', () => {
  // A reader that finds every credentials file (the file itself is not what is compared here).
  const files: ConfigFileReads = { credentials: () => ({ credentials: parseCredentialsText(credsText, 'device.creds') }), newestMatch: () => undefined, exists: () => true, readText: () => '', readJson: () => ({}) };
  const cases: Array<[string, string]> = [
    ['nats_credentials_file', 'relative/device.creds'],
    ['portal_credentials_dir', 'creds'],
    ['reachy_target', `http://robot.local:8000/${'p'.repeat(600)}`],
    ['messaging_urls', Array.from({ length: 150 }, (_, i) => `nats://broker-${i}.example.com:4222`).join(',')],
    ['portal_credentials_glob', `${'x'.repeat(300)}*.creds.json`],
    ['reachy_prefix', 'r'.repeat(300)],
    ['device_id', 'd'.repeat(255)],
    ['device_id', 'd'.repeat(256)],
    ['tenant', 't'.repeat(128)],
    ['tenant', 't'.repeat(129)],
    ['reachy_target', 'robot\u0000.local'],
    ['nats_credentials_file', 'device\n.creds'],
    ['messaging_urls', 'nats://a:4222,\tnats://b:4222'],
    ['reachy_prefix', 'reachy\u007f'],
  ];
  const verdicts = cases.map(([key, value]) => {
    const doc = { [key]: value, allow_insecure: true };
    let driver = true;
    try {
      resolveConfig({ argv: ['app'], env: {}, settings: settingsLayerFrom('/virtual/settings.json', doc), files });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      driver = false;
    }
    return { key, value: value.slice(0, 24), page: decodeSettings(doc).ok, driver };
  });
  expect(verdicts.filter((v) => v.page !== v.driver)).toEqual([]);
  // Both ways are exercised: the first seven and 128 characters of tenant are taken; too long an id, and control characters, refused.
  expect(verdicts.map((v) => v.driver)).toEqual([true, true, true, true, true, true, true, false, true, false, false, false, false, false]);
});

test('require_approval: the settings page and the driver (start-up and every apply: startPolicy) take the same lists, by one rule', () => {
  const files: ConfigFileReads = { credentials: () => ({ credentials: parseCredentialsText(credsText, 'device.creds') }), newestMatch: () => undefined, exists: () => true, readText: () => '', readJson: () => ({}) };
  const every = [...APPROVABLE_FUNCTIONS];
  const cases: Array<[string, unknown]> = [
    ['every function that may be held', every],
    ['each of them twice (more names than the device has functions)', [...every, ...every]],
    ['the same as fn,fn text', [...every, ...every].join(',')],
    ['an entry holding two names', ['goto_pose, play_move']],
    ['none', 'none'],
    ['an empty list', []],
    ['a stop', ['goto_pose', 'stop_motion']],
    ['a name the device does not have', ['goto_pose', 'make_coffee']],
    ['not a function name', 'Goto Pose'],
    ['not a list of names', [1, 2]],
  ];
  const verdicts = cases.map(([what, value]) => {
    const doc = { require_approval: value, allow_insecure: true };
    let driver = true;
    try {
      startPolicy(resolveConfig({ argv: ['app'], env: {}, settings: settingsLayerFrom('/virtual/settings.json', doc), files }));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      driver = false;
    }
    return { what, page: decodeSettings(doc).ok, driver };
  });
  expect(verdicts.filter((v) => v.page !== v.driver)).toEqual([]);
  expect(verdicts.map((v) => v.driver)).toEqual([true, true, true, true, true, true, false, false, false, false]);
  // The page names each name refused, as the driver's refusal does.
  const refused = decodeSettings({ require_approval: ['stop_motion', 'make_coffee'] });
  expect(refused.ok ? [] : refused.issues).toEqual([
    { field: 'require_approval', message: 'stop_motion is never held for approval (stops never wait; reads are harmless)' },
    { field: 'require_approval', message: '"make_coffee" is not a function of this device' },
  ]);
});

test('--signalling-host (or REACHY_SIGNALLING_HOST) points media at another host; it defaults to the daemon\'s host and feeds the media options', () => {
  const byDefault = loadConfig({ argv: ['--target', 'robot.local'], env: insecure });
  expect(byDefault.signallingHost).toBe('robot.local');
  const byFlag = loadConfig({ argv: ['--target', 'robot.local', '--signalling-host', 'media.local', '--signalling-port', '9443'], env: { ...insecure, REACHY_SIGNALLING_HOST: 'from-env.local' } });
  expect(byFlag.signallingHost).toBe('media.local');
  expect(byFlag.daemonHost).toBe('robot.local');
  expect(loadConfig({ argv: ['--target', 'robot.local'], env: { ...insecure, REACHY_SIGNALLING_HOST: 'from-env.local' } }).signallingHost).toBe('from-env.local');
  expect(() => loadConfig({ argv: ['--target', 'robot.local', '--signalling-host', 'ws://media.local/'], env: insecure })).toThrow(/signalling host/);
  const wiring = {} as Parameters<typeof mediaOptions>[4];
  const media = mediaOptions(byFlag, 'http://robot.local:8000', undefined, {}, wiring);
  expect(media).toMatchObject({ signallingUrl: 'ws://media.local:9443', signallingHost: 'media.local', signallingPort: 9443, daemonHost: 'robot.local' });
});

describe('verified callers and the media policy (issue 13)', () => {
  const key = createUser().getPublicKey();
  const broken = `${key.slice(0, 20)}${key[20] === 'A' ? 'B' : 'A'}${key.slice(21)}`;
  const files = { credentials: () => { throw new Error('no'); }, newestMatch: () => undefined, exists: () => false, readJson: () => ({}), readText: (path: string) => (path === '/keys.txt' ? `# ops\n${key}\n\n` : '') };
  const resolve = (argv: string[]) => resolveConfig({ argv: ['--sim', ...argv], env: {}, settings: undefined, files });

  test('--trusted-callers takes keys or a file of them; anything else, or --require-signed-callers alone, is a config error', () => {
    expect(resolve(['--trusted-callers', key]).trustedCallers).toEqual([key]);
    expect(resolve(['--trusted-callers', '/keys.txt']).trustedCallers).toEqual([key]);
    expect(() => resolve(['--trusted-callers', 'operator'])).toThrow(/names no keys|not a user/);
    expect(() => resolve(['--trusted-callers', broken])).toThrow(/not a user \(U…\) or account \(A…\) public nkey/);
    expect(() => resolve(['--require-signed-callers'])).toThrow(/needs --trusted-callers/);
    expect(resolve([]).trustedCallers).toEqual([]);
  });

  test('--media-policy is allow|supervisor|deny (settings media_policy below a flag); start-up monitors need allow', () => {
    expect(resolve([]).mediaPolicy).toBe('allow');
    expect(resolve(['--media-policy', 'supervisor']).mediaPolicy).toBe('supervisor');
    expect(resolveConfig({ argv: ['--sim'], env: {}, settings: { path: '/s.json', values: { media_policy: 'deny' } }, files }).mediaPolicy).toBe('deny');
    expect(() => resolve(['--media-policy', 'off'])).toThrow(/allow, supervisor or deny/);
    expect(() => resolve(['--media-policy', 'deny', '--monitors', 'audio'])).toThrow(/--monitors/);
  });
});

describe('portal credentials directory', () => {
  test('a dangling link or an entry removed since the listing is skipped, not a crash; the newest regular match wins', () => {
    const portal = mkdtempSync(join(tmpdir(), 'rmd-portal-'));
    writeFileSync(join(portal, 'old.creds.json'), '{}');
    symlinkSync(join(portal, 'gone.creds.json'), join(portal, 'dangling.creds.json'));
    expect(newestMatch(portal, '*.creds.json')).toBe(join(portal, 'old.creds.json'));
  });
});
