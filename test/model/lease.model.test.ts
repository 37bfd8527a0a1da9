// Model-based test of the lease machine (src/machines/lease.machine.ts): paths generated from the
// machine with `TestModel` (one per adjacency edge, event payload variants included), replayed on
// the real actor with fake timers. Each step is checked against an independent oracle written from
// the brief (next state, context, emitted `lease.changed`), the expiry timer must fire exactly at
// `expiresAt` and not a millisecond earlier, and the pure `leaseDecision` must agree with what the
// actor accepts. Every (state, event) pair that is not an edge must be refused by the real actor
// (`can()` false, nothing changes). A final test asserts every edge was walked, for both policies.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createActor, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  DEFAULT_LEASE_TTL_S,
  defaultLeaseTtlMs,
  LEASE_POLICIES,
  leaseDecision,
  leaseMachine,
  MAX_LEASE_TTL_S,
  MIN_LEASE_TTL_S,
  type LeaseContext,
  type LeaseEmitted,
  type LeaseEvent,
  type LeaseInput,
  type LeaseMachine,
  type LeasePolicy,
} from '../../src/machines/lease.machine.ts';
import { canModel, edgePaths, eventListTest, executorTable, MODEL_START_MS as START_MS, pathTests, recordingSut, refusalTable, useFakeClock, type SnapshotView, transitionCoverageTest } from './model-harness.ts';

/** Clock advance before every sent event, so renewals really re-arm a partly elapsed timer. */
const STEP_MS = 250;
const EXPIRY = 'xstate.after.leaseTtl.lease.held';
const CALLERS = ['alice', 'bob', 'carol'] as const;

type Ev = LeaseEvent | { type: typeof EXPIRY };

/** Events the model may walk (the guards filter them per state). */
const EVENTS: Ev[] = [
  { type: 'lease.acquire', owner: 'alice' },
  { type: 'lease.acquire', owner: 'alice', ttlS: 2 },
  { type: 'lease.acquire', owner: 'bob' },
  { type: 'lease.renew', owner: 'alice' },
  { type: 'lease.renew', owner: 'bob' },
  { type: 'lease.release', owner: 'alice' },
  { type: 'lease.release', owner: 'bob' },
  { type: 'lease.revoke', reason: 'e-stop' },
  { type: EXPIRY },
];
/** Never acceptable in any state: bad owner or TTL outside [MIN, MAX]. */
const INVALID: LeaseEvent[] = [
  { type: 'lease.acquire', owner: '' },
  { type: 'lease.acquire', owner: '   ' },
  { type: 'lease.acquire', owner: 'alice', ttlS: MIN_LEASE_TTL_S - 0.01 },
  { type: 'lease.acquire', owner: 'alice', ttlS: MAX_LEASE_TTL_S + 1 },
  { type: 'lease.acquire', owner: 'alice', ttlS: Number.NaN },
  { type: 'lease.acquire', owner: 'alice', ttlS: Number.POSITIVE_INFINITY },
  { type: 'lease.acquire', owner: 'alice', ttlS: 0 },
];

type Snap = SnapshotView<LeaseContext, Ev>;

function serialize(snapshot: { value: unknown; status: string; context: LeaseContext }): string {
  return `${JSON.stringify(snapshot.value)}|${snapshot.status}|${snapshot.context.owner}|${snapshot.context.ttlMs}`;
}

interface Expected {
  value: 'free' | 'held';
  owner: string | null;
  ttlMs: number;
  expiresAt: number;
  grantedAt: number;
  emitted: LeaseEmitted[];
}

