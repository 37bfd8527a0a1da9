// The mesh entry's failure paths, which a healthy broker does not produce on demand: a reply sink
// that throws, a gate that throws, a result JSON cannot encode, a max_payload too small even for
// the PayloadTooLarge error. None of them may reject out of `handle`; each is answered or counted.
// The same wire decodes `_dc_meta` into the caller on .cmd, .svc and broadcast alike.
import { expect, test } from 'vitest';
import { createMeshEntry, withBuiltins } from '../../src/actors/mesh-entry.ts';
import type { GateResult, RpcGate } from '../../src/actors/rpc-gate.ts';
import type { CallerMeta } from '../../src/protocol/json-rpc.ts';
import { broadcastWire, cmdWire, svcWire, type ReplySink, type WireReply } from '../../src/protocol/mesh-wire.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

function recordingGate(answer: (method: string) => GateResult | Promise<GateResult>): RpcGate & { calls: Array<{ method: string; params: Record<string, unknown>; caller: CallerMeta }> } {
  const calls: Array<{ method: string; params: Record<string, unknown>; caller: CallerMeta }> = [];
  return {
    calls,
    functionNames: ['get_status'],
    has: () => true,
    call: async (method, params, caller) => {
      calls.push({ method, params, caller });
      return await answer(method);
    },
  };
}

function sink(maxPayload: number | undefined, send: (reply: WireReply) => void = () => undefined): ReplySink & { sent: WireReply[] } {
  const sent: WireReply[] = [];
  return {
    sent,
    maxPayload: () => maxPayload,
    bytesOver: (reply, limit) => (Buffer.byteLength(reply.body) > limit ? Buffer.byteLength(reply.body) : null),
    send: (reply) => {
      send(reply);
      sent.push(reply);
    },
  };
}

const cmd = (method: string, params: Record<string, unknown> = {}) => bytes(JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }));

test('a sink whose send throws is counted; handle resolves', async () => {
  const entry = createMeshEntry();
  const gate = recordingGate(() => ({ ok: true, result: { fine: true } }));
  const throwing = sink(undefined, () => {
    throw new Error('connection closed');
  });
  await expect(entry.handle(gate, cmdWire, cmd('get_status'), throwing)).resolves.toBeUndefined();
  expect(entry.counters()).toEqual({ oversizeReplies: 0, droppedReplies: 1 });
});

test('a gate that throws still gets the caller a HandlerFailed reply', async () => {
  const entry = createMeshEntry();
  const gate = recordingGate(() => {
    throw new Error('bug');
  });
  const out = sink(undefined);
  await entry.handle(gate, cmdWire, cmd('get_status'), out);
  expect(JSON.parse(out.sent[0]!.body)).toMatchObject({ id: 7, error: { code: -32000, data: { _tag: 'HandlerFailed' } } });
});

test('a result JSON cannot encode becomes HandlerFailed, not a throw', async () => {
  const entry = createMeshEntry();
  const out = sink(undefined);
  await entry.handle(recordingGate(() => ({ ok: true, result: { n: 1n } })), cmdWire, cmd('get_status'), out);
  expect(JSON.parse(out.sent[0]!.body)).toMatchObject({ id: 7, error: { data: { _tag: 'HandlerFailed' } } });
});

test('over max_payload: PayloadTooLarge when it fits, nothing (counted) when even that does not', async () => {
  const entry = createMeshEntry();
  const gate = recordingGate(() => ({ ok: true, result: { blob: 'x'.repeat(2_000) } }));
  const roomy = sink(400);
  await entry.handle(gate, cmdWire, cmd('get_status'), roomy);
  const refused = JSON.parse(roomy.sent[0]!.body);
  expect(refused).toMatchObject({ id: 7, error: { code: -32000, data: { _tag: 'PayloadTooLarge', maxPayloadBytes: 400 } } });
  expect(refused.error.data.rpcJsonBytes).toBeGreaterThan(2_000);
  expect(roomy.sent[0]!.body.length).toBeLessThanOrEqual(400);

  const cramped = sink(100);
  await entry.handle(gate, cmdWire, cmd('get_status'), cramped);
  expect(cramped.sent).toEqual([]);
  expect(entry.counters()).toEqual({ oversizeReplies: 2, droppedReplies: 1 });
});

test('_dc_meta becomes the caller, and is stripped from params, on .cmd, .svc and broadcast', async () => {
  const entry = createMeshEntry();
  const gate = recordingGate(() => ({ ok: true, result: null }));
  const params = { owner: 'x', _dc_meta: { source_device: 'dev-x', trace_id: 't1' } };
  await entry.handle(gate, cmdWire, cmd('acquire_lease', params), sink(undefined));
  await entry.handle(gate, svcWire('acquire_lease'), bytes(JSON.stringify(params)), sink(undefined));
  const broadcast = { correlation_id: 'br-000000000001', function: 'acquire_lease', params, targets: ['me'] };
  await entry.handle(gate, broadcastWire('default', 'me', () => 0), bytes(JSON.stringify(broadcast)), sink(undefined));
  expect(gate.calls).toEqual(Array(3).fill({ method: 'acquire_lease', params: { owner: 'x' }, caller: { sourceDevice: 'dev-x', traceId: 't1' } }));
});

test('builtins answer in front of the gate; everything else passes through', async () => {
  const gate = recordingGate(() => ({ ok: true, result: 'from gate' }));
  const withPull = withBuiltins(gate, { requestRegistration: () => ({ device_id: 'me' }) });
  expect(await withPull.call('requestRegistration', {}, { sourceDevice: null, traceId: null })).toEqual({ ok: true, result: { device_id: 'me' } });
  expect(await withPull.call('get_status', {}, { sourceDevice: null, traceId: null })).toEqual({ ok: true, result: 'from gate' });
  expect(gate.calls.map((c) => c.method)).toEqual(['get_status']);
});
