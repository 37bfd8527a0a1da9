// The last checks before a daemon write (README "Safety: what a stop guarantees"), as transcripts over
// NATS against the --sim emulator, whose command log and motion record are the ground truth:
// a goto that reaches the daemon after its HTTP deadline (the caller heard DaemonUnavailable, then a
// stop was answered) is stopped as soon as it starts; over `--transport-mode http` a ramp step queued
// for a busy connection, or already written to a slow daemon, lands no target after the stop's answer,
// one a stalled daemon applies after its caller gave up is undone before the stop confirms, and one
// the daemon applies after the stop's hold but answers before it is held again;
// a ramp whose owner's lease lapsed writes nothing once another owner holds the lease, nor one whose
// robot was put to sleep by someone else once the driver sees it asleep; a stop's hold goes to the
// pose the robot holds now (HTTP), and is sent whenever the daemon is not live now (/ws/sdk); a goto
// that waited for a connection is checked again as it is written.
import { afterEach, expect, test } from 'vitest';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/adapters/daemon-http.ts';
import { openDaemonLink, closeDaemonLink } from '../../src/actors/daemon-link.ts';
import type { DriverOverrides } from '../../src/driver.ts';
import type { Emulator } from '../../src/sim/emulator.ts';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { captureLogs } from '../harness/log-capture.ts';
import { rpc } from '../harness/mesh-peer.ts';

type Reply = Record<string, any>;
const OWNER = 'write-fence';
const deg = (rad: number): number => (rad * 180) / Math.PI;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** A goto held this much longer than the driver's HTTP deadline reaches the daemon after its caller gave up. */
const PAST_DEADLINE_MS = 1_000;
/**
 * The driver's daemon HTTP deadline in the late-goto test: the production 5 s
 * (DEFAULT_REQUEST_TIMEOUT_MS) is only sat out there, so it is shortened; the default is checked on its own.
 */
const TEST_REQUEST_TIMEOUT_MS = 1_500;
/** As stop-guarantee.test.ts: a move that starts anyway is stopped within one stop round trip (loaded 2-core box). */
const ONE_STOP_ROUND_TRIP_MS = 400;
/** Time for the robot to sit still before a ramp starts, and for late writes to show up after a stop. */
const SETTLE_MS = 300;
/**
 * driver.stop() once nothing runs and no cancelled request can start a move: well under its 2 s wait
 * (SHUTDOWN_STOP_WAIT_MS), which it sits out in full while a cancelled goto is still held as an orphan.
 */
const SETTLED_SHUTDOWN_MS = 1_000;

/** Functions that take no `owner`. */
const READS: ReadonlySet<string> = new Set(['get_status', 'get_volume']);

const scenes: MeshScene[] = [];
afterEach(async () => {
  while (scenes.length > 0) {
    const s = scenes.pop()!;
    s.driver.emulator?.faults.clear();
    await s.stop();
  }
});

let counter = 0;
async function startScene(
  extra: string[] = [],
  overrides: DriverOverrides = {},
): Promise<{ scene: MeshScene; emulator: Emulator; call: (method: string, params?: Record<string, unknown>, timeoutMs?: number) => Promise<Reply> }> {
  const device = `write-fence-${++counter}`;
  const scene = await startMeshScene(['--sim', '--no-media', '--device-id', device, '--discovery-mode', 'd2d', ...extra], {}, overrides);
  scenes.push(scene);
  let n = 0;
  const call = async (method: string, params: Record<string, unknown> = {}, timeoutMs = 15_000) =>
    (await rpc(scene.nc, `device-connect.default.${device}.cmd`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params: READS.has(method) ? params : { owner: OWNER, ...params } }, timeoutMs)) as Reply;
  const connected = async () => (await call('get_status', {}, 1_000).catch(() => ({}) as Reply)).result?.driver_state?.connection_state === 'connected';
  await waitFor(connected, 10_000, 'the driver connected to its emulator');
  expect((await call('wake_up', { wait: true })).result?.status).toMatch(/completed|already_awake/);
  return { scene, emulator: scene.driver.emulator!, call };
}

