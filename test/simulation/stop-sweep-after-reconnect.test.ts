// A stop still sweeping when the daemon link comes back (fault-simulation seed 2301364, README
// "Safety: what a stop guarantees"): the real composed driver against the emulator on virtual time
// (sim-world.ts). A goto's request is held by a stalled daemon; stop_motion is answered unconfirmed
// during the stall; the move-updates socket loses liveness and reconnects just as the daemon resumes
// and starts the held goto — its move_started is never heard, and the sweep's listing was taken
// before the goto started. The sweep must list again once move updates are back, not trust the old
// listing: the late goto is stopped within one listing of the reconnect, and audited as late — also
// when the reconnect comes after the listing was answered while the sweep still waits for the stop
// of a move it knew of.
import { afterEach, expect, test } from 'vitest';
import type { GateResult } from '../../src/actors/rpc-gate.ts';
import { FOUND_RUNNING_REASON } from '../../src/machines/motion.machine.ts';
import { openWorld, type SimWorld } from './sim-world.ts';

const SEED = 1;
const NO_LATENCY: readonly [number, number] = [0, 0];
/** The goto request reaches the daemon's handler this late: after the stall began and after the stop's listing. */
const GOTO_REQUEST_DELAY_MS = 2_300;
/** Every /api/move/running reply is this late: the first sweep still waits for its (old) listing when the link is back. */
const LISTING_REPLY_DELAY_MS = 400;
const GOTO_DURATION_S = 2;
/**
 * The stall: both sockets lose liveness (ping 1 s + pong 2 s) at 2,502 ms; the daemon resumes before
 * their first reconnect attempt (~100 ms later), so the goto's move_started goes to nobody. The stop
 * comes late in the stall: its sweep's listing (2 s deadline) still waits on resume, and the daemon
 * handles it just before the goto.
 */
const STALL_FROM_MS = 100;
const STOP_AT_MS = 2_200;
const RESUME_AT_MS = 2_540;
/** After the goto started: one listing reply plus the stop and a 50 Hz tick, with room for the reconnect's probe. */
const STOPPED_WITHIN_MS = LISTING_REPLY_DELAY_MS + 200;

let world: SimWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

test('a late goto the resumed daemon starts while move updates reconnect is stopped by a fresh listing, not left to run', async () => {
  world = await openWorld(SEED, NO_LATENCY);
  const w = world;
  const t0 = performance.now();
  const at = async (ms: number): Promise<void> => await w.advance(Math.max(0, t0 + ms - performance.now()));
  w.emulator.faults.apply(
    {
      routeDelays: [
        { path: '/api/move/goto', requestMs: [GOTO_REQUEST_DELAY_MS, GOTO_REQUEST_DELAY_MS] },
        { path: '/api/move/running', responseMs: [LISTING_REPLY_DELAY_MS, LISTING_REPLY_DELAY_MS] },
      ],
      // The goto's uuid never reaches its (cancelled) sender, which would stop the move itself.
      dropReplies: [{ path: '/api/move/goto', probability: 1 }],
    },
    SEED,
  );
  const call = (method: string, params: Record<string, unknown>): Promise<GateResult> => w.driver.gate.call(method, params, { sourceDevice: null, traceId: null });
  void call('goto_pose', { yaw: 25, duration_s: GOTO_DURATION_S, wait: false, owner: 'carol' });
  await at(STALL_FROM_MS);
  w.emulator.faults.pause();
  await at(STOP_AT_MS);
  const stop = call('stop_motion', { owner: 'bob' });
  await at(RESUME_AT_MS);
  const answered = await stop;
  expect(answered.ok, JSON.stringify(answered)).toBe(true);
  expect((answered as { result: { stop?: string } }).result.stop, 'the stall keeps the stop unconfirmed').toBe('unconfirmed');
  w.emulator.faults.resume();
  await w.advance(GOTO_DURATION_S * 1000 + 1_000);
  const [goto] = w.emulator.motionRecord.moves.filter((m) => m.kind === 'goto');
  expect(goto, 'the held goto reached the daemon on resume').toBeDefined();
  expect(goto!.startedAt - t0).toBeGreaterThanOrEqual(RESUME_AT_MS);
  expect(goto!.endedAt, 'the goto ended').not.toBeNull();
  expect(goto!.endedAt! - goto!.startedAt, `the late goto ran ${Math.round(goto!.endedAt! - goto!.startedAt)} ms (${goto!.outcome})`).toBeLessThanOrEqual(STOPPED_WITHIN_MS);
  const late = w.audit.filter((a) => a.record.kind === 'late_move_stopped');
  expect(late.map((a) => [a.record['uuid'], a.record.reason]), 'audited: it ran after the stop was answered').toEqual([[goto!.uuid, FOUND_RUNNING_REASON]]);
}, 30_000);

