// Shared pieces for model-based tests (ecosystem §1.4 pattern 1): list the events a machine
// declares (`xstate.done/error.actor.<id>` and `xstate.after.<delay>.<state>` included), build a
// `TestModel` whose edges are the listed events it can take, generate one path per adjacency edge
// (shortest prefix, the edge, optional drain events), key edges by event type or payload variant.
// Transition coverage is measured, not assumed: what the machine defines against what the real
// actors took while the paths were replayed, so a missed branch fails by name. Registers what every
// model test repeats (event-list test, fake clock and its timed steps, path replays, refusals, coverage). Owns no
// machine knowledge: each test brings its own state serialisation, step, oracle and bounds.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { Actor, ActorLogic, AnyActorLogic, AnyActorRef, AnyStateMachine, EmittedFrom, EventObject, InspectionEvent, Snapshot } from 'xstate';
import { TestModel, type TestParam, type TestPath } from 'xstate/graph';

/** The fake clock's start in every model test (a fixed instant, so emitted times are exact). */
export const MODEL_START_MS = 1_800_000_000_000;

interface TransitionLike {
  readonly source: NodeLike;
  readonly target?: ReadonlyArray<{ readonly id: string }> | undefined;
  readonly eventType: string;
  readonly guard?: unknown;
  readonly actions?: ReadonlyArray<unknown>;
}

