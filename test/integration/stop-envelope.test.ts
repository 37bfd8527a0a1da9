// A stop is a guarantee, not a message (README "Stops in every wire form"), black-box over NATS
// against the emulator: with a goto running, a stop whose *envelope* the wire would refuse still
// stops the goto (the emulator's motion record is the ground truth), and its answer and audit name
// what was ignored. `.broadcast`: late with `on_late: "skip"`, `fire_at` an hour ahead (run at
// once), a malformed `fire_at`/`on_late`/`params`, NaN in the body, over 64 KiB; no usable
// `correlation_id` (run unanswered, audited with why). `.cmd`: positional params, an id that is an
// object, over 256 characters or NaN/Infinity (answered with id null), NaN in the body, no
// `jsonrpc`, a body over 1 MiB. `.svc`: a body that is not JSON, not an object, or over 1 MiB. The
// same envelopes with a non-stop function are refused (or dropped) exactly as before, and no goto runs.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_REQUEST_BYTES } from '../../src/protocol/json-rpc.ts';
import { MAX_BROADCAST_BYTES } from '../../src/protocol/mesh-wire.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, recorder, rpc, type MessageQueue } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';

const DEVICE = 'stop-envelope-1';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SVC = (fn: string) => `device-connect.default.${DEVICE}.svc.${fn}`;
const BROADCAST = 'device-connect.default.broadcast';
const ASYNC_REPLY = (correlationId: string) => `device-connect.default.${DEVICE}.event.async_reply.${correlationId}`;
const OPERATOR = 'operator';
/** The broker takes bodies over the driver's request limit, so that limit is what is tested. */
const BROKER_MAX_PAYLOAD = 4 * MAX_REQUEST_BYTES;
/** A body just over the request limit. */
const OVERSIZE_PAD = 'x'.repeat(MAX_REQUEST_BYTES + 1024);
/** Real time: the goto must still be running when the stop arrives. */
const GOTO = { yaw: 30, duration_s: 6, owner: OPERATOR };
const CALL_TIMEOUT_MS = 10_000;
/** After a stop took effect, any reply would have come within this. */
const REPLY_GRACE_MS = 500;

type Reply = Record<string, any>;

let server: NatsServerHandle;
let nc: NatsConnection;
let emulator: Emulator;
let driver: TestDriver;
let auditPath: string;
let asyncReplies: MessageQueue;
let seq = 0;

