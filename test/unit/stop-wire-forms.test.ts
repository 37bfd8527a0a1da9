// Stops in the wire forms that are not plain requests (README "Stops in every wire form"): a
// JSON-RPC notification (no id, or `"id": null`) decodes to a call that is run and never answered;
// a broadcast stop whose addressing cannot be evaluated here (a `where` condition, `targets` that
// are not a list) decodes to a call marked with why, while every other broadcast so addressed is
// still not run. The one decision (src/safety/stop-only-calls.ts) lets stops on and refuses
// everything else that came that way with StopsOnly. A stop in an envelope the wire refuses (`.cmd`,
// `.broadcast`, `.svc`) decodes to a call naming what it ran without (`stopDespite`); any other
// function in the same envelope is rejected, skipped or dropped as before.
import { describe, expect, test } from 'vitest';
import { createMeshEntry, withBuiltins } from '../../src/actors/mesh-entry.ts';
import type { GateResult, RpcGate } from '../../src/actors/rpc-gate.ts';
import { decodeRequest, MAX_REQUEST_BYTES, type CallerMeta } from '../../src/protocol/json-rpc.ts';
import { broadcastWire, cmdWire, MAX_WHERE_ECHO_CHARS, svcWire, type ReplySink, type WireReply } from '../../src/protocol/mesh-wire.ts';
import { stopsOnlyRefusal } from '../../src/safety/stop-only-calls.ts';

const bytes = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const NOTIFIED = { kind: 'notification' } as const;

describe('a JSON-RPC notification on .cmd', () => {
  test('without an id, or with "id": null, decodes to a call (params, _dc_meta caller) marked as a notification', () => {
    const noId = decodeRequest(bytes({ jsonrpc: '2.0', method: 'emergency_stop', params: { reason: 'panic' } }));
    expect(noId).toEqual({ kind: 'notification', method: 'emergency_stop', params: { reason: 'panic' }, caller: { sourceDevice: null, traceId: null, delivery: NOTIFIED } });
    const nullId = decodeRequest(bytes({ jsonrpc: '2.0', id: null, method: 'stop_motion', params: { owner: 'ops', _dc_meta: { source_device: 'panel-7' } } }));
    expect(nullId).toEqual({ kind: 'notification', method: 'stop_motion', params: { owner: 'ops' }, caller: { sourceDevice: 'panel-7', traceId: null, delivery: NOTIFIED } });
  });

  test('params that are not an object read as none (there is no reply to refuse them in); no usable method is nothing to run', () => {
    expect(decodeRequest(bytes({ method: 'emergency_stop', params: ['panic'] }))).toMatchObject({ kind: 'notification', method: 'emergency_stop', params: {} });
    expect(decodeRequest(bytes({ method: 'stop_motion' }))).toMatchObject({ kind: 'notification', method: 'stop_motion', params: {} });
    expect(decodeRequest(bytes({ jsonrpc: '2.0', params: {} }))).toEqual({ kind: 'unusable' });
    expect(decodeRequest(bytes({ jsonrpc: '2.0', method: '' }))).toEqual({ kind: 'unusable' });
  });

  test('the .cmd wire hands every notification to the gate unanswered (the gate decides what runs)', () => {
    for (const method of ['emergency_stop', 'stop_motion', 'goto_pose']) {
      expect(cmdWire.decode(bytes({ jsonrpc: '2.0', method, params: {} }))).toEqual({ kind: 'unanswered', call: { method, params: {}, caller: { sourceDevice: null, traceId: null, delivery: NOTIFIED } } });
    }
    expect(cmdWire.decode(bytes({ jsonrpc: '2.0', params: {} }))).toEqual({ kind: 'ignore' });
    // A request is unchanged: no delivery mark.
    expect(cmdWire.decode(bytes({ jsonrpc: '2.0', id: 1, method: 'stop_motion' }))).toEqual({ kind: 'call', ref: 1, call: { method: 'stop_motion', params: {}, caller: { sourceDevice: null, traceId: null } } });
  });
});

