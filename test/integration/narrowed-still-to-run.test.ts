// A narrower policy judged against the motion under way by what is still to run (README "Safety
// envelope"), over NATS against the emulator (real time, head speed limit 40°/s, `--speed-policy
// stretch`, so an expression's steps last long enough to narrow during one): an expression is judged
// from the step it runs on — a step already done outside the new envelope does not stop it (its
// later steps are sent), a step still to come does (and only that one is named).
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';

const DEVICE = 'still-to-run';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SUPERVISOR = `device-connect.default.${DEVICE}.supervisor`;
const OWNER = 'agent-1';
/** The head limit the driver starts with: shake's steps are stretched to 0.94–1.875 s. */
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

/** set_safety_policy: the policy in force with head yaw `[yawMin, yawMax]`; the answer. */
async function setPolicy(change: { yaw?: [number, number] }): Promise<Reply> {
  const current = (await call('get_safety_policy')).result.policy as Reply;
  const envelope = { ...current.envelope };
  if (change.yaw) envelope.head_yaw_deg = { min: change.yaw[0], max: change.yaw[1] };
  return await supervise('set_safety_policy', { policy: { ...current, envelope }, reason: 'person next to the robot', owner: 'ops' });
}

/** Back to the mechanical yaw range and yaw 0, the robot idle, the record empty (each test starts from there). */
async function centre(): Promise<void> {
  expect((await setPolicy({ yaw: [-45, 45] })).result?.status).toBe('applied');
  expect((await move('goto_pose', { yaw: 0, duration_s: 1.5, wait: true })).result?.status).toBe('completed');
  record().clear();
}

/** Resolves once the emulator runs the `n`-th move received since the record was cleared (1-based). */
async function running(n: number): Promise<void> {
  await waitFor(() => record().moves.length === n && record().moves[n - 1]!.outcome === 'running', 10_000, `move ${n} running on the emulator`);
}

const yawNow = (): number => deg(record().poses.at(-1)!.head.yaw);

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
