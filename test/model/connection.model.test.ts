// Model-based test of the connection machine (src/machines/connection.machine.ts): one `TestModel`
// path per adjacency edge (payload variants included), replayed on the real actor under fake
// timers with a deferred `probeDaemon` and a recording `daemonLink` (no real daemon or socket).
// Each step is checked against an independent oracle written from the brief: next state, attempt /
// lastError / connects, one `connection.changed` per state entry with the entry time; the probe
// runs exactly while `connecting` (aborted when left early), the link exactly while `connected`
// (cleaned up on exit); the back-off fires exactly `reconnectBackoffMs(attempt)` after entering
// `backoff`, not 1 ms earlier; a link that stays up STABLE_CONNECTION_MS (exactly, silently)
// forgets the failures before it, one lost sooner keeps climbing the back-off. Every non-edge pair
// is refused; every transition is taken.
import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, getInitialSnapshot, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  connectionMachine,
  RECONNECT_BACKOFF_BASE_MS,
  RECONNECT_BACKOFF_MAX_MS,
  reconnectBackoffMs,
  STABLE_CONNECTION_MS,
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionMachine,
  type ConnectionStateName,
} from '../../src/machines/connection.machine.ts';
import { canModel, Deferred, edgePaths, eventListTest, executorTable, expectStatesReached, MODEL_START_MS as START_MS, pathTests, recordingSut, refusalTable, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';

/** Clock advance before every event, so `since`/`at` must be the time of the entry. */
const STEP_MS = 20;
const AFTER = 'xstate.after.reconnectBackoff.connection.backoff';
const STABLE = 'xstate.after.stableConnection.connection.connected';
const PROBE_DONE = 'xstate.done.actor.probeDaemon';
const PROBE_ERROR = 'xstate.error.actor.probeDaemon';
const LOST_REASON = 'daemon socket closed: 1006';
const REFUSED = new Error('connect ECONNREFUSED 127.0.0.1:8000');
/** The jitter draw the machine gets in these tests: mid-range, so a delay ignoring it would be caught. */
const MODEL_RANDOM = 0.5;
const random = () => MODEL_RANDOM;
/** The first attempt whose back-off ceiling is the cap: attempts from here on are alike (finite graph). */
const SATURATED = (() => {
  let a = 1;
  while (reconnectBackoffMs(a, () => 1) < RECONNECT_BACKOFF_MAX_MS) a++;
  return a;
})();

type Ev =
  | ConnectionEvent
  | { type: typeof PROBE_DONE; output: unknown }
  | { type: typeof PROBE_ERROR; error: unknown }
  | { type: typeof AFTER }
  | { type: typeof STABLE };

const EVENTS: Ev[] = [
  { type: 'link.start' },
  { type: 'link.stop' },
  { type: 'daemon.lost', reason: LOST_REASON },
  { type: PROBE_DONE, output: { state: 'running' } },
  { type: PROBE_ERROR, error: REFUSED },
  { type: PROBE_ERROR, error: 'status probe timed out' },
  { type: AFTER },
  { type: STABLE },
];

type Snap = SnapshotView<ConnectionContext, Ev>;

function serialize(snapshot: { value: unknown; status: string; context: ConnectionContext }): string {
  const attempt = snapshot.context.attempt >= SATURATED ? `${SATURATED}+` : String(snapshot.context.attempt);
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${attempt}`;
}

interface Expected {
  value: ConnectionStateName;
  attempt: number;
  lastError: string | null;
  connects: number;
  /** Connected, and the link has not been up STABLE_CONNECTION_MS yet (its timer runs). */
  stablePending: boolean;
}

/** The brief, as an oracle: where `event` takes the link, or null if it must be refused. */
function oracle(value: ConnectionStateName, ctx: Expected, event: Ev): Expected | null {
  const failed = (error: string): Expected => ({ ...ctx, value: 'backoff', attempt: ctx.attempt + 1, lastError: error, stablePending: false });
  switch (event.type) {
    case 'link.start':
      return value === 'disconnected' ? { ...ctx, value: 'connecting' } : null;
    case 'link.stop':
      // Always allowed; the attempt counter and the last error survive a stop.
      return { ...ctx, value: 'disconnected', stablePending: false };
    case 'daemon.lost':
      return value === 'connected' ? failed(event.reason) : null;
    case PROBE_DONE:
      // The failures before it are kept: a link lost within STABLE_CONNECTION_MS backs off further.
      return value === 'connecting' ? { value: 'connected', attempt: ctx.attempt, lastError: null, connects: ctx.connects + 1, stablePending: true } : null;
    case PROBE_ERROR:
      return value === 'connecting' ? failed(event.error instanceof Error ? event.error.message : String(event.error)) : null;
    case AFTER:
      return value === 'backoff' ? { ...ctx, value: 'connecting' } : null;
    case STABLE:
      return value === 'connected' && ctx.stablePending ? { ...ctx, attempt: 0, stablePending: false } : null;
  }
}

interface ProbeRun {
  deferred: Deferred<unknown>;
  signal: AbortSignal;
  settled: boolean;
}
interface LinkRun {
  active: boolean;
  sendBack: (event: ConnectionEvent) => void;
}

function createSut() {
  const probes: ProbeRun[] = [];
  const links: LinkRun[] = [];
  const logic = connectionMachine.provide({
    actors: {
      probeDaemon: fromPromise<unknown>(({ signal }) => {
        const run: ProbeRun = { deferred: new Deferred<unknown>(), signal, settled: false };
        probes.push(run);
        return run.deferred.promise.finally(() => void (run.settled = true));
      }),
      daemonLink: fromCallback<ConnectionEvent>(({ sendBack }) => {
        const run: LinkRun = { active: true, sendBack };
        links.push(run);
        return () => void (run.active = false);
      }),
    },
  });
  const recorded = recordingSut<ConnectionMachine, Snap>(createActor(logic, { input: { random } }));
  // The oracle's own account of the link, and of the entries into `connecting`/`connected`.
  const expected: Expected & { enteredAt: number; probeRuns: number; linkRuns: number } = { value: 'disconnected', attempt: 0, lastError: null, connects: 0, stablePending: false, enteredAt: Date.now(), probeRuns: 0, linkRuns: 0 };
  return { ...recorded, probes, links, expected };
}
type Sut = ReturnType<typeof createSut>;

const liveProbes = (sut: Sut) => sut.probes.filter((p) => !p.settled && !p.signal.aborted);
const liveLinks = (sut: Sut) => sut.links.filter((l) => l.active);

/** The real actor's side of the link, checked against the oracle's account. */
function checkSut(sut: Sut): void {
  const snap = sut.snap();
  const { expected } = sut;
  expect(snap.value).toBe(expected.value);
  expect(snap.status).toBe('active');
  expect({ attempt: snap.context.attempt, lastError: snap.context.lastError, connects: snap.context.connects, since: snap.context.since }).toEqual({
    attempt: expected.attempt,
    lastError: expected.lastError,
    connects: expected.connects,
    since: expected.enteredAt,
  });
  // The probe runs exactly while connecting; the live link exactly while connected.
  expect(sut.probes.length, 'one probe per entry into connecting').toBe(expected.probeRuns);
  expect(liveProbes(sut).length).toBe(expected.value === 'connecting' ? 1 : 0);
  expect(sut.links.length, 'one live link per entry into connected').toBe(expected.linkRuns);
  expect(liveLinks(sut).length, 'the live link runs exactly while connected').toBe(expected.value === 'connected' ? 1 : 0);
  // Exactly one timer: the back-off while backing off, the stable-link timer while connected until it fired.
  expect(vi.getTimerCount()).toBe(expected.value === 'backoff' || expected.stablePending ? 1 : 0);
}

/** Runs one event on the real actor the way it happens in production, and checks it against the oracle. */
async function step(sut: Sut, event: Ev): Promise<void> {
  const before = { ...sut.expected };
  const mark = sut.emitted.length;
  const next = oracle(before.value, before, event);
  expect(next, `oracle refuses ${JSON.stringify(event)} in ${before.value}`).not.toBeNull();
  if (event.type === AFTER) {
    const delay = reconnectBackoffMs(before.attempt, random);
    const remaining = before.enteredAt + delay - Date.now();
    expect(remaining, 'the back-off is at least 1 ms').toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(remaining - 1);
    expect(sut.snap().value, `the back-off of attempt ${before.attempt} must not end before ${delay} ms`).toBe('backoff');
    expect(sut.emitted.length).toBe(mark);
    expect(sut.probes.length).toBe(before.probeRuns);
    await vi.advanceTimersByTimeAsync(1);
  } else if (event.type === STABLE) {
    const remaining = before.enteredAt + STABLE_CONNECTION_MS - Date.now();
    expect(remaining, 'the link is not stable yet').toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(remaining - 1);
    expect(sut.snap().context.attempt, `the failures are kept until the link has been up ${STABLE_CONNECTION_MS} ms`).toBe(before.attempt);
    await vi.advanceTimersByTimeAsync(1);
    // Nothing is entered: no announcement, the same live link, the entry time kept.
    sut.expected = { ...before, ...next! };
    expect(sut.emitted.length).toBe(mark);
    checkSut(sut);
    return;
  } else {
    await vi.advanceTimersByTimeAsync(STEP_MS);
    expect(sut.snap().can(event), JSON.stringify(event)).toBe(true);
    if (event.type === 'daemon.lost') {
      // The live link reports the loss itself.
      const [link] = liveLinks(sut);
      expect(link, 'a live link reports the loss').toBeDefined();
      link!.sendBack(event);
    } else if (event.type === PROBE_DONE || event.type === PROBE_ERROR) {
      const [probe] = liveProbes(sut);
      expect(probe, 'a probe is running').toBeDefined();
      if (event.type === PROBE_DONE) probe!.deferred.resolve(event.output);
      else probe!.deferred.reject(event.error);
    } else {
      sut.actor.send(event);
    }
    await vi.advanceTimersByTimeAsync(0);
  }
  const now = Date.now();
  const previousProbe = sut.probes.at(-1);
  const previousLink = sut.links.at(-1);
  sut.expected = {
    ...next!,
    enteredAt: now,
    probeRuns: before.probeRuns + (next!.value === 'connecting' ? 1 : 0),
    linkRuns: before.linkRuns + (next!.value === 'connected' ? 1 : 0),
  };
  // Every handled event (re-)enters a state: exactly one announcement, stamped with the entry time.
  expect(sut.emitted.slice(mark)).toEqual([{ type: 'connection.changed', state: next!.value, at: now, lastError: next!.lastError }]);
  // Leaving early cancels: the probe's signal is aborted, the link's cleanup ran.
  if (before.value === 'connecting' && event.type === 'link.stop') expect(previousProbe!.signal.aborted).toBe(true);
  if (before.value === 'connected') expect(previousLink!.active).toBe(false);
  checkSut(sut);
}

function buildModel() {
  // The model walks the machine with inert actors: outcomes come only from the generated events.
  const modelLogic = connectionMachine.provide({
    actors: {
      probeDaemon: fromPromise<unknown>(() => new Promise<unknown>(() => undefined)),
      daemonLink: fromCallback<ConnectionEvent>(() => () => undefined),
    },
  }) as unknown as ActorLogic<SnapshotFrom<ConnectionMachine>, ConnectionEvent, undefined>;
  const model = canModel(modelLogic, EVENTS as ConnectionEvent[], serialize);
  const built = edgePaths(model, serialize, {
    // `connects` is not serialised: start from the real initial snapshot, not the graph's representative.
    fromState: getInitialSnapshot(modelLogic),
    // A path that ends backing off then lets the back-off run out (checks its start and length); one
    // that ends connected then loses the link and backs off: one level further than before the
    // connect unless the link was up STABLE_CONNECTION_MS first, then the base delay again.
    drain: ({ next }) => {
      if (next.value === 'backoff') return [{ type: AFTER }] as unknown as ConnectionEvent[];
      if (next.value === 'connected') return [{ type: 'daemon.lost', reason: LOST_REASON }, { type: AFTER }] as unknown as ConnectionEvent[];
      return [];
    },
  });
  return { model, ...built };
}

describe('connection machine', () => {
  const { model, adjacency, paths, prefixes } = buildModel();
  const current = useFakeClock(createSut);
  const executors = executorTable(EVENTS, (event) => step(current(), event as Ev));

  eventListTest(connectionMachine, EVENTS);

  test('every link state and every back-off level is reachable', () => {
    expectStatesReached(adjacency, ['disconnected', 'connecting', 'connected', 'backoff']);
    const keys = Object.keys(adjacency);
    for (let a = 1; a <= SATURATED; a++) expect(keys, `backoff at attempt ${a}`).toContain(`"backoff"|active|${a === SATURATED ? `${a}+` : a}`);
  });

  test('starts disconnected and announces it', () => {
    expect(current().emitted).toEqual([{ type: 'connection.changed', state: 'disconnected', at: START_MS, lastError: null }]);
    checkSut(current());
  });

  pathTests(model, paths, executors, () => current().snap(), (actual, expected) => {
    // The graph keeps one snapshot per serialised key, so only the key is the model's to
    // compare; the oracle checks the full context.
    expect(serialize(actual)).toBe(serialize(expected));
    checkSut(current());
  });

  refusalTable('refuses every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    delayed: (e) => e.type === AFTER || e.type === STABLE,
    step,
    oracle: (sut, _before, event) => oracle(sut.expected.value, sut.expected, event),
    // An unhandled `xstate.error.actor.*` would error the machine by xstate's rules; only a
    // running probe can produce one, and it runs only while connecting.
    unsent: (e) => e.type === PROBE_ERROR,
    check: checkSut,
  });

  transitionCoverageTest(connectionMachine, paths, { minimum: 4 });

  test('a stale link or probe cannot move the machine', async () => {
    const s = current();
    await step(s, { type: 'link.start' });
    await step(s, { type: PROBE_DONE, output: {} });
    const first = s.links[0]!;
    await step(s, { type: 'daemon.lost', reason: LOST_REASON });
    await step(s, { type: AFTER });
    await step(s, { type: PROBE_DONE, output: {} });
    // The first link was cleaned up; a late report from it must not take the new link down.
    const mark = s.emitted.length;
    first.sendBack({ type: 'daemon.lost', reason: 'late report from the old socket' });
    await vi.advanceTimersByTimeAsync(0);
    expect(s.emitted.length).toBe(mark);
    checkSut(s);
    // A probe cancelled by link.stop that settles later must not connect.
    await step(s, { type: 'link.stop' });
    await step(s, { type: 'link.start' });
    const cancelled = s.probes.at(-1)!;
    await step(s, { type: 'link.stop' });
    cancelled.deferred.resolve({ state: 'running' });
    await vi.advanceTimersByTimeAsync(0);
    expect(s.emitted.length).toBe(mark + 3);
    checkSut(s);
  });
});

describe('reconnectBackoffMs', () => {
  test('its ceiling doubles from the base and caps; the delay is a random fraction of it (full jitter)', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((a) => reconnectBackoffMs(a, () => 1))).toEqual([100, 100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect([1, 3, 20].map((a) => reconnectBackoffMs(a, () => 0.25))).toEqual([25, 100, 250]);
    expect(reconnectBackoffMs(4, () => 0)).toBe(0);
    expect(RECONNECT_BACKOFF_BASE_MS).toBe(100);
    expect(SATURATED).toBe(5);
  });
});
