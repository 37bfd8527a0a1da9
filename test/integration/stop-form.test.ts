// A stop is never refused for its form (README "Safety: what a stop guarantees"), black-box over
// NATS against the emulator. With a goto running, a stop_motion or emergency_stop whose parameters
// the strict decoder would refuse — an owner with a space, 65 characters long or a number, a key
// the function does not have, a reason over 200 characters — stops the goto (the emulator's motion
// record is the ground truth), and both its answer and its audit record (`stop_params_ignored`)
// name what was ignored and how. A valid stop names nothing; a non-stop function stays strict.
// Under --supervisor-only --trusted-callers K --require-signed-callers, a trip refused for who sent it
// (unsigned, 45 s stale, signed over other params) or an `.cmd` emergency_stop refused by the mode
// still stops the goto: the answer keeps the refusal's tag and says, in its message and data, that the
// interlock was NOT tripped and that motion was stopped (stop_motion's answer); the audit has the
// refusal and a `stopped_instead` record with the state after. A signed `trip {}` (no reason) trips.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signatureFields } from '../../src/protocol/caller-signature.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import type { NatsServerHandle } from '../harness/nats-server.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';
import { useSharedBroker } from '../harness/shared-broker.ts';

/** Real time: the goto must still be running when the stop arrives. */
const TIME_SCALE = 1;
/** The move every case stops: long enough that only a stop ends it while the test looks. */
const GOTO = { yaw: 30, duration_s: 6, owner: 'operator' };
const CALL_TIMEOUT_MS = 10_000;

type Reply = Record<string, any>;

let server: NatsServerHandle;
let nc: NatsConnection;
useSharedBroker((broker) => ({ server, nc } = broker));

function auditLines(path: string): Array<Record<string, any>> {
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The operator's key: the one --trusted-callers lists in the supervisor-only robot. */
const operator = createUser();

interface SignOptions {
  /** The signature's timestamp (default now). */
  readonly ts?: number;
  /** Params the signature covers, when they differ from those sent (a tampered call). */
  readonly signed?: Record<string, unknown>;
}

interface Robot {
  readonly emulator: Emulator;
  readonly driver: TestDriver;
  readonly auditPath: string;
  call(method: string, params?: unknown): Promise<Reply>;
  /** A request on `subject` (`cmd` or `supervisor`), signed by `operator` unless `sign` is null. */
  send(subject: 'cmd' | 'supervisor', method: string, params: Record<string, unknown>, sign: SignOptions | null): Promise<Reply>;
  /** Starts GOTO and resolves with its uuid once the emulator runs it. */
  startGoto(): Promise<string>;
}

let seq = 0;
async function robot(id: string, argv: string[] = [], signedGoto = false): Promise<Robot> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-stop-form-')), 'audit.jsonl');
  const emulator = await startEmulator({ timeScale: TIME_SCALE });
  const driver = await startTestDriver(
    ['--device-id', id, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--no-media', '--audit-log', auditPath, ...argv],
    { DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: auditPath },
    { daemonBaseUrl: emulator.url },
  );
  const call = (method: string, params: unknown = {}) =>
    rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: `sf-${++seq}`, method, params }, CALL_TIMEOUT_MS) as Promise<Reply>;
  const send = (subject: 'cmd' | 'supervisor', method: string, params: Record<string, unknown>, sign: SignOptions | null) => {
    const full = `device-connect.default.${id}.${subject}`;
    const requestId = `sf-${++seq}`;
    const meta = sign ? signatureFields(operator, { subject: full, requestId, method, params: sign.signed ?? params, ts: sign.ts ?? Date.now() }) : null;
    return rpc(nc, full, { jsonrpc: '2.0', id: requestId, method, params: meta ? { ...params, _dc_meta: meta } : params }, CALL_TIMEOUT_MS) as Promise<Reply>;
  };
  // Awake is read over HTTP; the goto needs the daemon's websocket link too (else DaemonUnavailable "connecting").
  const ready = async () => {
    const state = (await call('get_status').catch((): Reply => ({}))).result?.driver_state;
    return state?.connection_state === 'connected' && state?.power_state === 'awake';
  };
  await waitFor(ready, 10_000, 'the driver is up, connected to its awake robot');
  const startGoto = async () => {
    const reply = signedGoto ? await send('cmd', 'goto_pose', GOTO, {}) : await call('goto_pose', GOTO);
    expect(reply.error).toBeUndefined();
    const uuid = String(reply.result.uuid);
    await expect.poll(() => emulator.snapshot().runningMoves, { timeout: 2_000 }).toContain(uuid);
    return uuid;
  };
  return { emulator, driver, auditPath, call, send, startGoto };
}

