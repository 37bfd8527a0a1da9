// A stop whose own outcome fails or times out still says what it ignored (README "Safety: what a
// stop guarantees"): the transcript of a `.cmd` stop_motion request through the mesh entry, the
// wire and the one gate, against a robot side that never answers — a stop cannot be made to time out
// on the emulator, which confirms or reports a stop unconfirmed within 250 ms. The reply is the
// OutcomeTimeout error as before (same code, tag and message) with `ignored_params` in its data, the
// same list the audit (`onStopAnswered`) records. The same on `.broadcast`: the async reply's error
// keeps its `{code: "invoke_failed", message, _tag}` and adds `ignored_params`.
import { describe, expect, test } from 'vitest';
import { createMeshEntry } from '../../src/actors/mesh-entry.ts';
import { createRpcGate, type GateTarget, type StopAnswered } from '../../src/actors/rpc-gate.ts';
import { defineFunction } from '../../src/rpc/function-def.ts';
import { defineParams } from '../../src/rpc/params.ts';
import { ownerParam } from '../../src/rpc/robot-functions.ts';
import { broadcastWire, cmdWire, type ReplySink, type WireReply } from '../../src/protocol/mesh-wire.ts';

/** The gate's wait for this stop's outcome: short, since nothing will ever answer it. */
const STOP_TIMEOUT_MS = 50;

/** stop_motion as the catalogue has it (a stop form, an optional owner), with a short wait. */
const stopMotion = defineFunction({
  name: 'stop_motion',
  description: 'test stop',
  labels: { direction: 'write', safety: 'critical' },
  params: defineParams({ owner: ownerParam }),
  toEvent: (p, call) => ({ type: 'rpc.stop_motion' as const, requestId: call.requestId, owner: p.owner ?? 'agent' }),
  stop: { cut: [] },
  timeoutMs: STOP_TIMEOUT_MS,
});

/** A robot side that takes every event and never sends its outcome. */
const silentRobot: GateTarget = {
  getSnapshot: () => ({ can: () => true, value: 'silent' }),
  send: () => undefined,
  on: () => ({ unsubscribe: () => undefined }),
};

function replySink(): ReplySink & { sent: WireReply[] } {
  const sent: WireReply[] = [];
  return { sent, maxPayload: () => undefined, bytesOver: () => null, send: (reply) => void sent.push(reply) };
}

test.each([
  { what: 'a bad owner', body: { jsonrpc: '2.0', id: 't-1', method: 'stop_motion', params: { owner: 'two words' } }, ignored: [['owner', 'default']] },
  { what: 'positional params', body: { jsonrpc: '2.0', id: 't-2', method: 'stop_motion', params: ['x'] }, ignored: [['params', 'dropped']] },
])('a stop with $what that times out answers OutcomeTimeout naming what it ignored, as the audit does', async ({ body, ignored }) => {
  const answered: StopAnswered[] = [];
  const gate = createRpcGate({ functions: [stopMotion], target: silentRobot, onStopAnswered: (info) => answered.push(info) });
  const out = replySink();
  await createMeshEntry().handle(gate, cmdWire, new TextEncoder().encode(JSON.stringify(body)), out);
  const reply = JSON.parse(out.sent[0]!.body);
  expect(reply).toMatchObject({ id: body.id, error: { code: -32000, message: `Error invoking stop_motion: stop_motion got no outcome within ${STOP_TIMEOUT_MS} ms`, data: { _tag: 'OutcomeTimeout', timeoutMs: STOP_TIMEOUT_MS } } });
  expect(reply.error.data.ignored_params.map((i: { param: string; handling: string }) => [i.param, i.handling])).toEqual(ignored);
  expect(answered).toHaveLength(1);
  expect(answered[0]!.stop).toMatchObject({ ok: false, error: { _tag: 'OutcomeTimeout' } });
  expect(reply.error.data.ignored_params).toEqual(answered[0]!.ignored);
});

test('a valid stop that times out answers OutcomeTimeout as before, with no ignored_params', async () => {
  const gate = createRpcGate({ functions: [stopMotion], target: silentRobot });
  const out = replySink();
  await createMeshEntry().handle(gate, cmdWire, new TextEncoder().encode(JSON.stringify({ jsonrpc: '2.0', id: 't-3', method: 'stop_motion', params: { owner: 'ops' } })), out);
  const reply = JSON.parse(out.sent[0]!.body);
  expect(reply.error.data).toEqual({ _tag: 'OutcomeTimeout', function: 'stop_motion', timeoutMs: STOP_TIMEOUT_MS });
});

describe('a broadcast stop whose outcome times out', () => {
  const DEVICE = 'reachy-7';
  const NOW_MS = 1_000_000_000;
  const wire = broadcastWire('default', DEVICE, () => NOW_MS);
  const envelope = (correlationId: string, extra: Record<string, unknown>) =>
    new TextEncoder().encode(JSON.stringify({ correlation_id: correlationId, function: 'stop_motion', params: { owner: 'ops' }, targets: [DEVICE], ...extra }));

  test('late with on_late "skip": the async reply is the OutcomeTimeout error naming what it ignored, as the audit does', async () => {
    const answered: StopAnswered[] = [];
    const gate = createRpcGate({ functions: [stopMotion], target: silentRobot, onStopAnswered: (info) => answered.push(info) });
    const out = replySink();
    await createMeshEntry().handle(gate, wire, envelope('br-0000000000a1', { fire_at: NOW_MS / 1000 - 30, on_late: 'skip' }), out);
    expect(out.sent[0]!.subject).toBe(`device-connect.default.${DEVICE}.event.async_reply.br-0000000000a1`);
    const reply = JSON.parse(out.sent[0]!.body);
    expect(Object.keys(reply)).toEqual(['correlation_id', 'device_id', 'success', 'error', 'actually_fired_at']);
    expect(reply).toMatchObject({ correlation_id: 'br-0000000000a1', device_id: DEVICE, success: false });
    expect(Object.keys(reply.error)).toEqual(['code', 'message', '_tag', 'ignored_params']);
    expect(reply.error).toMatchObject({ code: 'invoke_failed', message: `stop_motion got no outcome within ${STOP_TIMEOUT_MS} ms`, _tag: 'OutcomeTimeout' });
    expect(reply.error.ignored_params.map((i: { param: string; handling: string }) => [i.param, i.handling])).toEqual([['on_late', 'dropped']]);
    expect(reply.error.ignored_params).toEqual(answered[0]!.ignored);
  });

  test('sent valid: the error is {code, message, _tag} as before', async () => {
    const gate = createRpcGate({ functions: [stopMotion], target: silentRobot });
    const out = replySink();
    await createMeshEntry().handle(gate, wire, envelope('br-0000000000a2', {}), out);
    expect(JSON.parse(out.sent[0]!.body).error).toEqual({ code: 'invoke_failed', message: `stop_motion got no outcome within ${STOP_TIMEOUT_MS} ms`, _tag: 'OutcomeTimeout' });
  });
});
