// Model-based test of the power machine (src/machines/power.machine.ts): one `TestModel` path per
// adjacency edge (event payload variants included), replayed on the real actor with fake timers.
// Each step is checked against an independent oracle written from the brief and
// reachy-daemon-api.md §7: next state, motor mode (gravity compensation is the `compliant` state,
// gated like asleep), whether the robot slept and was not woken since (motors enabled then leave it
// asleep), tracked sequence uuid, the `movable` tag, emitted `power.changed`. A path
// that ends inside a wake/sleep sequence must time out exactly SEQUENCE_TIMEOUT_MS after it began.
// Every non-edge (state, event) pair is refused (`can()` false, nothing changes); every transition
// is taken. Not here: how the root gates RPCs on power (driver.model.test.ts).
import { describe, expect, test, vi } from 'vitest';
import { createActor, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  MOTOR_MODES,
  MOVABLE_TAG,
  POWER_STATES,
  powerMachine,
  powerStateName,
  SEQUENCE_TAG,
  SEQUENCE_TIMEOUT_MS,
  type PowerContext,
  type PowerEvent,
  type PowerMachine,
  type PowerStateName,
  type PowerTag,
} from '../../src/machines/power.machine.ts';
import { canModel, edgePaths, eventListTest, executorTable, fireTimer, pathTests, recordingSut, refusalTable, sendTaken, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';

/** Clock advance before every sent event (well under the sequence timeout over any path). */
const STEP_MS = 250;
const WAKE_TIMEOUT = 'xstate.after.sequenceTimeout.power.waking';
const SLEEP_TIMEOUT = 'xstate.after.sequenceTimeout.power.going_to_sleep';
const WAKE_UUID = '7d1e1b0a-wake';
const SLEEP_UUID = '3f9c2c44-sleep';

type Ev = PowerEvent | { type: typeof WAKE_TIMEOUT } | { type: typeof SLEEP_TIMEOUT };

const EVENTS: Ev[] = [
  ...MOTOR_MODES.map((mode) => ({ type: 'daemon.motor_mode' as const, mode })),
  { type: 'power.wake_started', uuid: WAKE_UUID },
  { type: 'power.sleep_started', uuid: SLEEP_UUID },
  ...(['completed', 'failed', 'cancelled'] as const).flatMap((outcome) => [
    { type: 'daemon.move_done' as const, uuid: WAKE_UUID, outcome, details: '' },
    { type: 'daemon.move_done' as const, uuid: SLEEP_UUID, outcome },
  ]),
  // Someone else's move finishing (a goto, a superseded sequence): never ours.
  { type: 'daemon.move_done', uuid: 'a0b1c2d3-other', outcome: 'completed', details: '' },
  { type: 'daemon.move_done', uuid: 'a0b1c2d3-other', outcome: 'failed', details: 'boom' },
  { type: WAKE_TIMEOUT },
  { type: SLEEP_TIMEOUT },
];

interface Snap extends SnapshotView<PowerContext, Ev> {
  hasTag(tag: PowerTag): boolean;
}

function serialize(snapshot: { value: unknown; status: string; context: PowerContext }): string {
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${snapshot.context.motorMode}|${snapshot.context.sequenceUuid}|${snapshot.context.needsWake}`;
}

interface Expected {
  value: PowerStateName;
  motorMode: PowerContext['motorMode'];
  sequenceUuid: string | null;
  needsWake: boolean;
}

/** The brief, as an oracle: where `event` takes the power state, or null if it must be refused. */
function oracle(value: PowerStateName, ctx: PowerContext, event: Ev): Expected | null {
  const inSequence = value === 'waking' || value === 'going_to_sleep';
  const go = (next: PowerStateName, motorMode = ctx.motorMode, uuid: string | null = null): Expected => ({
    value: next,
    motorMode,
    sequenceUuid: next === 'waking' || next === 'going_to_sleep' ? uuid ?? ctx.sequenceUuid : null,
    // Set by sleeping, cleared only by being awake (a completed wake_up, or enabled before any sleep).
    needsWake: next === 'asleep' ? true : next === 'awake' ? false : ctx.needsWake,
  });
  switch (event.type) {
    case 'daemon.motor_mode': {
      // The mode is always recorded; the state follows it only outside a sequence.
      // disabled → asleep, gravity_compensation → compliant (motors on but compliant: gated like
      // asleep), enabled → awake — unless the robot slept and was not woken since (its head still
      // at the sleep pose): then asleep, whatever the state (asleep, compliant, unknown after an
      // unfinished sequence). Only a completed wake_up wakes a robot that slept.
      const m = event.mode;
      if (inSequence) return go(value, m);
      if (m === 'enabled') return go(ctx.needsWake ? 'asleep' : 'awake', m);
      return go(m === 'disabled' ? 'asleep' : 'compliant', m);
    }
    case 'power.wake_started':
      return value === 'waking' ? null : go('waking', ctx.motorMode, event.uuid);
    case 'power.sleep_started':
      return value === 'going_to_sleep' ? null : go('going_to_sleep', ctx.motorMode, event.uuid);
    case 'daemon.move_done':
      if (!inSequence || event.uuid !== ctx.sequenceUuid) return null;
      if (event.outcome !== 'completed') return go('unknown');
      // goto_sleep's last step disables the motors (§7): recorded as it completes.
      return value === 'waking' ? go('awake') : go('asleep', 'disabled');
    case WAKE_TIMEOUT:
      return value === 'waking' ? go('unknown') : null;
    case SLEEP_TIMEOUT:
      return value === 'going_to_sleep' ? go('unknown') : null;
  }
}

const createSut = () => recordingSut<PowerMachine, Snap>(createActor(powerMachine));
type Sut = ReturnType<typeof createSut>;

async function step(sut: Sut, event: Ev): Promise<void> {
  const before = sut.snap();
  const beforeState = powerStateName(before.value);
  const mark = sut.emitted.length;
  if (event.type === WAKE_TIMEOUT || event.type === SLEEP_TIMEOUT) {
    const remaining = before.context.since + SEQUENCE_TIMEOUT_MS - Date.now();
    expect(remaining).toBeGreaterThan(0);
    await fireTimer(remaining, () => {
      expect(sut.snap().value, 'the sequence must not time out early').toBe(before.value);
      expect(sut.emitted.length).toBe(mark);
    });
  } else {
    await sendTaken(sut, event, STEP_MS);
  }
  const now = Date.now();
  const expected = oracle(beforeState, before.context, event);
  expect(expected, `oracle refuses ${JSON.stringify(event)} in ${beforeState}`).not.toBeNull();
  const after = sut.snap();
  expect(after.value).toBe(expected!.value);
  expect({ motorMode: after.context.motorMode, sequenceUuid: after.context.sequenceUuid, needsWake: after.context.needsWake }).toEqual({ motorMode: expected!.motorMode, sequenceUuid: expected!.sequenceUuid, needsWake: expected!.needsWake });
  const changed = expected!.value !== beforeState;
  expect(after.context.since).toBe(changed ? now : before.context.since);
  expect(sut.emitted.slice(mark)).toEqual(changed ? [{ type: 'power.changed', state: expected!.value, at: now, motorMode: expected!.motorMode }] : []);
}

describe('power machine', () => {
  const logic = powerMachine as unknown as ActorLogic<SnapshotFrom<PowerMachine>, PowerEvent, undefined>;
  const model = canModel(logic, EVENTS as PowerEvent[], serialize);
  const { adjacency, paths, prefixes } = edgePaths(model, serialize, {
    // A path that ends inside a sequence then lets it time out (checks the timer's start and length).
    drain: ({ next }) => (next.value === 'waking' ? [{ type: WAKE_TIMEOUT }] : next.value === 'going_to_sleep' ? [{ type: SLEEP_TIMEOUT }] : []) as unknown as PowerEvent[],
  });

  const current = useFakeClock(createSut);
  const executors = executorTable(EVENTS, (event) => step(current(), event as Ev));

  eventListTest(powerMachine, EVENTS);

  test('every power state is reachable', () => {
    const reached = new Set(Object.values(adjacency).flatMap((a) => Object.values(a.transitions).map(({ state }) => state.value)));
    expect([...POWER_STATES].filter((s) => !reached.has(s))).toEqual([]);
  });

  // The hole this closes: set_motor_mode enabled (or the dashboard) on a robot that slept made it
  // movable without a wake_up, its head still at the sleep pose (daemon-api §13 #1430).
  test('motors enabled leave a robot that slept asleep, from every state it can be in outside a sequence', () => {
    const enabled = JSON.stringify({ type: 'daemon.motor_mode', mode: 'enabled' });
    const slept = Object.entries(adjacency).filter(([key]) => key.endsWith('|true') && !/^"(waking|going_to_sleep)"/.test(key));
    expect(new Set(slept.map(([key]) => JSON.parse(key.split('|')[0]!)))).toEqual(new Set(['asleep', 'compliant', 'unknown']));
    for (const [key, { transitions }] of slept) {
      const edge = Object.values(transitions).find((t) => JSON.stringify(t.event) === enabled);
      expect(edge?.state.value, key).toBe('asleep');
      expect((edge?.state as unknown as Snap).hasTag(MOVABLE_TAG)).toBe(false);
    }
  });

  pathTests(model, paths, executors, () => current().snap(), (actual, expected) => {
    expect({ motorMode: actual.context.motorMode, sequenceUuid: actual.context.sequenceUuid, needsWake: actual.context.needsWake }).toEqual({
      motorMode: expected.context.motorMode,
      sequenceUuid: expected.context.sequenceUuid,
      needsWake: expected.context.needsWake,
    });
    const inSequence = actual.value === 'waking' || actual.value === 'going_to_sleep';
    expect(actual.hasTag(MOVABLE_TAG), 'only awake is movable').toBe(actual.value === 'awake');
    expect(actual.hasTag(SEQUENCE_TAG)).toBe(inSequence);
    expect(actual.context.sequenceUuid === null).toBe(!inSequence);
    expect(vi.getTimerCount(), 'the sequence timeout runs only inside a sequence').toBe(inSequence ? 1 : 0);
  });

  refusalTable('refuses every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    delayed: (e) => e.type === WAKE_TIMEOUT || e.type === SLEEP_TIMEOUT,
    step,
    oracle: (_sut, before, event) => oracle(powerStateName(before.value), before.context, event),
  });

  transitionCoverageTest(powerMachine, paths, { minimum: 14 });
});