beforeAll(async () => {
  server = await startNatsServer({ maxPayload: BROKER_MAX_PAYLOAD });
  nc = await openClient(server.url);
  asyncReplies = recorder(nc, `device-connect.default.${DEVICE}.event.async_reply.>`);
  auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-stop-envelope-')), 'audit.jsonl');
  emulator = await startEmulator({ timeScale: 1 });
  driver = await startTestDriver(
    ['--device-id', DEVICE, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--no-media', '--audit-log', auditPath],
    { DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: auditPath },
    { daemonBaseUrl: emulator.url },
  );
  const ready = async () => {
    const state = (await call('get_status').catch((): Reply => ({}))).result?.driver_state;
    return state?.connection_state === 'connected' && state?.power_state === 'awake';
  };
  await waitFor(ready, 10_000, 'the driver is up, connected to its awake robot');
}, 30_000);
afterAll(async () => {
  await driver?.stop();
  await emulator?.close();
  await nc?.close();
  await server?.stop();
});

function call(method: string, params: unknown = {}): Promise<Reply> {
  return rpc(nc, CMD, { jsonrpc: '2.0', id: `se-${++seq}`, method, params }, CALL_TIMEOUT_MS) as Promise<Reply>;
}

/** A raw body on `subject`, answered; `body` is sent as it is (NaN and all). */
async function request(subject: string, body: string): Promise<{ body: Reply; serviceError: string | undefined }> {
  const reply = await nc.request(subject, body, { timeout: CALL_TIMEOUT_MS });
  return { body: reply.json(), serviceError: reply.headers?.get('Nats-Service-Error-Code') || undefined };
}

function auditLines(): Array<Record<string, any>> {
  return readFileSync(auditPath, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The audit's records of `kind` for `fn` since `from` (an audit length). */
function audited(from: number, kind: string, fn: string): Array<Record<string, any>> {
  return auditLines().slice(from).filter((l) => l.kind === kind && l.function === fn);
}

async function startGoto(): Promise<string> {
  const reply = await call('goto_pose', GOTO);
  expect(reply.error).toBeUndefined();
  const uuid = String(reply.result.uuid);
  await expect.poll(() => emulator.snapshot().runningMoves, { timeout: 2_000 }).toContain(uuid);
  return uuid;
}

/** The goto was cut short by a stop (cancelled on the emulator, long before its 6 s end). */
async function expectStopped(uuid: string): Promise<void> {
  await expect.poll(() => emulator.snapshot().runningMoves, { timeout: 2_000 }).not.toContain(uuid);
  expect(emulator.motionRecord.moves.find((m) => m.uuid === uuid)?.outcome).toBe('cancelled');
}

/** `ignored_params` as `[param, handling]` pairs (each entry also says its problem). */
function ignoredOf(ignored: Array<Record<string, unknown>>): Array<[unknown, unknown]> {
  for (const entry of ignored) expect(entry.problem).toEqual(expect.any(String));
  return ignored.map((i) => [i.param, i.handling]);
}

/** The audit's `stop_params_ignored` record of `fn` after `from`, once written. */
async function ignoredRecord(from: number, fn: string): Promise<Record<string, any>> {
  await expect.poll(() => audited(from, 'stop_params_ignored', fn).length, { timeout: 2_000 }).toBe(1);
  return audited(from, 'stop_params_ignored', fn)[0]!;
}

async function resetInterlock(): Promise<void> {
  expect((await call('reset_interlock', { owner: OPERATOR, reason: 'case done' })).result?.status).toBe('safe');
}

describe('.broadcast: a stop in an envelope the wire refuses or skips still stops', () => {
  let n = 0;
  const correlationId = () => `br-5e0000000${String(++n).padStart(3, '0')}`;
  /** Publishes a stop_motion envelope (`extra` overrides) and waits for its async reply. */
  async function broadcastStop(extra: Record<string, unknown>): Promise<Reply> {
    const id = correlationId();
    nc.publish(BROADCAST, JSON.stringify({ correlation_id: id, function: 'stop_motion', params: { owner: OPERATOR }, ...extra }));
    return (await asyncReplies.next((m) => m.subject === ASYNC_REPLY(id), CALL_TIMEOUT_MS)).body as Reply;
  }

  test('late with on_late "skip": the stop runs, its answer and audit say on_late was ignored', async () => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const reply = await broadcastStop({ fire_at: Date.now() / 1000 - 30, on_late: 'skip' });
    await expectStopped(uuid);
    expect(reply).toMatchObject({ success: true, result: { status: 'stopped', stop: 'confirmed' } });
    expect(reply.result.stopped_moves).toContain(uuid);
    expect(ignoredOf(reply.result.ignored_params)).toEqual([['on_late', 'dropped']]);
    expect(reply.result.ignored_params[0].problem).toMatch(/30 s ago, and a late stop still runs/);
    expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(reply.result.ignored_params);
  });

  test('fire_at an hour ahead: the stop runs at once, answered and audited as run at once instead of at fire_at', async () => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const reply = await broadcastStop({ fire_at: Date.now() / 1000 + 3_600 });
    await expectStopped(uuid);
    expect(reply.success).toBe(true);
    expect(ignoredOf(reply.result.ignored_params)).toEqual([['fire_at', 'dropped']]);
    expect(reply.result.ignored_params[0].problem).toBe('3600 s ahead: run at once instead of at fire_at (stopping early is safe)');
    expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(reply.result.ignored_params);
  });

  test('a malformed fire_at, on_late and params: the stop runs with them ignored (params read as none)', async () => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const reply = await broadcastStop({ fire_at: 'soon', on_late: 42, params: ['now'] });
    await expectStopped(uuid);
    expect(reply.success).toBe(true);
    expect(ignoredOf(reply.result.ignored_params)).toEqual([['fire_at', 'dropped'], ['on_late', 'dropped'], ['params', 'dropped']]);
    expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(reply.result.ignored_params);
  });

  test('NaN in the body: the e-stop runs (NaN read as null), trips, names the body and what the null replaced', async () => {
    const uuid = await startGoto();
    const id = correlationId();
    nc.publish(BROADCAST, `{"correlation_id":"${id}","function":"emergency_stop","params":{"reason":"fleet stop","level":NaN}}`);
    const reply = (await asyncReplies.next((m) => m.subject === ASYNC_REPLY(id), CALL_TIMEOUT_MS)).body as Reply;
    await expectStopped(uuid);
    expect(reply).toMatchObject({ success: true, result: { status: 'tripped', reason: 'fleet stop' } });
    expect(ignoredOf(reply.result.ignored_params)).toEqual([['body', 'dropped'], ['level', 'dropped']]);
    await resetInterlock();
  });

  test('an envelope over 64 KiB: the stop runs without its params, the body named as ignored', async () => {
    const uuid = await startGoto();
    const reply = await broadcastStop({ params: { owner: OPERATOR, note: 'x'.repeat(MAX_BROADCAST_BYTES) } });
    await expectStopped(uuid);
    expect(reply).toMatchObject({ success: true, result: { stop: 'confirmed' } });
    expect(ignoredOf(reply.result.ignored_params)).toEqual([['body', 'dropped']]);
    expect(reply.result.ignored_params[0].problem).toContain(`over the limit of ${MAX_BROADCAST_BYTES}: read as no params`);
  });

  test('no usable correlation_id: the stop runs unanswered, audited with why', async () => {
    const stop = `"function":"stop_motion","params":{"owner":"${OPERATOR}"}`;
    for (const [body, why] of [
      [`{${stop}}`, 'no correlation_id — stopped unanswered'],
      [`{${stop},"correlation_id":"has a space"}`, 'correlation_id "has a space", which is not 1–128 of A-Z a-z 0-9 _ - — stopped unanswered'],
      // Python's json.dumps writes NaN bare: an id that is not a string, not a missing one.
      [`{${stop},"correlation_id":NaN}`, 'a correlation_id that is not a string — stopped unanswered'],
    ] as const) {
      const uuid = await startGoto();
      const from = auditLines().length;
      const replies = asyncReplies.messages.length;
      nc.publish(BROADCAST, body);
      await expectStopped(uuid);
      await expect.poll(() => audited(from, 'accepted', 'stop_motion').length, { timeout: 2_000 }).toBe(1);
      expect(audited(from, 'accepted', 'stop_motion')[0]).toMatchObject({ owner: OPERATOR, delivery: 'broadcast', unanswered: why });
      await new Promise((resolve) => setTimeout(resolve, REPLY_GRACE_MS));
      expect(asyncReplies.messages.length).toBe(replies);
    }
  });

  test('a non-stop in the same envelopes is refused or dropped as before, and nothing moves', async () => {
    const moves = emulator.motionRecord.moves.length;
    const nowS = Date.now() / 1000;
    const send = (extra: Record<string, unknown>) => {
      const id = correlationId();
      nc.publish(BROADCAST, JSON.stringify({ correlation_id: id, function: 'goto_pose', params: GOTO, ...extra }));
      return id;
    };
    const skipped = send({ fire_at: nowS - 30, on_late: 'skip' });
    const ahead = send({ fire_at: nowS + 3_600 });
    const malformed = send({ fire_at: 'soon' });
    const positional = send({ params: ['now'] });
    // Naming a stop elsewhere in it, so it is read: still dropped.
    const oversize = send({ params: { ...GOTO, note: ['stop_motion', 'x'.repeat(MAX_BROADCAST_BYTES)] } });
    nc.publish(BROADCAST, JSON.stringify({ function: 'goto_pose', params: GOTO }));
    const nan = correlationId();
    nc.publish(BROADCAST, `{"correlation_id":"${nan}","function":"goto_pose","params":{"yaw":NaN,"owner":"${OPERATOR}"}}`);
    const tagOf = async (id: string) => ((await asyncReplies.next((m) => m.subject === ASYNC_REPLY(id), CALL_TIMEOUT_MS)).body as Reply).error?._tag;
    expect(await tagOf(ahead)).toBe('Unsupported');
    expect(await tagOf(malformed)).toBe('InvalidRequest');
    expect(await tagOf(positional)).toBe('InvalidRequest');
    expect(await tagOf(nan)).toBe('ParseError');
    expect(asyncReplies.messages.some((m) => m.subject === ASYNC_REPLY(skipped) || m.subject === ASYNC_REPLY(oversize))).toBe(false);
    expect(emulator.motionRecord.moves.length).toBe(moves);
  });
});

