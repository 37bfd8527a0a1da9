// The body the daemon pulls along with the head (README "Safety envelope", "Speed limits";
// reachy-daemon-api.md §6 item 2: the body is kept within 65° of the head's world yaw), over NATS
// against the emulator, which applies the same rule (src/robot/body-follow.ts). Head at 45°, body at
// 90°: a head turn to -45° drags the body to 20°. With the body envelope [60, 110] that head move is
// refused OutsideEnvelope naming body_yaw_deg — as a realtime target, as a goto, and as an
// expression's step back to neutral — and nothing moves; one that pulls the body only to 65° runs.
// Under the default speed limits the same head move keeps the body at or under 120°/s on every
// emulator tick: the realtime target is ramped for it, a 1 s goto (body asked to stay at 90°) is
// refused TooFast on body_yaw_deg (the body follows the head's yaw at mid-move), and stretched
// under `stretch`.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DEFAULT_SPEED_LIMITS } from '../../src/safety/safety-policy.ts';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';
import { bodyExcess } from '../harness/speed-excess.ts';

const DEVICE = 'body-pulled-along';
const base = `device-connect.default.${DEVICE}`;
type Reply = Record<string, any>;
let scene: MeshScene;
let n = 0;
const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 20_000) => rpc(scene.nc, `${base}.cmd`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, timeoutMs) as Promise<Reply>;
const supervise = (method: string, params: Record<string, unknown>) => rpc(scene.nc, `${base}.supervisor`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, 10_000) as Promise<Reply>;
const deg = (rad: number): number => (rad * 180) / Math.PI;
const body = (): number => deg(scene.driver.emulator!.snapshot().bodyYaw);

async function setPolicy(change: (policy: Reply) => Reply): Promise<void> {
  const policy = (await call('get_safety_policy')).result.policy;
  expect((await supervise('set_safety_policy', { policy: change(policy), reason: 'body pulled along', owner: 'ops' })).result).toBeDefined();
}

/** Head at yaw 45°, body at 90° (45° apart: nothing pulled), under the default policy. */
async function faceLeft(): Promise<void> {
  await setPolicy((p) => ({ ...p, envelope: { ...p.envelope, body_yaw_deg: { min: -160, max: 160 } }, speed: { ...DEFAULT_SPEED_LIMITS } }));
  const faced = await call('goto_pose', { yaw: 45, body_yaw_deg: 90, duration_s: 3, wait: true });
  expect(faced.result?.status, JSON.stringify(faced)).toBe('completed');
  expect(body()).toBeCloseTo(90, 3);
  scene.driver.emulator!.motionRecord.clear();
}

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

test('body envelope [60, 110]: a head move that would pull the body to 20° is refused naming body_yaw_deg, realtime or goto; nothing moves', async () => {
  await faceLeft();
  await setPolicy((p) => ({ ...p, envelope: { ...p.envelope, body_yaw_deg: { min: 60, max: 110 } } }));
  // The body itself is refused at the gate, as before.
  expect((await call('set_body_yaw', { yaw_deg: 0, duration_s: 2 })).error?.data?._tag).toBe('OutsideEnvelope');

  // → look_at_world {yaw: -45} ← OutsideEnvelope: the daemon would pull the body to 20°.
  const realtime = await call('look_at_world', { yaw: -45, wait: true });
  expect(realtime.error?.data?._tag, JSON.stringify(realtime)).toBe('OutsideEnvelope');
  expect(realtime.error.message).toMatch(/the daemon would pull the body to body_yaw_deg 20 .*outside \[60, 110\]/);
  expect(realtime.error.data.violations).toEqual([{ axis: 'body_yaw_deg', value: expect.closeTo(20, 2), min: 60, max: 110 }]);

  // → goto_pose {yaw: -45, body_yaw_deg: 90, duration_s: 3} ← the same, for a goto: the body it asks
  // for is inside, but the daemon would pull it along with the head.
  const goto = await call('goto_pose', { yaw: -45, body_yaw_deg: 90, duration_s: 3, wait: true });
  expect(goto.error?.data?._tag, JSON.stringify(goto)).toBe('OutsideEnvelope');
  expect(goto.error.data.violations[0]).toMatchObject({ axis: 'body_yaw_deg', value: expect.closeTo(20, 2) });
  expect(scene.driver.emulator!.motionRecord.targets).toEqual([]);
  expect(scene.driver.emulator!.motionRecord.moves).toEqual([]);
  expect(body()).toBeCloseTo(90, 3);

  // A head move that pulls the body only to 65° (inside) runs.
  expect((await call('look_at_world', { yaw: 0, wait: true })).result?.status).toBe('completed');
  await waitFor(async () => Math.abs(body() - 65) < 0.01, 5_000, 'the body pulled to 65°');
}, 60_000);

