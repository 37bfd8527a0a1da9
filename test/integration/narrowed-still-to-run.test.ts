// A narrower policy judged against the motion under way by what is still to run (README "Safety
// envelope", "Speed limits"), over NATS against the emulator (real time, head speed limit 40°/s,
// `--speed-policy stretch`): a daemon goto keeps the speed it was planned with, so a head limit set
// below its planned peak stops it — the answer's `motion_stopped.speed_excess` says which axis, the
// peak and the new limit, the stop is announced as `policy_narrowed_stop`, and the emulator's
// record shows the head stopped short — while a goto whose peak the new limit still allows, or one
// stretched to exactly the limit set again, runs to its end. An expression is judged from the step
// it runs on: a step already done outside the new envelope does not stop it, a step still to come does.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';

const DEVICE = 'still-to-run';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SUPERVISOR = `device-connect.default.${DEVICE}.supervisor`;
const SAFETY_EVENT = `device-connect.default.${DEVICE}.event.safety_event`;
const OWNER = 'agent-1';
/** The head limit the driver starts with: a 40° goto over 4 s (min-jerk peak 18.75°/s) runs as asked. */
const HEAD_LIMIT = 40;
/** Angles read back from the emulator's matrices and radians: a thousandth of a degree of float noise. */
const EPS_DEG = 1e-3;