describe('a broadcast whose addressing cannot be evaluated', () => {
  const DEVICE = 'reachy-7';
  const wire = broadcastWire('default', DEVICE, () => 1_000_000);
  const envelope = (fn: string, extra: Record<string, unknown>) => bytes({ correlation_id: 'br-0123456789ab', function: fn, params: { reason: 'fleet stop' }, ...extra });

  test('a stop with a where condition runs, marked "unevaluated where … — stopped anyway"', () => {
    const decoded = wire.decode(envelope('emergency_stop', { where: "location=='lab'" }));
    expect(decoded).toEqual({
      kind: 'call',
      ref: { correlationId: 'br-0123456789ab' },
      call: { method: 'emergency_stop', params: { reason: 'fleet stop' }, caller: { sourceDevice: null, traceId: null, delivery: { kind: 'unevaluated_broadcast', addressing: "unevaluated where location=='lab' — stopped anyway" } } },
    });
  });

  test('a stop with targets that are not a list runs too, and so does one with both', () => {
    expect(wire.decode(envelope('stop_motion', { targets: DEVICE }))).toMatchObject({ kind: 'call', call: { method: 'stop_motion', caller: { delivery: { addressing: 'targets that are not a list — stopped anyway' } } } });
    expect(wire.decode(envelope('stop_motion', { targets: { all: true }, where: 'true' }))).toMatchObject({
      kind: 'call',
      call: { caller: { delivery: { addressing: 'targets that are not a list and unevaluated where true — stopped anyway' } } },
    });
    // Targets listing this device, with a where: the where is what cannot be evaluated.
    expect(wire.decode(envelope('emergency_stop', { targets: [DEVICE], where: 'battery > 50' }))).toMatchObject({ kind: 'call', call: { caller: { delivery: { addressing: 'unevaluated where battery > 50 — stopped anyway' } } } });
  });

  test('a long where condition is echoed cut to its bound', () => {
    const where = `name == '${'x'.repeat(500)}'`;
    const decoded = wire.decode(envelope('emergency_stop', { where }));
    expect(decoded.kind === 'call' && decoded.call.caller.delivery).toEqual({ kind: 'unevaluated_broadcast', addressing: `unevaluated where ${where.slice(0, MAX_WHERE_ECHO_CHARS)}… — stopped anyway` });
  });

  test('a list of targets without this device is not for it, stop or not; every other function so addressed is still not run', () => {
    expect(wire.decode(envelope('emergency_stop', { targets: ['reachy-8'], where: "location=='lab'" }))).toEqual({ kind: 'ignore' });
    expect(wire.decode(envelope('goto_pose', { where: "location=='lab'" }))).toEqual({ kind: 'ignore' });
    expect(wire.decode(envelope('reset_interlock', { targets: DEVICE }))).toEqual({ kind: 'ignore' });
  });

  test('a plainly addressed broadcast stop carries no mark', () => {
    const decoded = wire.decode(envelope('emergency_stop', { targets: [DEVICE] }));
    expect(decoded.kind === 'call' && decoded.call.caller).toEqual({ sourceDevice: null, traceId: null });
  });
});

describe('the stops-only decision', () => {
  const plain: CallerMeta = { sourceDevice: null, traceId: null };
  const notified: CallerMeta = { ...plain, delivery: { kind: 'notification' } };
  const unaddressed: CallerMeta = { ...plain, delivery: { kind: 'unevaluated_broadcast', addressing: 'unevaluated where x — stopped anyway' } };

  test('stops go on however they came; plain calls are not its business', () => {
    for (const fn of ['stop_motion', 'emergency_stop', 'trip']) {
      expect(stopsOnlyRefusal(fn, notified)).toBeNull();
      expect(stopsOnlyRefusal(fn, unaddressed)).toBeNull();
    }
    expect(stopsOnlyRefusal('goto_pose', plain)).toBeNull();
  });

  test('anything else that came that way is refused StopsOnly, saying why and what to send', () => {
    const refused = stopsOnlyRefusal('goto_pose', notified);
    expect(refused).toMatchObject({ _tag: 'StopsOnly', function: 'goto_pose', delivery: 'notification' });
    expect(refused?.message).toContain('Send it as a request with an "id"');
    expect(stopsOnlyRefusal('reset_interlock', unaddressed)).toMatchObject({ _tag: 'StopsOnly', delivery: 'unevaluated_broadcast' });
  });
});

test('the mesh entry runs a notification through the gate and sends nothing', async () => {
  const calls: Array<{ method: string; caller: CallerMeta }> = [];
  const gate: RpcGate = {
    functionNames: ['emergency_stop'],
    has: () => true,
    call: async (method, _params, caller): Promise<GateResult> => {
      calls.push({ method, caller });
      return { ok: true, result: { status: 'tripped' } };
    },
  };
  const sent: WireReply[] = [];
  const sink: ReplySink = { maxPayload: () => undefined, bytesOver: () => null, send: (reply) => void sent.push(reply) };
  await createMeshEntry().handle(gate, cmdWire, bytes({ jsonrpc: '2.0', method: 'emergency_stop', params: { reason: 'panic' } }), sink, 'device-connect.default.r.cmd');
  expect(calls).toEqual([{ method: 'emergency_stop', caller: { sourceDevice: null, traceId: null, delivery: NOTIFIED } }]);
  expect(sent).toEqual([]);
});

