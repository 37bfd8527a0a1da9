// Model-based test of the approvals machine (src/machines/approvals.machine.ts): one `TestModel`
// path per adjacency edge (payload variants included, each ending in the expiry of whatever is
// still pending), replayed on the real actor — the child of a recording test parent, as the root
// spawns it — with fake timers. Each step is checked against an independent oracle written from
// the brief: the pending list, and what the parent hears (requested; decided approved / denied /
// stopped / timeout with who and why; the supervisor's answer, ApprovalNotFound for an id not
// pending). Every non-edge pair is refused (`can()` false, nothing changes, nothing heard);
// coverage is measured at the end. Not here: the root's approval stage (approvals-root.test.ts).
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { ActorLogic, SnapshotFrom } from 'xstate';
import { approvalsMachine, approvalView, type ApprovalsContext, type ApprovalsEvent, type ApprovalsInput, type ApprovalsMachine, type PendingApproval } from '../../src/machines/approvals.machine.ts';
import { canModel, edgePaths, eventListTest, executorTable, fireTimer, pathTests, refusalTable, sendTaken, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';
import { childOfRecorder } from './test-parent.ts';
import { plainEvents } from '../harness/plain-events.ts';

/** Clock advance before every sent event, so a re-armed timer is really re-computed from a later instant. */
const STEP_MS = 250;
const EXPIRY = 'xstate.after.approvalExpiry.approvals.holding';

type Ev = ApprovalsEvent | { type: typeof EXPIRY };

/** A held goto (motion, 2 s) and a held sound (not motion, 5 s): the goto always expires first on these short paths. */
const GOTO = { type: 'approval.request', approvalId: 'a1', function: 'goto_pose', params: { yaw: 20 }, owner: 'alice', caller: 'agent-1', motion: true, timeoutS: 2 } as const;
const SOUND = { type: 'approval.request', approvalId: 'a2', function: 'play_audio_file', params: { file: 'hello.wav' }, owner: 'bob', caller: null, motion: false, timeoutS: 5 } as const;
/** A held reset (not motion, 3 s): a trip ends it, a stop that does not trip leaves it. */
const RESET = { type: 'approval.request', approvalId: 'a3', function: 'reset_interlock', params: {}, owner: 'dave', caller: null, motion: false, timeoutS: 3 } as const;

const EVENTS: Ev[] = [
  GOTO,
  SOUND,
  RESET,
  { type: 'approval.approve', requestId: 'rq-approve-a1', approvalId: 'a1', owner: 'operator', reason: 'area clear' },
  { type: 'approval.approve', requestId: 'rq-approve-a2', approvalId: 'a2', owner: 'operator', reason: 'ok' },
  { type: 'approval.deny', requestId: 'rq-deny-a1', approvalId: 'a1', owner: 'operator', reason: 'someone is there' },
  { type: 'approval.deny', requestId: 'rq-deny-a2', approvalId: 'a2', owner: 'supervisor', reason: 'too loud' },
  { type: 'approval.approve', requestId: 'rq-approve-zz', approvalId: 'zz', owner: 'operator', reason: 'ok' },
  { type: 'approval.deny', requestId: 'rq-deny-zz', approvalId: 'zz', owner: 'operator', reason: 'no' },
  { type: 'approval.stop', owner: 'carol', reason: 'stop_motion', tripped: false },
  { type: 'approval.stop', owner: 'erin', reason: 'emergency_stop: cable', tripped: true },
  { type: EXPIRY },
];

type Snap = SnapshotView<ApprovalsContext, Ev>;

function serialize(snapshot: { value: unknown; status: string; context: ApprovalsContext }): string {
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${snapshot.context.pending.map((p) => p.approvalId).join(',')}`;
}


interface Expected {
  pending: PendingApproval[];
  toParent: unknown[];
}

/**
 * The brief, as an oracle: the pending list and what the parent hears after `event` at `now` (the
 * wall clock, for display) and `mono` (the monotonic clock timeouts run on), or null when it must
 * be ignored.
 */
function oracle(ctx: ApprovalsContext, event: Ev, now: number, mono: number): Expected | null {
  const pending = [...ctx.pending];
  const decided = (approval: PendingApproval, decision: string, by: string, reason: string) => ({ type: 'approvals.decided', approval, decision, by, reason, at: now });
  switch (event.type) {
    case 'approval.request': {
      if (pending.some((p) => p.approvalId === event.approvalId)) return null;
      const { type: _type, ...request } = event;
      if (pending.length >= ctx.maxPending) {
        return { pending, toParent: [decided({ ...request, requestedAt: now, expiresAt: now, deadline: mono }, 'denied', 'driver', `${ctx.maxPending} calls are already waiting for approval`)] };
      }
      const approval = { ...request, requestedAt: now, expiresAt: now + request.timeoutS * 1000, deadline: mono + request.timeoutS * 1000 };
      return { pending: [...pending, approval], toParent: [{ type: 'approvals.requested', approval }] };
    }
    case 'approval.approve':
    case 'approval.deny': {
      const approval = pending.find((p) => p.approvalId === event.approvalId);
      if (!approval) return { pending, toParent: [{ type: 'approvals.answer', requestId: event.requestId, ok: false, error: { _tag: 'ApprovalNotFound', approval_id: event.approvalId } }] };
      const decision = event.type === 'approval.approve' ? 'approved' : 'denied';
      return {
        pending: pending.filter((p) => p !== approval),
        toParent: [decided(approval, decision, event.owner, event.reason), { type: 'approvals.answer', requestId: event.requestId, ok: true, result: { status: decision, approval_id: approval.approvalId, function: approval.function } }],
      };
    }
    case 'approval.stop': {
      if (pending.length === 0) return null;
      // Held motion never starts after a stop; a held reset never clears a trip that came after it.
      const ends = (p: PendingApproval) => p.motion || (event.tripped && p.function === 'reset_interlock');
      return { pending: pending.filter((p) => !ends(p)), toParent: pending.filter(ends).map((p) => decided(p, 'stopped', event.owner, event.reason)) };
    }
    case EXPIRY: {
      if (pending.length === 0) return null;
      const first = [...pending].sort((a, b) => a.expiresAt - b.expiresAt)[0]!;
      return { pending: pending.filter((p) => p !== first), toParent: [decided(first, 'timeout', 'timeout', `not decided within ${first.timeoutS} s`)] };
    }
  }
}

const createSut = (input: ApprovalsInput) => childOfRecorder<ApprovalsMachine, Snap>(approvalsMachine, input);
type Sut = ReturnType<typeof createSut>;

async function step(sut: Sut, event: Ev): Promise<void> {
  const before = sut.snap();
  const heard = sut.toParent().length;
  if (event.type === EXPIRY) {
    const first = Math.min(...before.context.pending.map((p) => p.expiresAt));
    const remaining = first - Date.now();
    expect(remaining).toBeGreaterThan(0);
    await fireTimer(remaining, () => {
      expect(sut.snap().context.pending, 'no request may expire early').toEqual(before.context.pending);
      expect(sut.toParent().length).toBe(heard);
    });
  } else {
    await sendTaken(sut, event as ApprovalsEvent, STEP_MS);
  }
  const expected = oracle(before.context, event, Date.now(), performance.now());
  expect(expected, `oracle ignores ${JSON.stringify(event)} with ${before.context.pending.length} pending`).not.toBeNull();
  const after = sut.snap();
  expect(after.context.pending).toEqual(expected!.pending);
  expect(after.value).toBe(expected!.pending.length === 0 ? 'idle' : 'holding');
  expect(plainEvents(sut.toParent().slice(heard))).toEqual(expected!.toParent);
}

/** Transitions only the other run can take, by room. */
const OTHER_RUN: Record<number, Record<string, string>> = {
  2: { 'approvals.holding: approval.request#2 [isNew] → (stays)': 'a full list: the run with room for one takes it' },
  1: { 'approvals.holding: approval.request#1 [and] → approvals.holding': 'a second pending request: the run with room for two takes it' },
};

// Run with room for both requests and for one: a request beyond the list's room is denied at once
// by `driver` and never listed. A stop ends every pending motion request, a trip also a pending
// reset, and no other; the one
// timer fires exactly at the earliest expiry, not a millisecond earlier, re-armed on every change.
describe.each([2, 1])('approvals machine, room for %i', (maxPending) => {
  const input: ApprovalsInput = { maxPending };
  const logic = approvalsMachine as unknown as ActorLogic<SnapshotFrom<ApprovalsMachine>, Ev, ApprovalsInput>;
  const model = canModel(logic, EVENTS, serialize, input);
  // Every path that ends with requests pending lets them expire one by one: each expiry must come
  // exactly at the earliest `expiresAt`, so a change that failed to re-arm the timer is caught.
  const { adjacency, paths, prefixes } = edgePaths(model, serialize, {
    input,
    drain: ({ next }) => Array.from({ length: (next.context as ApprovalsContext).pending.length }, () => ({ type: EXPIRY }) as Ev),
  });
  const current = useFakeClock(() => createSut(input));
  const executors = executorTable(EVENTS, (event) => step(current(), event as Ev));

  eventListTest(approvalsMachine, EVENTS);

  pathTests(model, paths, executors, () => current().snap(), (actual, expected) => {
    expect(actual.context.pending.map((p) => p.approvalId)).toEqual(expected.context.pending.map((p) => p.approvalId));
    // One timer (the earliest expiry) while anything is pending, none when idle.
    expect(vi.getTimerCount()).toBe(actual.value === 'holding' ? 1 : 0);
    for (const p of actual.context.pending) expect(p.expiresAt).toBeGreaterThan(Date.now());
  });

  refusalTable('refuses every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    delayed: (e) => e.type === EXPIRY,
    step,
    oracle: (_sut, before, event) => oracle(before.context, event, Date.now(), performance.now()),
    parentHeard: (sut) => sut.toParent().length,
  });

  transitionCoverageTest(approvalsMachine, paths, { minimum: 10, unreachable: OTHER_RUN[maxPending]! });
});

describe('a wall-clock step (NTP sync on a robot without a real-time clock) neither times requests out nor keeps them', () => {
  const HOUR_MS = 3_600_000;
  afterEach(() => vi.useRealTimers());

  test('an hour back, then another request: the first still times out after its own timeout', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const sut = createSut({ maxPending: 4 });
    sut.actor.send(GOTO);
    await vi.advanceTimersByTimeAsync(0);
    vi.setSystemTime(Date.now() - HOUR_MS);
    // A change re-arms the timer: before 2026-12-06 it was re-armed from the wall clock, an hour on.
    sut.actor.send(SOUND);
    await vi.advanceTimersByTimeAsync(GOTO.timeoutS * 1000 - 1);
    expect(sut.snap().context.pending.map((p) => p.approvalId)).toEqual(['a1', 'a2']);
    await vi.advanceTimersByTimeAsync(1);
    expect(sut.snap().context.pending.map((p) => p.approvalId)).toEqual(['a2']);
    expect(approvalView(sut.snap().context.pending[0]!)['expires_in_s']).toBe(SOUND.timeoutS - GOTO.timeoutS);
    sut.actor.stop();
  });

  test('an hour forward: nothing times out early, and the time left stays true', async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    const sut = createSut({ maxPending: 4 });
    sut.actor.send(SOUND);
    await vi.advanceTimersByTimeAsync(1_000);
    vi.setSystemTime(Date.now() + HOUR_MS);
    sut.actor.send(GOTO);
    await vi.advanceTimersByTimeAsync(0);
    expect(sut.snap().context.pending.map((p) => p.approvalId)).toEqual(['a2', 'a1']);
    expect(approvalView(sut.snap().context.pending[0]!)['expires_in_s']).toBe(SOUND.timeoutS - 1);
    sut.actor.stop();
  });
});