describe('.cmd: a stop in a JSON-RPC envelope the wire refuses still stops', () => {
  test('positional params: the stop runs (params read as none), the id echoed, params named as ignored', async () => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const { body } = await request(CMD, JSON.stringify({ jsonrpc: '2.0', id: 'pos-1', method: 'stop_motion', params: [OPERATOR] }));
    await expectStopped(uuid);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 'pos-1', result: { status: 'stopped', stop: 'confirmed' } });
    expect(body.result.stopped_moves).toContain(uuid);
    expect(ignoredOf(body.result.ignored_params)).toEqual([['params', 'dropped']]);
    expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(body.result.ignored_params);
  });

  test('an id that is an object, or over 256 characters: the stop runs, answered with id null, the id named as ignored', async () => {
    for (const id of [{ n: 1 }, 'i'.repeat(257)]) {
      const uuid = await startGoto();
      const { body } = await request(CMD, JSON.stringify({ jsonrpc: '2.0', id, method: 'stop_motion', params: { owner: OPERATOR } }));
      await expectStopped(uuid);
      expect(body).toMatchObject({ id: null, result: { stop: 'confirmed' } });
      expect(ignoredOf(body.result.ignored_params)).toEqual([['id', 'dropped']]);
    }
  });

  test('an id that is NaN or Infinity (Python sends them bare): the stop runs, answered with id null, the id named as ignored', async () => {
    for (const id of ['NaN', 'Infinity']) {
      const uuid = await startGoto();
      const from = auditLines().length;
      const { body } = await request(CMD, `{"jsonrpc":"2.0","id":${id},"method":"stop_motion","params":{"owner":"${OPERATOR}"}}`);
      await expectStopped(uuid);
      expect(body).toMatchObject({ id: null, result: { stop: 'confirmed' } });
      expect(body.result.stopped_moves).toContain(uuid);
      expect(ignoredOf(body.result.ignored_params)).toEqual([['body', 'dropped'], ['id', 'dropped']]);
      expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(body.result.ignored_params);
    }
  });

  test('NaN in the body: the e-stop runs and trips (NaN read as null: the reason defaulted), the id echoed', async () => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const { body } = await request(CMD, `{"jsonrpc":"2.0","id":"nan-1","method":"emergency_stop","params":{"reason":NaN,"owner":"${OPERATOR}"}}`);
    await expectStopped(uuid);
    expect(body).toMatchObject({ id: 'nan-1', result: { status: 'tripped', reason: 'emergency stop' } });
    expect(ignoredOf(body.result.ignored_params)).toEqual([['body', 'dropped'], ['reason', 'default']]);
    expect((await ignoredRecord(from, 'emergency_stop')).ignored_params).toEqual(body.result.ignored_params);
    await resetInterlock();
  });

  test('no "jsonrpc" member: the stop runs as sent (it was never refused for that)', async () => {
    const uuid = await startGoto();
    const { body } = await request(CMD, JSON.stringify({ id: 'nojr-1', method: 'stop_motion', params: { owner: OPERATOR } }));
    await expectStopped(uuid);
    expect(body).toMatchObject({ id: 'nojr-1', result: { stop: 'confirmed' } });
    expect(body.result).not.toHaveProperty('ignored_params');
  });

  test('a body over the request limit that names a stop: the stop runs without its params, the id echoed', async () => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const { body } = await request(CMD, JSON.stringify({ jsonrpc: '2.0', id: 'big-1', method: 'stop_motion', params: { owner: OPERATOR, note: OVERSIZE_PAD } }));
    await expectStopped(uuid);
    expect(body).toMatchObject({ id: 'big-1', result: { stop: 'confirmed' } });
    expect(ignoredOf(body.result.ignored_params)).toEqual([['body', 'dropped']]);
    expect(body.result.ignored_params[0].problem).toContain(`over the limit of ${MAX_REQUEST_BYTES}`);
    expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(body.result.ignored_params);
  });

  test('a body over the request limit with "id": NaN: the stop runs, answered with id null, the body and the id named as a small one is', async () => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const { body } = await request(CMD, `{"jsonrpc":"2.0","id":NaN,"method":"stop_motion","params":{"owner":"${OPERATOR}","note":"${OVERSIZE_PAD}"}}`);
    await expectStopped(uuid);
    expect(body).toMatchObject({ id: null, result: { stop: 'confirmed' } });
    expect(ignoredOf(body.result.ignored_params)).toEqual([['body', 'dropped'], ['id', 'dropped']]);
    expect(body.result.ignored_params[1].problem).toBe('must be a string (≤ 256 chars) or a finite number, not NaN/Infinity: answered with "id": null');
    expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(body.result.ignored_params);
  });

  test('a non-stop in the same envelopes is refused exactly as before, and nothing moves', async () => {
    const moves = emulator.motionRecord.moves.length;
    const refusal = async (body: string) => (await request(CMD, body)).body;
    expect(await refusal(JSON.stringify({ jsonrpc: '2.0', id: 'g-1', method: 'goto_pose', params: [30, 6] }))).toMatchObject({ id: 'g-1', error: { code: -32600, data: { _tag: 'InvalidRequest' } } });
    expect(await refusal(JSON.stringify({ jsonrpc: '2.0', id: { n: 1 }, method: 'goto_pose', params: GOTO }))).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await refusal(`{"jsonrpc":"2.0","id":"g-3","method":"goto_pose","params":{"yaw":NaN}}`)).toMatchObject({ id: 'g-3', error: { code: -32700 } });
    expect(await refusal(`{"jsonrpc":"2.0","id":NaN,"method":"goto_pose","params":{"yaw":30}}`)).toMatchObject({ id: null, error: { code: -32700 } });
    // Over the limit: refused unread (id null), whether or not it mentions a stop somewhere.
    expect(await refusal(JSON.stringify({ jsonrpc: '2.0', id: 'g-4', method: 'goto_pose', params: { ...GOTO, note: OVERSIZE_PAD } }))).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await refusal(JSON.stringify({ jsonrpc: '2.0', id: 'g-5', method: 'goto_pose', params: { ...GOTO, note: ['stop_motion', OVERSIZE_PAD] } }))).toMatchObject({ id: null, error: { code: -32600 } });
    expect(emulator.motionRecord.moves.length).toBe(moves);
  });
});

