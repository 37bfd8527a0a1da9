// Pending human approvals (issue 14 item 5; README "Safety policy: human approval"): the list of
// calls the gate holds until the supervisor approves or denies them, each with its expiry. One
// timer, armed for the earliest expiry and re-armed on every change, times requests out; a stop
// ends every pending request of a motion function, a trip also every pending `reset_interlock`
// (decision `stopped`). Every request and decision
// is sent to the parent (the root), which emits it for the waiting gate stage, the safety trail and
// the mesh; approve/deny calls are answered to the parent (`approvals.answer`). Pure: the gate's
// approval stage (src/actors/approval-stage.ts) builds the requests and waits; no I/O here.
import { and, enqueueActions, setup } from 'xstate';
import { ApprovalNotFound } from '../errors.ts';
import { monotonicMs } from '../monotonic-clock.ts';

export interface PendingApproval {
  readonly approvalId: string;
  readonly function: string;
  /** A bounded, printable summary of the call's parameters (never the raw payload). */
  readonly params: Record<string, unknown>;
  /** Who asked (the lease owner the call acts as). */
  readonly owner: string;
  /** The calling device (`_dc_meta.source_device`), when it said. */
  readonly caller: string | null;
  /** A function that moves the robot: a stop ends the request. */
  readonly motion: boolean;
  readonly timeoutS: number;
  /** Epoch ms, for display and the audit trail. */
  readonly requestedAt: number;
  readonly expiresAt: number;
  /** `monotonicMs()` when it times out (a wall-clock step neither times it out nor keeps it): the timer and the time left read this. */
  readonly deadline: number;
}

/** The function that clears a trip: a trip ends its pending requests. */
const RESET_FUNCTION = 'reset_interlock';

/** How a pending request ended: a supervisor approved or denied it, it timed out, or a stop ended it. */
export type ApprovalDecision = 'approved' | 'denied' | 'timeout' | 'stopped';

/**
 * Most calls waiting at once; one more is denied at once (by `driver`). A human reads this list:
 * more than a screenful waiting is a runaway caller, not a workflow. It also bounds get_status and
 * list_approvals (each entry's summary is at most ~2 KB: 32 stay far below NATS's 1 MB max_payload).
 */
export const MAX_PENDING_APPROVALS = 32;

export interface ApprovalsInput {
  /** Default MAX_PENDING_APPROVALS (tests use fewer). */
  readonly maxPending?: number;
}

export interface ApprovalsContext {
  /** In request order. */
  readonly pending: ReadonlyArray<PendingApproval>;
  readonly maxPending: number;
}

export type ApprovalRequest = Omit<PendingApproval, 'requestedAt' | 'expiresAt' | 'deadline'>;

export type ApprovalsEvent =
  | ({ type: 'approval.request' } & ApprovalRequest)
  | { type: 'approval.approve'; requestId: string; approvalId: string; owner: string; reason: string }
  | { type: 'approval.deny'; requestId: string; approvalId: string; owner: string; reason: string }
  /**
   * A stop was issued (stop_motion, emergency_stop, a trip, the dead-man): held motion must never
   * start. `tripped`: the interlock tripped with it, so a reset asked for before cannot clear it.
   */
  | { type: 'approval.stop'; owner: string; reason: string; tripped: boolean };

export type ApprovalsToParent =
  | { type: 'approvals.requested'; approval: PendingApproval }
  | { type: 'approvals.decided'; approval: PendingApproval; decision: ApprovalDecision; by: string; reason: string; at: number }
  | { type: 'approvals.answer'; requestId: string; ok: true; result: Record<string, unknown> }
  | { type: 'approvals.answer'; requestId: string; ok: false; error: ApprovalNotFound };

/** Wall-clock ms for what people read; never for timing. */
const nowMs = () => Date.now();

/** Spawned by the root it always has one; the graph walker (model tests) runs it parentless. */
function hasParent(self: unknown): boolean {
  return Boolean((self as { _parent?: unknown })._parent);
}

function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** A pending request as the supervisor, `get_status` and the mesh see it. */
export function approvalView(p: PendingApproval): Record<string, unknown> {
  return { approval_id: p.approvalId, function: p.function, params: p.params, owner: p.owner, caller: p.caller, requested_at: isoMs(p.requestedAt), expires_at: isoMs(p.expiresAt), expires_in_s: Math.max(0, Math.round(p.deadline - monotonicMs())) / 1000 };
}

/** The request the armed timer is for: the earliest expiry (the first requested among equals). */
function earliest(pending: ReadonlyArray<PendingApproval>): PendingApproval | undefined {
  return pending.reduce<PendingApproval | undefined>((first, p) => (first === undefined || p.deadline < first.deadline ? p : first), undefined);
}

function find(context: ApprovalsContext, event: ApprovalsEvent): PendingApproval | undefined {
  return 'approvalId' in event ? context.pending.find((p) => p.approvalId === event.approvalId) : undefined;
}

