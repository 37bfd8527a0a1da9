// The device's RPC functions and events as advertised on the mesh, in one list. Each entry names
// its parameters (Effect Schema → JSON schema) and the driver event a call becomes. Robot
// functions are added here only when the machines behind them work (no function pretends).
// Names and defaults follow reference-driver.md §2.
import type { DriverEvent } from '../machines/driver.machine.ts';
import { defineFunction, type AnyRpcFunction, type EventDefinition } from './function-def.ts';
import { defineParams } from './params.ts';

export const getStatus = defineFunction<Record<string, never>, DriverEvent>({
  name: 'get_status',
  description:
    'Report the robot and driver state. Returns {daemon, driver_state}: daemon is the last status read from the Reachy daemon (with its age in seconds) or {available:false, reason}; driver_state has command_owner, lease_expires_at, lease_active, execution_state (idle|commanded|moving|stopping|error), interlock_state (safe|tripped), current_pose, target_pose, media and detector states, last_error, plus connection_state and mesh_state. Read-only; never moves the robot.',
  labels: { direction: 'read', safety: 'informational' },
  params: defineParams({}),
  toEvent: (_params, call) => ({ type: 'rpc.get_status', requestId: call.requestId }),
  timeoutMs: 2_000,
});

export const FUNCTIONS: ReadonlyArray<AnyRpcFunction> = [getStatus];

export const EVENTS: ReadonlyArray<EventDefinition> = [];
