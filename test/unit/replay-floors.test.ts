// Replay across a restart by a signer whose clock runs ahead (README "Verified callers"): the verifier
// reports each accepted call dated more than PERSIST_AHEAD_MS ahead, the floor file keeps it
// (owner-only, pruned to the window), and the next verifier, given the floors read back, refuses that
// call again although it was signed after its start. The wire transcript is in
// test/integration/replay-after-restart.test.ts.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/jwt';
import { afterEach, describe, expect, test } from 'vitest';
import { createReplayFloorWriter, readReplayFloors, replayFloorPath } from '../../src/adapters/replay-floor-file.ts';
import { createLogger, setLogSink } from '../../src/logging/logger.ts';
import { signatureFields } from '../../src/protocol/caller-signature.ts';
import type { CallerMeta } from '../../src/protocol/json-rpc.ts';
import { createCallerIdentity, PERSIST_AHEAD_MS, REPLAY_WINDOW_MS } from '../../src/safety/caller-identity.ts';

const WRITE = { direction: 'write', safety: 'critical' } as const;
const SUBJECT = 'device-connect.default.r1.cmd';
const alice = createUser();
const bob = createUser();

function signedBy(user: typeof alice, id: string, ts: number): CallerMeta {
  const fields = signatureFields(user, { subject: SUBJECT, requestId: id, method: 'goto_pose', params: {}, ts });
  return { sourceDevice: null, traceId: null, claim: { key: fields.caller_key, sig: fields.caller_sig, ts: fields.caller_ts, jwt: undefined, requestId: id, subject: SUBJECT } };
}

const logged: string[] = [];
afterEach(() => {
  logged.length = 0;
  setLogSink((line) => process.stderr.write(line + '\n'));
});

describe('the verifier and the floors of the run before', () => {
  test('an accepted call is reported only when dated more than PERSIST_AHEAD_MS ahead', () => {
    const clock = 5_000_000;
    const reported: Array<[string, number]> = [];
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: false, now: () => clock, onAheadAccepted: (key, ts) => reported.push([key, ts]) });
    const run = (id: string, ts: number) => identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: signedBy(alice, id, ts) }).ok;
    expect(run('on-time', clock)).toBe(true);
    expect(run('just-ahead', clock + PERSIST_AHEAD_MS)).toBe(true);
    expect(reported).toEqual([]);
    expect(run('ahead', clock + 5_000)).toBe(true);
    expect(reported).toEqual([[alice.getPublicKey(), clock + 5_000]]);
    // A refused call (here a replay) is not reported.
    expect(run('ahead', clock + 5_000)).toBe(false);
    expect(reported).toHaveLength(1);
  });

  test("a restored floor refuses that key's calls at or below it, signed after the start; later ones and other keys run", () => {
    const start = 9_000_000;
    const floor = start + 4_000;
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey(), bob.getPublicKey()], requireSigned: false, now: () => start + 1_000, restoredFloors: new Map([[alice.getPublicKey(), floor]]) });
    const verdict = (user: typeof alice, id: string, ts: number) => identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: signedBy(user, id, ts) });
    const replayed = verdict(alice, 'captured', floor);
    expect(replayed.ok).toBe(false);
    expect(!replayed.ok && replayed.error).toMatchObject({ _tag: 'ReplayRejected', reason: 'stale', request_id: 'captured' });
    expect(!replayed.ok && replayed.error.message).toContain('accepted before a restart');
    expect(verdict(alice, 'newer', floor + 1).ok).toBe(true);
    expect(verdict(bob, 'bob', floor).ok).toBe(true);
  });
});

describe('the floor file', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'replay-floors-'));

  test('exactly 0600 whatever the umask (as the settings files): a umask removing the owner write bit still leaves it writable and readable back', () => {
    const path = replayFloorPath(dir(), 'default', 'r1');
    const previous = process.umask(0o277);
    try {
      createReplayFloorWriter(path, new Map(), { now: () => 1_000_000 })('UALICE', 1_010_000);
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readReplayFloors(path, 1_000_000)).toEqual(new Map([['UALICE', 1_010_000]]));
  });

  test('written owner-only in its own folder, read back; floors out of the window are dropped on both sides', () => {
    let clock = 1_000_000;
    const path = replayFloorPath(dir(), 'default', 'r1');
    expect(path.endsWith(join('replay-floors', 'default.r1.json'))).toBe(true);
    const write = createReplayFloorWriter(path, new Map(), { now: () => clock });
    write('UALICE', clock + 10_000);
    write('UALICE', clock + 2_000);
    write('UBOB', clock + 1_000);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readReplayFloors(path, clock)).toEqual(new Map([['UALICE', clock + 10_000], ['UBOB', clock + 1_000]]));
    // Out of the window at read time: BOB's floor refuses nothing the window does not.
    expect(readReplayFloors(path, clock + 1_000 + REPLAY_WINDOW_MS + 1)).toEqual(new Map([['UALICE', clock + 10_000]]));
    clock += REPLAY_WINDOW_MS + 5_000;
    write('UCAROL', clock);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ floors: { UALICE: 1_010_000, UCAROL: clock } });
  });

  test('past maxKeys the lowest floors go first', () => {
    const path = replayFloorPath(dir(), 'default', 'r1');
    const write = createReplayFloorWriter(path, new Map(), { now: () => 0, maxKeys: 2 });
    write('U1', 30);
    write('U2', 10);
    write('U3', 20);
    expect(readReplayFloors(path, 0)).toEqual(new Map([['U1', 30], ['U3', 20]]));
  });

  test('a missing file is no floors, quietly; a malformed one is logged and ignored; a write that fails is logged, rate-limited, and does not throw', () => {
    setLogSink((line) => logged.push(line));
    const logger = createLogger('test');
    const base = dir();
    expect(readReplayFloors(join(base, 'absent.json'), 0, REPLAY_WINDOW_MS, logger)).toEqual(new Map());
    expect(logged).toEqual([]);
    const bad = join(base, 'bad.json');
    writeFileSync(bad, '{"floors": [');
    expect(readReplayFloors(bad, 0, REPLAY_WINDOW_MS, logger)).toEqual(new Map());
    expect(logged.filter((l) => l.includes('not valid JSON'))).toHaveLength(1);
    // A folder where the file's folder should be: every write fails.
    const blocked = join(base, 'blocked');
    writeFileSync(blocked, 'a file, not a folder');
    const write = createReplayFloorWriter(join(blocked, 'r1.json'), new Map(), { now: () => 0, logger });
    expect(() => {
      write('U1', 10);
      write('U1', 20);
    }).not.toThrow();
    expect(logged.filter((l) => l.includes('cannot be kept across a restart'))).toHaveLength(1);
  });
});