export const approvalsMachine = setup({
  types: {
    context: {} as ApprovalsContext,
    events: {} as ApprovalsEvent,
    input: {} as ApprovalsInput | undefined,
  },
  actions: {
    add: enqueueActions(({ context, event, self, enqueue }) => {
      const { type: _type, ...request } = event as Extract<ApprovalsEvent, { type: 'approval.request' }>;
      const at = nowMs();
      const timeoutMs = Math.round(request.timeoutS * 1000);
      const approval: PendingApproval = { ...request, requestedAt: at, expiresAt: at + timeoutMs, deadline: monotonicMs() + timeoutMs };
      enqueue.assign({ pending: [...context.pending, approval] });
      if (hasParent(self)) enqueue.sendParent({ type: 'approvals.requested', approval });
    }),
    /** approve/deny of a pending request: removed, decided, and the supervisor's call answered. */
    decide: enqueueActions(({ context, event, self, enqueue }, params: { decision: 'approved' | 'denied' }) => {
      const e = event as Extract<ApprovalsEvent, { type: 'approval.approve' | 'approval.deny' }>;
      const approval = find(context, e) as PendingApproval;
      enqueue.assign({ pending: context.pending.filter((p) => p !== approval) });
      if (hasParent(self)) enqueue.sendParent({ type: 'approvals.decided', approval, decision: params.decision, by: e.owner, reason: e.reason, at: nowMs() });
      if (hasParent(self)) enqueue.sendParent({ type: 'approvals.answer', requestId: e.requestId, ok: true, result: { status: params.decision, approval_id: approval.approvalId, function: approval.function } });
    }),
    /** The list is full: denied at once, never listed. */
    refuseFull: enqueueActions(({ context, event, self, enqueue }) => {
      const { type: _type, ...request } = event as Extract<ApprovalsEvent, { type: 'approval.request' }>;
      const at = nowMs();
      const approval: PendingApproval = { ...request, requestedAt: at, expiresAt: at, deadline: monotonicMs() };
      if (hasParent(self)) enqueue.sendParent({ type: 'approvals.decided', approval, decision: 'denied', by: 'driver', reason: `${context.maxPending} calls are already waiting for approval`, at });
    }),
    answerUnknown: enqueueActions(({ event, self, enqueue }) => {
      const e = event as Extract<ApprovalsEvent, { type: 'approval.approve' | 'approval.deny' }>;
      const error = new ApprovalNotFound({ message: `no pending approval ${e.approvalId} (never requested, already decided, timed out or ended by a stop)`, approval_id: e.approvalId });
      if (hasParent(self)) enqueue.sendParent({ type: 'approvals.answer', requestId: e.requestId, ok: false, error });
    }),
    /**
     * Every pending motion request ends: issued before the stop, it must never start. A trip also
     * ends every pending reset: asked for before this trip, it must not clear it.
     */
    endMotion: enqueueActions(({ context, event, self, enqueue }) => {
      const e = event as Extract<ApprovalsEvent, { type: 'approval.stop' }>;
      const ends = (p: PendingApproval) => p.motion || (e.tripped && p.function === RESET_FUNCTION);
      const ended = context.pending.filter(ends);
      enqueue.assign({ pending: context.pending.filter((p) => !ends(p)) });
      for (const approval of ended) if (hasParent(self)) enqueue.sendParent({ type: 'approvals.decided', approval, decision: 'stopped', by: e.owner, reason: e.reason, at: nowMs() });
    }),
    /** The timer was armed for the earliest expiry: it times out, with any other already due. */
    expire: enqueueActions(({ context, self, enqueue }) => {
      const first = earliest(context.pending);
      const at = nowMs();
      const clock = monotonicMs();
      const due = context.pending.filter((p) => p === first || p.deadline <= clock);
      enqueue.assign({ pending: context.pending.filter((p) => !due.includes(p)) });
      for (const approval of due) if (hasParent(self)) enqueue.sendParent({ type: 'approvals.decided', approval, decision: 'timeout', by: 'timeout', reason: `not decided within ${approval.timeoutS} s`, at });
    }),
  },
  guards: {
    isNew: ({ context, event }) => find(context, event) === undefined,
    hasRoom: ({ context }) => context.pending.length < context.maxPending,
    isPending: ({ context, event }) => find(context, event) !== undefined,
    nonePending: ({ context }) => context.pending.length === 0,
  },
  delays: {
    /** Until the earliest pending request expires (0 when it is already due: event-loop lag). */
    approvalExpiry: ({ context }) => Math.max(0, (earliest(context.pending)?.deadline ?? monotonicMs()) - monotonicMs()),
  },
}).createMachine({
  id: 'approvals',
  initial: 'idle',
  context: ({ input }) => ({ pending: [], maxPending: Math.max(1, input?.maxPending ?? MAX_PENDING_APPROVALS) }),
  states: {
    idle: {
      on: {
        'approval.request': { guard: 'isNew', target: 'holding', actions: 'add' },
        'approval.approve': { actions: 'answerUnknown' },
        'approval.deny': { actions: 'answerUnknown' },
      },
    },
    // Every change re-enters `holding`, which re-arms the timer for the (new) earliest expiry.
    holding: {
      always: { guard: 'nonePending', target: 'idle' },
      after: {
        approvalExpiry: { target: 'holding', reenter: true, actions: 'expire' },
      },
      on: {
        'approval.request': [
          { guard: and(['isNew', 'hasRoom']), target: 'holding', reenter: true, actions: 'add' },
          { guard: 'isNew', actions: 'refuseFull' },
        ],
        'approval.approve': [{ guard: 'isPending', target: 'holding', reenter: true, actions: { type: 'decide', params: { decision: 'approved' } } }, { actions: 'answerUnknown' }],
        'approval.deny': [{ guard: 'isPending', target: 'holding', reenter: true, actions: { type: 'decide', params: { decision: 'denied' } } }, { actions: 'answerUnknown' }],
        'approval.stop': { target: 'holding', reenter: true, actions: 'endMotion' },
      },
    },
  },
});

export type ApprovalsMachine = typeof approvalsMachine;