/** The brief, as an oracle: what the lease must do with `event` at `now`, or null if it must refuse it. */
function oracle(value: unknown, ctx: LeaseContext, event: Ev, now: number): Expected | null {
  const held = value === 'held';
  const changed = (e: Omit<LeaseEmitted, 'type' | 'at' | 'detail'> & { detail?: string | null }): LeaseEmitted => ({ type: 'lease.changed', detail: null, at: now, ...e });
  const toFree = (reason: 'released' | 'revoked' | 'expired', detail: string | null = null): Expected => ({
    value: 'free',
    owner: null,
    ttlMs: ctx.defaultTtlMs,
    expiresAt: 0,
    grantedAt: 0,
    emitted: [changed({ state: 'free', owner: ctx.owner, expiresAt: 0, reason, detail })],
  });
  switch (event.type) {
    case 'lease.acquire': {
      const validTtl = event.ttlS === undefined || (Number.isFinite(event.ttlS) && event.ttlS >= 0.5 && event.ttlS <= 300);
      if (!validTtl || event.owner.trim() === '') return null;
      if (held && event.owner !== ctx.owner) return null;
      const ttlMs = event.ttlS === undefined ? ctx.defaultTtlMs : event.ttlS * 1000;
      const reason = held ? 'renewed' : 'acquired';
      return { value: 'held', owner: event.owner, ttlMs, expiresAt: now + ttlMs, grantedAt: held ? ctx.grantedAt : now, emitted: [changed({ state: 'held', owner: event.owner, expiresAt: now + ttlMs, reason })] };
    }
    case 'lease.renew':
      if (!held || event.owner !== ctx.owner) return null;
      return { value: 'held', owner: ctx.owner, ttlMs: ctx.ttlMs, expiresAt: now + ctx.ttlMs, grantedAt: ctx.grantedAt, emitted: [changed({ state: 'held', owner: ctx.owner, expiresAt: now + ctx.ttlMs, reason: 'renewed' })] };
    case 'lease.release':
      return held && event.owner === ctx.owner ? toFree('released') : null;
    case 'lease.revoke':
      return held ? toFree('revoked', event.reason) : null;
    case EXPIRY:
      return held ? toFree('expired') : null;
  }
}

const createSut = (input: LeaseInput) => recordingSut<LeaseMachine, Snap>(createActor(leaseMachine, { input }));
type Sut = ReturnType<typeof createSut>;

/** Runs one event on the real actor and checks it against the oracle. */
async function step(sut: Sut, event: Ev): Promise<void> {
  const before = sut.snap();
  const mark = sut.emitted.length;
  let now: number;
  if (event.type === EXPIRY) {
    expect(before.value).toBe('held');
    const remaining = before.context.expiresAt - Date.now();
    expect(remaining).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(remaining - 1);
    expect(sut.snap().value, 'lease must not expire early').toBe('held');
    expect(sut.emitted.length).toBe(mark);
    await vi.advanceTimersByTimeAsync(1);
    now = Date.now();
  } else {
    await vi.advanceTimersByTimeAsync(STEP_MS);
    now = Date.now();
    expect(sut.snap().can(event), JSON.stringify(event)).toBe(true);
    sut.actor.send(event);
    await vi.advanceTimersByTimeAsync(0);
  }
  const expected = oracle(before.value, before.context, event, now);
  expect(expected, `oracle refuses ${JSON.stringify(event)} in ${String(before.value)}`).not.toBeNull();
  const after = sut.snap();
  expect(after.value).toBe(expected!.value);
  const { emitted, ...fields } = expected!;
  expect({ owner: after.context.owner, ttlMs: after.context.ttlMs, expiresAt: after.context.expiresAt, grantedAt: after.context.grantedAt }).toEqual({
    owner: fields.owner,
    ttlMs: fields.ttlMs,
    expiresAt: fields.expiresAt,
    grantedAt: fields.grantedAt,
  });
  expect(sut.emitted.slice(mark)).toEqual(emitted);
}

/** The pure gate and the actor agree: enforced allows exactly whom the actor lets acquire. */
function checkDecisionAgrees(snap: Snap, policy: LeasePolicy): void {
  for (const caller of CALLERS) {
    const decision = leaseDecision(snap.context, caller, Date.now());
    const canTake = snap.can({ type: 'lease.acquire', owner: caller });
    if (policy === 'advisory') expect(decision).toEqual({ allowed: true, renews: canTake });
    else if (canTake) expect(decision).toEqual({ allowed: true, renews: true });
    else expect(decision).toEqual({ allowed: false, holder: snap.context.owner, secondsLeft: (snap.context.expiresAt - Date.now()) / 1000 });
  }
}

function buildModel(input: LeaseInput) {
  // TestModel's logic type has no emitted-event parameter; the machine's emits are irrelevant to it.
  const logic = leaseMachine as unknown as ActorLogic<SnapshotFrom<LeaseMachine>, LeaseEvent, LeaseInput>;
  const model = canModel(logic, EVENTS as LeaseEvent[], serialize, input);
  const built = edgePaths(model, serialize, {
    input,
    // A path that ends in `held` then lets the lease expire: the expiry step checks the timer fires
    // exactly at the (re)armed `expiresAt`, so a renewal that failed to re-arm it is caught.
    drain: ({ next }) => (next.value === 'held' ? ([{ type: EXPIRY }] as unknown as LeaseEvent[]) : []),
  });
  return { model, ...built };
}