test(`the daemon HTTP lanes' default deadline is ${DEFAULT_REQUEST_TIMEOUT_MS / 1000} s unless a test shortens it`, async () => {
  expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(5_000);
  for (const [link, expected] of [
    [openDaemonLink('http://127.0.0.1:9', 'http'), DEFAULT_REQUEST_TIMEOUT_MS],
    [openDaemonLink('http://127.0.0.1:9', 'http', undefined, undefined, TEST_REQUEST_TIMEOUT_MS), TEST_REQUEST_TIMEOUT_MS],
  ] as const) {
    expect([link.http.requestTimeoutMs, link.stops.requestTimeoutMs, link.media.requestTimeoutMs]).toEqual([expected, expected, expected]);
    await closeDaemonLink(link);
  }
});

test('a goto that reaches the daemon after its deadline (shortened here), and after a stop was answered, is stopped as it starts; once it ended, the driver stops at once', async () => {
  const { scene, emulator, call } = await startScene([], { daemonRequestTimeoutMs: TEST_REQUEST_TIMEOUT_MS });
  const since = emulator.motionRecord.nowMs();
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/goto', requestMs: [TEST_REQUEST_TIMEOUT_MS + PAST_DEADLINE_MS, TEST_REQUEST_TIMEOUT_MS + PAST_DEADLINE_MS] }] }, 1);
  // → goto_pose; ← DaemonUnavailable after the HTTP deadline (the request is still held by the daemon).
  const asked = Date.now();
  const goto = await call('goto_pose', { yaw: 30, duration_s: 1.5 });
  expect(goto.error?.data?._tag).toBe('DaemonUnavailable');
  expect(Date.now() - asked, 'the goto was given up at the deadline (ms)').toBeGreaterThanOrEqual(TEST_REQUEST_TIMEOUT_MS - 50);
  // → stop_motion; ← stopped, confirmed: nothing runs yet.
  const stop = await call('stop_motion');
  const answeredAt = emulator.motionRecord.nowMs();
  expect(stop.result).toMatchObject({ status: 'stopped', stop: 'confirmed' });
  // The daemon starts the goto ~1 s later: the driver must stop it at once.
  await waitFor(() => emulator.motionRecord.moves.some((m) => m.kind === 'goto' && m.startedAt >= since), PAST_DEADLINE_MS + 3_000, 'the late goto to start');
  const move = emulator.motionRecord.moves.find((m) => m.kind === 'goto' && m.startedAt >= since)!;
  expect(move.startedAt).toBeGreaterThan(answeredAt);
  await waitFor(() => move.endedAt !== null, 3_000, 'the late goto to end');
  expect(move.endedAt! - move.startedAt, 'the late goto ran (ms)').toBeLessThanOrEqual(ONE_STOP_ROUND_TRIP_MS);
  expect(move.outcome).not.toBe('completed');
  expect(Math.abs(deg(emulator.snapshot().headPose.yaw))).toBeLessThan(10);
  // The late answer named the goto's move and it ended: that request is spent, no longer held as a
  // cancelled command that may still start a move, so stopping the driver does not wait for it.
  const logs = captureLogs('info');
  try {
    const stopping = Date.now();
    await scene.driver.stop();
    expect(Date.now() - stopping, 'driver.stop() took (ms)').toBeLessThan(SETTLED_SHUTDOWN_MS);
    expect(logs.matching('WARN', 'may still be moving')).toEqual([]);
  } finally {
    logs.restore();
  }
}, 30_000);

/**
 * A slow daemon: each target is handled this long after it arrived. Long enough for the stop to come
 * while one is in flight; short enough that the stop (waiting for it, its holds delayed as much) is
 * confirmed soon after its 250 ms answer.
 */
const TARGET_DELAY_MS = 150;

/** A body turn within one 20 ms tick's step at the default limit (~1.9°): written as one target. */
const SMALL_STEP_DEG = 1.5;

/** POST /api/move/set_target requests the emulator received (HTTP transport), with their receipt time. */
const restTargets = (emulator: Emulator) => emulator.received.filter((e) => e.method === 'POST' && e.path === '/api/move/set_target');

