// The gate's approval stage (src/actors/approval-stage.ts) and the gate's hold (src/actors/rpc-gate.ts):
// a call refused by the state gate is refused at once and never held; a held call reaches the
// machine only after its approval, and only if the state gate still allows it then; a denial or a
// timeout is the caller's answer and nothing is sent. The stage reads the policy's list at call time,
// sends one `approval.request` with a bounded summary of the params, maps each decision to its typed
// answer, and answers ApprovalTimeout on its own if the root never decides.
import { afterEach, expect, test, vi } from 'vitest';
import { createActor, emit, setup, type Actor } from 'xstate';
import { APPROVAL_BACKSTOP_MARGIN_MS, createApprovalStage, paramsSummary, SUMMARY_MAX_STRING, verdictOf } from '../../src/actors/approval-stage.ts';
import { createRpcGate } from '../../src/actors/rpc-gate.ts';
import { ApprovalDenied, type RpcFailure } from '../../src/errors.ts';
import type { PendingApproval } from '../../src/machines/approvals.machine.ts';
import type { DriverMachine } from '../../src/machines/driver.machine.ts';
import { defineFunction } from '../../src/rpc/function-def.ts';
import { defineParams, numberParam } from '../../src/rpc/params.ts';

type Ev = { type: 'rpc.move'; requestId: string; x: number } | { type: 'lock' } | { type: 'unlock' };

const machine = setup({
  types: { events: {} as Ev, context: {} as { received: number[]; locked: boolean }, emitted: {} as { type: 'rpc.outcome'; requestId: string; ok: true; result: unknown } },
}).createMachine({
  context: () => ({ received: [], locked: false }),
  on: {
    'rpc.move': {
      guard: ({ context }) => !context.locked,
      actions: [({ context, event }) => void context.received.push(event.x), emit(({ event }) => ({ type: 'rpc.outcome' as const, requestId: (event as { requestId: string }).requestId, ok: true as const, result: { moved: (event as { x: number }).x } }))],
    },
    lock: { actions: ({ context }) => void (context.locked = true) },
    unlock: { actions: ({ context }) => void (context.locked = false) },
  },
});

const move = defineFunction<{ x: number }, Ev>({
  name: 'move',
  description: 'test',
  labels: { direction: 'write', safety: 'critical' },
  params: defineParams({ x: numberParam({ description: 'x', minimum: 0, maximum: 1 }) }),
  toEvent: (p, call) => ({ type: 'rpc.move', requestId: call.requestId, x: p.x }),
});

const noCaller = { sourceDevice: null, traceId: null };

