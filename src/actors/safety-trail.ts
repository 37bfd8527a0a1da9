// The robot side's safety trail: each refusal, speed-limited command, ramp cut short, interlock,
// lease and policy change, dead-man stop, approval, late move stopped or mode put back, unconfirmed
// stop, stop with parameters ignored, media switch, accepted capture or motion command (with how it
// came) and configuration change becomes one record with its caller (verified or asserted) and the
// state AFTER it, read from the children's snapshots — chained into the audit log and published, as
// chained, as a `safety_event`. Owns the record shape; decides nothing, keeps no state. reference §12.
import type { Actor } from 'xstate';
import type { AuditLog } from '../adapters/audit-log.ts';
import type { RpcFailure } from '../errors.ts';
import type { StopAnswered } from './rpc-gate.ts';
import { isRecord } from '../protocol/json-object.ts';
import { safetyState } from '../machines/driver-policy.ts';
import { viewOf, type DriverMachine } from '../machines/driver.machine.ts';
import { isoSeconds, type CallerMeta } from '../protocol/json-rpc.ts';
import { policyDocument } from '../safety/safety-policy.ts';
import { rateClassOf } from '../rpc/rate-limits.ts';
import type { EstopDecision } from '../safety/d2d-estop.ts';
import { isUserKey } from '../safety/caller-identity.ts';
import { mediaPolicyStatus } from '../safety/media-policy.ts';

export interface SafetyTrail {
  /** A gate refusal (audited and announced like every state change). */
  refusal(info: { fn: string; error: RpcFailure; caller: CallerMeta; event: { type: string } }): void;
  /** A call the gate let through to the machine (motion commands and media captures are audited). */
  accepted(info: { fn: string; caller: CallerMeta; event: { type: string }; params: Record<string, unknown> }): void;
  /**
   * A stop that ran with parameters ignored (`stop_params_ignored`), or a refused trip that stopped
   * motion instead (`stopped_instead`; its refusal has its own `refused` record), once answered, with the state after it.
   */
  stopAnswered(info: StopAnswered): void;
  /** A change reported by the composition: settings saved, credentials uploaded, configuration applied. */
  change(change: AuditedChange): void;
  /** A D2D `emergencyStop` event acted on (after the trip was sent) or ignored (src/safety/d2d-estop.ts). */
  d2dEstop(decision: EstopDecision): void;
  stop(): void;
}

export interface AuditedChange {
  /** `settings_changed`, `credentials_uploaded`, `reconfigured`, `reconfigure_refused`. */
  readonly kind: string;
  readonly reason: string;
  /** Who asked (the settings app's session, `settings`, the CLI…). */
  readonly owner: string | null;
  readonly fields?: Record<string, unknown>;
}

/** Accepted calls of these rate classes get an `accepted` record (issue 13: motion commands; captures have their own `media_capture`); reads, stops, leases and sound do not. */
const AUDITED_ACCEPTED_CLASSES: ReadonlySet<string> = new Set(['motion']);

/**
 * Whether an accepted call gets its own `accepted` record: motion commands, and every call that came
 * with nobody to answer it the usual way (a stop from a notification or an unevaluable broadcast:
 * the record is what is left of it when no reply is heard).
 */
export function auditedWhenAccepted(fn: string, caller?: CallerMeta): boolean {
  return caller?.delivery !== undefined || AUDITED_ACCEPTED_CLASSES.has(rateClassOf(fn) ?? '');
}

/**
 * How the call came, for its record: `delivery` (and the `addressing` a broadcast could not be
 * evaluated by, `unanswered`: why a broadcast stop could not be answered); nothing for a plain call.
 */
function deliveryOf(caller: CallerMeta): Record<string, unknown> {
  const delivery = caller.delivery;
  if (!delivery) return {};
  if (delivery.kind === 'notification') return { delivery: 'notification' };
  if (delivery.kind === 'unevaluated_broadcast') return { delivery: 'broadcast', addressing: delivery.addressing };
  return { delivery: 'broadcast', unanswered: delivery.why, ...(delivery.addressing === undefined ? {} : { addressing: delivery.addressing }) };
}