test('--transport-mode http: a ramp step queued behind busy connections is dropped by stop_motion, never written', async () => {
  const { emulator, call } = await startScene(['--transport-mode', 'http']);
  expect((await call('set_body_yaw', { yaw_deg: 60, wait: true })).result?.status).toBe('completed');
  await sleep(SETTLE_MS);
  // 120° at ≤ 96°/s: a ramp of ~1.25 s, one target per HTTP step.
  expect((await call('set_body_yaw', { yaw_deg: -60 })).result?.speed_limited?.mode).toBe('ramped');
  // Reads held 800 ms by the daemon keep the client's connections busy and its queue non-empty.
  emulator.faults.apply({ routeDelays: [{ path: '/api/volume/*', responseMs: [800, 800] }] }, 1);
  const busySince = Date.now();
  const reads: Array<Promise<unknown>> = [];
  const saturate = setInterval(() => reads.push(call('get_volume', { device: 'speaker' }).catch(() => undefined)), 100);
  try {
    // The ramp's next pose read comes out of the queue: its target, checked right after, queues behind the reads.
    const fullStates = () => emulator.received.filter((e) => e.path === '/api/state/full' && e.ts > busySince + 500);
    await waitFor(() => fullStates().length > 0, 5_000, "the ramp's pose read after the queue filled");
    await sleep(30);
    const stop = await call('stop_motion');
    const answeredAt = Date.now();
    const answeredOnRecord = emulator.motionRecord.nowMs();
    expect(stop.result?.status).toBe('stopped');
    clearInterval(saturate);
    await Promise.all(reads);
    await sleep(SETTLE_MS);
    expect(restTargets(emulator).filter((e) => e.ts > answeredAt), 'targets written after the stop was answered').toEqual([]);
    expect(emulator.motionRecord.targets.filter((t) => t.appliedAt > answeredOnRecord), 'targets applied after the stop was answered').toEqual([]);
  } finally {
    clearInterval(saturate);
  }
}, 30_000);

test('--transport-mode http: a ramp step already written to a slow daemon lands before the stop is answered', async () => {
  const { emulator, call } = await startScene(['--transport-mode', 'http']);
  expect((await call('set_body_yaw', { yaw_deg: 60, wait: true })).result?.status).toBe('completed');
  await sleep(SETTLE_MS);
  expect((await call('set_body_yaw', { yaw_deg: -60 })).result?.speed_limited?.mode).toBe('ramped');
  // Every target now reaches the daemon's handler TARGET_DELAY_MS after it was received (written).
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/set_target', requestMs: [TARGET_DELAY_MS, TARGET_DELAY_MS] }] }, 1);
  const marked = restTargets(emulator).length;
  await expect.poll(() => restTargets(emulator).length, { timeout: 3_000, interval: 5 }).toBeGreaterThan(marked);
  const stop = await call('stop_motion');
  const answeredOnRecord = emulator.motionRecord.nowMs();
  expect(stop.result?.status).toBe('stopped');
  await sleep(SETTLE_MS);
  // The stop's first hold went out before the ramp step was answered, so it holds again (the
  // answers cannot tell which the daemon applied last); that second hold may come after the answer
  // (`unconfirmed` then), at the same pose. Nothing else may.
  const holdYaw = emulator.motionRecord.targets.findLast((t) => t.appliedAt <= answeredOnRecord)?.values.bodyYaw;
  const late = emulator.motionRecord.targets.filter((t) => t.appliedAt > answeredOnRecord && t.values.bodyYaw !== holdYaw);
  expect(late, 'targets other than the hold applied after the stop was answered').toEqual([]);
  const after = emulator.motionRecord.poses.filter((p) => p.at > answeredOnRecord + 60).map((p) => deg(p.bodyYaw));
  expect(Math.max(...after) - Math.min(...after), 'the body stays put after the answer (°)').toBeLessThan(1e-3);
}, 30_000);

