// A tiny test parent for model tests of child machines (the root driver machine spawns them and
// hears them through `sendParent`): the machine under test runs as a real actor whose parent is a
// recording actor, so every event it sends its parent is kept in order (`toParent`) next to the
// events it emits (`emitted`). Owns no machine knowledge; the system under test is started here,
// the listener attached before start so entry emits are recorded too.
import { watchTransitions } from './model-harness.ts';
import { createActor, fromTransition, type AnyActorLogic, type EmittedFrom, type EventFromLogic, type EventObject, type InputFrom } from 'xstate';

/** The parent: keeps every event it receives. */
const recorder = fromTransition((heard: EventObject[], event: EventObject) => [...heard, event], [] as EventObject[]);

/**
 * Starts `logic` (with `input`) as the child of a recording parent. `toParent()` is what it sent
 * its parent so far; `snap()` reads its snapshot as `TSnap`; stopping `actor` stops both.
 */
export function childOfRecorder<TLogic extends AnyActorLogic, TSnap>(logic: TLogic, input?: InputFrom<TLogic>) {
  const parent = createActor(recorder);
  parent.start();
  const child = createActor(logic, { parent, ...(input === undefined ? {} : { input }) });
  // Measured coverage (model-harness): the transitions this child takes while a path is replayed.
  watchTransitions(child);
  const emitted: Array<EmittedFrom<TLogic>> = [];
  child.on('*', (e) => void emitted.push(e as EmittedFrom<TLogic>));
  child.start();
  const actor = {
    send: (event: EventFromLogic<TLogic>) => child.send(event),
    stop: () => {
      // xstate refuses `stop()` on an actor with a parent; `_stop()` is what a parent calls on its children.
      (child as unknown as { _stop(): void })._stop();
      parent.stop();
    },
    child,
  };
  return { actor, emitted, toParent: () => parent.getSnapshot().context as ReadonlyArray<EventObject>, snap: () => child.getSnapshot() as unknown as TSnap };
}
