// The motion lease (reference-driver.md §2.2, §4 `command_owner`/`lease_expires_at`, §12 "Enforce
// leases"): who may command motion — the ONE truth about it. free ⇄ held with an owner and an expiry
// armed from the named `leaseTtl` delay; acquire/renew/release by the holder, revoke (privileged: the
// root decides who may send it), expiry by its timer — or, after event-loop lag, by the next acquire
// or the holder's renewal (expired, then acquired). Decided on the monotonic clock; epoch times are
// for display. Requests with a `requestId` are answered (`lease.answer`); every change is emitted as
// `lease.changed` with the holder AFTER it. Owns the states, TTL bounds and the rules
// `leaseDecision`/`acquireDecision` the gate also uses; no I/O, owners are caller-asserted.
import { and, assign, emit, enqueueActions, not, setup } from 'xstate';
import { LeaseHeld, NotAllowedInState } from '../errors.ts';
import { monotonicMs } from '../monotonic-clock.ts';

/** The reference arms every lease for a fixed 5.0 s (§4); the product default stays the same. */
export const DEFAULT_LEASE_TTL_S = 5;
/** Shorter than a mesh round trip plus a command: a lease that lapses before it is used guards nothing. */
export const MIN_LEASE_TTL_S = 0.5;
/** An agent that dies holding the lease locks the others out for at most 5 minutes; longer holds renew. */
export const MAX_LEASE_TTL_S = 300;

export const LEASE_POLICIES = ['enforced', 'advisory'] as const;
export type LeasePolicy = (typeof LEASE_POLICIES)[number];
export const LEASE_STATES = ['free', 'held'] as const;
export type LeaseStateName = (typeof LEASE_STATES)[number];
export type LeaseChangeReason = 'acquired' | 'renewed' | 'released' | 'revoked' | 'expired';

export interface LeaseInput {
  readonly policy: LeasePolicy;
  /** Out-of-range or non-finite values are clamped into [MIN, MAX] (non-finite → the default). */
  readonly defaultTtlS: number;
}

export interface LeaseContext {
  readonly policy: LeasePolicy;
  /** TTL used when `lease.acquire` carries no `ttlS`. */
  readonly defaultTtlMs: number;
  readonly owner: string | null;
  /** Epoch ms, for display and the audit trail only; 0 when free. */
  readonly expiresAt: number;
  /** `monotonicMs()` ms when the lease lapses: every decision reads this; 0 when free. */
  readonly deadline: number;
  /** TTL of the current lease (re-armed by every renewal); the default TTL when free. */
  readonly ttlMs: number;
  /** Epoch ms when the current holder first acquired it (renewals keep it); 0 when free. */
  readonly grantedAt: number;
}

export type LeaseEvent =
  /** `requestId`: answer the parent with `lease.answer`; motion's own renewals carry none. */
  | { type: 'lease.acquire'; owner: string; ttlS?: number; requestId?: string }
  | { type: 'lease.renew'; owner: string }
  | { type: 'lease.release'; owner: string; requestId?: string }
  /** Privileged: frees any held lease (e-stop, supervisor `by`). The root restricts who sends it. */
  | { type: 'lease.revoke'; reason: string; by: string; requestId?: string };

/**
 * `owner` is the holder for `acquired`/`renewed`, and the owner who just lost it for
 * `released`/`revoked`/`expired`; `holder` is who holds it AFTER this change (null when free);
 * `by` who made the change: the owner, the revoker, or null for an expiry.
 * `detail` carries the revoke reason, null otherwise.
 */
export type LeaseEmitted = {
  type: 'lease.changed';
  state: LeaseStateName;
  owner: string | null;
  holder: string | null;
  by: string | null;
  expiresAt: number;
  reason: LeaseChangeReason;
  detail: string | null;
  at: number;
};

export type LeaseAnswer = { type: 'lease.answer'; requestId: string; ok: true; result: Record<string, unknown> } | { type: 'lease.answer'; requestId: string; ok: false; error: LeaseHeld | NotAllowedInState };

export type LeaseDecision =
  | { readonly allowed: true; /** the caller should (re)acquire: the lease is free, lapsed or its own */ readonly renews: boolean }
  | { readonly allowed: false; readonly holder: string; readonly secondsLeft: number };

export function isValidLeaseOwner(owner: unknown): owner is string {
  return typeof owner === 'string' && owner.trim().length > 0;
}

export function isValidLeaseTtlS(ttlS: unknown): ttlS is number {
  return typeof ttlS === 'number' && Number.isFinite(ttlS) && ttlS >= MIN_LEASE_TTL_S && ttlS <= MAX_LEASE_TTL_S;
}

/** The input's default TTL in ms, clamped into the bounds (configuration validates it first). */
export function defaultLeaseTtlMs(defaultTtlS: number): number {
  const s = Number.isFinite(defaultTtlS) ? Math.min(MAX_LEASE_TTL_S, Math.max(MIN_LEASE_TTL_S, defaultTtlS)) : DEFAULT_LEASE_TTL_S;
  return Math.round(s * 1000);
}