type Reply = Record<string, any>;
let scene: MeshScene;
let seq = 0;
const call = async (method: string, params: object = {}): Promise<Reply> => (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c${++seq}`, method, params }, 20_000)) as Reply;
/** A motion call of the agent (its `owner` is whose motion a stop names). */
const move = async (method: string, params: object): Promise<Reply> => await call(method, { owner: OWNER, ...params });
const supervise = async (method: string, params: object = {}): Promise<Reply> => (await rpc(scene.nc, SUPERVISOR, { jsonrpc: '2.0', id: `s${++seq}`, method, params }, 15_000)) as Reply;
const deg = (rad: number): number => (rad * 180) / Math.PI;
const safetyEvents = (kind: string): Reply[] => scene.all.messages.filter((m) => m.subject === SAFETY_EVENT).map((m) => (m.body as any).params).filter((p) => p.kind === kind);
const record = () => scene.driver.emulator!.motionRecord;

beforeAll(async () => {
  scene = await startMeshScene(['--sim', '--no-media', '--device-id', DEVICE, '--max-head-speed', String(HEAD_LIMIT), '--speed-policy', 'stretch', '--discovery-mode', 'infra']);
  const quiet = async () => ((await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: 'status', method: 'get_status' }, 1_000).catch(() => ({}))) as Reply).result?.driver_state;
  await waitFor(async () => (await quiet())?.connection_state === 'connected', 10_000, 'the driver connected to its emulator');
  expect((await move('wake_up', { wait: true })).error).toBeUndefined();
  await waitFor(async () => (await quiet())?.power_state === 'awake', 10_000, 'the robot awake');
}, 60_000);
afterAll(async () => {
  await scene?.stop();
});

/** set_safety_policy: the policy in force with `speed` and head yaw `[yawMin, yawMax]` (and body yaw `bodyMax`); the answer. */
async function setPolicy(change: { headDegPerS?: number; yaw?: [number, number]; bodyMax?: number }): Promise<Reply> {
  const current = (await call('get_safety_policy')).result.policy as Reply;
  const envelope = { ...current.envelope };
  if (change.yaw) envelope.head_yaw_deg = { min: change.yaw[0], max: change.yaw[1] };
  if (change.bodyMax !== undefined) envelope.body_yaw_deg = { min: -change.bodyMax, max: change.bodyMax };
  const speed = { ...current.speed, ...(change.headDegPerS !== undefined ? { head_deg_per_s: change.headDegPerS } : {}) };
  return await supervise('set_safety_policy', { policy: { ...current, envelope, speed }, reason: 'person next to the robot', owner: 'ops' });
}

/** Back to the start-up limits and yaw 0, the robot idle, the record empty (each test starts from there). */
async function centre(): Promise<void> {
  await waitFor(async () => (await call('get_status')).result.driver_state.execution_state === 'idle', 5_000, 'the driver idle');
  expect((await setPolicy({ headDegPerS: HEAD_LIMIT, yaw: [-45, 45], bodyMax: 160 })).result?.status).toBe('applied');
  expect((await move('goto_pose', { yaw: 0, duration_s: 1.5, wait: true })).result?.status).toBe('completed');
  record().clear();
}

/** Resolves once the emulator runs the `n`-th move received since the record was cleared (1-based). */
async function running(n: number): Promise<void> {
  await waitFor(() => record().moves.length === n && record().moves[n - 1]!.outcome === 'running', 10_000, `move ${n} running on the emulator`);
}

const yawNow = (): number => deg(record().poses.at(-1)!.head.yaw);

test('goto_pose yaw 40 over 4 s (peak 18.75°/s) when the head limit drops to 10°/s: stopped short, the answer and the safety_event name the speed excess', async () => {
  await centre();
  const before = safetyEvents('policy_narrowed_stop').length;
  // → goto_pose {yaw: 40, duration_s: 4}: within 40°/s, sent as asked.
  const accepted = await move('goto_pose', { yaw: 40, duration_s: 4 });
  expect(accepted.result?.status, JSON.stringify(accepted)).toBe('accepted');
  expect(accepted.result.speed_limited).toBeUndefined();
  await running(1);
  expect(record().moves[0]!.target?.durationS).toBe(4);

  // → set_safety_policy head 10°/s ← applied, motion_stopped: the goto, no envelope violation, its speed excess.
  const answer = await setPolicy({ headDegPerS: 10 });
  expect(answer.result?.status, JSON.stringify(answer)).toBe('applied');
  expect(answer.result.motion_stopped).toEqual({ function: 'goto_pose', owner: OWNER, violations: [], speed_excess: { axis: 'head_yaw_deg', peak_speed: expect.closeTo(18.75, 2), limit: 10, unit: 'deg/s' } });

  // The daemon goto is stopped where the head was: short of 40°.
  await waitFor(() => record().moves[0]!.outcome === 'cancelled', 5_000, 'the goto stopped on the emulator');
  const stoppedAt = record().moves[0]!.endedAt!;
  expect(Math.max(...record().poses.filter((p) => p.at >= stoppedAt).map((p) => deg(p.head.yaw)))).toBeLessThan(40 - 1);
  // The stop's sweep ends: idle.
  await waitFor(async () => (await call('get_status')).result.driver_state.execution_state === 'idle', 5_000, 'the driver idle after the stop');

  // ← safety_event policy_narrowed_stop: whose goto, who narrowed, the axis, its peak and the new limit.
  await waitFor(() => safetyEvents('policy_narrowed_stop').length > before, 5_000, 'the policy_narrowed_stop event');
  const event = safetyEvents('policy_narrowed_stop').at(-1)!;
  expect(event).toMatchObject({ function: 'goto_pose', owner: OWNER, caller: { id: 'ops' }, violations: [], speed_excess: { axis: 'head_yaw_deg', limit: 10, unit: 'deg/s' } });
  expect(event.reason).toMatch(/narrowed by ops/);
}, 30_000);

test('a goto whose planned peak the lower limit still allows runs to its end: no motion_stopped', async () => {
  await centre();
  // → goto_pose {yaw: 10, duration_s: 3, wait}: peaks at 6.25°/s.
  const pending = move('goto_pose', { yaw: 10, duration_s: 3, wait: true });
  await running(1);
  const answer = await setPolicy({ headDegPerS: 10 });
  expect(answer.result?.status).toBe('applied');
  expect(answer.result.motion_stopped).toBeUndefined();
  expect((await pending).result?.status).toBe('completed');
  expect(yawNow()).toBeCloseTo(10, 2);
}, 30_000);

test('a goto stretched to the limit: the same limit set again leaves it running, a lower one stops it (it cannot be stretched again)', async () => {
  await centre();
  expect((await setPolicy({ headDegPerS: 20 })).result?.status).toBe('applied');
  // → goto_pose {yaw: 40, duration_s: 1}: 75°/s asked, stretched to 3.75 s (peak 20°/s, the limit).
  const accepted = await move('goto_pose', { yaw: 40, duration_s: 1 });
  expect(accepted.result?.speed_limited, JSON.stringify(accepted)).toMatchObject({ mode: 'stretched', duration_s: 3.75 });
  await running(1);
  // Another field changes, the head limit stays 20°/s: the stretched goto is within it.
  const same = await setPolicy({ bodyMax: 100 });
  expect(same.result?.status).toBe('applied');
  expect(same.result.motion_stopped).toBeUndefined();
  // → head 15°/s: its 20°/s peak is above it.
  const lower = await setPolicy({ headDegPerS: 15 });
  expect(lower.result.motion_stopped).toEqual({ function: 'goto_pose', owner: OWNER, violations: [], speed_excess: { axis: 'head_yaw_deg', peak_speed: expect.closeTo(20, 2), limit: 15, unit: 'deg/s' } });
  await waitFor(() => record().moves[0]!.outcome === 'cancelled', 5_000, 'the goto stopped on the emulator');
  expect(yawNow()).toBeLessThan(40 - 1);
}, 30_000);

// shake: neutral, yaw 20, -20, 20, neutral — at 40°/s stretched to 0.8, 0.94, 1.875, 1.875, 0.94 s.

test('shake narrowed to yaw [-25, 10] while its -20° step runs: the +20° step done does not count, the +20° step to come stops it', async () => {
  await centre();
  const pending = move('play_expression', { name: 'shake', wait: true });
  await running(3);
  const answer = await setPolicy({ yaw: [-25, 10] });
  expect(answer.result?.status, JSON.stringify(answer)).toBe('applied');
  // Only the step still to come (step 3, +20°) is named; step 1 (+20°) was done.
  expect(answer.result.motion_stopped).toEqual({ function: 'play_expression', owner: OWNER, violations: [{ axis: 'head_yaw_deg', value: 20, min: -25, max: 10 }] });
  expect((await pending).error?.data?._tag).toBe('MotionCancelled');
  await waitFor(() => record().moves[2]!.outcome !== 'running', 5_000, 'the running step stopped');
  // No step after the one running was sent.
  expect(record().moves).toHaveLength(3);
}, 30_000);

test('shake narrowed to yaw [-10, 25] while its last +20° step runs: the -20° step done does not count, it runs on and its last step is sent', async () => {
  await centre();
  const pending = move('play_expression', { name: 'shake', wait: true });
  await running(4);
  const narrowedAt = record().nowMs();
  const answer = await setPolicy({ yaw: [-10, 25] });
  expect(answer.result?.status, JSON.stringify(answer)).toBe('applied');
  expect(answer.result.motion_stopped).toBeUndefined();
  const played = await pending;
  expect(played.result?.status, JSON.stringify(played)).toBe('completed');
  // Every step ran to its end, the last (back to neutral) sent after the narrowing.
  expect(record().moves.map((m) => m.outcome)).toEqual(['completed', 'completed', 'completed', 'completed', 'completed']);
  expect(record().moves[4]!.receivedAt).toBeGreaterThan(narrowedAt);
  expect(Math.abs(yawNow())).toBeLessThan(EPS_DEG);
}, 30_000);