interface NodeLike {
  id: string;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[] | undefined;
  states: Record<string, NodeLike>;
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline guard';
  if (typeof guard === 'object' && guard !== null && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'guard';
}

/**
 * A transition's stable name, the same for every `.provide()` copy of the machine:
 * `<source id>: <event type>[#branch] [guard] → <target ids | (stays)>` (`always` for eventless).
 */
export function transitionName(t: TransitionLike): string {
  const list = t.eventType === '' ? t.source.always : t.source.transitions.get(t.eventType);
  const branch = list && list.length > 1 ? `#${list.indexOf(t) + 1}` : '';
  const guard = guardName(t.guard);
  const targets = t.target && t.target.length > 0 ? t.target.map((n) => n.id).join(', ') : '(stays)';
  return `${t.source.id}: ${t.eventType || 'always'}${branch}${guard ? ` [${guard}]` : ''} → ${targets}`;
}

/**
 * An explicit ignore (`on: { e: {} }`: no target, no actions) swallows the event so no ancestor
 * handles it; xstate's can() is false for it, so no generated path can take it — the refusal tables
 * check it instead. It is not counted as a transition.
 */
function isIgnore(t: TransitionLike): boolean {
  return (t.target === undefined || t.target.length === 0) && (t.actions === undefined || t.actions.length === 0);
}

/**
 * Every transition the machine defines, by `transitionName`: `on`, `after`, `always`, `onDone`,
 * invoke onDone/onError/onSnapshot, each guarded branch apart; explicit ignores left out.
 */
export function definedTransitions(machine: AnyStateMachine): string[] {
  const names: string[] = [];
  const add = (t: TransitionLike) => {
    if (!isIgnore(t)) names.push(transitionName(t));
  };
  const visit = (node: NodeLike) => {
    for (const list of node.transitions.values()) list.forEach(add);
    (node.always ?? []).forEach(add);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as NodeLike);
  return names;
}

// Transitions taken by watched actors, recorded only while a replay of some path set runs.
const takenByPaths = new WeakMap<object, Set<string>>();
let recording: Set<string> | undefined;

/**
 * Watches every machine actor of `actor`'s system (call before start): the transitions they take
 * (their `@xstate.microstep` inspection events) count while a replay records.
 */
export function watchTransitions(actor: AnyActorRef): void {
  actor.system.inspect((event: InspectionEvent) => {
    if (event.type !== '@xstate.microstep' || !recording) return;
    for (const t of (event as { _transitions: TransitionLike[] })._transitions) recording.add(transitionName(t));
  });
}

/** Runs one replay of a path from `paths`, recording the transitions watched actors take for that path set. */
export async function recordingReplay<T>(paths: object, replay: () => Promise<T>): Promise<T> {
  let taken = takenByPaths.get(paths);
  if (!taken) takenByPaths.set(paths, (taken = new Set()));
  recording = taken;
  try {
    return await replay();
  } finally {
    recording = undefined;
  }
}

/**
 * Measured transition coverage of `machine` by the replays of `paths` (pathTests, or the test's own
 * loop wrapped in recordingReplay): `defined` (definedTransitions), `taken` (recorded from the
 * real actors' microsteps) and `missing` (defined, never taken, in definition order).
 */
export function transitionCoverage(machine: AnyStateMachine, paths: object): { defined: string[]; taken: string[]; missing: string[]; replayed: boolean } {
  const defined = definedTransitions(machine);
  const taken = takenByPaths.get(paths);
  return { defined, taken: [...(taken ?? [])], missing: defined.filter((name) => !taken?.has(name)), replayed: taken !== undefined };
}

/**
 * Registers the coverage test: at least `minimum` defined transitions, the paths were replayed in
 * this run (the test must run after them, in the same file), and every defined transition was
 * taken except those listed in `unreachable` (with the reason in its value).
 */
export function transitionCoverageTest(machine: AnyStateMachine, paths: object, options: CoverageOptions): void {
  test('every transition the machine defines is taken while replaying the generated paths', () => expectTransitionCoverage(machine, paths, options));
}

export interface CoverageOptions {
  /** Fewest transitions the machine must define (a walker that sees nothing must not pass). */
  readonly minimum: number;
  /** Transitions no replay can take, each with the reason. */
  readonly unreachable?: Readonly<Record<string, string>>;
}

/** The coverage assertion itself: fails naming every defined transition the replays of `paths` never took. */
export function expectTransitionCoverage(machine: AnyStateMachine, paths: object, options: CoverageOptions): void {
  const { defined, missing, replayed } = transitionCoverage(machine, paths);
  expect(replayed, 'no generated path was replayed before the coverage check (run the whole file)').toBe(true);
  expect(defined.length).toBeGreaterThanOrEqual(options.minimum);
  const excused = options.unreachable ?? {};
  for (const name of Object.keys(excused)) expect(defined, `unreachable entry is not a defined transition: ${name}`).toContain(name);
  const untaken = missing.filter((name) => !(name in excused));
  expect(untaken, `defined transitions no replayed path took:\n  ${untaken.join('\n  ')}\n`).toEqual([]);
}

/** Every event type a transition of the machine is declared for, wildcards excluded. */
export function declaredEventTypes(machine: AnyStateMachine): string[] {
  const types = new Set<string>();
  const visit = (node: NodeLike) => {
    for (const key of node.transitions.keys()) if (!key.includes('*')) types.add(key);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as NodeLike);
  return [...types].sort();
}

/** The event types the machine declares that no listed event has (sorted). */
export function unlistedEventTypes(machine: AnyStateMachine, events: ReadonlyArray<EventObject>): string[] {
  const listed = new Set<string>(events.map((e) => e.type));
  return declaredEventTypes(machine).filter((t) => !listed.has(t));
}

/** Registers the test that every event type the machine declares has a listed event. */
export function eventListTest(machine: AnyStateMachine, events: ReadonlyArray<EventObject>): void {
  test('the event list covers every event type the machine declares', () => {
    expect(unlistedEventTypes(machine, events)).toEqual([]);
  });
}

/** Expects, for each named top-level state, some serialised state key (`"<state>"…`) in the adjacency map. */
export function expectStatesReached(adjacency: Record<string, unknown>, states: ReadonlyArray<string>): void {
  const keys = Object.keys(adjacency);
  for (const state of states) expect(keys.some((k) => k.startsWith(`"${state}"`)), state).toBe(true);
}

export function edgeKey(stateKey: string, event: EventObject): string {
  return `${stateKey} --${event.type}-->`;
}

/** A promise the test resolves or rejects from an executor (stands in for a promise actor). */
export class Deferred<T> {
  promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.promise = new Promise<T>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
  }
}

/** `state --{event JSON}-->`: one adjacency edge, payload variants told apart. */
export function variantKey(stateKey: string, event: EventObject): string {
  return `${stateKey} --${JSON.stringify(event)}-->`;
}

/**
 * Starts `actor` recording every event it emits (`emitted`, in order); `snap()` reads its snapshot
 * as `TSnap` (the part the test reads, with the test's own event type).
 */
export function recordingSut<TLogic extends AnyActorLogic, TSnap>(actor: Actor<TLogic>): { actor: Actor<TLogic>; emitted: Array<EmittedFrom<TLogic>>; snap: () => TSnap } {
  const emitted: Array<EmittedFrom<TLogic>> = [];
  actor.on('*', (e) => void emitted.push(e as EmittedFrom<TLogic>));
  watchTransitions(actor);
  actor.start();
  return { actor, emitted, snap: () => actor.getSnapshot() as unknown as TSnap };
}