interface LeaseView {
  readonly owner: string | null;
  readonly deadline: number;
  readonly policy: LeasePolicy;
}

/** Whether the lease is held by someone now (an expiry that passed counts even before its timer fired). */
export function liveHolder(lease: LeaseView): string | null {
  return lease.owner !== null && lease.deadline > monotonicMs() ? lease.owner : null;
}

/**
 * Gating rule for a motion command by `caller` now. `advisory` never refuses (reference behaviour)
 * but only lets the caller take a free or own lease; `enforced` refuses everyone but the live holder.
 */
export function leaseDecision(lease: LeaseView, caller: string): LeaseDecision {
  const holder = liveHolder(lease);
  if (holder === null || holder === caller) return { allowed: true, renews: isValidLeaseOwner(caller) };
  if (lease.policy === 'advisory') return { allowed: true, renews: false };
  return { allowed: false, holder, secondsLeft: secondsLeft(lease) };
}

/** Taking the lease (acquire_lease) needs it free, lapsed or the caller's own, whatever the policy. */
export function acquireDecision(lease: LeaseView, caller: string): LeaseDecision {
  const holder = liveHolder(lease);
  if (holder === null || holder === caller) return { allowed: true, renews: true };
  return { allowed: false, holder, secondsLeft: secondsLeft(lease) };
}

function secondsLeft(lease: LeaseView): number {
  return Math.max(0, Math.round(lease.deadline - monotonicMs())) / 1000;
}

/** The typed refusal of a lease decision. */
export function leaseHeldError(decision: Extract<LeaseDecision, { allowed: false }>): LeaseHeld {
  return new LeaseHeld({ message: `the motion lease is held by ${decision.holder} for ${decision.secondsLeft.toFixed(1)} s more`, holder: decision.holder, secondsLeft: decision.secondsLeft });
}

/** Wall-clock ms for what people read (expires_at, the audit trail); never for a decision. */
const nowMs = () => Date.now();

function hasParent(self: unknown): boolean {
  return Boolean((self as { _parent?: unknown })._parent);
}

