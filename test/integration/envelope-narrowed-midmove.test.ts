// A narrower envelope holds for motion already under way (README "Safety envelope"), over NATS
// against the emulator (real time, head speed limit 10°/s so moves last seconds): the supervisor
// narrows head yaw to ±5° with set_safety_policy while a realtime ramp to 40°, an expression's ±20°
// steps and a 40° goto run. Each answer says `applied` and names the motion it stopped; the motion
// is stopped as stop_motion stops it (nothing issued before goes out after), audited and announced
// as `policy_narrowed_stop`; the emulator's record proves the head went no further outside. Motion
// whose goal the new envelope still allows runs on.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';

const DEVICE = 'envelope-midmove';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SUPERVISOR = `device-connect.default.${DEVICE}.supervisor`;
const SAFETY_EVENT = `device-connect.default.${DEVICE}.event.safety_event`;
/** Angles read back from the emulator's matrices and radians: a thousandth of a degree of float noise. */
const EPS_DEG = 1e-3;
/**
 * A goto the daemon runs is stopped, not clipped: between the answer and the daemon's stop the head
 * still turns at most ~12.5°/s (40° over 7.5 s, min-jerk peak) for a few loopback round trips.
 */
const STOP_TRAVEL_DEG = 1.5;

let scene: MeshScene;
let seq = 0;
const call = async (method: string, params: object = {}): Promise<Record<string, any>> => (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c${++seq}`, method, params }, 15_000)) as Record<string, any>;
const supervise = async (method: string, params: object = {}): Promise<Record<string, any>> => (await rpc(scene.nc, SUPERVISOR, { jsonrpc: '2.0', id: `s${++seq}`, method, params }, 15_000)) as Record<string, any>;
const deg = (rad: number): number => (rad * 180) / Math.PI;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const safetyEvents = (kind: string): Array<Record<string, any>> => scene.all.messages.filter((m) => m.subject === SAFETY_EVENT).map((m) => (m.body as any).params).filter((p) => p.kind === kind);
const status = async () => (await call('get_status')).result.driver_state;

beforeAll(async () => {
  scene = await startMeshScene(['--sim', '--no-media', '--device-id', DEVICE, '--max-head-speed', '10', '--speed-policy', 'stretch', '--discovery-mode', 'infra']);
  const quiet = async () => ((await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: 'status', method: 'get_status' }, 1_000).catch(() => ({}))) as Record<string, any>).result?.driver_state;
  await waitFor(async () => (await quiet())?.connection_state === 'connected', 10_000, 'the driver connected to its emulator');
  const woke = await call('wake_up', { wait: true });
  expect(woke.error, JSON.stringify(woke)).toBeUndefined();
  await waitFor(async () => (await quiet())?.power_state === 'awake', 10_000, 'the robot awake');
}, 60_000);
afterAll(async () => {
  await scene?.stop();
});

/** set_safety_policy with head yaw in [-max, max]; the answer, and when it came (the emulator's clock). */
async function setYaw(max: number): Promise<{ answer: Record<string, any>; at: number }> {
  const current = (await call('get_safety_policy')).result.policy as Record<string, any>;
  const answer = await supervise('set_safety_policy', { policy: { ...current, envelope: { ...current.envelope, head_yaw_deg: { min: -max, max } } }, reason: 'person next to the robot', owner: 'ops' });
  return { answer, at: performance.now() };
}

/** Back to the mechanical yaw range and yaw 0, the robot idle (each test starts from there). */
async function centre(): Promise<void> {
  expect((await setYaw(45)).answer.result?.status).toBe('applied');
  expect((await call('goto_pose', { yaw: 0, duration_s: 1, wait: true })).result?.status).toBe('completed');
  scene.driver.emulator!.motionRecord.clear();
}

/** The answer names the stopped motion and each yaw of it outside ±5 (an expression: each of its steps). */
function expectStopped(answer: Record<string, any>, fn: string, values: number[]): void {
  expect(answer.result?.status, JSON.stringify(answer)).toBe('applied');
  expect(answer.result.motion_stopped).toEqual({ function: fn, owner: expect.any(String), violations: values.map((value) => ({ axis: 'head_yaw_deg', value, min: -5, max: 5 })) });
}

test('a realtime ramp to yaw 40 when yaw is narrowed to ±5: the ramp stops, no later target goes beyond where it was', async () => {
  await centre();
  const record = scene.driver.emulator!.motionRecord;
  const before = safetyEvents('policy_narrowed_stop').length;

  // → look_at_world {yaw: 40}: ramped at 10°/s (4 s).
  const accepted = await call('look_at_world', { yaw: 40 });
  expect(accepted.result?.speed_limited?.mode, JSON.stringify(accepted)).toBe('ramped');
  await sleep(300);
  // → set_safety_policy head_yaw_deg ±5 ← applied, motion_stopped names the ramp.
  const { answer, at } = await setYaw(5);
  expectStopped(answer, 'look_at_world', [40]);
  // A new call to 40 is refused as before.
  expect((await call('look_at_world', { yaw: 40 })).error?.data?._tag).toBe('OutsideEnvelope');
  await sleep(1_500);

  const yaw = (t: { values: { head?: { yaw: number } } }) => deg(t.values.head!.yaw);
  const heads = record.targets.filter((t) => t.values.head);
  const sentBefore = Math.max(0, ...heads.filter((t) => t.receivedAt < at).map(yaw));
  const appliedAfter = heads.filter((t) => t.appliedAt > at).map(yaw);
  expect(Math.max(...appliedAfter, -Infinity)).toBeLessThanOrEqual(Math.max(5, sentBefore) + EPS_DEG);
  expect(deg(record.poses.at(-1)!.head.yaw)).toBeLessThanOrEqual(Math.max(5, sentBefore) + EPS_DEG);
  expect((await status()).execution_state).toBe('idle');

  // ← safety_event policy_narrowed_stop: whose motion, who narrowed, which axis.
  await waitFor(async () => safetyEvents('policy_narrowed_stop').length > before, 5_000, 'the policy_narrowed_stop event');
  const event = safetyEvents('policy_narrowed_stop').at(-1)!;
  expect(event).toMatchObject({ function: 'look_at_world', caller: { id: 'ops' }, violations: [{ axis: 'head_yaw_deg', value: 40, min: -5, max: 5 }] });
  expect(event.reason).toMatch(/narrowed by ops/);
  expect(event.state).toMatchObject({ interlock: 'safe' });
}, 30_000);

test('play_expression shake narrowed to ±5 during its first step: its ±20° steps are never sent, the caller hears it did not complete', async () => {
  await centre();
  const record = scene.driver.emulator!.motionRecord;

  // → play_expression shake (wait) … → set_safety_policy ±5 while its neutral step runs.
  const pending = call('play_expression', { name: 'shake', wait: true });
  await sleep(150);
  const { answer, at } = await setYaw(5);
  expectStopped(answer, 'play_expression', [20, -20, 20]);
  // ← play_expression: not completed.
  const played = await pending;
  expect(played.error, JSON.stringify(played)).toBeDefined();
  await sleep(500);

  const later = record.moves.filter((m) => m.receivedAt > at && m.target?.head).map((m) => Math.abs(deg(m.target!.head!.yaw)));
  expect(later).toEqual([]);
  expect(Math.max(...record.moves.filter((m) => m.target?.head).map((m) => Math.abs(deg(m.target!.head!.yaw))))).toBeLessThanOrEqual(5 + EPS_DEG);
}, 30_000);

test('goto_pose yaw 40 over 6 s narrowed to ±5 after 1 s: the daemon goto is stopped where the head is', async () => {
  await centre();
  const record = scene.driver.emulator!.motionRecord;

  const accepted = await call('goto_pose', { yaw: 40, duration_s: 6 });
  expect(accepted.result?.status, JSON.stringify(accepted)).toBe('accepted');
  await sleep(1_000);
  const { answer, at } = await setYaw(5);
  expectStopped(answer, 'goto_pose', [40]);
  const yawAtAnswer = deg(record.poses.at(-1)!.head.yaw);
  await sleep(1_500);

  expect(record.moves.at(-1)!.outcome).toBe('cancelled');
  const peak = Math.max(...record.poses.filter((p) => p.at > at).map((p) => deg(p.head.yaw)));
  expect(peak).toBeLessThanOrEqual(Math.max(5, yawAtAnswer) + STOP_TRAVEL_DEG);
  expect((await status()).execution_state).toBe('idle');
}, 30_000);

test('a goto whose goal the narrower envelope still allows runs on: no motion_stopped', async () => {
  await centre();
  const pending = call('goto_pose', { yaw: 4, duration_s: 1.5, wait: true });
  await sleep(300);
  const { answer } = await setYaw(5);
  expect(answer.result?.status).toBe('applied');
  expect(answer.result.motion_stopped).toBeUndefined();
  expect((await pending).result?.status).toBe('completed');
}, 30_000);
