// The device's RPC functions and events as advertised on the mesh, in one list, plus the
// privileged functions served only on the `.supervisor` subject. Each entry names its parameters
// (Effect Schema → JSON schema) and the driver event a call becomes. Functions are listed here
// only when the machines behind them work (no function pretends). Names: reference-driver.md §2.
import type { DriverEvent } from '../machines/driver.machine.ts';
import { defineFunction, type AnyRpcFunction, type EventDefinition } from './function-def.ts';
import { defineParams, stringParam } from './params.ts';
import { ROBOT_FUNCTIONS } from './robot-functions.ts';

export const getStatus = defineFunction<Record<string, never>, DriverEvent>({
  name: 'get_status',
  description:
    'Report the robot and driver state. Returns {daemon, driver_state}: daemon is the last status read from the Reachy daemon (with its age in seconds) or {available:false, reason}; driver_state has command_owner, lease_expires_at, lease_active, lease_policy, execution_state (idle|commanded|moving|stopping|error), interlock_state (safe|tripped), power_state (unknown|asleep|waking|awake|going_to_sleep), connection_state, current_pose, target_pose, last_error, media and detector states, and when each state was entered. Read-only; never moves the robot.',
  labels: { direction: 'read', safety: 'informational' },
  params: defineParams({}),
  toEvent: (_params, call) => ({ type: 'rpc.get_status', requestId: call.requestId }),
  timeoutMs: 2_000,
});

export const FUNCTIONS: ReadonlyArray<AnyRpcFunction> = [getStatus, ...ROBOT_FUNCTIONS];

const supervisorParams = defineParams({
  reason: stringParam({ description: 'Why (kept in the audit trail).', maxLength: 200 }),
  owner: stringParam({ description: 'Who is acting (for the audit trail).', default: 'supervisor', maxLength: 64 }),
});

const SUPERVISOR_OPERATIONS = [
  { name: 'trip', event: 'supervisor.trip', description: 'Trip the safety interlock (stops running moves, refuses motion until reset).' },
  { name: 'reset_interlock', event: 'supervisor.reset', description: 'Return a tripped interlock to safe.' },
  { name: 'revoke_lease', event: 'supervisor.revoke_lease', description: 'Take the motion lease away from whoever holds it.' },
] as const;

/** Served on `device-connect.<tenant>.<device_id>.supervisor` only; broker ACLs decide who may publish there. */
export const SUPERVISOR_FUNCTIONS: ReadonlyArray<AnyRpcFunction> = SUPERVISOR_OPERATIONS.map((op) =>
  defineFunction({
    name: op.name,
    description: op.description,
    labels: { direction: 'write', safety: 'critical' },
    params: supervisorParams,
    toEvent: (p, call) => ({ type: op.event, requestId: call.requestId, reason: p.reason, owner: p.owner }),
  }),
);

const str = { type: 'string' };
export const EVENTS: ReadonlyArray<EventDefinition> = [
  {
    name: 'safety_event',
    labels: { safety: 'critical', modality: 'safety' },
    description:
      'A motion refusal or an interlock/lease transition. kind: refused | interlock_tripped | interlock_reset | lease_acquired | lease_renewed | lease_released | lease_revoked | lease_expired; reason; function (refusals); owner; state (interlock, power, connection, execution, lease_owner); ts.',
    payloadSchema: {
      type: 'object',
      properties: { kind: str, reason: str, function: str, owner: str, state: { type: 'object' }, ts: str },
      required: ['kind', 'reason', 'state', 'ts'],
    },
  },
];
