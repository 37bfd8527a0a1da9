// The supervisor's approval functions and the approval events (issue 14 item 5; README "Safety
// policy: human approval"): `list_approvals`, `approve`, `deny`, served only on the `.supervisor`
// subject, and the mesh events `approval_requested` / `approval_decided` that let an MCP host tell
// the user what is waiting. Owns their advertised definitions and parameter decoding; the pending
// list and its rules are the approvals machine's (src/machines/approvals.machine.ts).
import type { DriverEvent } from '../machines/driver.machine.ts';
import { actingOwner, defineFunction, OWNER_PATTERN, type AnyRpcFunction, type EventDefinition } from './function-def.ts';
import { defineParams, stringParam } from './params.ts';

/** Approval ids are UUIDs (36 characters); a little room, no more. */
const APPROVAL_ID_MAX_LENGTH = 64;
/** Longest `reason` kept in the audit trail. */
const REASON_MAX_LENGTH = 200;

const approvalId = stringParam({ description: 'The approval_id of a pending request (list_approvals, approval_requested event).', maxLength: APPROVAL_ID_MAX_LENGTH });
const owner = stringParam({ description: 'Who decides (kept in the audit trail, returned to the caller as denied_by).', default: 'supervisor', pattern: OWNER_PATTERN, patternText: 'letters, digits and . _ : @ / -' });

export const listApprovals = defineFunction<Record<string, never>, DriverEvent>({
  name: 'list_approvals',
  description: 'The calls waiting for a human approval: {pending: [{approval_id, function, params (a summary), owner, caller, requested_at, expires_at, expires_in_s}], count}. Supervisor subject only.',
  labels: { direction: 'read', safety: 'critical' },
  params: defineParams({}),
  toEvent: (_p, call) => ({ type: 'supervisor.list_approvals', requestId: call.requestId }),
  timeoutMs: 2_000,
});

export const approve = defineFunction({
  name: 'approve',
  description: 'Approve a pending request: the held call then runs (if the robot state still allows it) and its caller gets its normal result. Unknown, decided or expired ids answer ApprovalNotFound. Supervisor subject only.',
  labels: { direction: 'write', safety: 'critical' },
  params: defineParams({ approval_id: approvalId, owner, reason: stringParam({ description: 'Why (kept in the audit trail).', default: 'approved', maxLength: REASON_MAX_LENGTH }) }),
  toEvent: (p, call): DriverEvent => ({ type: 'supervisor.approve', requestId: call.requestId, approvalId: p.approval_id, owner: actingOwner(p.owner, call), reason: p.reason }),
  timeoutMs: 2_000,
});

export const deny = defineFunction({
  name: 'deny',
  description: 'Deny a pending request: its caller gets ApprovalDenied {approval_id, denied_by, reason} and nothing reaches the robot. Unknown, decided or expired ids answer ApprovalNotFound. Supervisor subject only.',
  labels: { direction: 'write', safety: 'critical' },
  params: defineParams({ approval_id: approvalId, reason: stringParam({ description: 'Why (returned to the caller and kept in the audit trail).', maxLength: REASON_MAX_LENGTH }), owner }),
  toEvent: (p, call): DriverEvent => ({ type: 'supervisor.deny', requestId: call.requestId, approvalId: p.approval_id, owner: actingOwner(p.owner, call), reason: p.reason }),
  timeoutMs: 2_000,
});

export const APPROVAL_FUNCTIONS: ReadonlyArray<AnyRpcFunction> = [listApprovals, approve, deny];

const str = { type: 'string' };
const num = { type: 'number' };

export const APPROVAL_EVENTS: ReadonlyArray<EventDefinition> = [
  {
    name: 'approval_requested',
    labels: { safety: 'critical', modality: 'safety' },
    description:
      'A call is waiting for a human approval (the supervisor approves or denies it on the .supervisor subject). approval_id; function; params (a summary); owner; caller; requested_at and expires_at (ISO-8601); timeout_s; ts.',
    payloadSchema: {
      type: 'object',
      properties: { approval_id: str, function: str, params: { type: 'object' }, owner: str, caller: { type: ['string', 'null'] }, requested_at: str, expires_at: str, timeout_s: num, ts: str },
      required: ['approval_id', 'function', 'params', 'owner', 'requested_at', 'expires_at', 'timeout_s', 'ts'],
    },
  },
  {
    name: 'approval_decided',
    labels: { safety: 'critical', modality: 'safety' },
    description:
      'A waiting call was decided. approval_id; function; decision: approved | denied | timeout | stopped (a stop ended a waiting motion call); decided_by; reason; owner (who asked); ts.',
    payloadSchema: {
      type: 'object',
      properties: { approval_id: str, function: str, decision: { type: 'string', enum: ['approved', 'denied', 'timeout', 'stopped'] }, decided_by: str, reason: str, owner: str, ts: str },
      required: ['approval_id', 'function', 'decision', 'decided_by', 'reason', 'owner', 'ts'],
    },
  },
];
