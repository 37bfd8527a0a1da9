// The RPC gate: decode → can → send → await outcome → reply. Refusals never reach the machine,
// a machine that does not answer in time yields OutcomeTimeout (-32000), the caller's asserted
// `_dc_meta.source_device` reaches the event, and errors map to stable JSON-RPC codes and tags.
import { expect, test, vi } from 'vitest';
import { createActor, emit, setup } from 'xstate';
import { createRpcGate } from '../../src/actors/rpc-gate.ts';
import { HandlerFailed, InvalidParams, NotAllowedInState, OutcomeTimeout, toJsonRpcError, UnknownMethod } from '../../src/errors.ts';
import { defineFunction } from '../../src/rpc/function-def.ts';
import { defineParams, numberParam } from '../../src/rpc/params.ts';

type Ev = { type: 'rpc.move'; requestId: string; x: number; caller: string | null } | { type: 'rpc.silent'; requestId: string } | { type: 'lock' };

const machine = setup({
  types: { events: {} as Ev, context: {} as { received: Ev[]; locked: boolean }, emitted: {} as { type: 'rpc.outcome'; requestId: string; ok: true; result: unknown } },
}).createMachine({
  context: () => ({ received: [], locked: false }),
  on: {
    'rpc.move': {
      guard: ({ context }) => !context.locked,
      actions: [
        ({ context, event }) => void context.received.push(event),
        emit(({ event }) => ({ type: 'rpc.outcome' as const, requestId: (event as { requestId: string }).requestId, ok: true as const, result: { moved: (event as { x: number }).x, caller: (event as { caller: string | null }).caller } })),
      ],
    },
    'rpc.silent': { actions: ({ context, event }) => void context.received.push(event) },
    lock: { actions: ({ context }) => void (context.locked = true) },
  },
});

const move = defineFunction<{ x: number }, Ev>({
  name: 'move',
  description: 'test',
  labels: { direction: 'write', safety: 'critical' },
  params: defineParams({ x: numberParam({ description: 'x', minimum: 0, maximum: 1 }) }),
  toEvent: (p, call) => ({ type: 'rpc.move', requestId: call.requestId, x: p.x, caller: call.caller.sourceDevice }),
});
const silent = defineFunction<Record<string, never>, Ev>({
  name: 'silent',
  description: 'never answered',
  labels: { direction: 'read', safety: 'informational' },
  params: defineParams({}),
  toEvent: (_p, call) => ({ type: 'rpc.silent', requestId: call.requestId }),
  timeoutMs: 50,
});

function setupGate() {
  const actor = createActor(machine).start();
  const refusals: string[] = [];
  const gate = createRpcGate({ functions: [move, silent], target: actor, onRefusal: ({ error }) => refusals.push(error._tag) });
  return { actor, gate, refusals };
}

const noCaller = { sourceDevice: null, traceId: null };

test('a valid call reaches the machine and its outcome is the reply', async () => {
  const { gate } = setupGate();
  expect(await gate.call('move', { x: 0.5 }, { sourceDevice: 'ctl-001', traceId: null })).toEqual({ ok: true, result: { moved: 0.5, caller: 'ctl-001' } });
});

test('invalid params never reach the machine', async () => {
  const { gate, actor } = setupGate();
  const r = await gate.call('move', { x: 2 }, noCaller);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error).toBeInstanceOf(InvalidParams);
  expect(actor.getSnapshot().context.received).toHaveLength(0);
});

test('an event the machine would not take is refused before sending, and reported', async () => {
  const { gate, actor, refusals } = setupGate();
  actor.send({ type: 'lock' });
  const r = await gate.call('move', { x: 0.1 }, noCaller);
  expect(!r.ok && r.error).toBeInstanceOf(NotAllowedInState);
  expect(actor.getSnapshot().context.received).toHaveLength(0);
  expect(refusals).toEqual(['NotAllowedInState']);
});

test('no outcome in time → OutcomeTimeout, answered as -32000 with its tag', async () => {
  const { gate } = setupGate();
  const r = await gate.call('silent', {}, noCaller);
  expect(!r.ok && r.error).toBeInstanceOf(OutcomeTimeout);
  if (!r.ok) expect(toJsonRpcError(r.error, 'silent')).toMatchObject({ code: -32000, message: 'Error invoking silent: silent got no outcome within 50 ms', data: { _tag: 'OutcomeTimeout', timeoutMs: 50 } });
});

test('unknown methods and handler failures map to their codes', () => {
  expect(toJsonRpcError(new UnknownMethod({ message: 'Unknown method: x', method: 'x' }))).toEqual({ code: -32601, message: 'Unknown method: x', data: { method: 'x', _tag: 'UnknownMethod' } });
  expect(toJsonRpcError(new HandlerFailed({ message: 'boom' }), 'f')).toEqual({ code: -32000, message: 'Error invoking f: boom', data: { _tag: 'HandlerFailed' } });
});

test('onAccepted hears every call sent to the machine (the audit of accepted commands), never a refused one', async () => {
  const actor = createActor(machine).start();
  const accepted: Array<{ fn: string; params: Record<string, unknown>; caller: string | null }> = [];
  const gate = createRpcGate({ functions: [move, silent], target: actor, onAccepted: ({ fn, params, caller }) => accepted.push({ fn, params, caller: caller.sourceDevice }) });
  await gate.call('move', { x: 0.25 }, { sourceDevice: 'agent-1', traceId: null });
  await gate.call('move', { x: 7 }, noCaller); // invalid params: never sent
  actor.send({ type: 'lock' });
  await gate.call('move', { x: 0.5 }, noCaller); // refused by the state: never sent
  expect(accepted).toEqual([{ fn: 'move', params: { x: 0.25 }, caller: 'agent-1' }]);
});