test('--transport-mode http: a target a stalled daemon applies after its writer gave up is undone before the stop confirms', async () => {
  const { emulator, call } = await startScene(['--transport-mode', 'http']);
  await sleep(SETTLE_MS);
  const startYaw = deg(emulator.snapshot().bodyYaw);
  // The next target reaches the daemon's handler 1 s after its writer's 5 s deadline.
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/set_target', requestMs: [DEFAULT_REQUEST_TIMEOUT_MS + PAST_DEADLINE_MS, DEFAULT_REQUEST_TIMEOUT_MS + PAST_DEADLINE_MS] }] }, 1);
  const marked = restTargets(emulator).length;
  // → set_body_yaw +1.5° (within one tick's step at the limit: written as is); ← DaemonUnavailable after the deadline.
  const move = await call('set_body_yaw', { yaw_deg: startYaw + SMALL_STEP_DEG });
  expect(move.error?.data?._tag).toBe('DaemonUnavailable');
  expect(restTargets(emulator).length, 'the target was written').toBe(marked + 1);
  emulator.faults.clear();
  // → stop_motion; ← stopped, unconfirmed: the written target has not been answered yet.
  const stop = await call('stop_motion');
  const answeredOnRecord = emulator.motionRecord.nowMs();
  expect(stop.result).toMatchObject({ status: 'stopped', stop: 'unconfirmed' });
  // The daemon applies the late target ~1 s later; the driver holds again and only then confirms.
  const executionState = async () => (await call('get_status')).result?.driver_state?.execution_state as string;
  await waitFor(async () => (await executionState()) === 'idle', PAST_DEADLINE_MS + 5_000, 'the stop to be confirmed');
  const confirmedOnRecord = emulator.motionRecord.nowMs();
  const late = emulator.motionRecord.targets.filter((t) => t.appliedAt > answeredOnRecord && Math.abs(deg(t.values.bodyYaw ?? 0) - (startYaw + SMALL_STEP_DEG)) < 0.1);
  expect(late.length, 'the late target was applied after the first answer').toBe(1);
  expect(emulator.motionRecord.targets.filter((t) => t.appliedAt > confirmedOnRecord), 'targets applied after the stop confirmed').toEqual([]);
  await sleep(SETTLE_MS);
  expect(Math.abs(deg(emulator.snapshot().bodyYaw) - startYaw), 'the body is back where the stop found it (°)').toBeLessThan(0.5);
}, 30_000);

/** The out-of-order answers: a ramp step handled this long after it arrived, the stop's hold at once but answered later still. */
const LATE_APPLY_MS = 400;
const LATE_ANSWER_MS = 800;

test("--transport-mode http: a ramp step the daemon applies after the stop's hold, but answers before it, is held again", async () => {
  const { emulator, call } = await startScene(['--transport-mode', 'http']);
  expect((await call('set_body_yaw', { yaw_deg: 60, wait: true })).result?.status).toBe('completed');
  await sleep(SETTLE_MS);
  expect((await call('set_body_yaw', { yaw_deg: -60 })).result?.speed_limited?.mode).toBe('ramped');
  // The next ramp step reaches the daemon's handler LATE_APPLY_MS after it was written.
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/set_target', requestMs: [LATE_APPLY_MS, LATE_APPLY_MS] }] }, 1);
  const marked = restTargets(emulator).length;
  await expect.poll(() => restTargets(emulator).length, { timeout: 3_000, interval: 2 }).toBeGreaterThan(marked);
  const written = restTargets(emulator).length;
  const appliedBefore = emulator.motionRecord.targets.length;
  // From now on a target is handled at once and answered LATE_ANSWER_MS later: the stop's hold.
  emulator.faults.apply({ routeDelays: [{ path: '/api/move/set_target', responseMs: [LATE_ANSWER_MS, LATE_ANSWER_MS] }] }, 2);
  const stop = call('stop_motion');
  await expect.poll(() => restTargets(emulator).length, { timeout: 3_000, interval: 2 }).toBeGreaterThan(written);
  const hold = restTargets(emulator)[written]!.body as { target_body_yaw: number };
  // The ramp step is handled after the hold, and answered at once: its answer comes first.
  emulator.faults.clear();
  expect((await stop).result?.status).toBe('stopped');
  const idle = async () => (await call('get_status')).result?.driver_state?.execution_state === 'idle';
  await waitFor(idle, 5_000, 'the stop to be confirmed');
  await sleep(SETTLE_MS);
  const applied = emulator.motionRecord.targets.slice(appliedBefore).map((t) => deg(t.values.bodyYaw ?? Number.NaN));
  expect(applied[0], 'the hold was applied first').toBeCloseTo(deg(hold.target_body_yaw), 3);
  expect(Math.abs(applied[1]! - deg(hold.target_body_yaw)), 'then the ramp step (°)').toBeGreaterThan(1);
  // Before 2026-12-06 no second hold was sent (the step's answer came before the hold's): the body stayed at the step.
  expect(Math.abs(deg(emulator.snapshot().bodyYaw) - deg(hold.target_body_yaw)), 'the body is where the stop found it (°)').toBeLessThan(0.5);
}, 30_000);

