// The safety interlock (reference-driver.md §4 `interlock_state`, §12: the reference never trips
// it and never emits `safety_event`): safe → tripped by an explicit trip (e-stop RPC, supervisor)
// or by the daemon reporting `DaemonStatus.state == "error"` (reachy-daemon-api.md §5); tripped →
// safe only by an explicit reset. Entering tripped sends `interlock.stop_requested` to the root
// (which stops motion and refuses new commands) and emits it; every change emits
// `interlock.changed` (the runtime turns it into `safety_event`). Owns the two states and who tripped first; it does not decide who
// may reset, does not stop motion itself, and does no I/O.
import { assign, emit, enqueueActions, setup } from 'xstate';
import type { InterlockState } from './driver-state.ts';

/** The one `DaemonStatus.state` value that trips the interlock; the others are lifecycle states. */
export const DAEMON_ERROR_STATE = 'error';

export const INTERLOCK_STATES = ['safe', 'tripped'] as const satisfies ReadonlyArray<InterlockState>;
export type InterlockStateName = InterlockState;
export const INTERLOCK_SOURCES = ['rpc', 'supervisor', 'daemon', 'd2d'] as const;
export type InterlockSource = (typeof INTERLOCK_SOURCES)[number];

export interface InterlockContext {
  /** Why the last change happened: the first trip's reason while tripped, the reset's after a reset. */
  readonly reason: string | null;
  readonly source: InterlockSource | null;
  readonly owner: string | null;
  /** Epoch ms of the trip that is in force; 0 while safe. */
  readonly trippedAt: number;
  /** How many times it went safe → tripped. */
  readonly trips: number;
  /** Epoch ms of the last change (start-up while never changed). */
  readonly since: number;
}

export type InterlockEvent =
  | { type: 'interlock.trip'; reason: string; source: InterlockSource; owner: string | null }
  /** The daemon's periodic `DaemonStatus.state` (and its `error` text when present). */
  | { type: 'daemon.state'; state: string; error?: string | null }
  | { type: 'interlock.reset'; reason: string; source: InterlockSource; owner: string | null };

export type InterlockEmitted =
  | { type: 'interlock.changed'; state: InterlockStateName; reason: string | null; source: InterlockSource | null; owner: string | null; at: number }
  | { type: 'interlock.stop_requested'; reason: string; source: InterlockSource | null };

/** The trip reason recorded for a daemon error status. */
export function daemonTripReason(error: string | null | undefined): string {
  return error ? `daemon reported state "${DAEMON_ERROR_STATE}": ${error}` : `daemon reported state "${DAEMON_ERROR_STATE}"`;
}

export const interlockMachine = setup({
  types: {
    context: {} as InterlockContext,
    events: {} as InterlockEvent,
    emitted: {} as InterlockEmitted,
  },
  actions: {
    recordTrip: assign(({ context }, params: { reason: string; source: InterlockSource; owner: string | null }) => ({
      reason: params.reason,
      source: params.source,
      owner: params.owner,
      trippedAt: Date.now(),
      trips: context.trips + 1,
      since: Date.now(),
    })),
    recordReset: assign((_, params: { reason: string; source: InterlockSource; owner: string | null }) => ({
      reason: params.reason,
      source: params.source,
      owner: params.owner,
      trippedAt: 0,
      since: Date.now(),
    })),
    announce: emit(({ context }, params: { state: InterlockStateName }) => ({
      type: 'interlock.changed' as const,
      state: params.state,
      reason: context.reason,
      source: context.source,
      owner: context.owner,
      at: Date.now(),
    })),
    /** Observers hear it; the root (parent) stops motion for a trip it did not start itself (daemon error). */
    requestStop: enqueueActions(({ context, self, enqueue }) => {
      const request = { type: 'interlock.stop_requested' as const, reason: context.reason ?? 'interlock tripped', source: context.source };
      enqueue.emit(request);
      if ((self as { _parent?: unknown })._parent) enqueue.sendParent(request);
    }),
  },
  guards: {
    daemonInError: ({ event }) => event.type === 'daemon.state' && event.state === DAEMON_ERROR_STATE,
  },
}).createMachine({
  id: 'interlock',
  initial: 'safe',
  context: () => ({ reason: null, source: null, owner: null, trippedAt: 0, trips: 0, since: Date.now() }),
  states: {
    safe: {
      on: {
        'interlock.trip': {
          target: 'tripped',
          actions: [{ type: 'recordTrip', params: ({ event }) => ({ reason: event.reason, source: event.source, owner: event.owner }) }, { type: 'announce', params: { state: 'tripped' } }],
        },
        'daemon.state': {
          guard: 'daemonInError',
          target: 'tripped',
          actions: [
            { type: 'recordTrip', params: ({ event }) => ({ reason: daemonTripReason(event.error), source: 'daemon' as const, owner: null }) },
            { type: 'announce', params: { state: 'tripped' } },
          ],
        },
      },
    },
    tripped: {
      entry: 'requestStop',
      on: {
        // Another e-stop while tripped: stays tripped, keeps who tripped first, and asks for the
        // stop again (idempotent; covers a move that raced the first stop). The daemon's periodic
        // error status is not a new trip and is ignored here.
        'interlock.trip': { actions: 'requestStop' },
        'interlock.reset': {
          target: 'safe',
          actions: [{ type: 'recordReset', params: ({ event }) => ({ reason: event.reason, source: event.source, owner: event.owner }) }, { type: 'announce', params: { state: 'safe' } }],
        },
      },
    },
  },
});

export type InterlockMachine = typeof interlockMachine;
