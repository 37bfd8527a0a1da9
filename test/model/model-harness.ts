// Shared pieces for model-based tests (ecosystem §1.4 pattern 1): collect every event a machine
// can react to (including `xstate.done/error.actor.<id>` and `xstate.after.<delay>.<state>`),
// generate one path per adjacency edge (shortest prefix, the edge, optional drain events), key
// edges by event type or payload variant, and check transition coverage (every edge of the
// adjacency map walked by some generated path). Owns no machine knowledge: each test brings its
// own serialisation of states.
import type { AnyStateMachine, EventObject, Snapshot } from 'xstate';
import type { TestModel } from 'xstate/graph';

interface NodeLike {
  transitions: Map<string, unknown>;
  states: Record<string, NodeLike>;
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
 * initial key with different unserialised context.
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
  type Adjacency = { transitions: Record<string, { event: TEvent; state: TSnapshot }> };
  const adjacency = model.getAdjacencyMap() as unknown as Record<string, Adjacency>;
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