test("a ramp outliving its owner's lease writes nothing once another owner holds it", async () => {
  // A's command takes the lease for 0.5 s; its ramp runs ~1.25 s.
  const { emulator, call } = await startScene(['--lease-ttl', '0.5']);
  expect((await call('set_body_yaw', { yaw_deg: 60, wait: true, owner: 'A' })).result?.status).toBe('completed');
  await sleep(SETTLE_MS);
  const ramp = await call('set_body_yaw', { yaw_deg: -60, owner: 'A' });
  expect(ramp.result?.speed_limited?.mode).toBe('ramped');
  await sleep(700);
  // → acquire_lease B (A's lapsed); ← held by B.
  const b = await call('acquire_lease', { owner: 'B', ttl_s: 10 });
  const acquiredAt = Date.now();
  expect(b.result).toMatchObject({ status: 'held', owner: 'B' });
  await sleep(1_000);
  const bodyTargets = emulator.received.filter((e) => e.method === 'WS' && (e.body as { type?: string } | undefined)?.type === 'set_body_yaw');
  // A frame checked before B's acquire may still be on its way: 50 ms (2.5 ticks) of slack.
  expect(bodyTargets.filter((e) => e.ts > acquiredAt + 50), "A's targets written after B held the lease").toEqual([]);
  expect(deg(emulator.snapshot().bodyYaw), 'the ramp ended short of -60°').toBeGreaterThan(-55);
}, 30_000);

test('a ramp that runs into a sleep someone else started writes nothing once the driver sees the robot asleep', async () => {
  // 60° at ≤ 20°/s: a ramp of ~3 s.
  const { emulator, call } = await startScene(['--max-body-speed', '20']);
  await sleep(SETTLE_MS);
  expect((await call('set_body_yaw', { yaw_deg: 60 })).result?.speed_limited?.mode).toBe('ramped');
  await sleep(500);
  // Another client of the daemon switches the motors off mid-ramp (as its goto_sleep does at the end).
  expect((await fetch(`${emulator.url}/api/motors/set_mode/disabled`, { method: 'POST' })).status).toBe(200);
  await waitFor(async () => (await call('get_status')).result?.driver_state?.power_state === 'asleep', 3_000, 'the driver to see the robot asleep');
  const asleepAt = Date.now();
  await sleep(1_000);
  const bodyTargets = emulator.received.filter((e) => e.method === 'WS' && (e.body as { type?: string } | undefined)?.type === 'set_body_yaw');
  // A frame checked just before the status push was read may still be on its way: 50 ms of slack.
  expect(bodyTargets.filter((e) => e.ts > asleepAt + 50), 'targets written after the driver saw the robot asleep').toEqual([]);
  expect(deg(emulator.snapshot().bodyYaw), 'the ramp ended short of 60°').toBeLessThan(55);
}, 30_000);