/** The part of a machine snapshot the model tests read. */
export interface SnapshotView<TContext, TEvent extends EventObject> {
  value: unknown;
  status: string;
  context: TContext;
  can(event: TEvent): boolean;
}

/**
 * The model of a machine's reactions to a curated event list: the listed events the snapshot
 * `can()` take while active are its edges, states are keyed by `serialize`, and the `'*'` state
 * check runs after every step.
 */
export function canModel<TSnapshot extends Snapshot<unknown> & { can(event: TEvent): boolean }, TEvent extends EventObject, TInput>(
  logic: ActorLogic<TSnapshot, TEvent, TInput>,
  events: ReadonlyArray<TEvent>,
  serialize: (snapshot: TSnapshot) => string,
  input?: TInput,
): TestModel<TSnapshot, TEvent, TInput> {
  return new TestModel<TSnapshot, TEvent, TInput>(logic, {
    ...(input === undefined ? {} : { input }),
    events: [...events],
    filterEvents: (snapshot, event) => snapshot.status === 'active' && snapshot.can(event),
    serializeState: (snapshot) => serialize(snapshot),
    stateMatcher: (_snapshot, key) => key === '*',
  });
}

/** The adjacency map as the model tests read it: each state's edges, by serialised key. */
export type ModelAdjacency<TSnapshot, TEvent> = Record<string, { transitions: Record<string, { event: TEvent; state: TSnapshot }> }>;

export interface ModelEdge<TSnapshot, TEvent> {
  readonly stateKey: string;
  readonly event: TEvent;
  readonly next: TSnapshot;
}

/**
 * One generated path per adjacency edge: the shortest event sequence to the edge's source state,
 * the edge's event, then `drain(edge)` (events that must follow, e.g. a timer that must fire).
 * Works around an xstate/graph quirk: `getPathsFromEvents` drops `input` from its default start
 * state, so it gets a `fromState` (by default the shortest paths' start state, built with `input`)
 * and the same `input`/`serializeState`. Pass `fromState` (xstate's
 * `getInitialSnapshot(logic, input)`) when the serialisation leaves context out: the graph keeps
 * one snapshot per serialised key, so the shortest paths' start state may be a later visit of the
 * initial key with different unserialised context. `paths[i]` walks `edges[i]`.
 */
export function edgePaths<TSnapshot extends Snapshot<unknown>, TEvent extends EventObject, TInput>(
  model: TestModel<TSnapshot, TEvent, TInput>,
  serialize: (snapshot: TSnapshot) => string,
  options: { input?: TInput; fromState?: TSnapshot; drain?: (edge: ModelEdge<TSnapshot, TEvent>) => TEvent[] } = {},
) {
  const prefixes = new Map<string, TEvent[]>();
  const shortestPaths = model.getShortestPaths();
  const fromState = options.fromState ?? shortestPaths[0]!.steps[0]!.state;
  for (const p of shortestPaths) {
    p.steps.forEach((s, i) => {
      const key = serialize(s.state);
      const events = p.steps.slice(1, i + 1).map((x) => x.event);
      const known = prefixes.get(key);
      if (!known || known.length > events.length) prefixes.set(key, events);
    });
  }
  const adjacency = model.getAdjacencyMap() as unknown as ModelAdjacency<TSnapshot, TEvent>;
  const edges: Array<ModelEdge<TSnapshot, TEvent>> = Object.entries(adjacency).flatMap(([stateKey, a]) =>
    Object.values(a.transitions).map(({ event, state }) => ({ stateKey, event, next: state })),
  );
  const paths = edges.map((edge) => {
    const prefix = prefixes.get(edge.stateKey);
    if (!prefix) throw new Error(`no path reaches ${edge.stateKey}`);
    const events = [...prefix, edge.event, ...(options.drain?.(edge) ?? [])];
    const traversal = { fromState, serializeState: serialize, ...(options.input === undefined ? {} : { input: options.input }) };
    const [path] = model.getPathsFromEvents(events, traversal);
    if (!path) throw new Error(`no path for ${variantKey(edge.stateKey, edge.event)}`);
    return path;
  });
  return { adjacency, edges, paths, prefixes };
}