/** A gate whose hold is a verdict the test gives (after `release`), recording what was held. */
function heldGate() {
  const actor = createActor(machine).start();
  const held: string[] = [];
  let release: (verdict: RpcFailure | null) => void = () => undefined;
  const refusals: string[] = [];
  const gate = createRpcGate({
    functions: [move],
    target: actor,
    onRefusal: ({ error }) => refusals.push(error._tag),
    hold: ({ fn }) => {
      held.push(fn);
      return new Promise((resolve) => (release = resolve));
    },
  });
  return { actor, gate, held, refusals, release: (verdict: RpcFailure | null) => release(verdict) };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

test('a call the state gate refuses is refused at once, never held', async () => {
  const { actor, gate, held, refusals } = heldGate();
  actor.send({ type: 'lock' });
  expect((await gate.call('move', { x: 0.5 }, noCaller)).ok).toBe(false);
  expect(held).toEqual([]);
  expect(refusals).toEqual(['NotAllowedInState']);
});

test('a held call reaches the machine only once approved', async () => {
  const { actor, gate, held, release } = heldGate();
  const reply = gate.call('move', { x: 0.5 }, noCaller);
  await flush();
  expect(held).toEqual(['move']);
  expect(actor.getSnapshot().context.received).toEqual([]);
  release(null);
  expect(await reply).toEqual({ ok: true, result: { moved: 0.5 } });
  expect(actor.getSnapshot().context.received).toEqual([0.5]);
});

test('approved after the state changed: the state gate decides again and nothing is sent', async () => {
  const { actor, gate, release, refusals } = heldGate();
  const reply = gate.call('move', { x: 0.5 }, noCaller);
  await flush();
  actor.send({ type: 'lock' });
  release(null);
  expect(await reply).toMatchObject({ ok: false, error: { _tag: 'NotAllowedInState' } });
  expect(actor.getSnapshot().context.received).toEqual([]);
  expect(refusals).toEqual(['NotAllowedInState']);
});

test('a denial is the answer and nothing is sent (not audited as a gate refusal: the trail audits the decision)', async () => {
  const { actor, gate, release, refusals } = heldGate();
  const reply = gate.call('move', { x: 0.5 }, noCaller);
  await flush();
  release(new ApprovalDenied({ message: 'no', approval_id: 'a1', denied_by: 'op', reason: 'no' }));
  expect(await reply).toMatchObject({ ok: false, error: { _tag: 'ApprovalDenied', approval_id: 'a1', denied_by: 'op' } });
  expect(actor.getSnapshot().context.received).toEqual([]);
  expect(refusals).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// The stage against a stand-in root: its policy, the requests it is sent, and its decisions.

type Decided = { type: 'approval.decided'; approval: PendingApproval; decision: 'approved' | 'denied' | 'timeout' | 'stopped'; by: string; reason: string; at: number };

function fakeRoot(functions: string[], timeout_s = 5) {
  const sent: Array<Record<string, any>> = [];
  const listeners = new Set<(e: Decided) => void>();
  const policy = { approval: { functions, timeout_s } };
  const root = {
    getSnapshot: () => ({ context: { policy } }),
    send: (e: Record<string, any>) => void sent.push(e),
    on: (_type: string, handler: (e: Decided) => void) => {
      listeners.add(handler);
      return { unsubscribe: () => listeners.delete(handler) };
    },
  };
  const decide = (approvalId: string, decision: Decided['decision'], by = 'op', reason = 'because') => {
    const request = sent.find((e) => e.approvalId === approvalId)!;
    const approval = { ...request, requestedAt: 0, expiresAt: 0 } as unknown as PendingApproval;
    for (const l of [...listeners]) l({ type: 'approval.decided', approval, decision, by, reason, at: 0 });
  };
  return { stage: createApprovalStage(() => root as unknown as Actor<DriverMachine>), sent, policy, decide, listeners };
}

afterEach(() => vi.useRealTimers());

test('functions not in the policy list are not held (null, synchronously), and the list is read at call time', () => {
  const { stage, sent, policy } = fakeRoot(['goto_pose']);
  expect(stage({ fn: 'look_at_world', event: { type: 'rpc.motion', owner: 'a' }, params: {}, caller: noCaller })).toBeNull();
  expect(sent).toEqual([]);
  policy.approval = { functions: ['goto_pose', 'look_at_world'], timeout_s: 5 };
  expect(stage({ fn: 'look_at_world', event: { type: 'rpc.motion', owner: 'a' }, params: {}, caller: noCaller })).not.toBeNull();
  expect(sent).toHaveLength(1);
});

test('a held call sends one request (owner, caller, motion, summary) and waits for its own decision only', async () => {
  const { stage, sent, decide, listeners } = fakeRoot(['goto_pose', 'play_audio_file'], 7);
  const verdict = stage({ fn: 'goto_pose', event: { type: 'rpc.motion', owner: 'alice' }, params: { yaw: 20, _dc_meta: { source_device: 'x' } }, caller: { sourceDevice: 'agent-1', traceId: null } })!;
  const sound = stage({ fn: 'play_audio_file', event: { type: 'rpc.media', owner: 'bob' }, params: { file: 'a.wav' }, caller: noCaller })!;
  expect(sent).toEqual([
    { type: 'approval.request', approvalId: expect.stringMatching(/^[0-9a-f-]{36}$/), function: 'goto_pose', params: { yaw: 20 }, owner: 'alice', caller: 'agent-1', motion: true, timeoutS: 7 },
    { type: 'approval.request', approvalId: expect.stringMatching(/^[0-9a-f-]{36}$/), function: 'play_audio_file', params: { file: 'a.wav' }, owner: 'bob', caller: null, motion: false, timeoutS: 7 },
  ]);
  decide(sent[1]!.approvalId, 'denied', 'op', 'too loud');
  expect(await sound).toMatchObject({ _tag: 'ApprovalDenied', approval_id: sent[1]!.approvalId, denied_by: 'op', reason: 'too loud' });
  decide(sent[0]!.approvalId, 'approved');
  expect(await verdict).toBeNull();
  expect(listeners.size).toBe(0);
});

test('a root that never decides: the stage answers ApprovalTimeout after the policy timeout plus its margin', async () => {
  vi.useFakeTimers();
  const { stage, sent, listeners } = fakeRoot(['goto_pose'], 2);
  let answer: RpcFailure | null | undefined;
  void stage({ fn: 'goto_pose', event: { type: 'rpc.motion', owner: 'a' }, params: {}, caller: noCaller })!.then((v) => (answer = v));
  await vi.advanceTimersByTimeAsync(2_000 + APPROVAL_BACKSTOP_MARGIN_MS - 1);
  expect(answer).toBeUndefined();
  await vi.advanceTimersByTimeAsync(1);
  expect(answer).toMatchObject({ _tag: 'ApprovalTimeout', approval_id: sent[0]!.approvalId, timeout_s: 2 });
  expect(listeners.size).toBe(0);
});

test('each decision has its typed answer: stopped is ApprovalDenied with reason "stopped" and who stopped', () => {
  const approval = { approvalId: 'a1', function: 'goto_pose', timeoutS: 3 } as PendingApproval;
  expect(verdictOf(approval, 'approved', 'op', 'ok')).toBeNull();
  expect(verdictOf(approval, 'denied', 'op', 'no')).toMatchObject({ _tag: 'ApprovalDenied', approval_id: 'a1', denied_by: 'op', reason: 'no' });
  expect(verdictOf(approval, 'stopped', 'carol', 'stop_motion')).toMatchObject({ _tag: 'ApprovalDenied', approval_id: 'a1', denied_by: 'carol', reason: 'stopped' });
  expect(verdictOf(approval, 'timeout', 'timeout', 'late')).toMatchObject({ _tag: 'ApprovalTimeout', approval_id: 'a1', timeout_s: 3 });
});

test('the params summary is bounded: long strings cut, long lists counted, deep objects elided, _dc_meta dropped', () => {
  const summary = paramsSummary({
    yaw: 20,
    wait: true,
    file: 'x'.repeat(500),
    samples: Array.from({ length: 1000 }, (_, i) => i),
    pose: { head: { roll: 1 }, list: [1, 2, 3] },
    _dc_meta: { source_device: 'agent' },
  });
  expect(summary).toEqual({ yaw: 20, wait: true, file: `${'x'.repeat(SUMMARY_MAX_STRING)}… (500 characters)`, samples: '[1000 items]', pose: { head: '{…}', list: '[3 items]' } });
  expect(JSON.stringify(paramsSummary(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'.repeat(1000)])))).length).toBeLessThan(2_000);
});