describe.each(LEASE_POLICIES)('lease machine, %s policy', (policy) => {
  const input: LeaseInput = { policy, defaultTtlS: DEFAULT_LEASE_TTL_S };
  const { model, adjacency, paths, prefixes } = buildModel(input);
  const current = useFakeClock(() => createSut(input));
  const executors = executorTable(EVENTS, (event) => step(current(), event as Ev));

  eventListTest(leaseMachine, EVENTS);

  pathTests(model, paths, executors, () => current().snap(), (actual, expected) => {
    expect({ policy: actual.context.policy, owner: actual.context.owner, ttlMs: actual.context.ttlMs }).toEqual({
      policy: expected.context.policy,
      owner: expected.context.owner,
      ttlMs: expected.context.ttlMs,
    });
    // Exactly one timer (the expiry) while held, none while free.
    expect(vi.getTimerCount()).toBe(actual.value === 'held' ? 1 : 0);
    if (actual.value === 'free') expect([actual.context.owner, actual.context.expiresAt, actual.context.grantedAt]).toEqual([null, 0, 0]);
    else {
      expect(actual.context.owner).not.toBeNull();
      expect(actual.context.expiresAt).toBeGreaterThan(Date.now());
      expect(actual.context.expiresAt - Date.now()).toBeLessThanOrEqual(actual.context.ttlMs);
      expect(actual.context.grantedAt).toBeGreaterThan(0);
      expect(actual.context.grantedAt).toBeLessThanOrEqual(Date.now());
    }
    checkDecisionAgrees(actual, policy);
  });

  refusalTable('refuses every non-edge event in %s', { adjacency, prefixes }, current, {
    events: EVENTS,
    delayed: (e) => e.type === EXPIRY,
    invalid: INVALID,
    step,
    oracle: (_sut, before, event) => oracle(before.value, before.context, event, Date.now()),
  });

  transitionCoverageTest(leaseMachine, paths, { minimum: 4 });
});

describe('lease machine input and the pure gate', () => {
  afterEach(() => vi.useRealTimers());

  test('the default TTL is clamped into the bounds (non-finite → the product default)', () => {
    expect(defaultLeaseTtlMs(5)).toBe(5_000);
    expect(defaultLeaseTtlMs(0.1)).toBe(MIN_LEASE_TTL_S * 1000);
    expect(defaultLeaseTtlMs(10_000)).toBe(MAX_LEASE_TTL_S * 1000);
    expect(defaultLeaseTtlMs(Number.NaN)).toBe(DEFAULT_LEASE_TTL_S * 1000);
    const actor = createActor(leaseMachine, { input: { policy: 'enforced', defaultTtlS: 0 } }).start();
    expect(actor.getSnapshot().context.ttlMs).toBe(500);
    actor.stop();
  });

  test('an acquire without ttlS uses the input default; the timer follows it', async () => {
    vi.useFakeTimers({ now: START_MS });
    const sut = createSut({ policy: 'enforced', defaultTtlS: 1.5 });
    sut.actor.send({ type: 'lease.acquire', owner: 'alice' });
    expect(sut.snap().context.expiresAt).toBe(START_MS + 1_500);
    await vi.advanceTimersByTimeAsync(1_499);
    expect(sut.snap().value).toBe('held');
    await vi.advanceTimersByTimeAsync(1);
    expect(sut.snap().value).toBe('free');
    expect(sut.emitted.map((e) => e.reason)).toEqual(['acquired', 'expired']);
    sut.actor.stop();
  });

  const held = { owner: 'alice', expiresAt: START_MS + 2_500 };
  test.each([
    ['enforced free', { policy: 'enforced', owner: null, expiresAt: 0 }, 'bob', { allowed: true, renews: true }],
    ['enforced holder', { policy: 'enforced', ...held }, 'alice', { allowed: true, renews: true }],
    ['enforced other', { policy: 'enforced', ...held }, 'bob', { allowed: false, holder: 'alice', secondsLeft: 2.5 }],
    ['enforced lapsed (timer not yet fired)', { policy: 'enforced', owner: 'alice', expiresAt: START_MS }, 'bob', { allowed: true, renews: true }],
    ['advisory free', { policy: 'advisory', owner: null, expiresAt: 0 }, 'bob', { allowed: true, renews: true }],
    ['advisory holder', { policy: 'advisory', ...held }, 'alice', { allowed: true, renews: true }],
    ['advisory other (reference behaviour: never refused)', { policy: 'advisory', ...held }, 'bob', { allowed: true, renews: false }],
    ['enforced free, empty caller (cannot take the lease)', { policy: 'enforced', owner: null, expiresAt: 0 }, '', { allowed: true, renews: false }],
  ] as const)('leaseDecision: %s', (_name, lease, caller, expected) => {
    expect(leaseDecision(lease as { owner: string | null; expiresAt: number; policy: LeasePolicy }, caller, START_MS)).toEqual(expected);
  });
});
