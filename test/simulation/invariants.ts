// The safety invariants of issue 9 (I1 stop, I2 lease, I3 answer, I4 audit: each defined above
// `InvariantId`), judged from what a schedule produced: the calls and their answers (virtual
// times), the audit trail (safety_event records), the emulator's motion record (ground truth of
// what the robot did) and `get_status` reads. Checked after every step and at the end; each
// violation names its invariant, the step and what broke. Runs no schedule and drives nothing
// (run-schedule.ts does): it only judges the views and status reads it is given.
import type { GateResult } from '../../src/actors/rpc-gate.ts';
import { DEFAULT_OUTCOME_TIMEOUT_MS } from '../../src/actors/rpc-gate.ts';
import type { MoveRecordEntry, TargetRecordEntry } from '../../src/sim/motion-record.ts';
import type { SafetyRecordSeen } from './sim-world.ts';

// The invariants (issue 9):
//   I1 stop   — no move starts, or keeps running, beyond one stop round trip after a stop
//               (stop_motion, emergency_stop, supervisor trip) was answered, when a command issued
//               before the stop caused it; no realtime target from before the stop is applied late.
//   I2 lease  — at most one lease holder at any instant (audit trail and acquire answers).
//   I3 answer — every request answered exactly once, none past its timeout.
//   I4 audit  — every refusal and every interlock/lease change audited, with the state after it.
export type InvariantId = 'I1-stop' | 'I2-lease' | 'I3-answer' | 'I4-audit';

export interface Violation {
  readonly invariant: InvariantId;
  /** What broke, in a few words (the summary counts schedules per kind). */
  readonly kind: string;
  /** 1-based step after which it was seen (0 = warm-up, steps+1 = drain). */
  readonly step: number;
  readonly message: string;
}

export interface CallRecord {
  readonly index: number;
  readonly step: number;
  /** `driver`: RunningDriver.reconfigure (answered like a request: once, in time). */
  readonly gate: 'robot' | 'supervisor' | 'driver';
  readonly method: string;
  readonly params: Record<string, unknown>;
  /** performance.now() (the emulator's clock too) when gate.call was made. */
  readonly issuedAt: number;
  /** Audit records already emitted when the call was made / answered (order, not time: many things share a virtual ms). */
  readonly auditAtIssue: number;
  auditAtSettle?: number;
  settledAt?: number;
  /** Date.now() when answered (lease expiry is in epoch seconds). */
  settledWallMs?: number;
  result?: GateResult;
  settleCount: number;
}

export interface WorldView {
  readonly calls: readonly CallRecord[];
  readonly audit: readonly SafetyRecordSeen[];
  readonly moves: readonly MoveRecordEntry[];
  readonly targets: readonly TargetRecordEntry[];
  /** Daemon API-loop pauses, emulator clock. */
  readonly pauses: ReadonlyArray<{ readonly from: number; readonly to: number | null }>;
  /** Event-loop lags: nothing in the process (driver or emulator) ran from..to while moves went on. */
  readonly freezes: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  readonly outcomesPerRequest: ReadonlyMap<string, number>;
  readonly now: number;
}

/** Refusal tags the gate decides before anything moves; each must be audited as `refused`. */
const REFUSAL_TAGS: ReadonlySet<string> = new Set(['InterlockTripped', 'LeaseHeld', 'RobotAsleep', 'MotorsCompliant', 'NotAllowedInState', 'RestartRequired']);
const STOPS: ReadonlySet<string> = new Set(['stop_motion', 'emergency_stop', 'trip']);
const TRIPS: ReadonlySet<string> = new Set(['emergency_stop', 'trip']);
/** The daemon's 50 Hz joint push: a stall is noticeable one push period after it began. */
const PUSH_PERIOD_MS = 20;
/** Contract: no realtime target is sent into a /ws/sdk link silent for longer than this. */
export const SDK_STALL_MS = 150;
/** Slack on every answer deadline: the gate's timer fires on time, the reply needs a few microtask turns. */
const ANSWER_SLACK_MS = 1_000;
/** Slack on the stop bound: the daemon's 50 Hz control tick that applies a stop or a target. */
const CONTROL_TICK_MS = 20;

const ok = (c: CallRecord): boolean => c.result?.ok === true;
const errorTag = (c: CallRecord): string | undefined => (c.result && !c.result.ok ? c.result.error._tag : undefined);
const duration = (c: CallRecord): number => Number(c.params.duration_s ?? 0);

/** Which daemon activity a call may cause: a move of some kind, a realtime target, or nothing. */
function causes(c: CallRecord): 'move' | 'target' | 'wake_up' | 'goto_sleep' | null {
  switch (c.method) {
    case 'goto_pose':
      return 'move';
    case 'set_body_yaw':
    case 'look_at_point':
      return duration(c) > 0 ? 'move' : 'target';
    case 'look_at_world':
    case 'antenna_pose':
      return 'target';
    case 'wake_up':
      return 'wake_up';
    case 'goto_sleep':
      return 'goto_sleep';
    default:
      return null;
  }
}