test('a caller refused before its params are decoded: the refusal names the owner only when it is a plausible owner name', async () => {
  const actor = createActor(machine).start();
  const events: Array<{ type: string }> = [];
  const refuse = { ok: false as const, error: new HandlerFailed({ message: 'the call\'s signature was refused' }) };
  const gate = createRpcGate({ functions: [move, silent], target: actor, identify: () => refuse, onRefusal: ({ event }) => events.push(event) });
  await gate.call('move', { x: 0.5, owner: 'agent-1' }, noCaller);
  await gate.call('move', { x: 0.5, owner: 'A'.repeat(600_000) }, noCaller);
  await gate.call('move', { x: 0.5, owner: 'two words' }, noCaller);
  expect(events).toEqual([{ type: 'caller.refused', owner: 'agent-1' }, { type: 'caller.refused' }, { type: 'caller.refused' }]);
  expect(actor.getSnapshot().context.received).toHaveLength(0);
});

/** A target that holds every event and answers when the test says, counting its outcome listeners. */
function heldTarget() {
  const sent: Array<{ requestId: string }> = [];
  const listeners = new Set<(e: never) => void>();
  return {
    sent,
    listeners,
    answer: (requestId: string, result: unknown) => [...listeners].forEach((l) => l({ type: 'rpc.outcome', requestId, ok: true, result } as never)),
    getSnapshot: () => ({ can: () => true, value: 'ready' }),
    send: (event: never) => void sent.push(event as { requestId: string }),
    on: (_type: 'rpc.outcome', handler: (e: never) => void) => {
      listeners.add(handler);
      return { unsubscribe: () => void listeners.delete(handler) };
    },
  };
}

test('64 calls in flight answered in reverse order: each gets its own outcome through one listener, no call left waiting after', async () => {
  const target = heldTarget();
  const gate = createRpcGate({ functions: [move, silent], target });
  const calls = Array.from({ length: 64 }, (_, i) => gate.call('move', { x: i / 64 }, noCaller));
  const timedOut = gate.call('silent', {}, noCaller);
  expect(target.sent).toHaveLength(65);
  expect(target.listeners.size).toBe(1);
  const moves = target.sent.filter((e) => (e as { type?: string }).type === 'rpc.move') as Array<{ requestId: string; x: number }>;
  for (const e of [...moves].reverse()) target.answer(e.requestId, { moved: e.x });
  const results = await Promise.all(calls);
  results.forEach((r, i) => expect(r).toEqual({ ok: true, result: { moved: i / 64 } }));
  expect(gate.waiting(), 'the silent call still waits').toBe(1);
  const late = await timedOut;
  expect(!late.ok && late.error).toBeInstanceOf(OutcomeTimeout);
  expect(gate.waiting()).toBe(0);
  // An outcome after the timeout reaches nobody and changes nothing; the one listener stays for the gate's life.
  target.answer((target.sent[64] as { requestId: string }).requestId, 'too late');
  expect(gate.waiting()).toBe(0);
  expect(target.listeners.size).toBe(1);
});

test('an outcome the machine answers inside send arms no timer; one it answers later does, cleared by the answer', async () => {
  vi.useFakeTimers();
  const armed = vi.spyOn(globalThis, 'setTimeout');
  try {
    const { gate } = setupGate();
    const answered = gate.call('move', { x: 0.5 }, noCaller);
    expect(armed, 'answered inside send').not.toHaveBeenCalled();
    expect(await answered).toEqual({ ok: true, result: { moved: 0.5, caller: null } });
    const target = heldTarget();
    const held = createRpcGate({ functions: [move, silent], target });
    const later = held.call('move', { x: 0.25 }, noCaller);
    expect(armed, 'waiting for its outcome').toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(1);
    target.answer(target.sent[0]!.requestId, { moved: 0.25 });
    expect(await later).toEqual({ ok: true, result: { moved: 0.25 } });
    expect(vi.getTimerCount(), 'cleared by the answer').toBe(0);
  } finally {
    armed.mockRestore();
    vi.useRealTimers();
  }
});

test('a call sent from inside another call\'s send gets its own outcome, and so does the outer call; none is left waiting', async () => {
  const target = heldTarget();
  const gate = createRpcGate({ functions: [move, silent], target });
  let inner: Promise<unknown> | undefined;
  target.send = (event: never) => {
    const e = event as { requestId: string; x: number };
    target.sent.push(e);
    if (e.x === 0.5) {
      // The outer event reaches a second call synchronously; the inner is answered inside its own send, the outer after it.
      inner = gate.call('move', { x: 0.25 }, noCaller);
      target.answer(e.requestId, { moved: e.x });
    } else target.answer(e.requestId, { moved: e.x });
  };
  const outer = await gate.call('move', { x: 0.5 }, noCaller);
  expect(outer).toEqual({ ok: true, result: { moved: 0.5 } });
  expect(await inner).toEqual({ ok: true, result: { moved: 0.25 } });
  expect(gate.waiting()).toBe(0);
});