describe('.svc: a stop whose body is not a params object still stops', () => {
  const cases = [
    { what: 'not JSON', body: 'stop now', problem: 'is not valid UTF-8 JSON: read as no params', code: '-32700' },
    { what: 'not an object', body: '["operator"]', problem: 'must be a JSON object of named parameters: read as no params', code: '-32600' },
    { what: 'over the request limit', body: JSON.stringify({ owner: OPERATOR, note: OVERSIZE_PAD }), problem: `over the limit of ${MAX_REQUEST_BYTES}: read as no params`, code: '-32600' },
  ];

  test.each(cases)('a body $what: stop_motion runs, the body named as ignored', async ({ body, problem }) => {
    const uuid = await startGoto();
    const from = auditLines().length;
    const reply = await request(SVC('stop_motion'), body);
    await expectStopped(uuid);
    expect(reply.serviceError).toBeUndefined();
    expect(reply.body).toMatchObject({ status: 'stopped', stop: 'confirmed' });
    expect(reply.body.stopped_moves).toContain(uuid);
    expect(ignoredOf(reply.body.ignored_params)).toEqual([['body', 'dropped']]);
    expect(reply.body.ignored_params[0].problem).toContain(problem);
    expect((await ignoredRecord(from, 'stop_motion')).ignored_params).toEqual(reply.body.ignored_params);
  });

  test('emergency_stop with a body that is not JSON trips (default reason)', async () => {
    const uuid = await startGoto();
    const reply = await request(SVC('emergency_stop'), 'STOP!');
    await expectStopped(uuid);
    expect(reply.body).toMatchObject({ status: 'tripped', reason: 'emergency stop' });
    expect(ignoredOf(reply.body.ignored_params)).toEqual([['body', 'dropped']]);
    await resetInterlock();
  });

  test('a non-stop with the same bodies is refused as before, and nothing moves', async () => {
    const moves = emulator.motionRecord.moves.length;
    for (const { body, code } of cases) expect((await request(SVC('goto_pose'), body)).serviceError).toBe(code);
    expect(emulator.motionRecord.moves.length).toBe(moves);
  });
});
