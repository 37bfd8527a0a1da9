// Speed limits over NATS against the emulator (issue "safety policy", item 2; README "Safety"):
// realtime targets farther than one tick at the limit are ramped on the daemon's 50 Hz tick — a
// head turn, a stream of far targets, body and antenna jumps — so the emulator's per-tick pose
// history never changes faster than the limits; a goto too fast for its duration is refused with
// TooFast (and the shortest allowed duration), or with `--speed-policy stretch` lengthened and
// reported (both audited as safety_event); a stop during a ramp leaves nothing applied after its answer; a ramp superseded while
// its sender waits leaves no orphan behind (the next goto completes).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_SPEED_LIMITS } from '../../src/safety/safety-policy.ts';
import type { PoseSample } from '../../src/sim/motion-record.ts';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { excesses, POSE_NOISE } from '../harness/speed-excess.ts';

type Reply = Record<string, any>;
const OWNER = 'speed-test';
const deg = (rad: number): number => (rad * 180) / Math.PI;
/** Time for a ramp or move to finish and the robot to sit still before the history is read. */
const SETTLE_MS = 300;

async function startScene(device: string, extra: string[] = []): Promise<{ scene: MeshScene; call: (method: string, params?: Record<string, unknown>, timeoutMs?: number) => Promise<Reply> }> {
  const scene = await startMeshScene(['--sim', '--no-media', '--device-id', device, '--discovery-mode', 'd2d', ...extra]);
  const subject = `device-connect.default.${device}.cmd`;
  let n = 0;
  const call = async (method: string, params: Record<string, unknown> = {}, timeoutMs = 15_000) =>
    (await rpc(scene.nc, subject, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params: method === 'get_status' ? params : { owner: OWNER, ...params } }, timeoutMs)) as Reply;
  // Short polls: a request sent before the driver subscribed times out rather than failing fast.
  const connected = async () => (await call('get_status', {}, 1_000).catch(() => ({}) as Reply)).result?.driver_state?.connection_state === 'connected';
  await waitFor(connected, 10_000, 'the driver connected to its emulator');
  expect((await call('wake_up', { wait: true })).result?.status).toMatch(/completed|already_awake/);
  return { scene, call };
}

function posesSince(scene: MeshScene, since: number): PoseSample[] {
  return scene.driver.emulator!.motionRecord.poses.filter((p) => p.at >= since);
}

