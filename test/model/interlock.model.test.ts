// Model-based test of the interlock machine (src/machines/interlock.machine.ts): one `TestModel`
// path per adjacency edge (event payload variants included), replayed on the real actor — the
// child of a recording test parent, as the root spawns it — with fake timers. Each step is checked
// against an independent oracle written from the brief: next state, who tripped first, trip count,
// `since` of the last change, emitted `interlock.changed` and `interlock.stop_requested` with its
// source, and the same stop request sent to the parent. Every non-edge (state, event) pair is
// refused (`can()` false, nothing changes, nothing sent to the parent); every transition is taken.
// Not here: what the root does with the stop request (driver.model.test.ts).
import { describe, expect, test, vi } from 'vitest';
import type { ActorLogic, SnapshotFrom } from 'xstate';
import {
  interlockMachine,
  type InterlockContext,
  type InterlockEmitted,
  type InterlockEvent,
  type InterlockMachine,
} from '../../src/machines/interlock.machine.ts';
import { canModel, edgePaths, eventListTest, executorTable, MODEL_START_MS as START_MS, pathTests, refusalTable, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';
import { childOfRecorder } from './test-parent.ts';

/** Clock advance before every event, so `at`/`trippedAt` must be the time of the event. */
const STEP_MS = 250;

const EVENTS: InterlockEvent[] = [
  { type: 'interlock.trip', reason: 'e-stop pressed', source: 'rpc', owner: 'alice' },
  { type: 'interlock.trip', reason: 'operator stop', source: 'supervisor', owner: 'supervisor' },
  { type: 'daemon.state', state: 'error', error: 'motor 11 overload' },
  { type: 'daemon.state', state: 'error', error: null },
  { type: 'daemon.state', state: 'running' },
  { type: 'daemon.state', state: 'starting' },
  { type: 'daemon.state', state: 'stopped' },
  { type: 'daemon.state', state: 'not_initialized' },
  { type: 'interlock.reset', reason: 'area clear', source: 'rpc', owner: 'alice' },
  { type: 'interlock.reset', reason: 'supervisor reset', source: 'supervisor', owner: 'supervisor' },
];

/** What the daemon trip records as its reason (the brief: trips with source `daemon`). */
const DAEMON_REASONS: Record<string, string> = {
  'motor 11 overload': 'daemon reported state "error": motor 11 overload',
  null: 'daemon reported state "error"',
};

type Snap = SnapshotView<InterlockContext, InterlockEvent>;

function serialize(snapshot: { value: unknown; status: string; context: InterlockContext }): string {
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${snapshot.context.source}|${snapshot.context.owner}`;
}

interface Expected {
  value: 'safe' | 'tripped';
  context: InterlockContext;
  emitted: InterlockEmitted[];
  /** What the parent (the root) hears: the stop request, for every trip. */
  toParent: InterlockEmitted[];
}

/** The brief, as an oracle: what the interlock must do with `event` at `now`, or null if it must ignore it. */
function oracle(value: unknown, ctx: InterlockContext, event: InterlockEvent, now: number): Expected | null {
  const tripped = value === 'tripped';
  const trip = (reason: string, source: 'rpc' | 'supervisor' | 'daemon' | 'd2d', owner: string | null): Expected => ({
    value: 'tripped',
    context: { reason, source, owner, trippedAt: now, trips: ctx.trips + 1, since: now },
    emitted: [
      { type: 'interlock.changed', state: 'tripped', reason, source, owner, at: now },
      { type: 'interlock.stop_requested', reason, source },
    ],
    toParent: [{ type: 'interlock.stop_requested', reason, source }],
  });
  switch (event.type) {
    case 'interlock.trip':
      // A trip while tripped keeps the first trip's record; the stop is requested again.
      if (tripped) {
        const again = { type: 'interlock.stop_requested' as const, reason: ctx.reason!, source: ctx.source };
        return { value: 'tripped', context: ctx, emitted: [again], toParent: [again] };
      }
      return trip(event.reason, event.source, event.owner);
    case 'daemon.state':
      if (tripped || event.state !== 'error') return null;
      return trip(DAEMON_REASONS[String(event.error ?? null)]!, 'daemon', null);
    case 'interlock.reset':
      if (!tripped) return null;
      return {
        value: 'safe',
        context: { reason: event.reason, source: event.source, owner: event.owner, trippedAt: 0, trips: ctx.trips, since: now },
        emitted: [{ type: 'interlock.changed', state: 'safe', reason: event.reason, source: event.source, owner: event.owner, at: now }],
        toParent: [],
      };
  }
}

const createSut = () => childOfRecorder<InterlockMachine, Snap>(interlockMachine);
type Sut = ReturnType<typeof createSut>;

async function step(sut: Sut, event: InterlockEvent): Promise<void> {
  await vi.advanceTimersByTimeAsync(STEP_MS);
  const before = sut.snap();
  const mark = sut.emitted.length;
  const heard = sut.toParent().length;
  const now = Date.now();
  const expected = oracle(before.value, before.context, event, now);
  expect(expected, `oracle ignores ${JSON.stringify(event)} in ${String(before.value)}`).not.toBeNull();
  expect(before.can(event), JSON.stringify(event)).toBe(true);
  sut.actor.send(event);
  await vi.advanceTimersByTimeAsync(0);
  const after = sut.snap();
  expect(after.value).toBe(expected!.value);
  expect(after.context).toEqual(expected!.context);
  expect(sut.emitted.slice(mark)).toEqual(expected!.emitted);
  expect(sut.toParent().slice(heard)).toEqual(expected!.toParent);
}

describe('interlock machine', () => {
  const logic = interlockMachine as unknown as ActorLogic<SnapshotFrom<InterlockMachine>, InterlockEvent, undefined>;
  const model = canModel(logic, EVENTS, serialize);
  const { adjacency, paths, prefixes } = edgePaths(model, serialize);
  const current = useFakeClock(createSut);
  const executors = executorTable(EVENTS, (event) => step(current(), event as InterlockEvent));

  eventListTest(interlockMachine, EVENTS);

  pathTests(model, paths, executors, () => current().snap(), (actual, expected) => {
    const { reason, source, owner, trips } = actual.context;
    expect({ reason, source, owner, trips }).toEqual({
      reason: expected.context.reason,
      source: expected.context.source,
      owner: expected.context.owner,
      trips: expected.context.trips,
    });
    if (actual.value === 'safe') expect(actual.context.trippedAt).toBe(0);
    else expect(actual.context.trippedAt).toBeGreaterThan(START_MS);
    expect(vi.getTimerCount()).toBe(0);
  });

  refusalTable('ignores every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    step,
    oracle: (_sut, before, event) => oracle(before.value, before.context, event, Date.now()),
    // The parent heard exactly the stop requests the actor emitted: a refused event sent it nothing.
    check: (sut) => expect(sut.toParent()).toEqual(sut.emitted.filter((e) => e.type === 'interlock.stop_requested')),
  });

  transitionCoverageTest(interlockMachine, paths, { minimum: 4 });
});
