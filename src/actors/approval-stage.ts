// The gate's approval stage (issue 14 item 5; README "Safety policy: human approval"): a call the
// state gate accepted whose function is in the policy's approval list (read at call time) is sent
// to the root as `approval.request` with a bounded summary of its params, then waits for the root's
// `approval.decided`: approved → the gate decides again and sends it; denied or ended by a stop →
// ApprovalDenied; timed out → ApprovalTimeout. The pending list, expiry and stop rule are the
// approvals machine's. Stop guarantee: a call approved just before a stop resumes in microtasks and
// its second `can()` refuses while motion is `stopping` (every stop enters it until the daemon's
// sweep answers), so nothing held before an answered stop runs after it. No I/O.
import { randomUUID } from 'node:crypto';
import type { Actor } from 'xstate';
import { ApprovalDenied, ApprovalTimeout, type RpcFailure } from '../errors.ts';
import type { ApprovalDecision, PendingApproval } from '../machines/approvals.machine.ts';
import type { DriverMachine } from '../machines/driver.machine.ts';
import type { CallerMeta } from '../protocol/json-rpc.ts';

/** Longest string kept whole in a summary: enough for names, file names and short text, not for payloads. */
export const SUMMARY_MAX_STRING = 80;
/** Longest list kept item by item (a pose or joint list); longer ones are counted. */
export const SUMMARY_MAX_ITEMS = 8;
/** Keys kept per object; no function of the device has more parameters. */
export const SUMMARY_MAX_KEYS = 16;
/** Nesting kept (params → pose → fields); deeper values are elided. */
export const SUMMARY_MAX_DEPTH = 2;
/**
 * The stage's own bound beyond the policy's timeout: the approvals machine times requests out
 * first; this answers the caller only if the root is gone (stopped driver), so no call waits forever.
 */
export const APPROVAL_BACKSTOP_MARGIN_MS = 2_000;

/** A printable, bounded view of a value: long strings cut, long lists counted, deep objects elided. */
function summarize(value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length <= SUMMARY_MAX_STRING ? value : `${value.slice(0, SUMMARY_MAX_STRING)}… (${value.length} characters)`;
  if (Array.isArray(value)) return value.length <= SUMMARY_MAX_ITEMS && depth < SUMMARY_MAX_DEPTH ? value.map((v) => summarize(v, depth + 1)) : `[${value.length} items]`;
  if (typeof value === 'object' && depth < SUMMARY_MAX_DEPTH) {
    const entries = Object.entries(value as Record<string, unknown>).filter(([key]) => key !== '_dc_meta');
    const kept = entries.slice(0, SUMMARY_MAX_KEYS).map(([key, v]) => [key, summarize(v, depth + 1)] as const);
    return Object.fromEntries(entries.length > SUMMARY_MAX_KEYS ? [...kept, ['…', `${entries.length - SUMMARY_MAX_KEYS} more`]] : kept);
  }
  return typeof value === 'object' ? '{…}' : String(value);
}

/** The parameters as the supervisor sees them (never the raw payload). */
export function paramsSummary(params: Record<string, unknown>): Record<string, unknown> {
  return summarize(params, 0) as Record<string, unknown>;
}

/** The typed answer for a decision, or null when approved. */
export function verdictOf(approval: PendingApproval, decision: ApprovalDecision, by: string, reason: string): RpcFailure | null {
  switch (decision) {
    case 'approved':
      return null;
    case 'denied':
      return new ApprovalDenied({ message: `${approval.function} was denied by ${by}: ${reason}`, approval_id: approval.approvalId, denied_by: by, reason });
    case 'stopped':
      return new ApprovalDenied({ message: `${approval.function} was waiting for approval when a stop came (${reason}); it will not run: send it again`, approval_id: approval.approvalId, denied_by: by, reason: 'stopped' });
    case 'timeout':
      return new ApprovalTimeout({ message: `${approval.function} was not approved within ${approval.timeoutS} s`, approval_id: approval.approvalId, timeout_s: approval.timeoutS });
  }
}

export interface HeldCall {
  readonly fn: string;
  readonly event: { type: string; owner?: unknown };
  readonly params: Record<string, unknown>;
  readonly caller: CallerMeta;
}

/** The gate's `hold`: null when the call is not held, else its verdict once decided (null: approved). */
export function createApprovalStage(root: () => Actor<DriverMachine>): (call: HeldCall) => Promise<RpcFailure | null> | null {
  return (call) => {
    const approval = root().getSnapshot().context.policy.approval;
    if (!approval.functions.includes(call.fn)) return null;
    const approvalId = randomUUID();
    const owner = typeof call.event.owner === 'string' ? call.event.owner : (call.caller.sourceDevice ?? 'anonymous');
    const motion = call.event.type === 'rpc.motion' || call.event.type === 'rpc.set_motor_mode';
    return new Promise<RpcFailure | null>((resolve) => {
      const done = (verdict: RpcFailure | null) => {
        clearTimeout(backstop);
        subscription.unsubscribe();
        resolve(verdict);
      };
      // Subscribed before the request is sent: a decision may come synchronously.
      const subscription = root().on('approval.decided', (e) => {
        if (e.approval.approvalId === approvalId) done(verdictOf(e.approval, e.decision, e.by, e.reason));
      });
      const backstop = setTimeout(() => {
        done(new ApprovalTimeout({ message: `${call.fn} got no approval decision within ${approval.timeout_s} s`, approval_id: approvalId, timeout_s: approval.timeout_s }));
      }, approval.timeout_s * 1000 + APPROVAL_BACKSTOP_MARGIN_MS);
      root().send({ type: 'approval.request', approvalId, function: call.fn, params: paramsSummary(call.params), owner, caller: call.caller.sourceDevice ?? null, motion, timeoutS: approval.timeout_s });
    });
  };
}
