// A stop is never refused for its form (src/rpc/stop-params.ts): every stop of the catalogue runs on
// its defaults alone; a bad owner takes the default (never a cut of itself: a cut name could be
// someone else's); a reason over its limit is cut, never through a surrogate pair; unknown keys are
// dropped and named, at most MAX_UNKNOWN_PARAMS_NAMED of them; params that are not an object run as
// none. Through the gate: a stop with bad params reaches the machine and its answer names what it
// ignored (`ignored_params`, also told to `onStopAnswered`), while the same params refuse a non-stop.
// A trip (a stop with an `instead` form) refused by the identity check or the state gate sends its
// `instead` event (as the caller identity's `stopAs`) and answers the refusal carrying the stop; any
// other function's refusal sends nothing.
import * as Result from 'effect/Result';
import { describe, expect, test } from 'vitest';
import { createActor, emit, setup } from 'xstate';
import { createRpcGate, type StopAnswered } from '../../src/actors/rpc-gate.ts';
import { InvalidParams, NotAllowedInState, SignatureRequired, toJsonRpcError } from '../../src/errors.ts';
import { FUNCTIONS, SUPERVISOR_FUNCTIONS } from '../../src/rpc/catalogue.ts';
import { defineFunction, type AnyRpcFunction } from '../../src/rpc/function-def.ts';
import { MAX_UNKNOWN_PARAMS_NAMED, defineParams, stringParam } from '../../src/rpc/params.ts';
import { emergencyStop, stopMotion } from '../../src/rpc/robot-functions.ts';
import { stopParams } from '../../src/rpc/stop-params.ts';

function ran(fn: AnyRpcFunction, input: unknown) {
  const r = stopParams(fn, input);
  if (Result.isFailure(r)) throw new Error(`a stop refused its params: ${r.failure.message}`);
  return r.success;
}