/** The edges a set of generated paths walks, as `variantKey`s (or as `key` makes them, e.g. `edgeKey`). */
export function walkedEdges<TSnapshot>(
  paths: ReadonlyArray<{ steps: ReadonlyArray<{ state: TSnapshot; event: EventObject }> }>,
  serialize: (snapshot: TSnapshot) => string,
  key: (stateKey: string, event: EventObject) => string = variantKey,
): Set<string> {
  const walked = new Set<string>();
  for (const path of paths) {
    path.steps.forEach((s, i) => {
      if (i > 0) walked.add(key(serialize(path.steps[i - 1]!.state), s.event));
    });
  }
  return walked;
}

/**
 * Edge coverage of the adjacency map: `all` its edges (as `variantKey`s, or as `key` makes them)
 * and the ones no generated path walks (`unwalked`). Structural only: edgePaths builds one path per
 * edge, so this cannot fail for its paths and never sees a transition the event list cannot reach.
 * The measured check is transitionCoverage / transitionCoverageTest.
 */
export function coverageOf<TSnapshot>(
  adjacency: Record<string, { transitions: Record<string, { event: EventObject }> }>,
  paths: ReadonlyArray<{ steps: ReadonlyArray<{ state: TSnapshot; event: EventObject }> }>,
  serialize: (snapshot: TSnapshot) => string,
  key: (stateKey: string, event: EventObject) => string = variantKey,
): { all: string[]; unwalked: string[] } {
  const walked = walkedEdges(paths, serialize, key);
  const all = Object.entries(adjacency).flatMap(([stateKey, a]) => Object.values(a.transitions).map(({ event }) => key(stateKey, event)));
  return { all, unwalked: all.filter((edge) => !walked.has(edge)) };
}

/** The JSON of every event that is an edge out of `stateKey` (payload variants told apart). */
export function edgeEventsOf(adjacency: Record<string, { transitions: Record<string, { event: EventObject }> }>, stateKey: string): Set<string> {
  return new Set(Object.values(adjacency[stateKey]!.transitions).map(({ event }) => JSON.stringify(event)));
}

/** `testPath` executors: every listed event type is run by `run` with the step's event. */
export function executorTable<R>(events: ReadonlyArray<EventObject>, run: (event: EventObject) => R): Record<string, (step: { event: EventObject }) => R> {
  const table: Record<string, (step: { event: EventObject }) => R> = {};
  for (const e of events) table[e.type] = (s) => run(s.event);
  return table;
}

/**
 * Event-loop lag under fake timers: both clocks (the wall clock, and the monotonic one leases and the
 * dead-man decide on) move `ms` ahead without running a timer; later advances move both as usual.
 * Undone by `vi.restoreAllMocks()` (and `vi.useRealTimers()`).
 */
export function lagWithoutTimers(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
  const fakeMonotonic = performance.now.bind(performance);
  vi.spyOn(performance, 'now').mockImplementation(() => fakeMonotonic() + ms);
}

/**
 * Fake timers from `startMs` around every test of the enclosing `describe`, with a fresh system
 * under test made by `create` once the clock is fake and stopped before the real clock returns.
 * Returns the running test's system under test.
 */
export function useFakeClock<TSut extends { actor: { stop(): void } }>(create: () => TSut, startMs: number = MODEL_START_MS): () => TSut {
  let sut: TSut | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ now: startMs });
    sut = create();
  });
  afterEach(() => {
    sut?.actor.stop();
    vi.useRealTimers();
  });
  return () => sut!;
}

/**
 * Fires the timer due in `dueInMs` under the fake clock: the clock goes to 1 ms before it, `notYet`
 * checks that nothing fired early, then the last millisecond fires it.
 */
export async function fireTimer(dueInMs: number, notYet: () => void): Promise<void> {
  await vi.advanceTimersByTimeAsync(dueInMs - 1);
  notYet();
  await vi.advanceTimersByTimeAsync(1);
}

/**
 * Sends `event` `afterMs` after the previous step (fake clock), once the snapshot `can()` take it,
 * and lets its reaction settle (timers due at once run).
 */
export async function sendTaken<TEvent extends EventObject>(sut: { actor: { send(event: TEvent): void }; snap(): { can(event: TEvent): boolean } }, event: TEvent, afterMs: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(afterMs);
  expect(sut.snap().can(event), JSON.stringify(event)).toBe(true);
  sut.actor.send(event);
  await vi.advanceTimersByTimeAsync(0);
}

