// The mesh connection of the device (device-connect-protocol.md §2.5–§2.10, §3.6): connect to
// the broker, register (infra: `registerDevice` with jitter, timeout and full-jitter back-off under 1→30 s until a
// UUID comes back; d2d: announce presence), heartbeat every ttl/3, presence every 5 s after a
// 0.5 s burst, re-register after every reconnect and when the advertised capabilities change
// (`mesh.readvertise`: a new safety envelope), `departing` presence on stop. Owns the states
// and timing only (time is read from Date.now, which tests fake): every I/O action and actor is named here and provided by the device runtime
// (src/actors/device-runtime.ts). NATS status events drive it; nothing here ever exits the process.
import { assign, setup } from 'xstate';
import { backoffDelayMs, type RandomSource } from '../backoff.ts';
import { messageOf } from '../errors.ts';

/** Python back-off: 1, 2, 4 … capped at 30 s, forever (§2.13). */
export const REGISTER_BACKOFF_BASE_MS = 1_000;
export const REGISTER_BACKOFF_MAX_MS = 30_000;
/** D2D presence cadence (§2.10): every 0.5 s for 10 s after start, then every 5 s. */
export const PRESENCE_BURST_INTERVAL_MS = 500;
export const PRESENCE_BURST_WINDOW_MS = 10_000;
export const PRESENCE_STEADY_INTERVAL_MS = 5_000;
/** The Python runtime's heartbeat floor: `max(1, ttl/3)` seconds. */
export const MIN_HEARTBEAT_INTERVAL_MS = 1_000;

export interface MeshInput {
  readonly deviceId: string;
  readonly tenant: string;
  readonly discoveryMode: 'infra' | 'd2d';
  readonly deviceTtlS: number;
  readonly registerJitterMs: number;
  /** Jitter source of the registration delays (tests pass a constant); Math.random by default. */
  readonly random?: RandomSource;
}

export interface MeshContext {
  readonly deviceId: string;
  readonly tenant: string;
  readonly discoveryMode: 'infra' | 'd2d';
  readonly deviceTtlS: number;
  readonly registerJitterMs: number;
  /** Failed registration attempts since the last success (drives the back-off). */
  readonly attempt: number;
  readonly registrationId: string | null;
  readonly registeredAt: number | null;
  readonly registrations: number;
  readonly reconnects: number;
  readonly burstUntil: number;
  readonly lastError: string | null;
  readonly stateSince: number;
  readonly random: RandomSource;
}

export type MeshEvent =
  | { type: 'nats.disconnect' }
  | { type: 'nats.reconnect' }
  | { type: 'nats.closed'; error?: string }
  | { type: 'nats.probe' }
  /** The advertised capabilities changed (a new safety envelope): refresh the micro service, register or announce again, connection kept. */
  | { type: 'mesh.readvertise' }
  | { type: 'mesh.stop' };

export interface RegistrationOutput {
  readonly registrationId: string;
}

/** Full-jitter back-off (src/backoff.ts) after `attempt` consecutive registration failures. */
export function registrationBackoffMs(attempt: number, random: RandomSource = Math.random): number {
  return backoffDelayMs({ baseMs: REGISTER_BACKOFF_BASE_MS, maxMs: REGISTER_BACKOFF_MAX_MS }, attempt, random);
}