describe('stop_motion and emergency_stop with parameters the strict decoder refuses', () => {
  let r: Robot;
  beforeAll(async () => {
    r = await robot('stop-form-1');
  }, 30_000);
  afterAll(async () => {
    await r?.driver.stop();
    await r?.emulator.close();
  });

  /** `tripped`: the interlock reason the e-stop left (the reason it kept). */
  const cases: ReadonlyArray<{ fn: string; params: Record<string, unknown>; status: string; ignored: Array<Record<string, unknown>>; tripped?: string }> = [
    { fn: 'stop_motion', params: { owner: 'my agent' }, status: 'stopped', ignored: [{ param: 'owner', handling: 'default' }] },
    { fn: 'stop_motion', params: { reason: 'user pressed stop' }, status: 'stopped', ignored: [{ param: 'reason', handling: 'dropped' }] },
    { fn: 'stop_motion', params: { owner: 'x'.repeat(65) }, status: 'stopped', ignored: [{ param: 'owner', handling: 'default' }] },
    { fn: 'stop_motion', params: { owner: 42 }, status: 'stopped', ignored: [{ param: 'owner', handling: 'default' }] },
    { fn: 'emergency_stop', params: { reason: 'r'.repeat(201) }, status: 'tripped', ignored: [{ param: 'reason', handling: 'truncated' }], tripped: 'r'.repeat(200) },
    { fn: 'emergency_stop', params: { reason: 'fall', force: true }, status: 'tripped', ignored: [{ param: 'force', handling: 'dropped' }], tripped: 'fall' },
  ];

  test.each(cases)('$fn $params stops the running goto and names what it ignored', async ({ fn, params, status, ignored, tripped }) => {
    const uuid = await r.startGoto();
    const reply = await r.call(fn, params);
    expect(reply.error).toBeUndefined();
    expect(reply.result).toMatchObject({ status, stop: 'confirmed', ignored_params: ignored.map((i) => expect.objectContaining(i)) });
    expect(reply.result.stopped_moves).toContain(uuid);
    for (const entry of reply.result.ignored_params) expect(entry.problem).toEqual(expect.any(String));
    // The ground truth: the goto is no longer running, and it was cancelled by the daemon's stop, not completed.
    expect(r.emulator.snapshot().runningMoves).not.toContain(uuid);
    expect(r.emulator.motionRecord.moves.find((m) => m.uuid === uuid)?.outcome).toBe('cancelled');
    await expect.poll(() => auditLines(r.auditPath).filter((l) => l.kind === 'stop_params_ignored').at(-1)?.ignored_params, { timeout: 2_000 }).toEqual(reply.result.ignored_params);
    const record = auditLines(r.auditPath).filter((l) => l.kind === 'stop_params_ignored').at(-1)!;
    expect(record).toMatchObject({ function: fn, stop: 'confirmed', state: { execution: 'idle' } });
    expect(record.stopped_moves).toContain(uuid);
    if (tripped !== undefined) {
      expect((await r.call('get_status')).result.driver_state).toMatchObject({ interlock_state: 'tripped', interlock_reason: tripped });
      expect((await r.call('reset_interlock', { reason: 'test case done', owner: 'operator' })).result?.status).toBe('safe');
    }
  });

  test('a valid stop names nothing and adds no record; a non-stop function stays strict', async () => {
    const before = auditLines(r.auditPath).filter((l) => l.kind === 'stop_params_ignored').length;
    const uuid = await r.startGoto();
    const stopped = await r.call('stop_motion', { owner: 'operator' });
    expect(stopped.result.stopped_moves).toContain(uuid);
    expect(stopped.result).not.toHaveProperty('ignored_params');
    expect(auditLines(r.auditPath).filter((l) => l.kind === 'stop_params_ignored')).toHaveLength(before);
    const strict = await r.call('goto_pose', { ...GOTO, force: true });
    expect(strict.error?.data).toMatchObject({ _tag: 'InvalidParams', issues: [{ parameter: 'force' }] });
  });
});

