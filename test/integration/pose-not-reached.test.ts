// A waited move to a head pose inside every advertised range that the daemon's kinematics cannot
// reach (review R item 6; daemon-api §6 item 3: the target is dropped and the previous one stays,
// the REST call still answers ok) answers PoseNotReached with where the head is and where it was
// sent — never `completed` — for goto_pose (a daemon goto) and look_at_world (a ramped realtime
// target); a reachable pose still answers `completed`. README "Safety", speed limits and envelope.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { HEAD_REACH_TOLERANCE_DEG } from '../../src/robot/head-reach.ts';
import type { MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'pose-not-reached';
const CMD = `device-connect.default.${DEVICE}.cmd`;
type Reply = Record<string, any>;
let scene: MeshScene;
const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 20_000) => rpc(scene.nc, CMD, { jsonrpc: '2.0', id: method, method, params }, timeoutMs) as Promise<Reply>;
const deg = (rad: number) => (rad * 180) / Math.PI;
/** Inside every advertised range, out of the head's reach all at once (the daemon drops it part-way). */
const FAR = { roll: 30, pitch: 30, yaw: 45, x_mm: 50, y_mm: 50, z_mm: 50 };
/** The answer's poses are rounded to a tenth. */
const ROUNDING = 0.1;

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error', '--speed-policy', 'stretch']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

for (const fn of ['goto_pose', 'look_at_world'] as const) {
  test(`${fn} with wait: true to a pose the daemon cannot reach answers PoseNotReached naming where the head is`, async () => {
    expect((await call('goto_pose', { duration_s: 1, wait: true })).result?.status).toBe('completed');
    const answer = await call(fn, { ...FAR, ...(fn === 'goto_pose' ? { duration_s: 2 } : {}), wait: true });
    expect(answer.result).toBeUndefined();
    expect(answer.error?.data?._tag).toBe('PoseNotReached');
    expect(answer.error?.data?.target).toEqual(FAR);
    expect(answer.error?.data?.tolerance?.deg).toBe(HEAD_REACH_TOLERANCE_DEG);
    const head = scene.driver.emulator!.snapshot().headPose as unknown as Record<string, number>;
    expect(Math.abs(answer.error!.data!.reached!.yaw - deg(head.yaw!))).toBeLessThanOrEqual(ROUNDING);
    expect(deg(head.yaw!)).toBeLessThan(45 - HEAD_REACH_TOLERANCE_DEG);
  }, 30_000);
}

test('a reachable pose with wait: true still answers completed, the head at its target', async () => {
  const answer = await call('goto_pose', { yaw: 20, pitch: 10, duration_s: 1, wait: true });
  expect(answer.result?.status).toBe('completed');
  const head = scene.driver.emulator!.snapshot().headPose as unknown as Record<string, number>;
  expect(Math.abs(deg(head.yaw!) - 20)).toBeLessThan(ROUNDING);
  expect((await call('look_at_world', { yaw: -20, wait: true })).result?.status).toBe('completed');
}, 30_000);