describe('stopParams', () => {
  test('every stop of the catalogue runs on its defaults alone (so its form can never refuse it)', () => {
    const stops = [...FUNCTIONS, ...SUPERVISOR_FUNCTIONS].filter((fn) => fn.stop);
    expect(stops.map((fn) => fn.name).sort()).toEqual(['emergency_stop', 'stop_motion', 'trip']);
    for (const fn of stops) expect(Result.isSuccess(fn.params.decode({})), fn.name).toBe(true);
  });

  test('a valid stop ignores nothing', () => {
    expect(ran(emergencyStop, { reason: 'fall', owner: 'ops' })).toEqual({ decoded: { reason: 'fall', owner: 'ops' }, ignored: [] });
  });

  test('a bad owner — a space, 65 characters, a number — takes the default, never a cut of itself', () => {
    for (const owner of ['my agent', 'x'.repeat(65), 42, null]) {
      const { decoded, ignored } = ran(stopMotion, { owner });
      expect(decoded).toEqual({ owner: 'agent' });
      expect(ignored).toEqual([{ param: 'owner', problem: expect.stringContaining('at most 64 characters'), handling: 'default' }]);
    }
  });

  test('a reason over 200 characters is cut to 200 (the rest of the call kept); a pair of surrogates is never split', () => {
    const { decoded, ignored } = ran(emergencyStop, { reason: 'r'.repeat(201), owner: 'ops' });
    expect(decoded).toEqual({ reason: 'r'.repeat(200), owner: 'ops' });
    expect(ignored).toEqual([{ param: 'reason', problem: expect.stringContaining('(it had 201); the first 200 were kept'), handling: 'truncated' }]);
    const emoji = `${'r'.repeat(199)}🛑 stop`;
    expect(ran(emergencyStop, { reason: emoji }).decoded.reason).toBe('r'.repeat(199));
    // A reason that is not text at all takes the default.
    expect(ran(emergencyStop, { reason: { why: 'fall' } })).toMatchObject({ decoded: { reason: 'emergency stop' }, ignored: [{ param: 'reason', handling: 'default' }] });
  });

  test('unknown keys are dropped and named (the first few, then a count); the known ones are kept', () => {
    const { decoded, ignored } = ran(emergencyStop, { reason: 'fall', force: true });
    expect(decoded).toEqual({ reason: 'fall', owner: 'agent' });
    expect(ignored).toEqual([{ param: 'force', problem: 'is not a parameter of this function (known: reason, owner)', handling: 'dropped' }]);
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${i}`, i]));
    const flood = ran(stopMotion, { ...many, owner: 'ops' });
    expect(flood.decoded).toEqual({ owner: 'ops' });
    expect(flood.ignored).toHaveLength(MAX_UNKNOWN_PARAMS_NAMED + 1);
    expect(flood.ignored.at(-1)).toEqual({ param: 'params', problem: 'has 7 more unknown keys', handling: 'dropped' });
  });

  test('params that are not an object run as none', () => {
    for (const input of [null, ['owner'], 'stop']) {
      expect(ran(stopMotion, input)).toEqual({ decoded: { owner: 'agent' }, ignored: [{ param: 'params', problem: 'must be a JSON object of named parameters', handling: 'dropped' }] });
    }
  });
});

type Ev = { type: 'rpc.halt' | 'rpc.move' | 'rpc.trip'; requestId: string; owner: string };
const machine = setup({ types: { events: {} as Ev | { type: 'lock' }, context: {} as { received: Ev[]; locked: boolean }, emitted: {} as { type: 'rpc.outcome'; requestId: string; ok: true; result: unknown } } }).createMachine({
  context: () => ({ received: [], locked: false }),
  on: {
    lock: { actions: ({ context }) => void (context.locked = true) },
    '*': {
      guard: ({ context, event }) => !(context.locked && (event as Ev).type === 'rpc.trip'),
      actions: [
        ({ context, event }) => void context.received.push(event as Ev),
        emit(({ event }) => ({ type: 'rpc.outcome' as const, requestId: (event as Ev).requestId, ok: true as const, result: { status: 'stopped', owner: (event as Ev).owner } })),
      ],
    },
  },
});
const ownerOnly = defineParams({ owner: stringParam({ description: 'who', default: 'agent', maxLength: 8, pattern: /^[a-z]+$/ }) });
const halt = defineFunction<{ owner: string }, Ev>({ name: 'halt', description: 'a stop', labels: { direction: 'write', safety: 'critical' }, params: ownerOnly, toEvent: (p, c) => ({ type: 'rpc.halt', requestId: c.requestId, owner: p.owner }), stop: { cut: [] } });
const tripIt = defineFunction<{ owner: string }, Ev>({
  name: 'trip_it',
  description: 'a stop with a privileged part',
  labels: { direction: 'write', safety: 'critical' },
  params: ownerOnly,
  toEvent: (p, c) => ({ type: 'rpc.trip', requestId: c.requestId, owner: p.owner }),
  stop: { cut: [], instead: (p, c) => ({ type: 'rpc.halt', requestId: c.requestId, owner: c.caller.sourceDevice ?? p.owner }) },
});
const move = defineFunction<{ owner: string }, Ev>({ name: 'move', description: 'not a stop', labels: { direction: 'write', safety: 'critical' }, params: ownerOnly, toEvent: (p, c) => ({ type: 'rpc.move', requestId: c.requestId, owner: p.owner }) });

test('through the gate: a stop with bad params runs and names them (answer and onStopAnswered); a non-stop is refused', async () => {
  const actor = createActor(machine).start();
  const told: StopAnswered[] = [];
  const gate = createRpcGate({ functions: [halt, move], target: actor, onStopAnswered: (info) => told.push(info) });
  const caller = { sourceDevice: null, traceId: null };
  const stopped = await gate.call('halt', { owner: 'Two Words', why: 'panic' }, caller);
  const ignored = [{ param: 'why', problem: 'is not a parameter of this function (known: owner)', handling: 'dropped' }, { param: 'owner', problem: expect.any(String), handling: 'default' }];
  expect(stopped).toEqual({ ok: true, result: { status: 'stopped', owner: 'agent', ignored_params: ignored } });
  expect(told).toEqual([expect.objectContaining({ fn: 'halt', ignored, answer: stopped })]);
  expect(await gate.call('halt', { owner: 'ops' }, caller)).toEqual({ ok: true, result: { status: 'stopped', owner: 'ops' } });
  expect(told).toHaveLength(1);
  const refused = await gate.call('move', { owner: 'Two Words' }, caller);
  expect(!refused.ok && refused.error).toBeInstanceOf(InvalidParams);
  expect(actor.getSnapshot().context.received.map((e) => e.type)).toEqual(['rpc.halt', 'rpc.halt']);
});

test('through the gate: a trip refused for who sent it, or by the state gate, stops instead and answers the refusal with the stop', async () => {
  const actor = createActor(machine).start();
  const told: StopAnswered[] = [];
  const refusals: string[] = [];
  const unsigned = new SignatureRequired({ message: 'sign it', function: 'trip_it', reason: 'required' });
  const gate = createRpcGate({
    functions: [tripIt, move],
    target: actor,
    identify: ({ caller }) => (caller.sourceDevice === 'stranger' ? { ok: false, error: unsigned, stopAs: { ...caller, sourceDevice: 'unverified' } } : { ok: true, caller }),
    onRefusal: ({ error }) => refusals.push(error._tag),
    onStopAnswered: (info) => told.push(info),
  });
  const stranger = { sourceDevice: 'stranger', traceId: null };
  const byStranger = await gate.call('trip_it', { owner: 'ops', why: 1 }, stranger);
  expect(byStranger.ok).toBe(false);
  if (byStranger.ok) return;
  expect(byStranger.error).toBeInstanceOf(SignatureRequired);
  const wire = toJsonRpcError(byStranger.error, 'trip_it');
  expect(wire).toMatchObject({ code: -32000, data: { _tag: 'SignatureRequired', reason: 'required', interlock_tripped: false, stop_motion: { status: 'stopped', owner: 'unverified' }, ignored_params: [{ param: 'why' }] } });
  expect(wire.message).toBe('Error invoking trip_it: sign it — the interlock was NOT tripped; motion was stopped instead (stop answered, 0 moves stopped)');
  expect(told.map((t) => [t.refused?._tag, t.event.type, t.caller.sourceDevice])).toEqual([['SignatureRequired', 'rpc.halt', 'unverified']]);
  // Refused by the state gate: the same, as the identified caller.
  actor.send({ type: 'lock' });
  const locked = await gate.call('trip_it', { owner: 'ops' }, { sourceDevice: null, traceId: null });
  expect(!locked.ok && locked.error).toBeInstanceOf(NotAllowedInState);
  expect(!locked.ok && toJsonRpcError(locked.error).data).toMatchObject({ interlock_tripped: false, stop_motion: { status: 'stopped', owner: 'ops' } });
  // A non-stop refused for who sent it sends nothing.
  expect((await gate.call('move', { owner: 'ops' }, stranger)).ok).toBe(false);
  expect(refusals).toEqual(['SignatureRequired', 'NotAllowedInState', 'SignatureRequired']);
  expect(actor.getSnapshot().context.received.map((e) => e.type)).toEqual(['rpc.halt', 'rpc.halt']);
});
