// The simulation's judge on hand-written histories: each invariant (I1 stop, I2 lease, I3 answer,
// I4 audit) reports the history that breaks it and stays silent on the one that keeps it, so a
// green simulation means the driver kept the invariants, not that the checker could not fail.
import { describe, expect, test } from 'vitest';
import type { MoveRecordEntry, TargetRecordEntry } from '../../src/sim/motion-record.ts';
import { InvariantChecker, type CallRecord, type WorldView } from './invariants.ts';
import type { SafetyRecordSeen } from './sim-world.ts';

/** Stop round trip of these histories (ms). */
const ROUND_TRIP_MS = 10;
const EPOCH_MS = Date.UTC(2027, 0, 15, 8, 0, 0);

let nextIndex = 1;
function call(method: string, params: Record<string, unknown>, issuedAt: number, settledAt: number | undefined, result: CallRecord['result'], audit: [number, number]): CallRecord {
  const record: CallRecord = { index: nextIndex++, step: 1, gate: 'robot', method, params, issuedAt, settleCount: 0, auditAtIssue: audit[0] };
  if (settledAt === undefined) return record;
  return Object.assign(record, { settledAt, settledWallMs: EPOCH_MS + settledAt, settleCount: 1, auditAtSettle: audit[1], ...(result ? { result } : {}) });
}
const okReply = (result: unknown = {}): CallRecord['result'] => ({ ok: true, result });
const refusal = (tag: string): CallRecord['result'] => ({ ok: false, error: { _tag: tag, message: tag } as never });
function seen(kind: string, owner: string | null, at: number, state: Record<string, unknown>, extra: Record<string, unknown> = {}): SafetyRecordSeen {
  return { record: { kind, owner, function: null, state, reason: kind, ts: '', ...extra }, at };
}
function move(receivedAt: number, startedAt: number, endedAt: number | null): MoveRecordEntry {
  return { uuid: `m${receivedAt}`, kind: 'goto', via: 'rest', target: null, receivedAt, startedAt, endedAt, outcome: endedAt === null ? 'running' : 'completed' };
}
function view(parts: Partial<WorldView>): WorldView {
  return { calls: [], audit: [], moves: [], targets: [], pauses: [], freezes: [], outcomesPerRequest: new Map(), now: 5_000, ...parts };
}
function judge(v: WorldView): string[] {
  const checker = new InvariantChecker(ROUND_TRIP_MS);
  checker.check(v, 1, true);
  return checker.violations.map((x) => x.invariant);
}

describe('I1 stop: nothing issued before an answered stop moves the robot afterwards', () => {
  const stop = call('stop_motion', {}, 100, 110, okReply(), [0, 0]);
  const goto = call('goto_pose', { duration_s: 1 }, 50, 60, okReply(), [0, 0]);

  test('a goto from before the stop that starts after its answer and runs on is reported', () => {
    expect(judge(view({ calls: [goto, stop], moves: [move(55, 400, 1_400)] }))).toEqual(['I1-stop']);
  });

  test('a goto stopped within one round trip of the answer, or one issued after the stop, is not', () => {
    expect(judge(view({ calls: [goto, stop], moves: [move(55, 60, 115)] }))).toEqual([]);
    const later = call('goto_pose', { duration_s: 1 }, 300, 310, okReply(), [0, 0]);
    expect(judge(view({ calls: [goto, stop, later], moves: [move(305, 320, 1_320)] }))).toEqual([]);
  });

  test('a freeze of the event loop (lag) after the answer extends the bound by its length, and only then', () => {
    const runsOn = move(55, 112, 112 + ROUND_TRIP_MS + 150);
    expect(judge(view({ calls: [goto, stop], moves: [runsOn] }))).toEqual(['I1-stop']);
    expect(judge(view({ calls: [goto, stop], moves: [runsOn], freezes: [{ from: 115, to: 315 }] }))).toEqual([]);
  });

  test('a realtime target sent after the answer with no realtime call since is reported', () => {
    const antennas = call('antenna_pose', {}, 50, 60, okReply(), [0, 0]);
    const target: TargetRecordEntry = { kind: 'set_antennas', via: 'sdk', receivedAt: 500, appliedAt: 510, values: {}, reachable: true };
    expect(judge(view({ calls: [antennas, stop], targets: [target] }))).toEqual(['I1-stop']);
  });

  test('a target sent into a stalled daemon past the stall check is reported; late pushes (they hide the stall) delay that bound by their delay, and only then', () => {
    const antennas = call('antenna_pose', {}, 50, 60, okReply(), [0, 0]);
    // The stop comes while the daemon is stalled, after the targets; they are applied when it resumes.
    const stopLate = call('stop_motion', {}, 600, 610, okReply(), [0, 0]);
    const stall = { from: 60, to: null };
    // The bound: stall + 20 ms push period + 150 ms stall check + the stop bound (10 + 20 ms) = 260 ms.
    const at = (receivedAt: number): TargetRecordEntry => ({ kind: 'set_antennas', via: 'sdk', receivedAt, appliedAt: 1_000, values: {}, reachable: true });
    const judged = (receivedAt: number, pushDelayMs: number): string[] => {
      const checker = new InvariantChecker(ROUND_TRIP_MS, pushDelayMs);
      checker.check(view({ calls: [antennas, stopLate], targets: [at(receivedAt)], pauses: [stall] }), 1, true);
      return checker.violations.map((x) => x.invariant);
    };
    expect(judged(400, 0)).toEqual(['I1-stop']);
    expect(judged(400, 200)).toEqual([]);
    expect(judged(500, 200)).toEqual(['I1-stop']);
  });
});

