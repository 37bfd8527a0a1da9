// The model harness's coverage assertion can fail: on a toy machine (a guarded branch, a delay, an
// explicit ignore), a path set that never takes a defined transition is reported with that
// transition's name — both when paths are dropped and when the event list cannot reach a guarded
// branch (where the old adjacency-edge check still passes, because edgePaths builds one path per
// edge and then counts those very edges).
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { createActor, setup, type AnyStateMachine, type Snapshot } from 'xstate';
import type { TestPath } from 'xstate/graph';
import {
  canModel,
  coverageOf,
  definedTransitions,
  edgePaths,
  expectTransitionCoverage,
  recordingReplay,
  transitionCoverage,
  watchTransitions,
} from './model-harness.ts';

type ToyEvent = { type: 'push'; hard: boolean } | { type: 'reset' } | { type: 'poke' } | { type: 'xstate.after.settle.toy.busy' };

const SETTLE_MS = 100;

const toy = setup({
  types: { events: {} as ToyEvent },
  delays: { settle: SETTLE_MS },
  guards: { isHard: ({ event }) => event.type === 'push' && event.hard },
}).createMachine({
  id: 'toy',
  initial: 'idle',
  on: { poke: { target: '.idle' } },
  states: {
    idle: { on: { push: [{ guard: 'isHard', target: 'broken' }, { target: 'busy' }] } },
    busy: { after: { settle: 'idle' }, on: { reset: 'idle' } },
    // Swallows `poke` here (the root would otherwise handle it): an ignore, not a transition.
    broken: { on: { reset: 'idle', poke: {} } },
  },
});

const ALL_EVENTS: ToyEvent[] = [{ type: 'push', hard: false }, { type: 'push', hard: true }, { type: 'reset' }, { type: 'poke' }, { type: 'xstate.after.settle.toy.busy' }];
const serialize = (snapshot: { value: unknown }) => JSON.stringify(snapshot.value);

function generated(events: ToyEvent[]) {
  return edgePaths(canModel(toy, events, serialize), serialize);
}

/** Replays each path on a real, watched actor: timers fire by the clock, the rest is sent. */
async function replay(paths: ReadonlyArray<TestPath<Snapshot<unknown> & { value: unknown }, ToyEvent>>, key: object = paths): Promise<void> {
  for (const path of paths) {
    const actor = createActor(toy);
    watchTransitions(actor);
    actor.start();
    await recordingReplay(key, async () => {
      for (const step of path.steps.slice(1)) {
        if (step.event.type.startsWith('xstate.after.')) await vi.advanceTimersByTimeAsync(SETTLE_MS);
        else actor.send(step.event);
        expect(actor.getSnapshot().value).toEqual((step.state as { value: unknown }).value);
      }
    });
    actor.stop();
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

test('the machine defines six transitions; the explicit ignore is not one of them', () => {
  expect(definedTransitions(toy as AnyStateMachine)).toEqual([
    'toy: poke → toy.idle',
    'toy.idle: push#1 [isHard] → toy.broken',
    'toy.idle: push#2 → toy.busy',
    'toy.busy: reset → toy.idle',
    'toy.busy: xstate.after.settle.toy.busy → toy.idle',
    'toy.broken: reset → toy.idle',
  ]);
});

test('every path replayed: nothing missing, and the assertion passes', async () => {
  const { paths } = generated(ALL_EVENTS);
  await replay(paths);
  expect(transitionCoverage(toy as AnyStateMachine, paths).missing).toEqual([]);
  expect(() => expectTransitionCoverage(toy as AnyStateMachine, paths, { minimum: 6 })).not.toThrow();
});

test('a deliberately incomplete path set fails, naming the transitions it never takes', async () => {
  const { paths } = generated(ALL_EVENTS);
  const incomplete = paths.filter((p) => !p.steps.some((s) => s.event.type === 'reset'));
  expect(incomplete.length).toBeLessThan(paths.length);
  await replay(incomplete);
  expect(transitionCoverage(toy as AnyStateMachine, incomplete).missing).toEqual(['toy.busy: reset → toy.idle', 'toy.broken: reset → toy.idle']);
  expect(() => expectTransitionCoverage(toy as AnyStateMachine, incomplete, { minimum: 6 })).toThrow(/toy\.busy: reset → toy\.idle/);
});

test('an event list that cannot reach a guarded branch: the old edge check passes, the measured one fails', async () => {
  const softOnly = ALL_EVENTS.filter((e) => !(e.type === 'push' && e.hard));
  const { adjacency, paths } = generated(softOnly);
  expect(coverageOf(adjacency, paths, serialize).unwalked).toEqual([]);
  await replay(paths);
  expect(transitionCoverage(toy as AnyStateMachine, paths).missing).toEqual(['toy.idle: push#1 [isHard] → toy.broken', 'toy.broken: reset → toy.idle']);
  expect(() => expectTransitionCoverage(toy as AnyStateMachine, paths, { minimum: 6 })).toThrow(/push#1 \[isHard\]/);
  // Listing a transition as unreachable (with its reason) is the only way past it.
  expect(() =>
    expectTransitionCoverage(toy as AnyStateMachine, paths, {
      minimum: 6,
      unreachable: { 'toy.idle: push#1 [isHard] → toy.broken': 'test: no hard push listed', 'toy.broken: reset → toy.idle': 'test: broken unreachable' },
    }),
  ).not.toThrow();
});

test('a coverage check with no replay behind it fails instead of passing vacuously', () => {
  const { paths } = generated(ALL_EVENTS);
  expect(() => expectTransitionCoverage(toy as AnyStateMachine, paths, { minimum: 6 })).toThrow(/no generated path was replayed/);
});