/** A goto the superseding one replaces: known to the stop, whose stop reply the daemon holds this long. */
const KNOWN_STOP_REPLY_DELAY_MS = 600;
const KNOWN_GOTO_DURATION_S = 6;

test('a reconnect after the listing was answered, while the stop of a known move is still unanswered, lists again before the stop confirms', async () => {
  world = await openWorld(SEED, NO_LATENCY);
  const w = world;
  const call = (method: string, params: Record<string, unknown>): Promise<GateResult> => w.driver.gate.call(method, params, { sourceDevice: null, traceId: null });
  const t0 = performance.now();
  const at = async (ms: number): Promise<void> => await w.advance(Math.max(0, t0 + ms - performance.now()));
  // A first goto runs (its uuid is known); a second one replaces it, held on its way to the daemon.
  const known = call('goto_pose', { yaw: 10, duration_s: KNOWN_GOTO_DURATION_S, wait: false, owner: 'carol' });
  await at(STALL_FROM_MS / 2);
  expect((await known).ok).toBe(true);
  const gotoFaults = { routeDelays: [{ path: '/api/move/goto', requestMs: [GOTO_REQUEST_DELAY_MS, GOTO_REQUEST_DELAY_MS] as [number, number] }], dropReplies: [{ path: '/api/move/goto', probability: 1 }] };
  w.emulator.faults.apply(gotoFaults, SEED);
  void call('goto_pose', { yaw: 25, duration_s: GOTO_DURATION_S, wait: false, owner: 'carol' });
  await at(STALL_FROM_MS);
  w.emulator.faults.pause();
  await at(STOP_AT_MS);
  // The listing is answered at once on resume (before the held goto starts); the known goto's stop reply is slow.
  w.emulator.faults.apply({ ...gotoFaults, routeDelays: [...gotoFaults.routeDelays, { path: '/api/move/stop', responseMs: [KNOWN_STOP_REPLY_DELAY_MS, KNOWN_STOP_REPLY_DELAY_MS] }] }, SEED);
  const stop = call('stop_motion', { owner: 'bob' });
  await at(RESUME_AT_MS);
  expect(((await stop) as { result: { stop?: string } }).result.stop).toBe('unconfirmed');
  w.emulator.faults.resume();
  await w.advance(GOTO_DURATION_S * 1000 + 1_000);
  const late = w.emulator.motionRecord.moves.find((m) => m.kind === 'goto' && m.startedAt - t0 >= RESUME_AT_MS);
  expect(late, 'the held goto started on resume').toBeDefined();
  // Before 2026-12-06 (second fix) the sweep confirmed on its first listing and this goto ran its 2 s.
  expect(late!.endedAt! - late!.startedAt, `the late goto ran ${Math.round(late!.endedAt! - late!.startedAt)} ms`).toBeLessThanOrEqual(KNOWN_STOP_REPLY_DELAY_MS + 200);
  expect(w.audit.filter((a) => a.record.kind === 'late_move_stopped').map((a) => a.record['uuid'])).toContain(late!.uuid);
}, 30_000);
