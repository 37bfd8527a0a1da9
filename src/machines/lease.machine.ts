// The motion lease (reference-driver.md §2.2 "lease" column, §4 `command_owner`/`lease_expires_at`,
// §12 "Enforce leases"): who may command motion. free ⇄ held with an owner and an expiry armed
// from the named `leaseTtl` delay; acquire/renew/release by the holder, revoke by anyone the
// composer lets send it (privileged), expiry by timer. Every change is emitted as `lease.changed`.
// Owns the lease states, TTL bounds and the pure gating rule `leaseDecision`; it does not decide who
// may revoke, does not authenticate owners (they are caller-asserted strings, README) and does no
// I/O. Policy `advisory` keeps the reference behaviour (never refuses motion); `enforced` refuses
// callers other than the live holder.
import { and, assign, emit, enqueueActions, setup } from 'xstate';

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
  /** Epoch ms; 0 when free. */
  readonly expiresAt: number;
  /** TTL of the current lease (re-armed by every renewal); the default TTL when free. */
  readonly ttlMs: number;
  /** Epoch ms when the current holder first acquired it (renewals keep it); 0 when free. */
  readonly grantedAt: number;
}

export type LeaseEvent =
  | { type: 'lease.acquire'; owner: string; ttlS?: number }
  | { type: 'lease.renew'; owner: string }
  | { type: 'lease.release'; owner: string }
  /** Privileged: frees any held lease (e-stop, supervisor). The composer restricts who sends it. */
  | { type: 'lease.revoke'; reason: string };

/**
 * `owner` is the holder for `acquired`/`renewed`, and the owner who just lost it for
 * `released`/`revoked`/`expired` (then `state` is `free` and `expiresAt` 0). `detail` carries the
 * revoke reason, null otherwise.
 */
export type LeaseEmitted = {
  type: 'lease.changed';
  state: LeaseStateName;
  owner: string | null;
  expiresAt: number;
  reason: LeaseChangeReason;
  detail: string | null;
  at: number;
};

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

/**
 * Pure gating rule for a motion command by `caller` at `nowMs`, from the lease actor's context
 * (no actor access). A lease whose `expiresAt` has passed counts as free even if its timer has not
 * fired yet. `advisory` never refuses (reference behaviour) but only lets the caller take a free or
 * own lease; `enforced` refuses everyone but the live holder.
 */
export function leaseDecision(lease: { readonly owner: string | null; readonly expiresAt: number; readonly policy: LeasePolicy }, caller: string, nowMs: number): LeaseDecision {
  const live = lease.owner !== null && lease.expiresAt > nowMs;
  if (!live || lease.owner === caller) return { allowed: true, renews: isValidLeaseOwner(caller) };
  if (lease.policy === 'advisory') return { allowed: true, renews: false };
  return { allowed: false, holder: lease.owner as string, secondsLeft: Math.max(0, Math.round(lease.expiresAt - nowMs)) / 1000 };
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
      const now = Date.now();
      const ttlMs = params.ttlS === undefined ? context.defaultTtlMs : Math.round(params.ttlS * 1000);
      return { owner: params.owner, ttlMs, expiresAt: now + ttlMs, grantedAt: context.owner === params.owner ? context.grantedAt : now };
    }),
    extend: assign({ expiresAt: ({ context }) => Date.now() + context.ttlMs }),
    announceHeld: emit(({ context }, params: { reason: 'acquired' | 'renewed' }) => ({
      type: 'lease.changed' as const,
      state: 'held' as const,
      owner: context.owner,
      expiresAt: context.expiresAt,
      reason: params.reason,
      detail: null,
      at: Date.now(),
    })),
    // Emit first (it names the owner who lost the lease), then clear.
    free: enqueueActions(({ context, enqueue }, params: { reason: 'released' | 'revoked' | 'expired'; detail: string | null }) => {
      enqueue.emit({ type: 'lease.changed', state: 'free', owner: context.owner, expiresAt: 0, reason: params.reason, detail: params.detail, at: Date.now() });
      enqueue.assign({ owner: null, expiresAt: 0, ttlMs: context.defaultTtlMs, grantedAt: 0 });
    }),
  },
  guards: {
    validAcquire: ({ event }) => event.type === 'lease.acquire' && isValidLeaseOwner(event.owner) && (event.ttlS === undefined || isValidLeaseTtlS(event.ttlS)),
    isHolder: ({ context, event }) => 'owner' in event && context.owner !== null && event.owner === context.owner,
  },
  delays: {
    leaseTtl: ({ context }) => context.ttlMs,
  },
}).createMachine({
  id: 'lease',
  initial: 'free',
  context: ({ input }) => {
    const defaultTtlMs = defaultLeaseTtlMs(input.defaultTtlS);
    return { policy: input.policy, defaultTtlMs, owner: null, expiresAt: 0, ttlMs: defaultTtlMs, grantedAt: 0 };
  },
  states: {
    free: {
      on: {
        'lease.acquire': {
          guard: 'validAcquire',
          target: 'held',
          actions: [{ type: 'grant', params: ({ event }) => ({ owner: event.owner, ttlS: event.ttlS }) }, { type: 'announceHeld', params: { reason: 'acquired' } }],
        },
      },
    },
    held: {
      // Every renewal re-enters `held`, which cancels and re-arms the expiry timer.
      after: {
        leaseTtl: { target: 'free', actions: { type: 'free', params: { reason: 'expired', detail: null } } },
      },
      on: {
        // Only the holder renews by acquiring again (with the new TTL); another owner is refused.
        'lease.acquire': {
          guard: and(['validAcquire', 'isHolder']),
          target: 'held',
          reenter: true,
          actions: [{ type: 'grant', params: ({ event }) => ({ owner: event.owner, ttlS: event.ttlS }) }, { type: 'announceHeld', params: { reason: 'renewed' } }],
        },
        'lease.renew': {
          guard: 'isHolder',
          target: 'held',
          reenter: true,
          actions: ['extend', { type: 'announceHeld', params: { reason: 'renewed' } }],
        },
        'lease.release': {
          guard: 'isHolder',
          target: 'free',
          actions: { type: 'free', params: { reason: 'released', detail: null } },
        },
        'lease.revoke': {
          target: 'free',
          actions: { type: 'free', params: ({ event }) => ({ reason: 'revoked' as const, detail: event.reason }) },
        },
      },
    },
  },
});

export type LeaseMachine = typeof leaseMachine;