function moveCause(m: MoveRecordEntry): 'move' | 'wake_up' | 'goto_sleep' {
  return m.kind === 'wake_up' || m.kind === 'goto_sleep' ? m.kind : 'move';
}

/** A call's answer deadline: the gate's default, or longer for a goto that waits for its end. */
function answerLimitMs(c: CallRecord): number {
  const waits = c.params.wait === true ? duration(c) * 1000 + 10_000 : 0;
  return Math.max(DEFAULT_OUTCOME_TIMEOUT_MS, waits) + ANSWER_SLACK_MS;
}

export class InvariantChecker {
  readonly violations: Violation[] = [];
  readonly #reported = new Set<string>();
  readonly #stopBoundMs: number;
  readonly #stallSeenLateMs: number;

  /**
   * `stopRoundTripMs`: one stop round trip under this schedule's latency and route delays.
   * `stallSeenLateMs`: how much later the driver can see a stalled daemon than the stall began —
   * the longest /ws/sdk push delay of the schedule's plans (pushes made before the stall keep
   * arriving that long, and the driver's stall check reads their arrival).
   */
  constructor(stopRoundTripMs: number, stallSeenLateMs = 0) {
    this.#stopBoundMs = stopRoundTripMs + CONTROL_TICK_MS;
    this.#stallSeenLateMs = stallSeenLateMs;
  }

