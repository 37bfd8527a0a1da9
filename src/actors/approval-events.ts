// The mesh side of approvals (issue 14 item 5; README "Safety policy: human approval"): every
// request the root reports becomes an `approval_requested` event and every decision an
// `approval_decided` event (src/rpc/approval-functions.ts declares both), so an MCP host can tell
// the user what is waiting and how it ended. Owns the payloads; decides nothing, keeps no state
// (the pending list is the approvals machine's). The safety trail audits the same reports.
import type { Actor } from 'xstate';
import { approvalView, type ApprovalDecision, type PendingApproval } from '../machines/approvals.machine.ts';
import type { DriverMachine } from '../machines/driver.machine.ts';
import { isoSeconds } from '../protocol/json-rpc.ts';

export function approvalRequestedPayload(approval: PendingApproval, nowMs: number): Record<string, unknown> {
  const { expires_in_s: _left, ...view } = approvalView(approval);
  return { ...view, timeout_s: approval.timeoutS, ts: isoSeconds(nowMs) };
}

export function approvalDecidedPayload(approval: PendingApproval, decision: ApprovalDecision, by: string, reason: string, atMs: number): Record<string, unknown> {
  return { approval_id: approval.approvalId, function: approval.function, decision, decided_by: by, reason, owner: approval.owner, ts: isoSeconds(atMs) };
}

/** Publishes the root's approval reports on the mesh until `stop()`. */
export function publishApprovalEvents(root: Actor<DriverMachine>, emitEvent: (name: string, payload: Record<string, unknown>) => void): { stop(): void } {
  const subscriptions = [
    root.on('approval.requested', (e) => emitEvent('approval_requested', approvalRequestedPayload(e.approval, Date.now()))),
    root.on('approval.decided', (e) => emitEvent('approval_decided', approvalDecidedPayload(e.approval, e.decision, e.by, e.reason, e.at))),
  ];
  return {
    stop() {
      for (const s of subscriptions) s.unsubscribe();
    },
  };
}
