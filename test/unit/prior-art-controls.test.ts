// The prior art's safety controls as pure decisions and configuration (issue 12 part 3): the
// caller allowlist (`callerRefusal`), the D2D e-stop decision (`estopDecision`), and the config
// keys (DEVICE_CONNECT_RPC_ALLOW warns once when unset; REACHY_DAEMON_TOKEN stays a Secret; an
// https:// target means TLS; a missing CA file is a config error). The NATS transcripts are in
// test/integration/prior-art-safety.test.ts and daemon-auth.test.ts.
import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import { resolveConfig, type ConfigFileReads } from '../../src/config/config.ts';
import { callerRefusal, matchesAny } from '../../src/safety/caller-allow.ts';
import { estopDecision, estopReasonOf } from '../../src/safety/d2d-estop.ts';
import { toJsonRpcError } from '../../src/errors.ts';

const WRITE = { direction: 'write', safety: 'critical' } as const;
const READ = { direction: 'read', safety: 'informational' } as const;
const anon = { sourceDevice: null, traceId: null };

describe('callerRefusal: the allowlist decision and its explanation', () => {
  test('no allowlist: everyone; reads and stops: everyone', () => {
    expect(callerRefusal(null, 'goto_pose', WRITE, anon, { type: 'rpc.motion', owner: 'x' } as never)).toBeNull();
    expect(callerRefusal(['op'], 'get_status', READ, anon, { type: 'rpc.get_status' })).toBeNull();
    expect(callerRefusal(['op'], 'stop_motion', WRITE, anon, { type: 'rpc.stop_motion', owner: 'x' } as never)).toBeNull();
    expect(callerRefusal(['op'], 'emergency_stop', WRITE, anon, { type: 'rpc.emergency_stop', owner: 'x' } as never)).toBeNull();
  });
  test('the source device wins over the owner; globs match whole ids', () => {
    const event = { type: 'rpc.motion', owner: 'op' } as never;
    expect(callerRefusal(['op'], 'goto_pose', WRITE, anon, event)).toBeNull();
    const refused = callerRefusal(['op'], 'goto_pose', WRITE, { sourceDevice: 'panel-9', traceId: null }, event);
    expect(refused?._tag).toBe('CallerNotAllowed');
    expect(toJsonRpcError(refused!, 'goto_pose').data).toMatchObject({ _tag: 'CallerNotAllowed', caller: 'panel-9', function: 'goto_pose', allow: ['op'] });
    expect(matchesAny(['safety-*'], 'safety-panel')).toBe(true);
    expect(matchesAny(['safety-*'], 'my-safety-panel')).toBe(false);
    expect(matchesAny(['a.b'], 'aXb')).toBe(false);
    expect(matchesAny([], 'anyone')).toBe(false);
  });
  test('an anonymous write is refused when an allowlist is set', () => {
    expect(callerRefusal(['*'], 'acquire_lease', WRITE, anon, { type: 'rpc.acquire_lease' })?.caller).toBeNull();
  });
});

describe('estopDecision', () => {
  test('allowed emitters trip, others and our own events are ignored', () => {
    expect(estopDecision(['safety-*'], 'safety-1', 'me', 'r')).toMatchObject({ act: 'trip' });
    expect(estopDecision(['safety-*'], 'rogue', 'me', 'r')).toMatchObject({ act: 'ignore', why: 'not_allowed' });
    expect(estopDecision([], 'safety-1', 'me', 'r')).toMatchObject({ act: 'ignore', why: 'not_allowed' });
    expect(estopDecision(['*'], 'me', 'me', 'r')).toMatchObject({ act: 'ignore', why: 'own_event' });
  });
  test('the reason comes from the notification; an undecodable body still reads as a stop', () => {
    expect(estopReasonOf(JSON.stringify({ jsonrpc: '2.0', method: 'emergencyStop', params: { reason: 'curtain' } }))).toBe('curtain');
    expect(estopReasonOf('not json')).toBe('no reason given');
    expect(estopReasonOf(JSON.stringify({ params: { reason: 'x'.repeat(500) } })).length).toBe(200);
  });
});

describe('configuration', () => {
  const files = (existing: string[] = []): ConfigFileReads => ({
    credentials: () => {
      throw new Error('no credentials');
    },
    newestMatch: () => undefined,
    exists: (path) => existing.includes(path),
    readJson: () => ({}),
    readText: () => '',
  });
  const resolve = (argv: string[], env: Record<string, string> = {}, existing: string[] = []) => resolveConfig({ argv: ['--sim', ...argv], env, settings: undefined, files: files(existing) });

  test('DEVICE_CONNECT_RPC_ALLOW: unset warns once at start; set, it is parsed (flag wins)', () => {
    const unset = resolve([]);
    expect(unset.rpcAllow).toBeNull();
    expect(unset.warnings.filter((w) => w.includes('DEVICE_CONNECT_RPC_ALLOW'))).toHaveLength(1);
    const set = resolve([], { DEVICE_CONNECT_RPC_ALLOW: 'operator, safety-*' });
    expect(set.rpcAllow).toEqual(['operator', 'safety-*']);
    expect(set.warnings.some((w) => w.includes('DEVICE_CONNECT_RPC_ALLOW'))).toBe(false);
    expect(resolve(['--rpc-allow', 'a'], { DEVICE_CONNECT_RPC_ALLOW: 'b' }).rpcAllow).toEqual(['a']);
    expect(resolve([], { DEVICE_CONNECT_ESTOP_ALLOW: 'safety-*,panel' }).estopAllow).toEqual(['safety-*', 'panel']);
    expect(resolve([]).estopAllow).toEqual([]);
  });
  test('REACHY_DAEMON_TOKEN is a Secret: the config prints and serialises without it', () => {
    const c = resolve([], { REACHY_DAEMON_TOKEN: 'tok-123' });
    expect(c.daemonToken?.reveal()).toBe('tok-123');
    expect(JSON.stringify(c)).not.toContain('tok-123');
    expect(inspect(c, { depth: 5 })).not.toContain('tok-123');
  });
  test('an https:// target means TLS; the CA file must exist', () => {
    const c = resolveConfig({ argv: ['--target', 'https://robot.lan:8443', '--daemon-ca-file', '/virtual/ca.pem', '--allow-insecure'], env: {}, settings: undefined, files: files(['/virtual/ca.pem']) });
    expect(c).toMatchObject({ daemonTls: true, daemonHost: 'robot.lan', daemonPort: 8443, daemonCaFile: '/virtual/ca.pem' });
    expect(resolve([]).daemonTls).toBe(false);
    expect(() => resolve(['--daemon-ca-file', '/virtual/missing.pem'])).toThrow(/daemon CA file/);
  });
});