describe('a trip refused for who sent it or the mode still stops motion (--supervisor-only, signed callers required)', () => {
  let r: Robot;
  beforeAll(async () => {
    r = await robot('stop-form-2', ['--supervisor-only', '--trusted-callers', operator.getPublicKey(), '--require-signed-callers'], true);
  }, 30_000);
  afterAll(async () => {
    await r?.driver.stop();
    await r?.emulator.close();
  });

  /** `ignored`: what the refused call's params ignored, named in the error's data. */
  const refusedCases: ReadonlyArray<{ what: string; subject: 'cmd' | 'supervisor'; fn: string; params: Record<string, unknown>; sign: SignOptions | null; tag: string; ignored?: string[] }> = [
    { what: 'an unsigned trip', subject: 'supervisor', fn: 'trip', params: { reason: 'fall' }, sign: null, tag: 'SignatureRequired' },
    { what: 'a trip signed 45 s ago', subject: 'supervisor', fn: 'trip', params: { reason: 'fall' }, sign: { ts: Date.now() - 45_000 }, tag: 'ReplayRejected' },
    { what: 'a trip signed over other params', subject: 'supervisor', fn: 'trip', params: { reason: 'fall' }, sign: { signed: { reason: 'calm' } }, tag: 'SignatureInvalid' },
    { what: 'an unsigned trip with params it cannot take', subject: 'supervisor', fn: 'trip', params: { reason: 'fall', force: true }, sign: null, tag: 'SignatureRequired', ignored: ['force'] },
    { what: 'an emergency_stop on .cmd (trips are the supervisor\'s here)', subject: 'cmd', fn: 'emergency_stop', params: { reason: 'fall' }, sign: {}, tag: 'NotAllowedInState' },
  ];

  test.each(refusedCases)('$what: refused ($tag), the interlock not tripped, the goto stopped, both audited', async ({ subject, fn, params, sign, tag, ignored }) => {
    const uuid = await r.startGoto();
    const reply = await r.send(subject, fn, params, sign);
    expect(reply.result).toBeUndefined();
    expect(reply.error.code).toBe(-32000);
    expect(reply.error.data).toMatchObject({ _tag: tag, interlock_tripped: false, stop_motion: { status: 'stopped', stop: 'confirmed' } });
    expect(reply.error.data.stop_motion.stopped_moves).toContain(uuid);
    // The message alone says both parts (the Python clients read only error.message).
    expect(reply.error.message).toMatch(/the interlock was NOT tripped; motion was stopped instead \(stop confirmed, 1 move stopped\)$/);
    if (ignored) expect(reply.error.data.ignored_params.map((i: { param: string }) => i.param)).toEqual(ignored);
    else expect(reply.error.data).not.toHaveProperty('ignored_params');
    expect(r.emulator.snapshot().runningMoves).not.toContain(uuid);
    expect(r.emulator.motionRecord.moves.find((m) => m.uuid === uuid)?.outcome).toBe('cancelled');
    expect((await r.call('get_status')).result.driver_state.interlock_state).toBe('safe');
    await expect.poll(() => auditLines(r.auditPath).filter((l) => l.kind === 'stopped_instead').at(-1)?.stopped_moves, { timeout: 2_000 }).toContain(uuid);
    const lines = auditLines(r.auditPath);
    const instead = lines.findLast((l) => l.kind === 'stopped_instead')!;
    const refusal = lines.findLast((l) => l.kind === 'refused' && l.seq < instead.seq)!;
    expect(refusal).toMatchObject({ function: fn, error_tag: tag, state: { interlock: 'safe' } });
    expect(instead).toMatchObject({ function: fn, error_tag: tag, interlock_tripped: false, stop: 'confirmed', state: { interlock: 'safe', execution: 'idle' } });
  });

  test('a signed trip with no reason, or with params it cannot take, trips (default reason) and stops the goto', async () => {
    for (const [params, reason, ignored] of [[{}, 'supervisor trip', undefined], [{ force: true, reason: 7 }, 'supervisor trip', ['force', 'reason']]] as const) {
      const uuid = await r.startGoto();
      const reply = await r.send('supervisor', 'trip', params, {});
      expect(reply.error).toBeUndefined();
      expect(reply.result).toMatchObject({ status: 'tripped', interlock_state: 'tripped', reason, stop: 'confirmed' });
      expect(reply.result.stopped_moves).toContain(uuid);
      if (ignored) expect(reply.result.ignored_params.map((i: { param: string }) => i.param)).toEqual(ignored);
      else expect(reply.result).not.toHaveProperty('ignored_params');
      expect(r.emulator.motionRecord.moves.find((m) => m.uuid === uuid)?.outcome).toBe('cancelled');
      expect((await r.send('supervisor', 'reset_interlock', { reason: 'checked' }, {})).result?.status).toBe('safe');
    }
  });
});