describe('I2 lease: at most one holder', () => {
  test('a second owner acquiring while the first still holds it is reported, from the audit trail and from the answers', () => {
    const audit = [seen('lease_acquired', 'alice', 10, { lease_owner: 'alice' }), seen('lease_acquired', 'bob', 20, { lease_owner: 'bob' })];
    const a = call('acquire_lease', { owner: 'alice' }, 5, 10, okReply({ status: 'held', owner: 'alice', expires_at: (EPOCH_MS + 60_000) / 1000 }), [0, 1]);
    const b = call('acquire_lease', { owner: 'bob' }, 15, 20, okReply({ status: 'held', owner: 'bob', expires_at: (EPOCH_MS + 60_000) / 1000 }), [1, 2]);
    expect(judge(view({ calls: [a, b], audit }))).toEqual(['I2-lease', 'I2-lease']);
  });

  test('a release in between keeps one holder at a time', () => {
    const audit = [seen('lease_acquired', 'alice', 10, { lease_owner: 'alice' }), seen('lease_released', 'alice', 12, { lease_owner: null }), seen('lease_acquired', 'bob', 20, { lease_owner: 'bob' })];
    const a = call('acquire_lease', { owner: 'alice' }, 5, 10, okReply({ status: 'held', owner: 'alice', expires_at: (EPOCH_MS + 60_000) / 1000 }), [0, 1]);
    const release = call('release_lease', { owner: 'alice' }, 11, 12, okReply(), [1, 2]);
    const b = call('acquire_lease', { owner: 'bob' }, 15, 20, okReply({ status: 'held', owner: 'bob', expires_at: (EPOCH_MS + 60_000) / 1000 }), [2, 3]);
    expect(judge(view({ calls: [a, release, b], audit }))).toEqual([]);
  });
});

describe('I3 answer: every request answered once, in time', () => {
  test('a request never answered is reported at the end', () => {
    expect(judge(view({ calls: [call('goto_pose', {}, 4_000, undefined, undefined, [0, 0])] }))).toEqual(['I3-answer']);
  });

  test('a request still unanswered past its timeout is reported; a duplicate outcome too', () => {
    expect(judge(view({ calls: [call('goto_pose', {}, 0, undefined, undefined, [0, 0])], now: 25_000 }))).toEqual(['I3-answer']);
    expect(judge(view({ outcomesPerRequest: new Map([['r1', 2]]) }))).toEqual(['I3-answer']);
  });
});

describe('I4 audit: every refusal and state change audited with the state after it', () => {
  test('an interlock_tripped record carrying the state before the change is reported', () => {
    const stop = call('emergency_stop', {}, 100, 110, okReply(), [0, 1]);
    expect(judge(view({ calls: [stop], audit: [seen('interlock_tripped', 'alice', 105, { interlock: 'safe' })], moves: [] }))).toEqual(['I4-audit']);
    expect(judge(view({ calls: [stop], audit: [seen('interlock_tripped', 'alice', 105, { interlock: 'tripped' })] }))).toEqual([]);
  });

  test('a refusal, an e-stop or an acquire with no audit record is reported', () => {
    expect(judge(view({ calls: [call('goto_pose', {}, 10, 11, refusal('InterlockTripped'), [0, 0])] }))).toEqual(['I4-audit']);
    expect(judge(view({ calls: [call('emergency_stop', {}, 10, 11, okReply(), [0, 0])] }))).toEqual(['I4-audit']);
    expect(judge(view({ calls: [call('acquire_lease', { owner: 'bob' }, 10, 11, okReply({ status: 'held', owner: 'bob' }), [0, 0])] }))).toEqual(['I4-audit']);
    const audited = [seen('refused', 'alice', 10, {}, { function: 'goto_pose', error_tag: 'InterlockTripped' })];
    expect(judge(view({ calls: [call('goto_pose', {}, 10, 11, refusal('InterlockTripped'), [0, 1])], audit: audited }))).toEqual([]);
  });

  test('two refusals alike in overlapping windows: each finds its own record, whichever was issued first (fault-simulation seed 4201990)', () => {
    // #1 accepted, refused later at the write (its window holds both records); #2 refused at the gate (its window only the first).
    const audited = [seen('refused', 'bob', 6, {}, { function: 'set_body_yaw', error_tag: 'LeaseHeld' }), seen('refused', 'bob', 8, {}, { function: 'set_body_yaw', error_tag: 'LeaseHeld', at: 'write' })];
    const early = call('set_body_yaw', { owner: 'bob' }, 0, 9, refusal('LeaseHeld'), [0, 2]);
    const gate = call('set_body_yaw', { owner: 'bob' }, 6, 6, refusal('LeaseHeld'), [0, 1]);
    expect(judge(view({ calls: [early, gate], audit: audited }))).toEqual([]);
    expect(judge(view({ calls: [early, gate], audit: audited.slice(0, 1) }))).toEqual(['I4-audit']);
  });

  test('driver_state disagreeing with the audit trail is reported', () => {
    const checker = new InvariantChecker(ROUND_TRIP_MS);
    checker.checkStatus(view({}), 1, { interlock_state: 'tripped', lease_active: false });
    expect(checker.violations.map((v) => v.invariant)).toEqual(['I4-audit']);
  });
});