export const meshMachine = setup({
  types: {
    context: {} as MeshContext,
    events: {} as MeshEvent,
    input: {} as MeshInput,
  },
  actors: {
    // Provided by the device runtime; these defaults fail loudly if a runtime forgets one.
    connect: (() => {
      throw new Error('mesh machine: the "connect" actor must be provided');
    }) as unknown as import('xstate').PromiseActorLogic<void, { deviceId: string }>,
    registerDevice: (() => {
      throw new Error('mesh machine: the "registerDevice" actor must be provided');
    }) as unknown as import('xstate').PromiseActorLogic<RegistrationOutput, { attempt: number }>,
    drain: (() => {
      throw new Error('mesh machine: the "drain" actor must be provided');
    }) as unknown as import('xstate').PromiseActorLogic<void, void>,
  },
  actions: {
    publishHeartbeat: () => undefined,
    publishPresence: () => undefined,
    publishDeparting: () => undefined,
    notifyRegistered: () => undefined,
    /** Re-publishes the micro-service endpoints with the capabilities as advertised now. */
    refreshService: () => undefined,
    stamp: assign({ stateSince: ({ context }) => Date.now() }),
    startBurst: assign({ burstUntil: ({ context }) => Date.now() + PRESENCE_BURST_WINDOW_MS }),
    recordRegistration: assign(({ context }, output: RegistrationOutput) => ({
      attempt: 0,
      registrationId: output.registrationId,
      registeredAt: Date.now(),
      registrations: context.registrations + 1,
      lastError: null,
    })),
    recordFailure: assign(({ context }, error: unknown) => ({ attempt: context.attempt + 1, lastError: messageOf(error) })),
    countReconnect: assign({ reconnects: ({ context }) => context.reconnects + 1, registrationId: null }),
  },
  guards: {
    isD2D: ({ context }) => context.discoveryMode === 'd2d',
  },
  delays: {
    registerJitter: ({ context }) => Math.floor(context.random() * context.registerJitterMs),
    registerBackoff: ({ context }) => registrationBackoffMs(context.attempt, context.random),
    heartbeatInterval: ({ context }) => Math.max(MIN_HEARTBEAT_INTERVAL_MS, (context.deviceTtlS * 1000) / 3),
    presenceInterval: ({ context }) => (Date.now() < context.burstUntil ? PRESENCE_BURST_INTERVAL_MS : PRESENCE_STEADY_INTERVAL_MS),
  },
}).createMachine({
  id: 'mesh',
  initial: 'connecting',
  context: ({ input }) => {
    return {
      deviceId: input.deviceId,
      tenant: input.tenant,
      discoveryMode: input.discoveryMode,
      deviceTtlS: input.deviceTtlS,
      registerJitterMs: input.registerJitterMs,
      attempt: 0,
      registrationId: null,
      registeredAt: null,
      registrations: 0,
      reconnects: 0,
      burstUntil: 0,
      lastError: null,
      stateSince: Date.now(),
      random: input.random ?? Math.random,
    };
  },
  on: {
    'mesh.stop': { target: '.closing' },
    // The client gave up (it never does on outages with unlimited reconnects; it does when the
    // server revokes the credentials mid-session): start over with a fresh connection.
    'nats.closed': { target: '.connecting', actions: assign({ lastError: ({ event }) => event.error ?? 'connection closed by the client' }) },
  },
  states: {
    connecting: {
      entry: 'stamp',
      initial: 'dialing',
      states: {
        dialing: {
          invoke: {
            id: 'connect',
            src: 'connect',
            input: ({ context }) => ({ deviceId: context.deviceId }),
            onDone: { target: '#mesh.registering', actions: assign({ attempt: 0, lastError: null }) },
            // Refused credentials or an unreachable first server: keep trying with back-off;
            // the broker's accounts may be fixed without touching the robot (never exit).
            onError: { target: 'waiting', actions: { type: 'recordFailure', params: ({ event }: { event: { error: unknown } }) => event.error } },
          },
        },
        waiting: {
          after: { registerBackoff: { target: 'dialing' } },
        },
      },
    },
    registering: {
      entry: 'stamp',
      initial: 'choose',
      on: {
        'nats.disconnect': { target: 'reconnecting' },
        // A registration in flight may carry the old capabilities: send it again, now.
        'mesh.readvertise': { target: '.requesting', reenter: true, actions: 'refreshService' },
      },
      states: {
        choose: {
          always: [
            { guard: 'isD2D', target: '#mesh.registered', actions: ['startBurst', 'publishPresence'] },
            { target: 'jitter' },
          ],
        },
        jitter: {
          after: { registerJitter: { target: 'requesting' } },
        },
        requesting: {
          invoke: {
            id: 'registerDevice',
            src: 'registerDevice',
            input: ({ context }) => ({ attempt: context.attempt }),
            onDone: {
              target: '#mesh.registered',
              actions: [{ type: 'recordRegistration', params: ({ event }) => event.output }, 'notifyRegistered'],
            },
            onError: { target: 'backoff', actions: { type: 'recordFailure', params: ({ event }: { event: { error: unknown } }) => event.error } },
          },
        },
        backoff: {
          after: { registerBackoff: { target: 'requesting' } },
        },
      },
    },
    registered: {
      entry: ['stamp', 'publishHeartbeat'],
      type: 'parallel',
      on: {
        'nats.disconnect': { target: 'reconnecting' },
        'nats.probe': { guard: 'isD2D', actions: 'publishPresence' },
        // New capabilities: the registry gets a fresh registerDevice at once (no jitter, like after a reconnect); d2d peers a presence burst.
        'mesh.readvertise': [
          { guard: 'isD2D', actions: ['refreshService', 'startBurst', 'publishPresence'] },
          { target: 'registering.requesting', actions: 'refreshService' },
        ],
      },
      states: {
        heartbeat: {
          initial: 'waiting',
          states: {
            waiting: {
              after: { heartbeatInterval: { target: 'waiting', reenter: true, actions: 'publishHeartbeat' } },
            },
          },
        },
        presence: {
          initial: 'choose',
          states: {
            choose: {
              always: [{ guard: 'isD2D', target: 'announcing' }, { target: 'off' }],
            },
            off: {},
            announcing: {
              after: { presenceInterval: { target: 'announcing', reenter: true, actions: 'publishPresence' } },
            },
          },
        },
      },
    },
    reconnecting: {
      entry: ['stamp', 'countReconnect'],
      on: {
        // The registration after the reconnect reads the capabilities then; the micro service is refreshed now.
        'mesh.readvertise': { actions: 'refreshService' },
        // Re-register at once after a reconnect (Python does the same, §3.6); no jitter needed.
        'nats.reconnect': [
          { guard: 'isD2D', target: 'registered', actions: ['startBurst', 'publishPresence'] },
          { target: 'registering.requesting' },
        ],
      },
    },
    closing: {
      entry: ['stamp', 'publishDeparting'],
      on: { 'nats.closed': { target: 'closed' } },
      invoke: {
        id: 'drain',
        src: 'drain',
        onDone: { target: 'closed' },
        onError: { target: 'closed' },
      },
    },
    closed: {
      entry: 'stamp',
      type: 'final',
    },
  },
});

export type MeshMachine = typeof meshMachine;

/** The coarse state name shown in `get_status` and the settings page. */
export function meshStateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return Object.keys(value)[0] ?? 'unknown';
  return 'unknown';
}