export const leaseMachine = setup({
  types: {
    context: {} as LeaseContext,
    events: {} as LeaseEvent,
    input: {} as LeaseInput,
    emitted: {} as LeaseEmitted,
  },
  actions: {
    grant: assign(({ context }, params: { owner: string; ttlS: number | undefined }) => {
      const now = nowMs();
      const ttlMs = params.ttlS === undefined ? context.defaultTtlMs : Math.round(params.ttlS * 1000);
      return { owner: params.owner, ttlMs, expiresAt: now + ttlMs, deadline: monotonicMs() + ttlMs, grantedAt: context.owner === params.owner ? context.grantedAt : now };
    }),
    extend: assign(({ context }) => ({ expiresAt: nowMs() + context.ttlMs, deadline: monotonicMs() + context.ttlMs })),
    announceHeld: emit(({ context }, params: { reason: 'acquired' | 'renewed' }) => ({
      type: 'lease.changed' as const,
      state: 'held' as const,
      owner: context.owner,
      holder: context.owner,
      by: context.owner,
      expiresAt: context.expiresAt,
      reason: params.reason,
      detail: null,
      at: nowMs(),
    })),
    // Emit first (it names the owner who lost the lease), then clear.
    free: enqueueActions(({ context, enqueue }, params: { reason: 'released' | 'revoked' | 'expired'; detail: string | null; by?: string }) => {
      const by = params.reason === 'released' ? context.owner : (params.by ?? null);
      enqueue.emit({ type: 'lease.changed', state: 'free', owner: context.owner, holder: null, by, expiresAt: 0, reason: params.reason, detail: params.detail, at: nowMs() });
      enqueue.assign({ owner: null, expiresAt: 0, deadline: 0, ttlMs: context.defaultTtlMs, grantedAt: 0 });
    }),
    /** Answers a request that carried a `requestId` with the lease as it is now. */
    answerHeld: enqueueActions(({ context, event, self, enqueue }) => {
      const requestId = 'requestId' in event ? event.requestId : undefined;
      if (!requestId || !hasParent(self)) return;
      enqueue.sendParent({ type: 'lease.answer', requestId, ok: true, result: { status: 'held', owner: context.owner, expires_at: context.expiresAt / 1000 } });
    }),
    answerResult: enqueueActions(({ event, self, enqueue }, params: { result: Record<string, unknown> }) => {
      const requestId = 'requestId' in event ? event.requestId : undefined;
      if (!requestId || !hasParent(self)) return;
      enqueue.sendParent({ type: 'lease.answer', requestId, ok: true, result: params.result });
    }),
    answerRefused: enqueueActions(({ context, event, self, enqueue }) => {
      const requestId = 'requestId' in event ? event.requestId : undefined;
      if (!requestId || !hasParent(self)) return;
      const owner = 'owner' in event ? event.owner : '';
      const decision = acquireDecision(context, owner);
      const error = decision.allowed
        ? new NotAllowedInState({ message: `${owner} does not hold the lease`, function: event.type, state: { command_owner: context.owner } })
        : leaseHeldError(decision);
      enqueue.sendParent({ type: 'lease.answer', requestId, ok: false, error });
    }),
  },
  guards: {
    validAcquire: ({ event }) => event.type === 'lease.acquire' && isValidLeaseOwner(event.owner) && (event.ttlS === undefined || isValidLeaseTtlS(event.ttlS)),
    isHolder: ({ context, event }) => 'owner' in event && context.owner !== null && event.owner === context.owner,
    /** The expiry passed but the timer has not fired yet (event-loop lag). */
    lapsed: ({ context }) => context.deadline <= monotonicMs(),
  },
  delays: {
    leaseTtl: ({ context }) => Math.max(0, context.deadline - monotonicMs()),
  },
}).createMachine({
  id: 'lease',
  initial: 'free',
  context: ({ input }) => {
    const defaultTtlMs = defaultLeaseTtlMs(input.defaultTtlS);
    return { policy: input.policy, defaultTtlMs, owner: null, expiresAt: 0, deadline: 0, ttlMs: defaultTtlMs, grantedAt: 0 };
  },
  states: {
    free: {
      on: {
        'lease.acquire': [
          {
            guard: 'validAcquire',
            target: 'held',
            actions: [{ type: 'grant', params: ({ event }) => ({ owner: event.owner, ttlS: event.ttlS }) }, { type: 'announceHeld', params: { reason: 'acquired' } }, 'answerHeld'],
          },
          { actions: 'answerRefused' },
        ],
        'lease.release': { actions: 'answerRefused' },
        'lease.revoke': { actions: { type: 'answerResult', params: { result: { status: 'revoked', previous_owner: null } } } },
      },
    },
    held: {
      // Every renewal re-enters `held`, which cancels and re-arms the expiry timer.
      after: {
        leaseTtl: { target: 'free', actions: { type: 'free', params: { reason: 'expired', detail: null } } },
      },
      on: {
        'lease.acquire': [
          // The holder renews by acquiring again (with the new TTL) — unless it lapsed (next branch).
          {
            guard: and(['validAcquire', 'isHolder', not('lapsed')]),
            target: 'held',
            reenter: true,
            actions: [{ type: 'grant', params: ({ event }) => ({ owner: event.owner, ttlS: event.ttlS }) }, { type: 'announceHeld', params: { reason: 'renewed' } }, 'answerHeld'],
          },
          // The expiry passed while the loop lagged: it expired first, then this caller (the old
          // holder too) takes it.
          {
            guard: and(['validAcquire', 'lapsed']),
            target: 'held',
            reenter: true,
            actions: [
              { type: 'free', params: { reason: 'expired', detail: null } },
              { type: 'grant', params: ({ event }) => ({ owner: event.owner, ttlS: event.ttlS }) },
              { type: 'announceHeld', params: { reason: 'acquired' } },
              'answerHeld',
            ],
          },
          { actions: 'answerRefused' },
        ],
        'lease.renew': [
          { guard: and(['isHolder', not('lapsed')]), target: 'held', reenter: true, actions: ['extend', { type: 'announceHeld', params: { reason: 'renewed' } }] },
          // The holder's own move, let through while its lease was live, arrives just after it lapsed:
          // it expired, and the holder takes it again (for the default TTL, as its next command would).
          {
            guard: and(['isHolder', 'lapsed']),
            target: 'held',
            reenter: true,
            actions: [
              { type: 'free', params: { reason: 'expired', detail: null } },
              { type: 'grant', params: ({ event }) => ({ owner: event.owner, ttlS: undefined }) },
              { type: 'announceHeld', params: { reason: 'acquired' } },
            ],
          },
          { guard: 'lapsed', target: 'free', actions: { type: 'free', params: { reason: 'expired', detail: null } } },
        ],
        'lease.release': [
          {
            guard: 'isHolder',
            target: 'free',
            actions: [{ type: 'free', params: { reason: 'released', detail: null } }, { type: 'answerResult', params: { result: { status: 'released' } } }],
          },
          { actions: 'answerRefused' },
        ],
        'lease.revoke': {
          target: 'free',
          actions: [
            { type: 'answerResult', params: ({ context }) => ({ result: { status: 'revoked', previous_owner: context.owner } }) },
            { type: 'free', params: ({ event }) => ({ reason: 'revoked' as const, detail: event.reason, by: event.by }) },
          ],
        },
      },
    },
  },
});

export type LeaseMachine = typeof leaseMachine;
