// Shared pieces for model-based tests (ecosystem §1.4 pattern 1): collect every event a machine
// can react to (including `xstate.done/error.actor.<id>` and `xstate.after.<delay>.<state>`),
// serialise states finitely, and check transition coverage (every edge of the adjacency map walked
// by some generated path). Owns no machine knowledge.
import type { AnyStateMachine, EventObject } from 'xstate';

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
