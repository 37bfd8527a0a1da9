// A stop is never refused for its form (README "Safety: what a stop guarantees"), black-box over
// NATS against the emulator. With a goto running, a stop_motion or emergency_stop whose parameters
// the strict decoder would refuse — an owner with a space, 65 characters long or a number, a key
// the function does not have, a reason over 200 characters — stops the goto (the emulator's motion
// record is the ground truth), and both its answer and its audit record (`stop_params_ignored`)
// name what was ignored and how. A valid stop names nothing; a non-stop function stays strict.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';

/** Real time: the goto must still be running when the stop arrives. */
const TIME_SCALE = 1;
/** The move every case stops: long enough that only a stop ends it while the test looks. */
const GOTO = { yaw: 30, duration_s: 6, owner: 'operator' };
const CALL_TIMEOUT_MS = 10_000;

type Reply = Record<string, any>;

let server: NatsServerHandle;
let nc: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
});
afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

function auditLines(path: string): Array<Record<string, any>> {
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

interface Robot {
  readonly emulator: Emulator;
  readonly driver: TestDriver;
  readonly auditPath: string;
  call(method: string, params?: unknown, meta?: Record<string, unknown>): Promise<Reply>;
  /** Starts GOTO and resolves with its uuid once the emulator runs it. */
  startGoto(): Promise<string>;
}

let seq = 0;
async function robot(id: string, argv: string[] = []): Promise<Robot> {
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-stop-form-')), 'audit.jsonl');
  const emulator = await startEmulator({ timeScale: TIME_SCALE });
  const driver = await startTestDriver(
    ['--device-id', id, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--no-media', '--audit-log', auditPath, ...argv],
    { DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: auditPath },
    { daemonBaseUrl: emulator.url },
  );
  const call = (method: string, params: unknown = {}) =>
    rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: `sf-${++seq}`, method, params }, CALL_TIMEOUT_MS) as Promise<Reply>;
  await waitFor(async () => (await call('get_status').catch((): Reply => ({}))).result?.driver_state?.power_state === 'awake', 10_000, 'the driver is up and the robot awake');
  const startGoto = async () => {
    const reply = await call('goto_pose', GOTO);
    expect(reply.error).toBeUndefined();
    const uuid = String(reply.result.uuid);
    await expect.poll(() => emulator.snapshot().runningMoves, { timeout: 2_000 }).toContain(uuid);
    return uuid;
  };
  return { emulator, driver, auditPath, call, startGoto };
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