test('--transport-mode http: a stop soon after a realtime target holds the robot where it is now, not where the target found it', async () => {
  const { emulator, call } = await startScene(['--transport-mode', 'http']);
  await sleep(SETTLE_MS);
  // → antenna_pose (a realtime target: the stop owes a hold for 1 s); → goto_pose yaw 30 (completes).
  expect((await call('antenna_pose', { left: 5, right: -5 })).result?.status).toBe('accepted');
  expect((await call('goto_pose', { yaw: 30, duration_s: 0.3, wait: true })).result?.status).toBe('completed');
  // → stop_motion within the second: its hold goes to the pose the daemon reports now.
  expect((await call('stop_motion')).result).toMatchObject({ status: 'stopped', stop: 'confirmed' });
  await sleep(SETTLE_MS);
  // Before 2026-12-06 the hold went to the pose read before the antenna target: the head snapped back to 0°.
  expect(deg(emulator.snapshot().headPose.yaw), 'the head stays where the goto left it (°)').toBeCloseTo(30, 0);
}, 30_000);

test('/ws/sdk: a target a stalling daemon has received but not applied is undone by the hold, although pushes came after it', async () => {
  const { emulator, call } = await startScene();
  expect((await call('antenna_pose', { left: 0, right: 0 })).result?.status).toBe('accepted');
  await sleep(SETTLE_MS);
  // /ws/sdk frames reach the handler 100 ms after receipt; the daemon stalls 45 ms after the target.
  emulator.faults.apply({ routeDelays: [{ path: '/ws/sdk', requestMs: [100, 100] }] }, 1);
  const sentAt = performance.now();
  expect((await call('antenna_pose', { left: 5, right: -5 })).result?.status).toBe('accepted');
  await sleep(Math.max(0, sentAt + 45 - performance.now()));
  emulator.faults.pause();
  // → stop_motion 1.3 s after the target (pushes crossed it before the stall); ← unconfirmed (stalled).
  await sleep(Math.max(0, sentAt + 1_300 - performance.now()));
  expect((await call('stop_motion')).result).toMatchObject({ status: 'stopped', stop: 'unconfirmed' });
  await sleep(Math.max(0, sentAt + 1_800 - performance.now()));
  emulator.faults.clear();
  const idle = async () => (await call('get_status')).result?.driver_state?.execution_state === 'idle';
  await waitFor(idle, 5_000, 'the stop to be confirmed after the daemon resumed');
  // The late target was applied on resume, then the hold (sent on the same socket) after it.
  expect(emulator.snapshot().antennas.map((a) => Math.round(deg(a))), 'antennas back where the stop found them (°)').toEqual([0, 0]);
}, 30_000);

test("a goto queued behind busy connections is not written once its owner's lease has passed to another (checked as it is written)", async () => {
  // A's goto takes the lease for 0.5 s; the daemon holds reads 1 s, so the goto waits for a connection.
  const { emulator, call } = await startScene(['--lease-ttl', '0.5']);
  expect((await call('acquire_lease', { owner: 'A', ttl_s: 0.5 })).result).toMatchObject({ status: 'held', owner: 'A' });
  emulator.faults.apply({ routeDelays: [{ path: '/api/volume/*', responseMs: [1_000, 1_000] }] }, 1);
  // Four reads take the four command connections (MAX_CONNECTIONS).
  const reads = Array.from({ length: 4 }, () => call('get_volume', { device: 'speaker' }).catch(() => undefined));
  await waitFor(() => emulator.received.filter((e) => e.path.startsWith('/api/volume')).length >= 4, 3_000, 'the reads to hold every connection');
  const gotosBefore = emulator.received.filter((e) => e.path === '/api/move/goto').length;
  const goto = call('goto_pose', { yaw: 20, duration_s: 0.5, owner: 'A' });
  // A's lease lapses while the goto waits; B takes it.
  await sleep(600);
  expect((await call('acquire_lease', { owner: 'B', ttl_s: 10 })).result).toMatchObject({ status: 'held', owner: 'B' });
  const answer = await goto;
  await Promise.all(reads);
  expect(answer.error?.data?._tag, "A's goto is refused as B's lease").toBe('LeaseHeld');
  expect(emulator.received.filter((e) => e.path === '/api/move/goto').length, 'gotos written').toBe(gotosBefore);
}, 30_000);