test('a builtin sent as a notification is not answered in front of the gate: it goes to the gate like any other', async () => {
  const methods: string[] = [];
  const gate: RpcGate = { functionNames: [], has: () => false, call: async (method) => (methods.push(method), { ok: true, result: null }) };
  let pulled = 0;
  const withPull = withBuiltins(gate, { requestRegistration: () => ++pulled });
  await withPull.call('requestRegistration', {}, { sourceDevice: null, traceId: null, delivery: NOTIFIED });
  expect([pulled, methods]).toEqual([0, ['requestRegistration']]);
});

describe('a stop in an envelope the wire refuses (README "Stops in every wire form")', () => {
  const DEVICE = 'reachy-7';
  const NOW_MS = 1_000_000_000;
  const wire = broadcastWire('default', DEVICE, () => NOW_MS);
  const ignoredOf = (decoded: ReturnType<typeof cmdWire.decode> | ReturnType<typeof wire.decode>) =>
    decoded.kind === 'call' || decoded.kind === 'unanswered' ? decoded.call.caller.ignoredEnvelope?.map((i) => i.param) : decoded.kind;

  test('.cmd: a stop decodes to a call marked with what it ran without; the same envelope for goto_pose is rejected as before', () => {
    const cases: Array<[string, string[]]> = [
      [JSON.stringify({ jsonrpc: '2.0', id: 'a', method: 'stop_motion', params: ['x'] }), ['params']],
      [JSON.stringify({ jsonrpc: '2.0', id: { n: 1 }, method: 'stop_motion' }), ['id']],
      ['{"jsonrpc":"2.0","id":"c","method":"stop_motion","params":{"owner":NaN}}', ['body']],
    ];
    for (const [body, ignored] of cases) {
      expect(ignoredOf(cmdWire.decode(bytes(body)))).toEqual(ignored);
      expect(cmdWire.decode(bytes(body.replace('stop_motion', 'goto_pose')))).toMatchObject({ kind: 'reject' });
    }
    // The id is echoed when it could be read, null when not; NaN values read as null.
    expect(cmdWire.decode(bytes(cases[0]![0]))).toMatchObject({ kind: 'call', ref: 'a', call: { params: {} } });
    expect(cmdWire.decode(bytes(cases[1]![0]))).toMatchObject({ kind: 'call', ref: null });
    expect(cmdWire.decode(bytes(cases[2]![0]))).toMatchObject({ kind: 'call', ref: 'c', call: { params: { owner: null } } });
    // Without an id it is a notification still: run, unanswered.
    expect(cmdWire.decode(bytes('{"method":"stop_motion","params":{"owner":NaN}}'))).toMatchObject({ kind: 'unanswered', call: { caller: { delivery: NOTIFIED } } });
  });

  test('.cmd: an "id" of NaN/Infinity is an unusable id, not a missing one: the stop is answered with id null, the id named; goto_pose is refused with id null', () => {
    for (const id of ['NaN', 'Infinity', '-Infinity']) {
      const body = `{"jsonrpc":"2.0","id":${id},"method":"stop_motion","params":{"owner":"ops"}}`;
      const decoded = cmdWire.decode(bytes(body));
      expect(decoded).toMatchObject({ kind: 'call', ref: null, call: { method: 'stop_motion', params: { owner: 'ops' } } });
      expect(decoded.kind === 'call' && decoded.call.caller.delivery).toBeUndefined();
      expect(ignoredOf(decoded)).toEqual(['body', 'id']);
      expect(cmdWire.decode(bytes(body.replace('stop_motion', 'goto_pose')))).toMatchObject({ kind: 'reject', ref: null, error: { _tag: 'ParseError' } });
    }
    // A NaN nested under an "id" key of the params is not the request's id.
    expect(cmdWire.decode(bytes('{"jsonrpc":"2.0","id":"n-1","method":"stop_motion","params":{"id":NaN}}'))).toMatchObject({ kind: 'call', ref: 'n-1', call: { params: { id: null } } });
  });

  test('.cmd: an unusable id is named the same whatever else is wrong (a body over the limit, NaN elsewhere)', () => {
    const pad = 'x'.repeat(MAX_REQUEST_BYTES);
    const idProblem = (decoded: ReturnType<typeof cmdWire.decode>) => (decoded.kind === 'call' ? decoded.call.caller.ignoredEnvelope?.find((i) => i.param === 'id')?.problem : decoded.kind);
    const small = cmdWire.decode(bytes('{"jsonrpc":"2.0","id":NaN,"method":"stop_motion","params":{"owner":"ops"}}'));
    for (const id of ['NaN', 'Infinity']) {
      // Over the limit: answered with id null (not a notification), the body and the id named, as the small body is.
      const big = cmdWire.decode(bytes(`{"jsonrpc":"2.0","id":${id},"method":"stop_motion","params":{"owner":"ops","note":"${pad}"}}`));
      expect(big).toMatchObject({ kind: 'call', ref: null, call: { method: 'stop_motion', params: {} } });
      expect(ignoredOf(big)).toEqual(['body', 'id']);
      expect(idProblem(big)).toBe(idProblem(small));
    }
    // An id that is an object: named over the limit and beside NaN as it is alone.
    const alone = cmdWire.decode(bytes(JSON.stringify({ jsonrpc: '2.0', id: { n: 1 }, method: 'stop_motion' })));
    for (const body of [JSON.stringify({ jsonrpc: '2.0', id: { n: 1 }, method: 'stop_motion', params: { note: pad } }), '{"jsonrpc":"2.0","id":{"n":1},"method":"stop_motion","params":{"owner":NaN}}']) {
      const decoded = cmdWire.decode(bytes(body));
      expect(decoded).toMatchObject({ kind: 'call', ref: null });
      expect(ignoredOf(decoded)).toEqual(['body', 'id']);
      expect(idProblem(decoded)).toBe(idProblem(alone));
    }
  });

  test('.broadcast: every part a stop ran without is named, in order; goto_pose is refused for the first, or skipped', () => {
    const envelope = (fn: string, extra: Record<string, unknown>) => bytes({ correlation_id: 'br-0123456789ab', function: fn, params: {}, ...extra });
    const nowS = NOW_MS / 1000;
    expect(ignoredOf(wire.decode(envelope('stop_motion', { fire_at: 'soon', on_late: 7, params: [1] })))).toEqual(['fire_at', 'on_late', 'params']);
    expect(wire.decode(envelope('goto_pose', { fire_at: 'soon', on_late: 7, params: [1] }))).toMatchObject({ kind: 'reject', error: { message: 'broadcast fire_at must be epoch seconds' } });
    expect(ignoredOf(wire.decode(envelope('stop_motion', { fire_at: nowS - 30, on_late: 'skip', params: [1] })))).toEqual(['on_late', 'params']);
    expect(wire.decode(envelope('goto_pose', { fire_at: nowS - 30, on_late: 'skip', params: [1] }))).toEqual({ kind: 'ignore' });
    // A late one without skip, or due within the tolerance, runs as sent for everyone.
    expect(ignoredOf(wire.decode(envelope('stop_motion', { fire_at: nowS - 30 })))).toBeUndefined();
    expect(ignoredOf(wire.decode(envelope('goto_pose', { fire_at: nowS + 0.5 })))).toBeUndefined();
  });

  test('.broadcast without a usable correlation id: a stop runs unanswered (marked why), anything else is dropped', () => {
    const decoded = wire.decode(bytes({ correlation_id: 42, function: 'emergency_stop', params: { reason: 'fleet' }, where: 'x' }));
    expect(decoded).toMatchObject({
      kind: 'unanswered',
      call: { method: 'emergency_stop', params: { reason: 'fleet' }, caller: { delivery: { kind: 'unanswered_broadcast', why: 'a correlation_id that is not a string — stopped unanswered', addressing: 'unevaluated where x — stopped anyway' } } },
    });
    expect(wire.decode(bytes({ function: 'goto_pose', params: {} }))).toEqual({ kind: 'ignore' });
    // Not this device's, stop or not.
    expect(wire.decode(bytes({ function: 'stop_motion', targets: ['reachy-8'] }))).toEqual({ kind: 'ignore' });
  });

  test('.svc: a stop endpoint reads a body it cannot take as no params; any other endpoint rejects it as before', () => {
    expect(ignoredOf(svcWire('stop_motion').decode(bytes('stop!')))).toEqual(['body']);
    expect(svcWire('goto_pose').decode(bytes('stop!'))).toMatchObject({ kind: 'reject', error: { _tag: 'ParseError' } });
    expect(svcWire('emergency_stop').decode(bytes('{"reason":NaN,"owner":"ops"}'))).toMatchObject({ kind: 'call', call: { params: { reason: null, owner: 'ops' } } });
  });
});
