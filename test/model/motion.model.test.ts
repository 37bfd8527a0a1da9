// Model-based test of the motion machine (src/machines/motion.machine.ts): paths generated from the
// machine with `TestModel` (one per adjacency edge, payload variants included: two requests, one
// tracked uuid and a stranger's, a tracked and a realtime executor result), replayed on the real
// actor with deferred `executeCommand`/`stopMotion` actors under fake timers. Each step is checked
// against an independent oracle written from the brief: next state and context, the emitted events
// in order (`motion.changed` on every entry, `motion.accepted` only once the executor resolved,
// `motion.finished` with its outcome, `motion.failed` with `_tag`/`message`, `motion.stopped`), the
// executor's input (`supersedes` = the uuid of the move being replaced), the executor running
// exactly while `commanded` and stopMotion exactly while `stopping` (cancelled when left early), and
// the move deadline firing exactly at duration (+ the SDK margin for tracked moves), not 1 ms early.
// Every (state, event) pair that is not an edge must be refused (a stranger's or a realtime move's
// `daemon.move_done` included). A final test asserts every edge was walked. The M1–M5 block at the
// end pins the defects these tests found (since fixed in the machine).
import { describe, expect, test, vi } from 'vitest';
import { createActor, fromPromise, getInitialSnapshot, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  MOVE_COMPLETION_MARGIN_MS,
  motionMachine,
  type CommandAccepted,
  type ExecutionStateName,
  type MotionCommandEvent,
  type MotionContext,
  type MotionEmitted,
  type MotionEvent,
  type MotionMachine,
  type MotionOutcome,
} from '../../src/machines/motion.machine.ts';
import { canModel, Deferred, edgePaths, eventListTest, executorTable, expectStatesReached, MODEL_START_MS as START_MS, pathTests, recordingSut, refusalTable, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';

/** Clock advance before every event (well under the shortest move deadline). */
const STEP_MS = 25;
const DEADLINE = 'xstate.after.moveDeadline.motion.moving';
const EXEC_DONE = 'xstate.done.actor.executeCommand';
const EXEC_ERROR = 'xstate.error.actor.executeCommand';
const STOP_DONE = 'xstate.done.actor.stopMotion';
const STOP_ERROR = 'xstate.error.actor.stopMotion';
const UUID = 'b6f3c1d2-5e0a-4f8b-9c7d-1a2b3c4d5e6f';
const STRANGER = '0f0e0d0c-0b0a-4908-8706-050403020100';

const GOTO: MotionCommandEvent = {
  type: 'motion.command',
  requestId: 'req-1',
  kind: 'goto_target',
  command: { op: 'goto', duration: 2, body_yaw: 0.3 },
  target: { body_yaw: 0.3 },
};
const HEAD: MotionCommandEvent = {
  type: 'motion.command',
  requestId: 'req-2',
  kind: 'set_target',
  command: { op: 'head_target', head: [0, 0.1, 0] },
  target: { head: [0, 0.1, 0] },
};
const STOP = { type: 'motion.stop', requestId: 'stop-1', reason: 'stop_motion by alice' } as const;
const TRACKED: CommandAccepted = { uuid: UUID, expectedDurationMs: 2_000 };
const REALTIME: CommandAccepted = { uuid: null, expectedDurationMs: 150 };
const REJECTED = { _tag: 'DaemonRejected', message: 'the daemon refused the goto: target out of range' };
const STOP_FAILED = { _tag: 'DaemonUnavailable', message: 'the daemon did not answer /api/move/stop' };
const STOPPED = [UUID];

type Ev =
  | MotionEvent
  | { type: typeof EXEC_DONE; output: CommandAccepted }
  | { type: typeof EXEC_ERROR; error: { _tag: string; message: string } }
  | { type: typeof STOP_DONE; output: ReadonlyArray<string> }
  | { type: typeof STOP_ERROR; error: { _tag: string; message: string } }
  | { type: typeof DEADLINE };

const EVENTS: Ev[] = [
  GOTO,
  HEAD,
  STOP,
  { type: EXEC_DONE, output: TRACKED },
  { type: EXEC_DONE, output: REALTIME },
  { type: EXEC_ERROR, error: REJECTED },
  { type: STOP_DONE, output: STOPPED },
  { type: STOP_ERROR, error: STOP_FAILED },
  { type: 'daemon.move_done', uuid: UUID, outcome: 'completed', details: '' },
  { type: 'daemon.move_done', uuid: UUID, outcome: 'failed', details: 'motor 3 stalled' },
  { type: 'daemon.move_done', uuid: UUID, outcome: 'failed', details: '' },
  { type: 'daemon.move_done', uuid: UUID, outcome: 'cancelled', details: 'stopped by a newer move' },
  // Someone else's move finishing (a sequence, a move we no longer track): never ours.
  { type: 'daemon.move_done', uuid: STRANGER, outcome: 'completed', details: '' },
  { type: 'daemon.move_done', uuid: STRANGER, outcome: 'failed', details: 'boom' },
  { type: DEADLINE },
];

type Snap = SnapshotView<MotionContext, Ev>;

function serialize(snapshot: { value: unknown; status: string; context: MotionContext }): string {
  const { uuid, requestId } = snapshot.context;
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${uuid === null ? '-' : 'tracked'}|${requestId === null ? '-' : 'pending'}`;
}

/** The oracle's account of the machine: what the brief says its context must be. */
interface Expected {
  value: ExecutionStateName;
  requestId: string | null;
  kind: string | null;
  command: Record<string, unknown> | null;
  target: Record<string, unknown>;
  uuid: string | null;
  expectedDurationMs: number;
  lastError: string;
  stopRequestId: string | null;
  supersedes: string | null;
}

interface Outcome {
  next: Expected;
  emitted: MotionEmitted[];
  /** The input of the executor or stopMotion run the new state starts. */
  executorInput?: { command: Record<string, unknown>; supersedes: string | null };
  stopInput?: { uuid: string | null };
}

const FINISH_DETAILS = {
  superseded: 'a newer command replaced it',
  stopped: 'stopped by stop_motion or the interlock',
  timeout: 'the daemon did not report the move finished in time',
  realtime: 'realtime target sent and settled',
  failedDefault: 'the daemon reported the move failed',
} as const;

/** The brief, as an oracle: what `event` does in `s` at `now`, or null if it must be refused. */
function oracle(s: Expected, event: Ev, now: number): Outcome | null {
  const changed = (next: Expected): MotionEmitted => ({
    type: 'motion.changed',
    state: next.value,
    requestId: next.requestId,
    kind: next.kind,
    target: next.target,
    lastError: next.lastError,
    at: now,
  });
  /** The running request ends with `outcome`; cancelled/completed/stopped leave no error behind. */
  const finish = (outcome: MotionOutcome, details: string, to: ExecutionStateName): Outcome => {
    const next: Expected = { ...s, value: to, requestId: null, uuid: null, command: null, lastError: outcome === 'completed' || outcome === 'cancelled' ? '' : details };
    return { next, emitted: [{ type: 'motion.finished', requestId: s.requestId!, uuid: s.uuid, outcome, details }, changed(next)] };
  };
  const failed = (error: { _tag: string; message: string }, requestId: string): Outcome => {
    // The request ends with this one terminal event: nothing of it is left to supersede or stop.
    const next: Expected = { ...s, value: 'error', lastError: error.message, uuid: null, requestId: null, command: null };
    return { next, emitted: [{ type: 'motion.failed', requestId, error: { _tag: error._tag, message: error.message } }, changed(next)] };
  };
  switch (event.type) {
    case 'motion.command': {
      // Always accepted: a new command replaces whatever runs. The replaced request ends as
      // superseded, and the executor is told which daemon move (if any) to stop first.
      // While stopping, the command is refused on its own request and the stop carries on (M3).
      if (s.value === 'stopping') {
        return { next: s, emitted: [{ type: 'motion.failed', requestId: event.requestId, error: { _tag: 'NotAllowedInState', message: 'motion is stopping; send the command again once it has stopped' } }] };
      }
      // The replaced request reports its own uuid (null until the daemon accepted it, M5); the move
      // still to stop is the tracked one, or the one the replaced command was itself replacing.
      const emitted: MotionEmitted[] = [];
      if (s.requestId !== null) emitted.push({ type: 'motion.finished', requestId: s.requestId, uuid: s.uuid, outcome: 'superseded', details: FINISH_DETAILS.superseded });
      const supersedes = s.uuid ?? s.supersedes;
      const next: Expected = { ...s, value: 'commanded', requestId: event.requestId, kind: event.kind, command: event.command, target: event.target, lastError: '', uuid: null, supersedes };
      emitted.push(changed(next));
      return { next, emitted, executorInput: { command: event.command, supersedes } };
    }
    case 'motion.stop': {
      // Always accepted (stopping is never gated).
      // A second stop while one runs is answered at once; the running stop answers the first (M2).
      if (s.value === 'stopping') return { next: s, emitted: [{ type: 'motion.stopped', requestId: event.requestId, stopped: [] }] };
      const next: Expected = { ...s, value: 'stopping', stopRequestId: event.requestId };
      return { next, emitted: [changed(next)], stopInput: { uuid: s.uuid } };
    }
    case EXEC_DONE: {
      if (s.value !== 'commanded') return null;
      const next: Expected = { ...s, value: 'moving', uuid: event.output.uuid, supersedes: null, expectedDurationMs: event.output.expectedDurationMs };
      return { next, emitted: [{ type: 'motion.accepted', requestId: s.requestId!, uuid: event.output.uuid, kind: s.kind! }, changed(next)] };
    }
    case EXEC_ERROR:
      return s.value === 'commanded' ? failed(event.error, s.requestId!) : null;
    case 'daemon.move_done':
      if (s.value !== 'moving' || s.uuid === null || event.uuid !== s.uuid) return null;
      if (event.outcome === 'failed') return finish('failed', event.details || FINISH_DETAILS.failedDefault, 'error');
      return finish(event.outcome, event.details, 'idle');
    case DEADLINE:
      if (s.value !== 'moving') return null;
      return s.uuid !== null ? finish('timeout', FINISH_DETAILS.timeout, 'error') : finish('completed', FINISH_DETAILS.realtime, 'idle');
    case STOP_DONE: {
      if (s.value !== 'stopping') return null;
      // The stopped request (if any) ends as stopped, then the stop request is answered. The last
      // error is left as it was (only a new command clears it).
      const next: Expected = { ...s, value: 'idle', requestId: null, uuid: null, supersedes: null, command: null, stopRequestId: null };
      const emitted: MotionEmitted[] = [];
      if (s.requestId !== null) emitted.push({ type: 'motion.finished', requestId: s.requestId, uuid: s.uuid, outcome: 'stopped', details: FINISH_DETAILS.stopped });
      emitted.push({ type: 'motion.stopped', requestId: s.stopRequestId!, stopped: event.output }, changed(next));
      return { next, emitted };
    }
    case STOP_ERROR:
      // The stop request is answered with the failure (M1); the move it meant to stop may still run,
      // so the motion request and its uuid stay tracked.
      if (s.value !== 'stopping') return null;
      {
        const next: Expected = { ...s, value: 'error', lastError: event.error.message, stopRequestId: null };
        return { next, emitted: [{ type: 'motion.failed', requestId: s.stopRequestId!, error: { _tag: event.error._tag, message: event.error.message } }, changed(next)] };
      }
  }
}

interface Run<I, O> {
  input: I;
  deferred: Deferred<O>;
  signal: AbortSignal;
  settled: boolean;
}

const INITIAL: Expected = { value: 'idle', requestId: null, kind: null, command: null, target: {}, uuid: null, expectedDurationMs: 0, lastError: '', stopRequestId: null, supersedes: null };

function createSut() {
  const executions: Array<Run<{ command: Record<string, unknown>; supersedes: string | null }, CommandAccepted>> = [];
  const stops: Array<Run<{ uuid: string | null }, ReadonlyArray<string>>> = [];
  const track = <I, O>(runs: Array<Run<I, O>>, input: I, signal: AbortSignal): Promise<O> => {
    const run: Run<I, O> = { input, deferred: new Deferred<O>(), signal, settled: false };
    runs.push(run);
    return run.deferred.promise.finally(() => void (run.settled = true));
  };
  const logic = motionMachine.provide({
    actors: {
      executeCommand: fromPromise<CommandAccepted, { command: Record<string, unknown>; supersedes: string | null }>(({ input, signal }) => track(executions, input, signal)),
      stopMotion: fromPromise<ReadonlyArray<string>, { uuid: string | null }>(({ input, signal }) => track(stops, input, signal)),
    },
  });
  const recorded = recordingSut<MotionMachine, Snap>(createActor(logic));
  const expected = { ...INITIAL, enteredAt: Date.now(), executions: 0, stops: 0 };
  return { ...recorded, executions, stops, expected };
}
type Sut = ReturnType<typeof createSut>;

const live = <I, O>(runs: ReadonlyArray<Run<I, O>>) => runs.filter((r) => !r.settled && !r.signal.aborted);

/** The real actor, checked against the oracle's account. */
function checkSut(sut: Sut): void {
  const { context, value, status } = sut.snap();
  const { enteredAt, executions, stops, ...expected } = sut.expected;
  expect(status).toBe('active');
  expect(value).toBe(expected.value);
  const { since, ...actualContext } = context;
  const { value: _value, ...expectedContext } = expected;
  expect(actualContext).toEqual(expectedContext);
  expect(since, 'since is the time of the last entry').toBe(enteredAt);
  // The executor runs exactly while commanded, stopMotion exactly while stopping.
  expect(sut.executions.length, 'one executor run per entry into commanded').toBe(executions);
  expect(live(sut.executions).length).toBe(value === 'commanded' ? 1 : 0);
  expect(sut.stops.length, 'one stopMotion run per entry into stopping').toBe(stops);
  expect(live(sut.stops).length).toBe(value === 'stopping' ? 1 : 0);
  // Exactly one timer (the move deadline) while moving, none otherwise.
  expect(vi.getTimerCount()).toBe(value === 'moving' ? 1 : 0);
}

/** Runs one event on the real actor the way it happens in production, and checks it against the oracle. */
async function step(sut: Sut, event: Ev): Promise<void> {
  const before = { ...sut.expected };
  const mark = sut.emitted.length;
  const lastExecution = sut.executions.at(-1);
  const lastStop = sut.stops.at(-1);
  if (event.type === DEADLINE) {
    expect(before.value).toBe('moving');
    const deadline = before.expectedDurationMs + (before.uuid !== null ? MOVE_COMPLETION_MARGIN_MS : 0);
    const remaining = before.enteredAt + deadline - Date.now();
    expect(remaining).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(remaining - 1);
    expect(sut.snap().value, `the move deadline (${deadline} ms) must not fire early`).toBe('moving');
    expect(sut.emitted.length).toBe(mark);
    await vi.advanceTimersByTimeAsync(1);
  } else {
    await vi.advanceTimersByTimeAsync(STEP_MS);
    expect(sut.snap().can(event), JSON.stringify(event)).toBe(true);
    if (event.type === EXEC_DONE || event.type === EXEC_ERROR) {
      const [run] = live(sut.executions);
      expect(run, 'an executor is running').toBeDefined();
      if (event.type === EXEC_DONE) run!.deferred.resolve(event.output);
      else run!.deferred.reject(event.error);
    } else if (event.type === STOP_DONE || event.type === STOP_ERROR) {
      const [run] = live(sut.stops);
      expect(run, 'stopMotion is running').toBeDefined();
      if (event.type === STOP_DONE) run!.deferred.resolve(event.output);
      else run!.deferred.reject(event.error);
    } else {
      sut.actor.send(event);
    }
    await vi.advanceTimersByTimeAsync(0);
  }
  const now = Date.now();
  const outcome = oracle(before, event, now);
  expect(outcome, `oracle refuses ${JSON.stringify(event)} in ${before.value}`).not.toBeNull();
  const { next, emitted, executorInput, stopInput } = outcome!;
  expect(sut.emitted.slice(mark)).toEqual(emitted);
  sut.expected = {
    ...next,
    // Only a state entry (announced by motion.changed) moves `since`.
    enteredAt: emitted.some((e) => e.type === 'motion.changed') ? now : before.enteredAt,
    executions: before.executions + (executorInput ? 1 : 0),
    stops: before.stops + (stopInput ? 1 : 0),
  };
  if (executorInput) expect(sut.executions.at(-1)!.input, 'executeCommand input').toEqual(executorInput);
  if (stopInput) expect(sut.stops.at(-1)!.input, 'stopMotion input').toEqual(stopInput);
  // Leaving early cancels the running executor / stopMotion.
  if (before.value === 'commanded' && next.value !== 'moving' && event.type !== EXEC_ERROR) expect(lastExecution!.signal.aborted, 'the replaced executor is cancelled').toBe(true);
  if (before.value === 'stopping' && next.value !== 'stopping' && event.type !== STOP_DONE && event.type !== STOP_ERROR) expect(lastStop!.signal.aborted, 'the replaced stopMotion is cancelled').toBe(true);
  // Staying in stopping (a command refused, a second stop answered) keeps the stop running.
  if (before.value === 'stopping' && next.value === 'stopping') expect(lastStop!.signal.aborted, 'the running stopMotion carries on').toBe(false);
  checkSut(sut);
}

function buildModel() {
  // The model walks the machine with inert actors: outcomes come only from the generated events.
  const never = <T, I>() => fromPromise<T, I>(() => new Promise<T>(() => undefined));
  const modelLogic = motionMachine.provide({
    actors: {
      executeCommand: never<CommandAccepted, { command: Record<string, unknown>; supersedes: string | null }>(),
      stopMotion: never<ReadonlyArray<string>, { uuid: string | null }>(),
    },
  }) as unknown as ActorLogic<SnapshotFrom<MotionMachine>, MotionEvent, undefined>;
  const model = canModel(modelLogic, EVENTS as MotionEvent[], serialize);
  const built = edgePaths(model, serialize, {
    fromState: getInitialSnapshot(modelLogic),
    // A path that ends entering `moving` then runs into the deadline: its length must follow what
    // the executor just returned (a realtime result after a tracked move must not get the margin).
    drain: ({ next }) => (next.value === 'moving' ? ([{ type: DEADLINE }] as unknown as MotionEvent[]) : []),
  });
  return { model, ...built };
}

describe('motion machine', () => {
  const { model, adjacency, paths, prefixes } = buildModel();
  const current = useFakeClock(createSut);
  const executors = executorTable(EVENTS, (event) => step(current(), event as Ev));

  eventListTest(motionMachine, EVENTS);

  test('every execution state is reachable, with and without a tracked move', () => {
    expectStatesReached(adjacency, ['idle', 'commanded', 'moving', 'stopping', 'error']);
    const keys = Object.keys(adjacency);
    expect(keys).toContain('"moving"|active|tracked|pending');
    expect(keys).toContain('"moving"|active|-|pending');
    // A pending command never carries the replaced move's uuid as its own (that one is `supersedes`).
    expect(keys).not.toContain('"commanded"|active|tracked|pending');
  });

  test('starts idle and announces it', () => {
    expect(current().emitted).toEqual([{ type: 'motion.changed', state: 'idle', requestId: null, kind: null, target: {}, lastError: '', at: START_MS }]);
    checkSut(current());
  });

  pathTests(model, paths, executors, () => current().snap(), (actual, expected) => {
    // The graph keeps one snapshot per serialised key: the key is the model's to compare.
    expect(serialize(actual)).toBe(serialize(expected));
    checkSut(current());
  });

  refusalTable('refuses every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    delayed: (e) => e.type === DEADLINE,
    step,
    oracle: (sut, _before, event) => oracle(sut.expected, event, Date.now()),
    // An unhandled `xstate.error.actor.*` would error the machine by xstate's rules; only the
    // running actor can produce one.
    unsent: (e) => e.type === EXEC_ERROR || e.type === STOP_ERROR,
    check: checkSut,
  });

  transitionCoverageTest(motionMachine, paths, { minimum: 9 });

  test('late results from a cancelled executor or stopMotion are ignored', async () => {
    const s = current();
    await step(s, GOTO);
    const replaced = s.executions.at(-1)!;
    await step(s, HEAD);
    replaced.deferred.resolve(TRACKED);
    await vi.advanceTimersByTimeAsync(0);
    checkSut(s);
    // A stop is never cancelled by a command: the command is refused and the stop completes.
    await step(s, STOP);
    await step(s, GOTO);
    await step(s, { type: STOP_DONE, output: STOPPED });
    await step(s, GOTO);
    await step(s, { type: EXEC_DONE, output: TRACKED });
    expect(s.emitted.filter((e) => e.type === 'motion.accepted')).toEqual([{ type: 'motion.accepted', requestId: 'req-1', uuid: UUID, kind: 'goto_target' }]);
  });
});

/** Settles whatever actor runs (resolving with `result`) until the machine rests. */
async function settle(sut: Sut): Promise<void> {
  for (let i = 0; i < 4; i++) {
    const [execution] = live(sut.executions);
    const [stop] = live(sut.stops);
    if (execution) execution.deferred.resolve(REALTIME);
    else if (stop) stop.deferred.resolve([]);
    else return;
    await vi.advanceTimersByTimeAsync(0);
  }
}

const answered = (sut: Sut, requestId: string) => sut.emitted.filter((e) => (e.type === 'motion.stopped' || e.type === 'motion.failed') && e.requestId === requestId);
const terminal = (sut: Sut, requestId: string) => sut.emitted.filter((e) => (e.type === 'motion.finished' || e.type === 'motion.failed') && e.requestId === requestId);

// Defects these tests found in the first motion machine, fixed since: each pins the behaviour.
describe('motion machine: fixed defects', () => {
  const sut = useFakeClock(createSut);

  test('M1: a failed stopMotion is reported on the stop request', async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_DONE, output: TRACKED });
    await step(sut(), STOP);
    await step(sut(), { type: STOP_ERROR, error: STOP_FAILED });
    expect(answered(sut(), STOP.requestId)).toEqual([{ type: 'motion.failed', requestId: STOP.requestId, error: STOP_FAILED }]);
  });

  test('M2: a second stop while stopping still answers the first', async () => {
    await step(sut(), STOP);
    sut().actor.send({ ...STOP, requestId: 'stop-2' });
    await settle(sut());
    expect(answered(sut(), 'stop-1')).toHaveLength(1);
    expect(answered(sut(), 'stop-2')).toHaveLength(1);
  });

  test('M3: a command while stopping still answers the stop', async () => {
    await step(sut(), STOP);
    sut().actor.send(GOTO);
    await settle(sut());
    expect(answered(sut(), 'stop-1')).toHaveLength(1);
  });

  test('M4: a request whose send failed gets no second terminal event', async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_ERROR, error: REJECTED });
    await step(sut(), HEAD);
    expect(terminal(sut(), 'req-1')).toEqual([{ type: 'motion.failed', requestId: 'req-1', error: REJECTED }]);
  });

  test('M5: a request replaced before the daemon accepted it reports no uuid', async () => {
    await step(sut(), GOTO);
    await step(sut(), { type: EXEC_DONE, output: TRACKED });
    await step(sut(), HEAD); // supersedes the tracked move
    await step(sut(), GOTO); // replaces req-2 before its executor answered
    expect(terminal(sut(), 'req-2')).toEqual([{ type: 'motion.finished', requestId: 'req-2', uuid: null, outcome: 'superseded', details: FINISH_DETAILS.superseded }]);
  });
});

test('the tracked-move margin is the SDK’s one second', () => {
  expect(MOVE_COMPLETION_MARGIN_MS).toBe(1_000);
});
