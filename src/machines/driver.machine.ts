// The root driver machine: the one actor every RPC event is sent to (via the gate). It owns the
// robot-side state the device reports (`driver_state`, daemon link state) and answers each RPC
// with an emitted `rpc.outcome` carrying the request id. The daemon link, power, interlock, lease
// and motion machines plug in here as the robot-link work lands (issue 3); until then the daemon
// link is `disconnected` and get_status says so. Pure definition: no I/O.
import { assign, emit, setup } from 'xstate';
import type { RpcFailure } from '../errors.ts';
import { availabilityOf, INITIAL_DRIVER_STATE, type DriverStateFields } from './driver-state.ts';

export interface DriverInput {
  readonly deviceId: string;
}

export interface DriverContext {
  readonly deviceId: string;
  readonly startedAt: number;
  readonly state: DriverStateFields;
  readonly connectionState: 'disconnected' | 'connecting' | 'connected' | 'backoff';
  /** Last daemon status (plain JSON) and when it was read; null until the link is up. */
  readonly daemonStatus: { readonly value: unknown; readonly at: number } | null;
  readonly meshState: string;
  readonly meshStateSince: number;
}

export type DriverEvent =
  | { type: 'rpc.get_status'; requestId: string }
  | { type: 'mesh.state'; state: string; at: number };

export type RpcOutcome =
  | { type: 'rpc.outcome'; requestId: string; ok: true; result: unknown }
  | { type: 'rpc.outcome'; requestId: string; ok: false; error: RpcFailure };

export type DriverEmitted = RpcOutcome | { type: 'device.availability'; availability: 'idle' | 'busy' | 'error' };

function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** `get_status` result: the daemon block and the reference `driver_state` plus our additions. */
export function statusResult(context: DriverContext): Record<string, unknown> {
  const now = Date.now();
  const state = context.state;
  return {
    daemon:
      context.daemonStatus === null
        ? { available: false, connection_state: context.connectionState, reason: 'no daemon status received yet: the daemon link is not connected' }
        : { available: true, connection_state: context.connectionState, status: context.daemonStatus.value, read_at: isoMs(context.daemonStatus.at), age_s: (now - context.daemonStatus.at) / 1000 },
    driver_state: {
      ...state,
      lease_active: state.lease_expires_at * 1000 > now,
      availability: availabilityOf(state.execution_state),
      connection_state: context.connectionState,
      mesh_state: context.meshState,
      mesh_state_since: isoMs(context.meshStateSince),
      started_at: isoMs(context.startedAt),
    },
  };
}

export const driverMachine = setup({
  types: {
    context: {} as DriverContext,
    events: {} as DriverEvent,
    input: {} as DriverInput,
    emitted: {} as DriverEmitted,
  },
  actions: {
    answerStatus: emit(({ context, event }) => {
      const requestId = (event as { requestId: string }).requestId;
      return { type: 'rpc.outcome' as const, requestId, ok: true as const, result: statusResult(context) };
    }),
    recordMeshState: assign(({ event }) => {
      const e = event as Extract<DriverEvent, { type: 'mesh.state' }>;
      return { meshState: e.state, meshStateSince: e.at };
    }),
  },
}).createMachine({
  id: 'driver',
  context: ({ input }) => {
    const now = Date.now();
    return {
      deviceId: input.deviceId,
      startedAt: now,
      state: INITIAL_DRIVER_STATE,
      connectionState: 'disconnected',
      daemonStatus: null,
      meshState: 'connecting',
      meshStateSince: now,
    };
  },
  initial: 'running',
  states: {
    running: {
      on: {
        'rpc.get_status': { actions: 'answerStatus' },
        'mesh.state': { actions: 'recordMeshState' },
      },
    },
  },
});

export type DriverMachine = typeof driverMachine;

