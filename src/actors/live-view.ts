// The built-in live view of the actor system (README "Inspecting the state machines"): every
// machine actor's current state, read from its own snapshot when a frame is built (no copy kept
// in sync: the snapshot stays the only truth), and the latest events they received, fed by the
// root system's inspection observer. Sanitised exactly like the Stately inspector (the same
// `sanitizeForInspection`: no secrets, no frame or audio data). Owns the registry of live machine
// actors, the event ring and the push cadence; serving it (SSE, token) is the settings server's.
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import { sanitizeForInspection } from '../adapters/state-inspector.ts';

/** Events kept and shown: a few seconds of a busy robot, small enough to resend with every frame. */
export const LIVE_EVENTS_KEPT = 100;
/** Frames are coalesced to at most one per this interval: the realtime loop alone sends 50 events/s. */
export const LIVE_PUSH_INTERVAL_MS = 200;

export interface LiveActor {
  readonly id: string;
  readonly system_id: string | null;
  readonly parent: string | null;
  readonly machine: string | null;
  readonly status: string;
  readonly value: unknown;
  readonly context: unknown;
}

export interface LiveEvent {
  readonly seq: number;
  readonly at: string;
  readonly target: string;
  readonly source: string | null;
  readonly type: string;
  readonly event: unknown;
}

export interface LiveFrame {
  readonly at: string;
  readonly actors: ReadonlyArray<LiveActor>;
  readonly events: ReadonlyArray<LiveEvent>;
}

export interface LiveView {
  /** Pass to the root actor system (`inspect`), next to the Stately inspector's observer. */
  readonly observer: Observer<InspectionEvent>;
  frame(): LiveFrame;
  /** Called with a frame after changes, at most every LIVE_PUSH_INTERVAL_MS; returns the unsubscribe. */
  subscribe(listener: (frame: LiveFrame) => void): () => void;
}

interface Tracked {
  readonly ref: AnyActorRef;
  readonly parent: string | null;
  readonly machine: string;
}

/** A state machine's logic (promise, callback and observable actors are not shown: they have no states). */
function machineIdOf(ref: AnyActorRef): string | undefined {
  const logic = (ref as { logic?: { root?: unknown; id?: unknown } }).logic;
  return logic && logic.root !== undefined && typeof logic.id === 'string' ? logic.id : undefined;
}

export function createLiveView(now: () => number = Date.now): LiveView {
  const tracked = new Map<string, Tracked>();
  const events: LiveEvent[] = [];
  const listeners = new Set<(frame: LiveFrame) => void>();
  let seq = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const frame = (): LiveFrame => {
    const actors: LiveActor[] = [];
    for (const [session, { ref, parent, machine }] of tracked) {
      const snapshot = ref.getSnapshot() as { status?: string; value?: unknown; context?: unknown };
      if (snapshot.status !== 'active') {
        tracked.delete(session);
        continue;
      }
      const systemId = (ref as { systemId?: string }).systemId;
      actors.push({ id: ref.id, system_id: systemId ?? null, parent, machine, status: snapshot.status, value: sanitizeForInspection(snapshot.value), context: sanitizeForInspection(snapshot.context) });
    }
    return { at: new Date(now()).toISOString(), actors, events: [...events] };
  };

  const changed = (): void => {
    if (listeners.size === 0 || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      const current = frame();
      for (const listener of listeners) listener(current);
    }, LIVE_PUSH_INTERVAL_MS);
    timer.unref?.();
  };

  const observer: Observer<InspectionEvent> = {
    next(inspection) {
      const ref = inspection.actorRef as AnyActorRef;
      if (inspection.type === '@xstate.actor') {
        const machine = machineIdOf(ref);
        if (machine === undefined) return;
        tracked.set(ref.sessionId, { ref, parent: (ref as { _parent?: AnyActorRef })._parent?.id ?? null, machine });
        changed();
      } else if (inspection.type === '@xstate.snapshot') {
        if (tracked.has(ref.sessionId)) changed();
      } else if (inspection.type === '@xstate.event') {
        if (!tracked.has(ref.sessionId)) return;
        const source = inspection.sourceRef as { id?: string } | undefined;
        events.push({ seq: ++seq, at: new Date(now()).toISOString(), target: ref.id, source: source?.id ?? null, type: String(inspection.event.type), event: sanitizeForInspection(inspection.event) });
        if (events.length > LIVE_EVENTS_KEPT) events.shift();
        changed();
      }
    },
  };

  return {
    observer,
    frame,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