/** What a stop's own outcome says of it (`stop`: confirmed or unconfirmed, `stopped_moves`), or the tag of its error. */
function stopOutcome(stop: StopAnswered['stop']): Record<string, unknown> {
  if (!stop.ok) return { stop_error_tag: stop.error._tag };
  const result = isRecord(stop.result) ? stop.result : {};
  return { stop: result['stop'], stopped_moves: result['stopped_moves'] };
}

/** The owner a call is recorded under: the asserted source device, else the call's `owner` parameter. */
function ownerOf(caller: CallerMeta, event: { type: string }): string | null {
  return caller.sourceDevice ?? ('owner' in event ? String((event as { owner: unknown }).owner) : null);
}

/**
 * The `caller` of a record: `{id, verified, key?}`. With signed callers on, an nkey-shaped id can only
 * come from a verified call (the gate refuses unsigned calls naming one: src/safety/caller-identity.ts).
 */
export function callerRecord(id: string | null, callersVerified: boolean, verifiedKey?: string): Record<string, unknown> {
  const verified = verifiedKey !== undefined || (callersVerified && isUserKey(id));
  return verified ? { id: verifiedKey ?? id, verified: true, key: verifiedKey ?? id } : { id, verified: false };
}

export function startSafetyTrail(root: Actor<DriverMachine>, audit: AuditLog, emitSafetyEvent: (payload: Record<string, unknown>) => void, callersVerified = false): SafetyTrail {
  const record = (kind: string, reason: string, fn: string | null, owner: string | null, extra: Record<string, unknown> = {}, override: Record<string, unknown> = {}) => {
    const state = { ...safetyState(viewOf(root.getSnapshot().context)), ...override };
    const entry = { kind, reason, function: fn, owner, caller: callerRecord(owner, callersVerified), state, ts: isoSeconds(Date.now()), ...extra };
    emitSafetyEvent(audit.append(entry));
  };
  const { interlock, lease, motion } = root.getSnapshot().context.children;
  const subscriptions = [
    // A D2D trip's owner is the emitting device's subject token, never a verified caller.
    interlock.on('interlock.changed', (e) => record(e.state === 'tripped' ? 'interlock_tripped' : 'interlock_reset', e.reason ?? '', null, e.owner, { source: e.source, ...(e.source === 'd2d' ? { caller: { id: e.owner, verified: false } } : {}) })),
    // `owner` is whose lease it was; the caller is who changed it (the revoker; none for an expiry).
    lease.on('lease.changed', (e) => record(`lease_${e.reason}`, e.detail ?? e.reason, null, e.owner, { expires_at: e.expiresAt / 1000, caller: callerRecord(e.by, callersVerified) }, { lease_owner: e.holder })),
    motion.on('motion.late_move', (e) => record('late_move_stopped', e.reason, null, null, { uuid: e.uuid })),
    motion.on('motion.late_mode_reverted', (e) => record('late_mode_reverted', e.reason, e.function, e.owner, { from: e.from, to: e.to })),
    motion.on('motion.stop_unconfirmed', (e) => record('stop_unconfirmed', e.reason, null, null, { error: e.error })),
    root.on('deadman.stopped', (e) => record('deadman_stop', e.reason, null, e.commander, { silent_ms: Math.round(e.silentMs), deadman_ms: e.ms })),
    // `owner` is whose motion was stopped; the caller is the supervisor (or `settings`) who narrowed the policy.
    root.on('policy.stopped_motion', (e) => record('policy_narrowed_stop', e.reason, e.function, e.commander, { violations: e.violations, ...(e.speedExcess ? { speed_excess: e.speedExcess } : {}), caller: callerRecord(e.by, callersVerified) })),
    // The speed limits decide at the write: a TooFast refusal is audited like the gate's, a stretched
    // goto as speed_limited. A ramped realtime target is not (a stream of them would flood the
    // trail); its caller's reply says so.
    motion.on('motion.speed_limited', (e) => {
      if (e.outcome === 'refused') record('refused', e.reason, e.function, e.owner, { error_tag: 'TooFast' });
      else if (e.outcome === 'stretched') record('speed_limited', e.reason, e.function, e.owner, { speed_limited: e.detail });
    }),
    // A command refused by the check right before its daemon write (the lease passed, the robot fell
    // asleep or the interlock tripped while it waited) is a refusal like the gate's.
    motion.on('motion.refused_at_write', (e) => record('refused', e.reason, e.function, e.owner, { error_tag: e.errorTag, at: 'write' })),
    // A realtime ramp that ended short of its target (the daemon stalled past its overrun, a step
    // failed or was refused, the head did not follow), whether or not its caller waited.
    motion.on('motion.ramp_ended', (e) => record('ramp_ended', e.reason, e.function, e.owner, { outcome: e.outcome, error_tag: e.errorTag })),
    root.on('policy.changed', (e) => record('policy_changed', e.reason, 'set_safety_policy', e.owner, { before: policyDocument(e.before), after: policyDocument(e.after) })),
    root.on('media_policy.changed', (e) => record(e.after.enabled ? 'media_enabled' : 'media_disabled', e.reason, 'set_media_enabled', e.owner, { media_policy: mediaPolicyStatus(e.after) })),
    root.on('media.captured', (e) => record('media_capture', 'capture', e.function, e.caller, { caller: e.verified && e.caller ? callerRecord(e.caller, callersVerified, e.caller) : { id: e.caller, verified: false } })),
    root.on('approval.requested', (e) => record('approval_requested', 'waiting for approval', e.approval.function, e.approval.owner, { approval_id: e.approval.approvalId, params: e.approval.params, expires_at: e.approval.expiresAt / 1000 })),
    // A stop that ends a waiting call is audited as a denial (decision `stopped`, by whoever stopped).
    root.on('approval.decided', (e) => record(`approval_${e.decision === 'stopped' ? 'denied' : e.decision}`, e.reason, e.approval.function, e.approval.owner, { approval_id: e.approval.approvalId, decision: e.decision, decided_by: e.by })),
  ];
  return {
    refusal({ fn, error, caller, event }) {
      const owner = caller.sourceDevice ?? ('owner' in event ? String((event as { owner: unknown }).owner) : null);
      // A refused call is verified only when its signature checked out: an unsigned one naming a key is not.
      const who = { caller: caller.verified ? callerRecord(caller.verified.key, callersVerified, caller.verified.key) : { id: owner, verified: false } };
      record('refused', error.message, fn, owner, { error_tag: error._tag, ...who, ...deliveryOf(caller), ...(caller.reasoning ? { llm_reasoning: caller.reasoning } : {}) });
    },
    accepted({ fn, caller, event, params }) {
      const owner = ownerOf(caller, event);
      const who = { caller: caller.verified ? callerRecord(caller.verified.key, callersVerified, caller.verified.key) : { id: owner, verified: false } };
      record('accepted', 'passed the gate', fn, owner, { params, ...who, ...deliveryOf(caller), ...(caller.reasoning ? { llm_reasoning: caller.reasoning } : {}) });
    },
    stopAnswered({ fn, caller, event, ignored, refused, stop }) {
      const owner = ownerOf(caller, event);
      const who = { caller: caller.verified ? callerRecord(caller.verified.key, callersVerified, caller.verified.key) : { id: owner, verified: false } };
      const extra = { ...(ignored.length > 0 ? { ignored_params: ignored } : {}), ...stopOutcome(stop), ...who, ...(caller.reasoning ? { llm_reasoning: caller.reasoning } : {}) };
      if (refused) {
        record('stopped_instead', `${fn} refused (${refused._tag}): the interlock was not tripped; motion was stopped instead`, fn, owner, { error_tag: refused._tag, interlock_tripped: false, ...extra });
        return;
      }
      const reason = `${fn} ran with ${ignored.length === 1 ? 'a parameter' : `${ignored.length} parameters`} ignored: ${ignored.map((i) => i.param).join(', ')}`;
      record('stop_params_ignored', reason, fn, owner, extra);
    },
    change({ kind, reason, owner, fields }) {
      record(kind, reason, null, owner, fields ?? {});
    },
    d2dEstop(d) {
      const asserted = { id: d.emitter, verified: false };
      const extra = d.act === 'ignore' ? { emitter: d.emitter, ignored_because: d.why, caller: asserted } : { emitter: d.emitter, caller: asserted };
      record(d.act === 'trip' ? 'd2d_estop_tripped' : 'd2d_estop_ignored', d.reason, 'emergencyStop', d.emitter, extra);
    },
    stop() {
      for (const s of subscriptions) s.unsubscribe();
    },
  };
}