/**
 * One test per generated path, named by its description: `model.testPath` replays it with
 * `executors`, and after every step the system's snapshot (`actual()`) must have the model's value
 * and status before `check` compares the rest.
 */
export function pathTests<TSnapshot extends Snapshot<unknown> & { value: unknown }, TEvent extends EventObject, TInput, TActual extends { value: unknown; status: string }>(
  model: TestModel<TSnapshot, TEvent, TInput>,
  paths: ReadonlyArray<TestPath<TSnapshot, TEvent>>,
  executors: NonNullable<TestParam<TSnapshot, TEvent>['events']>,
  actual: () => TActual,
  check: (actual: TActual, expected: TSnapshot) => void,
): void {
  test.each(paths.map((p) => [p.description, p] as const))('%s', async (_description, path) => {
    await recordingReplay(paths, () => model.testPath(path, {
      events: executors,
      states: {
        '*': (expected) => {
          const snapshot = actual();
          expect(snapshot.value).toEqual(expected.value);
          expect(snapshot.status).toBe(expected.status);
          check(snapshot, expected);
        },
      },
    }));
  });
}

/** A system under test whose real actor records what it emits. */
export interface RecordingSut<TEvent extends EventObject> {
  actor: { send(event: TEvent): void };
  emitted: { readonly length: number };
  snap(): { value: unknown; context: unknown; can(event: TEvent): boolean };
}

/**
 * One test per reachable state (`title` names it by its key): walk there by the shortest prefix
 * (`step`), then every listed event that is not one of the state's edges (payload variants told
 * apart; `delayed` ones left out: only the clock fires them) and every `invalid` one must be
 * refused: `oracle` (given the system and its snapshot) returns null, `can()` is false, and —
 * unless `unsent` says it must not be sent (an unhandled `xstate.error.actor.*` errors the machine
 * by xstate's rules) — sent anyway it changes neither state nor context and emits nothing, nor
 * (`parentHeard` given: how many events the parent has heard, e.g. childOfRecorder's `toParent()`
 * length) sends the parent anything, after which `check` (if given) re-checks the whole system.
 */
export function refusalTable<TEvent extends EventObject, TSut extends RecordingSut<TEvent>>(
  title: string,
  built: { adjacency: Record<string, { transitions: Record<string, { event: EventObject }> }>; prefixes: ReadonlyMap<string, ReadonlyArray<EventObject>> },
  current: () => TSut,
  options: {
    events: ReadonlyArray<TEvent>;
    delayed?: (event: TEvent) => boolean;
    invalid?: ReadonlyArray<TEvent>;
    step: (sut: TSut, event: TEvent) => Promise<void>;
    oracle: (sut: TSut, before: ReturnType<TSut['snap']>, event: TEvent) => unknown;
    unsent?: (event: TEvent) => boolean;
    parentHeard?: (sut: TSut) => number;
    check?: (sut: TSut) => void;
  },
): void {
  const { adjacency, prefixes } = built;
  test.each([...prefixes.keys()].map((k) => [k] as const))(title, async (stateKey) => {
    const sut = current();
    for (const e of prefixes.get(stateKey)!) await options.step(sut, e as TEvent);
    const heardBeforeRefusals = options.parentHeard?.(sut);
    const handled = edgeEventsOf(adjacency, stateKey);
    const refused = [...options.events.filter((e) => !options.delayed?.(e) && !handled.has(JSON.stringify(e))), ...(options.invalid ?? [])];
    expect(refused.length).toBeGreaterThan(0);
    for (const event of refused) {
      const before = sut.snap() as ReturnType<TSut['snap']>;
      expect(options.oracle(sut, before, event), JSON.stringify(event)).toBeNull();
      expect(before.can(event), JSON.stringify(event)).toBe(false);
      if (options.unsent?.(event)) continue;
      const mark = sut.emitted.length;
      sut.actor.send(event);
      await vi.advanceTimersByTimeAsync(0);
      const after = sut.snap();
      expect([after.value, after.context]).toEqual([before.value, before.context]);
      expect(sut.emitted.length).toBe(mark);
      if (options.parentHeard) expect(options.parentHeard(sut), 'a refused event sends the parent nothing').toBe(heardBeforeRefusals);
      options.check?.(sut);
    }
  });
}
