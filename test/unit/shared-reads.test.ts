// Shared reads (src/actors/shared-reads.ts) through the real gate: the calls of a `sharedRead`
// function that pass the gate in one event-loop turn reach the machine as ONE event and all get
// its outcome; calls of later turns make new events; each call is still checked on its own (a
// refused caller never joins); the batch still times out; its result JSON is encoded once and the
// reply is byte-for-byte the plain encoding.
import { expect, test } from 'vitest';
import { createActor, emit, setup } from 'xstate';
import { createRpcGate } from '../../src/actors/rpc-gate.ts';
import { NotAllowedInState, OutcomeTimeout } from '../../src/errors.ts';
import { defineFunction } from '../../src/rpc/function-def.ts';
import { defineParams } from '../../src/rpc/params.ts';
import { encodeResult } from '../../src/protocol/json-rpc.ts';
import { shareResult } from '../../src/protocol/result-json.ts';

type Ev = { type: 'rpc.status'; requestId: string } | { type: 'rpc.quiet'; requestId: string } | { type: 'lock' };

const machine = setup({
  types: { events: {} as Ev, context: {} as { reads: number; locked: boolean }, emitted: {} as { type: 'rpc.outcome'; requestId: string; ok: true; result: unknown } },
}).createMachine({
  context: () => ({ reads: 0, locked: false }),
  on: {
    'rpc.status': {
      guard: ({ context }) => !context.locked,
      actions: [
        ({ context }) => void (context.reads += 1),
        emit(({ context, event }) => ({ type: 'rpc.outcome' as const, requestId: (event as { requestId: string }).requestId, ok: true as const, result: { reads: context.reads, when: 'now' } })),
      ],
    },
    'rpc.quiet': { actions: () => undefined },
    lock: { actions: ({ context }) => void (context.locked = true) },
  },
});

const read = (name: string, type: 'rpc.status' | 'rpc.quiet') =>
  defineFunction<Record<string, never>, Ev>({
    name,
    description: 'test',
    labels: { direction: 'read', safety: 'informational' },
    params: defineParams({}),
    toEvent: (_p, call) => ({ type, requestId: call.requestId }),
    timeoutMs: 50,
    sharedRead: true,
  });

function setupGate(refuse?: (caller: string | null) => boolean) {
  const actor = createActor(machine).start();
  const gate = createRpcGate({
    functions: [read('status', 'rpc.status'), read('quiet', 'rpc.quiet')],
    target: actor,
    callerRefusal: ({ caller }) => (refuse?.(caller.sourceDevice) ? new NotAllowedInState({ message: 'not you', function: 'status', state: null }) : null),
  });
  return { actor, gate };
}

const from = (sourceDevice: string | null) => ({ sourceDevice, traceId: null });

test('calls of one turn share one machine event and all get its outcome', async () => {
  const { actor, gate } = setupGate();
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => gate.call('status', {}, from(`agent-${i}`))));
  expect(actor.getSnapshot().context.reads).toBe(1);
  for (const answer of answers) expect(answer).toEqual({ ok: true, result: { reads: 1, when: 'now' } });
});

test('calls of later turns make new events', async () => {
  const { actor, gate } = setupGate();
  expect(await gate.call('status', {}, from('a'))).toEqual({ ok: true, result: { reads: 1, when: 'now' } });
  expect(await gate.call('status', {}, from('a'))).toEqual({ ok: true, result: { reads: 2, when: 'now' } });
  await new Promise((r) => setTimeout(r, 1));
  expect(await gate.call('status', {}, from('a'))).toEqual({ ok: true, result: { reads: 3, when: 'now' } });
});

test('each call is checked on its own: a refused caller does not join, the others are answered', async () => {
  const { actor, gate } = setupGate((caller) => caller === 'intruder');
  const [a, b, c] = await Promise.all([gate.call('status', {}, from('a')), gate.call('status', {}, from('intruder')), gate.call('status', {}, from('c'))]);
  expect(a.ok && c.ok).toBe(true);
  expect(!b.ok && b.error).toBeInstanceOf(NotAllowedInState);
  expect(actor.getSnapshot().context.reads).toBe(1);
});

test('a state that refuses the read refuses every call, and nothing is sent', async () => {
  const { actor, gate } = setupGate();
  actor.send({ type: 'lock' });
  const answers = await Promise.all([gate.call('status', {}, from('a')), gate.call('status', {}, from('b'))]);
  for (const answer of answers) expect(!answer.ok && answer.error).toBeInstanceOf(NotAllowedInState);
  expect(actor.getSnapshot().context.reads).toBe(0);
});

test('a batch with no outcome times out for every call in it', async () => {
  const { gate } = setupGate();
  const answers = await Promise.all([gate.call('quiet', {}, from('a')), gate.call('quiet', {}, from('b'))]);
  for (const answer of answers) expect(!answer.ok && answer.error).toBeInstanceOf(OutcomeTimeout);
});

test('a shared result is encoded once, with the same bytes as the plain encoding', () => {
  const result = { status: 'ok', nested: { list: [1, 2.5, 'x'], when: new Date(0) }, none: null };
  const plain = (id: string | number | null) => JSON.stringify({ jsonrpc: '2.0', id, result });
  shareResult(result);
  for (const id of ['req-1', 7, null, 'quote"d']) expect(encodeResult(id, result)).toBe(plain(id));
  const stringify = JSON.stringify;
  let results = 0;
  JSON.stringify = ((value: unknown, ...rest: never[]) => ((results += value === result ? 1 : 0), stringify(value, ...rest))) as typeof JSON.stringify;
  try {
    encodeResult(8, result);
    encodeResult(9, result);
  } finally {
    JSON.stringify = stringify;
  }
  expect(results).toBe(0);
});