test('body envelope [70, 110]: an expression whose step back to neutral would pull the body to 65° is refused at that step', async () => {
  await faceLeft();
  await setPolicy((p) => ({ ...p, envelope: { ...p.envelope, body_yaw_deg: { min: 70, max: 110 } } }));
  // → play_expression {name: nod} ← OutsideEnvelope (its first step turns the head to 0°).
  const refused = await call('play_expression', { name: 'nod', wait: true });
  expect(refused.error?.data?._tag, JSON.stringify(refused)).toBe('OutsideEnvelope');
  expect(refused.error.data.violations[0]).toMatchObject({ axis: 'body_yaw_deg', value: expect.closeTo(65, 2) });
  expect(scene.driver.emulator!.motionRecord.moves).toEqual([]);
  expect(body()).toBeCloseTo(90, 3);
}, 60_000);

test('default speed limits: a realtime head turn that drags the body is ramped so the body stays under 120°/s', async () => {
  await faceLeft();
  // → look_at_world {yaw: -45, wait: true} ← completed, ramped; the body 90° → 20° within its limit on every tick.
  const turned = await call('look_at_world', { yaw: -45, wait: true });
  expect(turned.result?.status, JSON.stringify(turned)).toBe('completed');
  expect(turned.result.speed_limited?.mode).toBe('ramped');
  await waitFor(async () => Math.abs(body() - 20) < 0.01, 5_000, 'the body pulled to 20°');
  expect(bodyExcess(scene.driver.emulator!.motionRecord.poses)).toBeLessThanOrEqual(0);
}, 60_000);

test('default speed limits: a 1 s goto whose head drags the body is TooFast on body_yaw_deg; stretched under `stretch`', async () => {
  await faceLeft();
  // The head alone would need 0.844 s (90° × 1.875 / 200); the body follows the head's yaw at mid-move: 1.406 s.
  const refused = await call('goto_pose', { yaw: -45, body_yaw_deg: 90, duration_s: 1, wait: true });
  expect(refused.error?.data?._tag, JSON.stringify(refused)).toBe('TooFast');
  expect(refused.error.data).toMatchObject({ axis: 'body_yaw_deg', limit: 120, shortest_duration_s: expect.closeTo(1.406, 2) });
  expect(scene.driver.emulator!.motionRecord.moves).toEqual([]);

  await setPolicy((p) => ({ ...p, speed: { ...p.speed, goto_policy: 'stretch' } }));
  const stretched = await call('goto_pose', { yaw: -45, body_yaw_deg: 90, duration_s: 1, wait: true });
  expect(stretched.result?.status, JSON.stringify(stretched)).toBe('completed');
  expect(stretched.result.speed_limited).toMatchObject({ mode: 'stretched', axis: 'body_yaw_deg', duration_s: expect.closeTo(1.406, 2) });
  expect(body()).toBeCloseTo(20, 2);
  expect(bodyExcess(scene.driver.emulator!.motionRecord.poses)).toBeLessThanOrEqual(0);
}, 60_000);