/** The `safety_event` payloads published so far. */
function safetyEvents(scene: MeshScene): Array<Record<string, any>> {
  return scene.all.messages.filter((m) => m.subject.endsWith('.event.safety_event')).map((m) => (m.body as any).params as Record<string, any>);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('default limits (goto refuse, realtime ramp)', () => {
  let scene: MeshScene;
  let call: Awaited<ReturnType<typeof startScene>>['call'];
  beforeAll(async () => {
    ({ scene, call } = await startScene('speed-1'));
  }, 30_000);
  afterAll(async () => {
    await scene?.stop();
  });

  test('a realtime head turn of 45° is ramped at the limit: no tick-to-tick jump, and the head arrives', async () => {
    const record = scene.driver.emulator!.motionRecord;
    expect((await call('look_at_world', { yaw: 0, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const since = record.nowMs();
    const turned = await call('look_at_world', { yaw: 45, wait: true });
    expect(turned.result).toMatchObject({ status: 'completed', speed_limited: { mode: 'ramped', axis: 'head_yaw_deg', limit: 200, unit: 'deg/s', requested_duration_s: null } });
    await sleep(SETTLE_MS);
    const poses = posesSince(scene, since);
    expect(excesses(poses)).toEqual([]);
    expect(deg(poses.at(-1)!.head.yaw)).toBeCloseTo(45, 3);
    // It was a ramp: many ticks of motion, not one jump (45° at ≤ 3.2° per step is 15 steps; the last, 0.2°, may share a tick).
    const moving = poses.filter((p, i) => i > 0 && Math.abs(deg(p.head.yaw - poses[i - 1]!.head.yaw)) > POSE_NOISE);
    expect(moving.length).toBeGreaterThanOrEqual(14);
  });

  test('a stream of far realtime targets (each superseding the last ramp) never jumps between ticks', async () => {
    const since = scene.driver.emulator!.motionRecord.nowMs();
    const replies: Reply[] = [];
    for (let i = 0; i < 12; i++) {
      const sign = i % 2 === 0 ? -1 : 1;
      replies.push(await call('look_at_world', { yaw: sign * 40, pitch: sign * -20, roll: sign * 15, z_mm: sign * 20 }));
      await sleep(60 + (i % 3) * 35);
    }
    expect(replies.every((r) => r.result?.status === 'accepted')).toBe(true);
    expect((await call('look_at_world', { yaw: 10, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const poses = posesSince(scene, since);
    expect(excesses(poses)).toEqual([]);
    expect(deg(poses.at(-1)!.head.yaw)).toBeCloseTo(10, 3);
  });

  test('body yaw and antenna jumps are ramped within their limits', async () => {
    expect((await call('look_at_world', { yaw: 0, wait: true })).result?.status).toBe('completed');
    const since = scene.driver.emulator!.motionRecord.nowMs();
    const body = await call('set_body_yaw', { yaw_deg: -60, wait: true });
    expect(body.result).toMatchObject({ status: 'completed', speed_limited: { mode: 'ramped', axis: 'body_yaw_deg', limit: 120 } });
    expect((await call('set_body_yaw', { yaw_deg: 60, wait: true })).result?.status).toBe('completed');
    const antennas = await call('antenna_pose', { left: 80, right: -80, wait: true });
    expect(antennas.result).toMatchObject({ status: 'completed', speed_limited: { mode: 'ramped', limit: 600 } });
    expect((await call('antenna_pose', { left: -70, right: 70, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const poses = posesSince(scene, since);
    expect(excesses(poses)).toEqual([]);
    const last = poses.at(-1)!;
    expect(deg(last.bodyYaw)).toBeCloseTo(60, 3);
    expect(deg(last.antennas[0])).toBeCloseTo(70, 3);
    expect(deg(last.antennas[1])).toBeCloseTo(-70, 3);
    expect((await call('set_body_yaw', { yaw_deg: 0, wait: true })).result?.status).toBe('completed');
  });

  test('goto_pose {yaw: 45, duration_s: 0.05} is refused with TooFast and the shortest allowed duration; that duration passes', async () => {
    expect((await call('look_at_world', { yaw: 0, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const moves = scene.driver.emulator!.motionRecord.moves.length;
    const refused = await call('goto_pose', { yaw: 45, duration_s: 0.05 });
    // Min-jerk peaks at 1.875 × the average speed: 1.875 × 45° / 0.05 s = 1,687.5°/s; 1.875 × 45 / 200 = 0.421875 s.
    expect(refused.error?.data).toMatchObject({ _tag: 'TooFast', axis: 'head_yaw_deg', limit: 200, unit: 'deg/s', shortest_duration_s: 0.422 });
    expect(refused.error.data.peak_speed).toBeCloseTo(1687.5, 0);
    expect(scene.driver.emulator!.motionRecord.moves.length).toBe(moves);
    await waitFor(() => safetyEvents(scene).some((e) => e.kind === 'refused' && e.error_tag === 'TooFast'), 2_000, 'the TooFast refusal audited');
    expect(safetyEvents(scene).find((e) => e.error_tag === 'TooFast')).toMatchObject({ function: 'goto_pose', owner: OWNER });
    const since = scene.driver.emulator!.motionRecord.nowMs();
    const done = await call('goto_pose', { yaw: 45, duration_s: refused.error.data.shortest_duration_s, wait: true });
    expect(done.result?.status).toBe('completed');
    expect(done.result.speed_limited).toBeUndefined();
    await sleep(SETTLE_MS);
    expect(excesses(posesSince(scene, since))).toEqual([]);
  });

  test('stop_motion during a ramp: no target is applied after the stop is answered, and the body stays put', async () => {
    const record = scene.driver.emulator!.motionRecord;
    expect((await call('set_body_yaw', { yaw_deg: 60, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const since = record.nowMs();
    // 120° at ≤ 96°/s: a ramp of ~1.25 s.
    expect((await call('set_body_yaw', { yaw_deg: -60 })).result?.speed_limited?.mode).toBe('ramped');
    await sleep(300);
    const stop = await call('stop_motion');
    const answeredAt = record.nowMs();
    expect(stop.result?.status).toBe('stopped');
    await sleep(500);
    const late = record.targets.filter((t) => t.receivedAt > answeredAt);
    expect(late).toEqual([]);
    const poses = posesSince(scene, since);
    expect(excesses(poses)).toEqual([]);
    const after = poses.filter((p) => p.at > answeredAt + 60);
    const yaws = after.map((p) => deg(p.bodyYaw));
    expect(Math.max(...yaws) - Math.min(...yaws)).toBeLessThan(POSE_NOISE);
    expect(yaws[0]!).toBeGreaterThan(-50);
    expect(yaws[0]!).toBeLessThan(55);
    expect((await call('set_body_yaw', { yaw_deg: 0, wait: true })).result?.status).toBe('completed');
  });

  test('a ramp superseded while its sender still waits on the daemon leaves no orphan: the next goto_pose completes', async () => {
    const emulator = scene.driver.emulator!;
    expect((await call('look_at_world', { yaw: 0, wait: true })).result?.status).toBe('completed');
    // A slow goto to supersede; its stop is held 400 ms by the daemon, so the ramp's sender is still waiting on it.
    expect((await call('goto_pose', { yaw: -20, duration_s: 3 })).result?.status).toBe('accepted');
    emulator.faults.apply({ routeDelays: [{ path: '/api/move/stop', responseMs: [400, 400] }] }, 1);
    const ramp = call('look_at_world', { yaw: 40 });
    await sleep(150);
    const newer = await call('look_at_world', { yaw: 0 });
    expect((await ramp).error?.data?._tag).toBe('MotionCancelled');
    expect(newer.result?.status).toBe('accepted');
    emulator.faults.clear();
    await sleep(SETTLE_MS);
    const goto = await call('goto_pose', { yaw: 10, duration_s: 0.5, wait: true });
    expect(goto.result?.status).toBe('completed');
  });
});

describe('--speed-policy stretch --realtime-speed-policy refuse', () => {
  let scene: MeshScene;
  let call: Awaited<ReturnType<typeof startScene>>['call'];
  beforeAll(async () => {
    ({ scene, call } = await startScene('speed-2', ['--speed-policy', 'stretch', '--realtime-speed-policy', 'refuse']));
  }, 30_000);
  afterAll(async () => {
    await scene?.stop();
  });

  test('a goto too fast for its duration is lengthened to the shortest allowed one, reported, and completes within the limits', async () => {
    const record = scene.driver.emulator!.motionRecord;
    expect((await call('look_at_world', { yaw: 0, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const since = record.nowMs();
    const done = await call('goto_pose', { yaw: 45, duration_s: 0.05, wait: true });
    expect(done.result).toMatchObject({ status: 'completed', speed_limited: { mode: 'stretched', axis: 'head_yaw_deg', requested_duration_s: 0.05, duration_s: 0.422, limit: 200 } });
    const move = record.moves.find((m) => m.uuid === done.result.uuid);
    expect(move?.target?.durationS).toBe(0.422);
    expect(move?.outcome).toBe('completed');
    await waitFor(() => safetyEvents(scene).some((e) => e.kind === 'speed_limited'), 2_000, 'the stretch audited');
    expect(safetyEvents(scene).find((e) => e.kind === 'speed_limited')).toMatchObject({ function: 'goto_pose', owner: OWNER, speed_limited: { mode: 'stretched', duration_s: 0.422 } });
    await sleep(SETTLE_MS);
    const poses = posesSince(scene, since);
    expect(excesses(poses)).toEqual([]);
    expect(deg(poses.at(-1)!.head.yaw)).toBeCloseTo(45, 3);
  });

  test('set_body_yaw with a duration too short for the body limit is stretched (1.875 × 60° / 120°/s = 0.9375 s)', async () => {
    const done = await call('set_body_yaw', { yaw_deg: 60, duration_s: 0.1, wait: true });
    expect(done.result).toMatchObject({ status: 'completed', speed_limited: { mode: 'stretched', axis: 'body_yaw_deg', requested_duration_s: 0.1 } });
    expect(done.result.speed_limited.duration_s).toBeCloseTo(0.938, 2);
  });

  test('a realtime target farther than one tick is refused with TooFast (no duration), nothing applied; a near one is sent as is', async () => {
    const record = scene.driver.emulator!.motionRecord;
    expect((await call('set_body_yaw', { yaw_deg: 0, duration_s: 1, wait: true })).result?.status).toBe('completed');
    expect((await call('goto_pose', { yaw: 0, duration_s: 1, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const targets = record.targets.length;
    const refused = await call('look_at_world', { yaw: 45 });
    expect(refused.error?.data).toMatchObject({ _tag: 'TooFast', axis: 'head_yaw_deg', limit: 200, unit: 'deg/s', shortest_duration_s: null });
    expect(refused.error.data.peak_speed).toBeCloseTo(45 / 0.02, 0);
    expect(record.targets.length).toBe(targets);
    // 3° is within one step (3.2° at 200°/s).
    expect((await call('look_at_world', { yaw: 3 })).result?.status).toBe('accepted');
    await waitFor(() => record.targets.length === targets + 1, 2_000, 'the near target applied');
  });
});

describe('HTTP transport (no /ws/sdk: the present pose from GET /api/state/full, ramp steps on a two-tick timer)', () => {
  let scene: MeshScene;
  let call: Awaited<ReturnType<typeof startScene>>['call'];
  beforeAll(async () => {
    ({ scene, call } = await startScene('speed-3', ['--transport-mode', 'http']));
  }, 30_000);
  afterAll(async () => {
    await scene?.stop();
  });

  test('a realtime head turn is ramped within the limit; a too fast goto is refused', async () => {
    const record = scene.driver.emulator!.motionRecord;
    expect((await call('look_at_world', { yaw: 0, wait: true })).result?.status).toBe('completed');
    await sleep(SETTLE_MS);
    const since = record.nowMs();
    const turned = await call('look_at_world', { yaw: 45, wait: true });
    // 15 steps, one per 40 ms plus each step's own round trips (estimated from the first one).
    expect(turned.result).toMatchObject({ status: 'completed', speed_limited: { mode: 'ramped', axis: 'head_yaw_deg' } });
    expect(turned.result.speed_limited.duration_s).toBeGreaterThanOrEqual(0.6);
    await waitFor(() => Math.abs(deg(record.poses.at(-1)!.head.yaw) - 45) < 1e-3, 3_000, 'the head at 45°');
    await sleep(SETTLE_MS);
    expect(excesses(posesSince(scene, since))).toEqual([]);
    const refused = await call('goto_pose', { yaw: 0, duration_s: 0.05 });
    expect(refused.error?.data).toMatchObject({ _tag: 'TooFast', axis: 'head_yaw_deg', shortest_duration_s: 0.422 });
  });
});
