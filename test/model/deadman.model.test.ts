// Model-based test of the dead-man machine (src/machines/deadman.machine.ts): one `TestModel`
// path per adjacency edge (payload variants included), dead-man off and on at start, replayed on
// the real actor — the child of a recording test parent, as the root spawns it — with fake timers.
// Each step is checked against an independent oracle written from the brief (state, time in force,
// commander, last heard, last stop, what the root hears); a path that ends armed must fire
// `deadman.expired` to the root exactly at last heard + the dead-man time, not 1 ms earlier.
// Non-edges are refused; transition coverage is measured. Not here: the root stopping motion on
// expiry (test/simulation/deadman.test.ts, on the composed driver).
import { afterEach, describe, expect, test, vi } from 'vitest';
import type { ActorLogic, SnapshotFrom } from 'xstate';
import { deadmanMachine, deadmanMayStop, deadmanStatus, silentForDeadmanTime, isStreamCommand, motionRunning, runningCommander, type DeadmanContext, type DeadmanEvent, type DeadmanExpired, type DeadmanInput, type DeadmanMachine } from '../../src/machines/deadman.machine.ts';
import { canModel, edgePaths, eventListTest, executorTable, fireTimer, MODEL_START_MS as START_MS, pathTests, refusalTable, sendTaken, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';
import { childOfRecorder } from './test-parent.ts';

/** Clock advance before every sent event (far below the dead-man times, so no deadline passes between steps). */
const STEP_MS = 20;
const EXPIRY = 'xstate.after.deadmanDue.deadman.armed';
/** Two dead-man times (ms), so a policy change while armed must move the deadline. */
const SHORT_MS = 600;
const LONG_MS = 1_000;

type Ev = DeadmanEvent | { type: typeof EXPIRY };

const EVENTS: Ev[] = [
  { type: 'deadman.arm', commander: 'alice', stream: false },
  { type: 'deadman.arm', commander: 'bob', stream: true },
  { type: 'deadman.disarm' },
  { type: 'caller.heard', who: 'alice' },
  { type: 'caller.heard', who: 'bob' },
  { type: 'caller.heard', who: 'anonymous' },
  { type: 'deadman.policy', ms: LONG_MS, commander: null },
  { type: 'deadman.policy', ms: SHORT_MS, commander: 'alice' },
  { type: 'deadman.policy', ms: null, commander: null },
  { type: 'deadman.policy', ms: null, commander: 'bob' },
  { type: 'deadman.stopped', reason: 'dead-man: alice silent for 600 ms' },
  { type: EXPIRY },
];

type Snap = SnapshotView<DeadmanContext, Ev>;

function serialize(snapshot: { value: unknown; status: string; context: DeadmanContext }): string {
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${snapshot.context.ms}|${snapshot.context.commander}`;
}

interface Expected {
  value: 'disarmed' | 'armed';
  context: DeadmanContext;
  toParent: DeadmanExpired[];
}

/** The brief, as an oracle: what the dead-man must do with `event` at `now` (wall) / `mono` (performance.now()), or null if it must not handle it. */
function oracle(value: unknown, ctx: DeadmanContext, event: Ev, now: number, mono: number): Expected | null | undefined {
  const armed = value === 'armed';
  const stay = (context: DeadmanContext): Expected => ({ value: armed ? 'armed' : 'disarmed', context, toParent: [] });
  switch (event.type) {
    case 'deadman.stopped':
      return stay({ ...ctx, lastStopAt: now, lastStopReason: event.reason });
    case 'deadman.arm':
      // Off: motion runs unwatched. On: the command's owner is the commander, heard just now.
      if (ctx.ms === null) return null;
      return { value: 'armed', context: { ...ctx, commander: event.commander, heardAt: now, heardMono: mono, stream: event.stream }, toParent: [] };
    case 'deadman.disarm':
      // An explicit stop or trip: nothing left to watch.
      return armed ? { value: 'disarmed', context: ctx, toParent: [] } : null;
    case 'caller.heard':
      // Only the commander's words count, and only while armed.
      return armed && event.who === ctx.commander ? stay({ ...ctx, heardAt: now, heardMono: mono }) : null;
    case 'deadman.policy':
      if (armed) return event.ms === null ? { value: 'disarmed', context: { ...ctx, ms: null }, toParent: [] } : stay({ ...ctx, ms: event.ms });
      // Turned on while motion runs: armed for the motion's owner from now (as a move, not a stream).
      if (event.ms !== null && event.commander !== null) return { value: 'armed', context: { ...ctx, ms: event.ms, commander: event.commander, heardAt: now, heardMono: mono, stream: false }, toParent: [] };
      return stay({ ...ctx, ms: event.ms });
    case EXPIRY:
      if (!armed) return null;
      return { value: 'disarmed', context: ctx, toParent: [{ type: 'deadman.expired', commander: ctx.commander!, silentMs: ctx.ms!, ms: ctx.ms!, stream: ctx.stream }] };
  }
}

const createSut = (input: DeadmanInput) => childOfRecorder<DeadmanMachine, Snap>(deadmanMachine, input);
type Sut = ReturnType<typeof createSut>;

async function step(sut: Sut, event: Ev): Promise<void> {
  const before = sut.snap();
  const heard = sut.toParent().length;
  if (event.type === EXPIRY) {
    expect(before.value).toBe('armed');
    const remaining = before.context.heardAt + before.context.ms! - Date.now();
    expect(remaining).toBeGreaterThan(1);
    await fireTimer(remaining, () => {
      expect(sut.snap().value, 'the dead-man must not fire early').toBe('armed');
      expect(sut.toParent().length).toBe(heard);
    });
  } else {
    await sendTaken(sut, event, STEP_MS);
  }
  const expected = oracle(before.value, before.context, event, Date.now(), performance.now());
  expect(expected, `oracle refuses ${JSON.stringify(event)} in ${String(before.value)}`).not.toBeNull();
  const after = sut.snap();
  expect(after.value).toBe(expected!.value);
  expect(after.context).toEqual(expected!.context);
  expect(sut.toParent().slice(heard)).toEqual(expected!.toParent);
}

describe.each([
  ['off at start', { ms: null }],
  ['on at start', { ms: SHORT_MS }],
] as const)('dead-man machine, %s', (_title, input: DeadmanInput) => {
  // The graph is walked on the real clock, where a deadline never passes between two steps: its timer
  // is taken as firing on time there. The replay runs the machine as it is, on the fake clock, where
  // it fires exactly at the deadline; a timer that fires early has its own test below.
  const onTime = deadmanMachine.provide({ guards: { silentLongEnough: () => true } });
  const logic = onTime as unknown as ActorLogic<SnapshotFrom<DeadmanMachine>, DeadmanEvent, DeadmanInput>;
  const model = canModel(logic, EVENTS as DeadmanEvent[], serialize, input);
  const { adjacency, paths, prefixes } = edgePaths(model, serialize, {
    input,
    // A path that ends armed lets the deadline pass: the expiry step checks it fires exactly at the (re)armed deadline.
    drain: ({ next }) => (next.value === 'armed' ? ([{ type: EXPIRY }] as unknown as DeadmanEvent[]) : []),
  });
  const current = useFakeClock(() => createSut(input));
  const executors = executorTable(EVENTS, (event) => step(current(), event as Ev));

  eventListTest(deadmanMachine, EVENTS);

  pathTests(model, paths, executors, () => current().snap(), (actual) => {
    // Exactly one timer (the deadline) while armed, none while disarmed.
    expect(vi.getTimerCount()).toBe(actual.value === 'armed' ? 1 : 0);
    if (actual.value === 'armed') {
      expect(actual.context.ms).not.toBeNull();
      expect(actual.context.commander).not.toBeNull();
      expect(actual.context.heardAt + actual.context.ms!).toBeGreaterThan(Date.now());
    }
  });

  refusalTable('refuses every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    delayed: (e) => e.type === EXPIRY,
    step,
    oracle: (_sut, before, event) => oracle(before.value, before.context, event, Date.now(), performance.now()),
    parentHeard: (sut) => sut.toParent().length,
  });

  transitionCoverageTest(deadmanMachine, paths, {
    minimum: 10,
    unreachable: {
      'deadman.armed: xstate.after.deadmanDue.deadman.armed#2 → deadman.armed': 'only a timer that fires early takes it; the fake clock fires on time (taken in "a deadline timer that fires early" below)',
    },
  });
});

// `deadmanStatus` (get_status) is checked against the snapshot; the pure motion readings beside it.
describe('dead-man status and motion reading', () => {
  afterEach(() => vi.useRealTimers());

  test('get_status: armed only while the policy is on, the machine armed and motion runs; the last stop stays', async () => {
    vi.useFakeTimers({ now: START_MS });
    const sut = createSut({ ms: SHORT_MS });
    expect(deadmanStatus(sut.snap(), SHORT_MS, true)).toEqual({ ms: SHORT_MS, armed: false, commander: null, last_heard_at: null, last_stop_at: null, last_stop_reason: null });
    sut.actor.send({ type: 'deadman.arm', commander: 'alice', stream: false });
    const armedAt = new Date(START_MS).toISOString();
    expect(deadmanStatus(sut.snap(), SHORT_MS, true)).toMatchObject({ armed: true, commander: 'alice', last_heard_at: armedAt });
    expect(deadmanStatus(sut.snap(), SHORT_MS, false).armed, 'motion ended: not armed').toBe(false);
    expect(deadmanStatus(sut.snap(), null, true).armed, 'policy off: not armed').toBe(false);
    await vi.advanceTimersByTimeAsync(SHORT_MS);
    sut.actor.send({ type: 'deadman.stopped', reason: 'dead-man: alice silent for 600 ms' });
    expect(deadmanStatus(sut.snap(), SHORT_MS, true)).toEqual({
      ms: SHORT_MS,
      armed: false,
      commander: 'alice',
      last_heard_at: armedAt,
      last_stop_at: new Date(START_MS + SHORT_MS).toISOString(),
      last_stop_reason: 'dead-man: alice silent for 600 ms',
    });
    sut.actor.stop();
  });

  test('a deadline timer that fires early (Node counts whole ms from the turn that set it) arms again for the rest; the stop comes once the time has passed', async () => {
    vi.useFakeTimers({ now: START_MS });
    const sut = createSut({ ms: SHORT_MS });
    sut.actor.send({ type: 'deadman.arm', commander: 'alice', stream: false });
    await vi.advanceTimersByTimeAsync(SHORT_MS - 1);
    // The deadline's own event, a millisecond before the time has passed.
    sut.actor.send({ type: EXPIRY } as unknown as DeadmanEvent);
    expect(sut.snap().value).toBe('armed');
    expect(sut.toParent(), 'no stop before the dead-man time').toEqual([]);
    expect(vi.getTimerCount(), 'one deadline, set again for the rest').toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sut.snap().value).toBe('disarmed');
    expect(sut.toParent()).toEqual([{ type: 'deadman.expired', commander: 'alice', silentMs: SHORT_MS, ms: SHORT_MS, stream: false }]);
    expect(silentForDeadmanTime({ ms: SHORT_MS, heardMono: 10 }, 10 + SHORT_MS - 0.001)).toBe(false);
    expect(silentForDeadmanTime({ ms: SHORT_MS, heardMono: 10 }, 10 + SHORT_MS)).toBe(true);
    expect(silentForDeadmanTime({ ms: null, heardMono: 10 }, 1e9), 'off: never').toBe(false);
    sut.actor.stop();
  });

  test('an expired dead-man stops running motion, and a stream whose last target settled; never a stop in progress', () => {
    const states = ['idle', 'commanded', 'moving', 'stopping', 'stopRetry', 'error'];
    expect(states.filter((s) => deadmanMayStop({ stream: false }, s))).toEqual(['commanded', 'moving']);
    expect(states.filter((s) => deadmanMayStop({ stream: true }, s))).toEqual(['idle', 'commanded', 'moving']);
    expect(isStreamCommand({ op: 'head_target', head: [] })).toBe(true);
    expect(isStreamCommand({ op: 'antennas_target' })).toBe(true);
    expect(isStreamCommand({ op: 'body_yaw_target' })).toBe(true);
    expect(isStreamCommand({ op: 'goto', duration: 5 })).toBe(false);
    expect(isStreamCommand({ op: 'play', move: 'wake_up' })).toBe(false);
  });

  test('motion runs in commanded and moving only; its owner is the commander then', () => {
    const active = { owner: 'alice' };
    expect(['idle', 'commanded', 'moving', 'stopping', 'stopRetry', 'error'].filter(motionRunning)).toEqual(['commanded', 'moving']);
    expect(runningCommander({ value: 'moving', context: { active } })).toBe('alice');
    expect(runningCommander({ value: 'commanded', context: { active } })).toBe('alice');
    expect(runningCommander({ value: 'stopping', context: { active: null } })).toBeNull();
    expect(runningCommander({ value: 'idle', context: { active: null } })).toBeNull();
  });
});