  #report(key: string, invariant: InvariantId, kind: string, step: number, message: string): void {
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.violations.push({ invariant, kind, step, message });
  }

  check(view: WorldView, step: number, final: boolean): void {
    this.#stops(view, step);
    this.#lease(view, step);
    this.#answers(view, step, final);
    this.#auditStates(view, step);
  }

  /**
   * Paused (daemon) or frozen (the driver's event loop lagged) at any time in [from, bound]? Then
   * the bound restarts when it ends: no stop can get through, nor be sent, meanwhile.
   */
  #boundAfter(view: WorldView, from: number): number {
    let start = from;
    for (const p of [...view.pauses, ...view.freezes].sort((a, b) => a.from - b.from)) {
      if (p.from <= start + this.#stopBoundMs && (p.to === null || p.to >= start)) start = Math.max(start, p.to ?? Number.POSITIVE_INFINITY);
    }
    return start + this.#stopBoundMs;
  }

  #stops(view: WorldView, step: number): void {
    for (const stop of view.calls) {
      if (!STOPS.has(stop.method) || !ok(stop) || stop.settledAt === undefined) continue;
      const issued = stop.issuedAt;
      const answered = stop.settledAt;
      // A call of the same kind issued after the stop (and before the daemon got it) may be its cause: not judged.
      const laterCause = (kind: string, receivedAt: number) => view.calls.some((c) => c.issuedAt > issued && c.issuedAt <= receivedAt && causes(c) === kind);
      for (const m of view.moves) {
        const end = m.endedAt ?? view.now;
        if (end <= answered || (m.receivedAt > issued && laterCause(moveCause(m), m.receivedAt))) continue;
        const deadline = this.#boundAfter(view, Math.max(answered, m.startedAt));
        if (end > deadline) {
          this.#report(`I1:${stop.index}:${m.uuid}`, 'I1-stop', 'move after stop', step,
            `${m.kind} move ${m.uuid} (received ${fmt(m.receivedAt)}, started ${fmt(m.startedAt)}) ran until ${m.endedAt === null ? 'now ' + fmt(view.now) : fmt(end)} after ${stop.method} #${stop.index} was answered at ${fmt(answered)} (bound ${fmt(deadline)}); its command was issued before the stop (${fmt(issued)})`);
        }
      }
      for (const t of view.targets) {
        // The driver's only set_full_target is a stop's hold at the last observed pose (README "Safety"):
        // it is what neutralises targets the daemon had not applied yet, not a command from before the stop.
        if (t.kind === 'set_full_target') continue;
        if (t.appliedAt <= answered + this.#stopBoundMs || (t.receivedAt > issued && laterCause('target', t.receivedAt))) continue;
        const pause = view.pauses.find((p) => p.from <= t.receivedAt && (p.to === null || p.to >= t.receivedAt));
        const sentIntoStall = pause !== undefined && t.receivedAt > pause.from + this.#stallSeenLateMs + PUSH_PERIOD_MS + SDK_STALL_MS + this.#stopBoundMs;
        if (t.receivedAt > answered || sentIntoStall) {
          this.#report(`I1:${stop.index}:t${t.receivedAt}`, 'I1-stop', sentIntoStall ? 'target into stalled link' : 'target after stop', step,
            `realtime ${t.kind} received ${fmt(t.receivedAt)}${sentIntoStall ? ' into a stalled link' : ''} applied ${fmt(t.appliedAt)} after ${stop.method} #${stop.index} was answered at ${fmt(answered)}; no realtime call was issued after the stop`);
        }
      }
    }
  }

  #lease(view: WorldView, step: number): void {
    // Audit trail: a lease granted while another owner still holds one.
    let holder: string | null = null;
    for (const { record, at } of view.audit) {
      const owner = record.owner;
      if (record.kind === 'lease_acquired') {
        if (holder !== null && holder !== owner) this.#report(`I2:a${at}`, 'I2-lease', 'acquired while held (audit)', step, `lease_acquired by ${owner} at ${fmt(at)} while ${holder} still held the lease (no release/expiry/revoke audited)`);
        holder = owner;
      } else if (record.kind === 'lease_renewed') holder = owner;
      else if (record.kind === 'lease_released' || record.kind === 'lease_expired' || record.kind === 'lease_revoked') {
        if (holder === owner || record.kind === 'lease_revoked') holder = null;
      }
    }
    // Answers: two owners told "held" for overlapping times, with no release or revoke between.
    const held = view.calls.filter((c) => c.method === 'acquire_lease' && ok(c) && c.settledAt !== undefined);
    for (const a of held) {
      const ra = a.result?.ok ? (a.result.result as { owner?: string; expires_at?: number }) : {};
      for (const b of held) {
        if (b.index <= a.index || (b.settledAt ?? 0) < (a.settledAt ?? 0)) continue;
        const rb = b.result?.ok ? (b.result.result as { owner?: string }) : {};
        if (!ra.owner || !rb.owner || ra.owner === rb.owner) continue;
        // A later acquire by the same owner (a renewal) restates its expiry: judged as its own pair.
        if (held.some((c) => c !== a && c.params.owner === ra.owner && (c.settledAt ?? 0) >= (a.settledAt ?? 0) && (c.settledAt ?? 0) <= (b.settledAt ?? 0) && c.index > a.index)) continue;
        const expiresWallMs = (ra.expires_at ?? 0) * 1000;
        if ((b.settledWallMs ?? 0) >= expiresWallMs) continue;
        const ended = view.calls.some(
          (c) => ok(c) && (c.settledAt ?? 0) >= (a.settledAt ?? 0) && (c.settledAt ?? 0) <= (b.settledAt ?? 0) &&
            ((c.method === 'release_lease' && c.params.owner === ra.owner) || c.method === 'revoke_lease'),
        );
        const endAudited = view.audit.some(
          (seen) => seen.at >= (a.settledAt ?? 0) && seen.at <= (b.settledAt ?? 0) && seen.record.owner === ra.owner &&
            (seen.record.kind === 'lease_released' || seen.record.kind === 'lease_revoked' || seen.record.kind === 'lease_expired'),
        );
        if (!ended && !endAudited) {
          this.#report(`I2:${a.index}:${b.index}`, 'I2-lease', 'two holders (answers)', step, `acquire_lease #${a.index} told ${ra.owner} it holds the lease until ${new Date(expiresWallMs).toISOString()} and acquire_lease #${b.index} told ${rb.owner} it holds it at ${new Date(b.settledWallMs ?? 0).toISOString()}`);
        }
      }
    }
  }

  #answers(view: WorldView, step: number, final: boolean): void {
    for (const c of view.calls) {
      if (c.settleCount > 1) this.#report(`I3:n${c.index}`, 'I3-answer', 'answered twice', step, `${c.method} #${c.index} answered ${c.settleCount} times`);
      const limit = answerLimitMs(c);
      const waited = (c.settledAt ?? view.now) - c.issuedAt;
      if (waited > limit) this.#report(`I3:t${c.index}`, 'I3-answer', 'answer past timeout', step, `${c.method} #${c.index} ${c.settledAt === undefined ? 'still unanswered' : 'answered'} after ${Math.round(waited)} ms (limit ${limit} ms)`);
      else if (final && c.settledAt === undefined) this.#report(`I3:u${c.index}`, 'I3-answer', 'never answered', step, `${c.method} #${c.index} never answered`);
    }
    for (const [requestId, count] of view.outcomesPerRequest) {
      if (count > 1) this.#report(`I3:r${requestId}`, 'I3-answer', 'two outcomes', step, `request ${requestId} got ${count} outcomes from the root actor`);
    }
  }

  #auditStates(view: WorldView, step: number): void {
    for (const { record, at } of view.audit) {
      const state = record.state;
      const wrong = (field: string, expected: unknown) =>
        this.#report(`I4:s${at}:${record.kind}`, 'I4-audit', `${record.kind} with the state before`, step, `${record.kind} (owner ${record.owner}) at ${fmt(at)} carries state.${field} = ${JSON.stringify(state[field])}, the state after it is ${JSON.stringify(expected)}`);
      if (record.kind === 'interlock_tripped' && state.interlock !== 'tripped') wrong('interlock', 'tripped');
      if (record.kind === 'interlock_reset' && state.interlock !== 'safe') wrong('interlock', 'safe');
      if ((record.kind === 'lease_acquired' || record.kind === 'lease_renewed') && state.lease_owner !== record.owner) wrong('lease_owner', record.owner);
      if ((record.kind === 'lease_released' || record.kind === 'lease_expired' || record.kind === 'lease_revoked') && state.lease_owner === record.owner) wrong('lease_owner', null);
    }
    const used = new Set<SafetyRecordSeen>();
    const auditedBetween = (c: CallRecord, match: (r: SafetyRecordSeen['record']) => boolean): boolean => {
      const found = view.audit.slice(c.auditAtIssue, c.auditAtSettle ?? view.audit.length).find((seen) => !used.has(seen) && match(seen.record));
      if (found) used.add(found);
      return found !== undefined;
    };
    // Earliest window end first: with each call taking the first free record in its window, no call
    // takes a record a call whose window closes sooner needs (two refusals overlapping in time).
    const byWindowEnd = [...view.calls].sort((a, b) => (a.auditAtSettle ?? view.audit.length) - (b.auditAtSettle ?? view.audit.length));
    for (const c of byWindowEnd) {
      if (c.settledAt === undefined) continue;
      const tag = errorTag(c);
      // Matched by owner too: two callers refused alike in overlapping windows (one at the gate, one at the write) each need their own record.
      const refusedOwner = typeof c.params.owner === 'string' ? c.params.owner : undefined;
      if (tag !== undefined && REFUSAL_TAGS.has(tag) && !auditedBetween(c, (r) => r.kind === 'refused' && r.function === c.method && r.error_tag === tag && (refusedOwner === undefined || r.owner === refusedOwner))) {
        this.#report(`I4:r${c.index}`, 'I4-audit', 'refusal not audited', step, `${c.method} #${c.index} was refused (${tag}) with no 'refused' audit record`);
      }
      if (!ok(c)) continue;
      const owner = c.params.owner;
      if (TRIPS.has(c.method) && !this.#trippedBefore(view, c.auditAtIssue) && !auditedBetween(c, (r) => r.kind === 'interlock_tripped')) {
        this.#report(`I4:c${c.index}`, 'I4-audit', 'trip not audited', step, `${c.method} #${c.index} tripped the interlock with no interlock_tripped audit record`);
      }
      if (c.method === 'acquire_lease' && !auditedBetween(c, (r) => (r.kind === 'lease_acquired' || r.kind === 'lease_renewed') && r.owner === owner)) {
        this.#report(`I4:c${c.index}`, 'I4-audit', 'acquire answered, not audited', step, `acquire_lease #${c.index} answered ${JSON.stringify(c.result?.ok ? c.result.result : null)} with no lease_acquired/lease_renewed audit record for ${String(owner)}`);
      }
    }
  }

  /** Whether the audit trail's first `count` records leave the interlock tripped. */
  #trippedBefore(view: WorldView, count: number): boolean {
    let tripped = false;
    for (const { record } of view.audit.slice(0, count)) {
      if (record.kind === 'interlock_tripped') tripped = true;
      if (record.kind === 'interlock_reset') tripped = false;
    }
    return tripped;
  }

  /** The driver's own view (get_status) against the audit trail: an unaudited change shows here. */
  checkStatus(view: WorldView, step: number, status: { interlock_state?: unknown; command_owner?: unknown; lease_active?: unknown } | undefined): void {
    if (!status) return;
    const interlock = this.#trippedBefore(view, view.audit.length) ? 'tripped' : 'safe';
    if (status.interlock_state !== interlock) {
      this.#report(`I4:i${step}:${String(status.interlock_state)}`, 'I4-audit', 'interlock state not audited', step, `driver_state.interlock_state is ${String(status.interlock_state)} but the audit trail says ${interlock}`);
    }
    if (status.lease_active === true) {
      const last = [...view.audit].reverse().find((s) => s.record.kind.startsWith('lease_'));
      const audited = last && (last.record.kind === 'lease_acquired' || last.record.kind === 'lease_renewed') ? last.record.owner : null;
      if (audited !== status.command_owner) {
        this.#report(`I4:l${step}:${String(status.command_owner)}`, 'I4-audit', 'lease holder not audited', step, `driver_state says ${String(status.command_owner)} holds the lease but the audit trail's holder is ${String(audited)}`);
      }
    }
  }
}

function fmt(ms: number): string {
  return `t=${Math.round(ms)}ms`;
}
