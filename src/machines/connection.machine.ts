// The daemon link (reachy-daemon-api.md §0–§2, reference-driver.md §12.12): disconnected →
// connecting (one status probe) → connected (the live link: /ws/sdk + move updates, or HTTP
// status polling) → backoff → connecting … forever, reconnecting within ~1 s of the daemon's
// return; the back-off climbs until a link stays up STABLE_CONNECTION_MS. Owns the link states
// and their timing; the probe and the live link are actors provided by the composer (adapters do
// the I/O). Motion is refused while not connected (DaemonUnavailable).
import { assign, enqueueActions, setup } from 'xstate';
import { backoffDelayMs, type RandomSource } from '../backoff.ts';
import { messageOf } from '../errors.ts';

/** First retry quickly (a restarting daemon is back in ~1 s); cap so reconnect stays < 2 s. */
export const RECONNECT_BACKOFF_BASE_MS = 100;
export const RECONNECT_BACKOFF_MAX_MS = 1_000;
/**
 * A link that stayed up this long was a recovery: the next loss backs off from the base again. A
 * daemon that answers the probe and then drops the link at once keeps climbing the back-off instead
 * of being probed (and announced) at the base rate; 2 s as the daemon sockets' own STABLE_OPEN_MS.
 */
export const STABLE_CONNECTION_MS = 2_000;

export type ConnectionStateName = 'disconnected' | 'connecting' | 'connected' | 'backoff';

export interface ConnectionContext {
  readonly attempt: number;
  readonly lastError: string | null;
  readonly since: number;
  readonly connects: number;
  readonly random: RandomSource;
}

export type ConnectionEvent =
  | { type: 'link.start' }
  | { type: 'link.stop' }
  /** From the live link: the socket closed, liveness failed, or status polling failed. */
  | { type: 'daemon.lost'; reason: string };

export type ConnectionEmitted = { type: 'connection.changed'; state: ConnectionStateName; at: number; lastError: string | null };

/** Jitter source of the back-off (tests pass a constant); Math.random when the composer gives none. */
export interface ConnectionInput {
  readonly random?: RandomSource;
}

/** Full-jitter back-off (src/backoff.ts) after `attempt` consecutive failures. */
export function reconnectBackoffMs(attempt: number, random: RandomSource = Math.random): number {
  return backoffDelayMs({ baseMs: RECONNECT_BACKOFF_BASE_MS, maxMs: RECONNECT_BACKOFF_MAX_MS }, attempt, random);
}

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    emitted: {} as ConnectionEmitted,
    input: {} as ConnectionInput | undefined,
  },
  actors: {
    probeDaemon: (() => {
      throw new Error('connection machine: the "probeDaemon" actor must be provided');
    }) as unknown as import('xstate').PromiseActorLogic<unknown>,
    daemonLink: (() => {
      throw new Error('connection machine: the "daemonLink" actor must be provided');
    }) as unknown as import('xstate').CallbackActorLogic<ConnectionEvent>,
  },
  actions: {
    /** Observers hear every change; the root (parent) too, so motion can sweep after a reconnect. */
    announce: enqueueActions(({ context, self, enqueue }, params: { state: ConnectionStateName }) => {
      const changed = { type: 'connection.changed' as const, state: params.state, at: context.since, lastError: context.lastError };
      enqueue.emit(changed);
      if ((self as { _parent?: unknown })._parent) enqueue.sendParent(changed);
    }),
    stamp: assign({ since: () => Date.now() }),
    recordFailure: assign(({ context }, params: { error: unknown }) => ({ attempt: context.attempt + 1, lastError: messageOf(params.error) })),
    recordConnected: assign(({ context }) => ({ lastError: null, connects: context.connects + 1 })),
    forgetFailures: assign({ attempt: 0 }),
  },
  delays: {
    reconnectBackoff: ({ context }) => reconnectBackoffMs(context.attempt, context.random),
    stableConnection: STABLE_CONNECTION_MS,
  },
}).createMachine({
  id: 'connection',
  initial: 'disconnected',
  context: ({ input }) => ({ attempt: 0, lastError: null, since: Date.now(), connects: 0, random: input?.random ?? Math.random }),
  on: {
    'link.stop': { target: '.disconnected' },
  },
  states: {
    disconnected: {
      entry: ['stamp', { type: 'announce', params: { state: 'disconnected' } }],
      on: { 'link.start': { target: 'connecting' } },
    },
    connecting: {
      entry: ['stamp', { type: 'announce', params: { state: 'connecting' } }],
      invoke: {
        id: 'probeDaemon',
        src: 'probeDaemon',
        onDone: { target: 'connected', actions: 'recordConnected' },
        onError: { target: 'backoff', actions: { type: 'recordFailure', params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) } },
      },
    },
    connected: {
      entry: ['stamp', { type: 'announce', params: { state: 'connected' } }],
      invoke: { id: 'daemonLink', src: 'daemonLink' },
      after: { stableConnection: { actions: 'forgetFailures' } },
      on: {
        'daemon.lost': { target: 'backoff', actions: { type: 'recordFailure', params: ({ event }) => ({ error: event.reason }) } },
      },
    },
    backoff: {
      entry: ['stamp', { type: 'announce', params: { state: 'backoff' } }],
      after: { reconnectBackoff: { target: 'connecting' } },
    },
  },
});

export type ConnectionMachine = typeof connectionMachine;
