// wake_up and goto_sleep under the operator's policy (README "Envelope", "Speed limits"), over NATS
// against the emulator. Envelope: the daemon's sequences recentre the body to 0° and goto_sleep
// pitches the head 24.4° down, so with the body held to [30, 90] both are refused OutsideEnvelope,
// audited, and nothing moves (before 2026-12-07 goto_sleep swung the body from 60° to 0°); a call
// that moves nothing still answers already_awake / already_asleep. Speed: their gotos run at the
// daemon's durations, so one above a limit is refused TooFast (goto_sleep from yaw 40°, body 100°
// would turn the body at 187.5 °/s; wake_up's emote rolls at 187.5 °/s). Either narrowed while a
// goto_sleep runs stops it (policy_narrowed_stop). Accepted, they stay within every limit tick to tick.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';
import { excesses } from '../harness/speed-excess.ts';

const DEVICE = 'sequence-policy';
const base = `device-connect.default.${DEVICE}`;
const SAFETY_EVENT = `${base}.event.safety_event`;
const BODY = { min: 30, max: 90 };
/** How long a refused sequence is watched for motion: its first goto would be well under way (daemon-api §7). */
const WATCH_MS = 500;
type Reply = Record<string, any>;
let scene: MeshScene;
let n = 0;
const call = (method: string, params: Record<string, unknown> = {}) => rpc(scene.nc, `${base}.cmd`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, 20_000) as Promise<Reply>;
const supervise = (method: string, params: Record<string, unknown>) => rpc(scene.nc, `${base}.supervisor`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, 10_000) as Promise<Reply>;
const safetyEvents = (kind: string): Array<Record<string, any>> => scene.all.messages.filter((m) => m.subject === SAFETY_EVENT).map((m) => (m.body as any).params).filter((p) => p.kind === kind);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const deg = (rad: number): number => (rad * 180) / Math.PI;
const power = async (): Promise<string> => (await call('get_status')).result.driver_state.power_state;
const record = () => scene.driver.emulator!.motionRecord;

/** The default policy with these envelope axes (and speed limits) changed. */
async function setPolicy(envelope: Record<string, { min: number; max: number }>, speed: Record<string, number> = {}): Promise<Reply> {
  const policy = JSON.parse(JSON.stringify(DEFAULT_SAFETY_POLICY)) as Reply;
  const answer = await supervise('set_safety_policy', { policy: { ...policy, envelope: { ...policy.envelope, ...envelope }, speed: { ...policy.speed, ...speed } }, reason: 'a shelf beside the robot', owner: 'ops' });
  expect(answer.result?.status, JSON.stringify(answer)).toBe('applied');
  return answer;
}

/** The refusal, audited; no move started and the body did not turn. */
async function expectRefusedInPlace(fn: string, answer: Reply, bodyBefore: number): Promise<void> {
  expect(answer.error?.data?._tag, JSON.stringify(answer)).toBe('OutsideEnvelope');
  expect(answer.error.data.violations).toEqual([{ axis: 'body_yaw_deg', value: 0, ...BODY }]);
  expect(answer.error.message).toMatch(new RegExp(`the daemon's ${fn} sequence would take the robot there .*widen the envelope`));
  await waitFor(async () => safetyEvents('refused').some((r) => r.function === fn && r.error_tag === 'OutsideEnvelope'), 5_000, `the ${fn} refusal audited`);
  await sleep(WATCH_MS);
  expect(record().moves).toEqual([]);
  expect(deg(record().poses.at(-1)!.bodyYaw)).toBeCloseTo(bodyBefore, 0);
}

/** goto_sleep sent without waiting, accepted, and its goto to the sleep pose under way (the head pitching). */
async function sleepUnderWay(): Promise<void> {
  const started = await call('goto_sleep');
  expect(started.result, JSON.stringify(started)).toBeDefined();
  const pitch = (): number => deg(record().poses.at(-1)?.head.pitch ?? 0);
  await waitFor(async () => record().moves.some((m) => m.kind === 'goto_sleep' && m.outcome === 'running') && pitch() > 1, 5_000, 'the sequence under way');
}

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

test('body held to [30, 90], the body at 60°: goto_sleep is refused (it recentres the body), and nothing moves', async () => {
  await setPolicy({ body_yaw_deg: BODY });
  // → set_body_yaw {60, wait} ← completed: inside the envelope.
  expect((await call('set_body_yaw', { yaw_deg: 60, wait: true })).result?.status).toBe('completed');
  record().clear();
  // → goto_sleep ← OutsideEnvelope body_yaw_deg 0; the body stays at 60°, the robot awake.
  await expectRefusedInPlace('goto_sleep', await call('goto_sleep', { wait: true }), 60);
  expect(await power()).toBe('awake');
}, 30_000);

test('an awake robot: wake_up still answers already_awake under that envelope (it moves nothing)', async () => {
  const woke = await call('wake_up', { wait: true });
  expect(woke.result?.status, JSON.stringify(woke)).toBe('already_awake');
});

test('asleep (motors disabled, head pitched 10°): wake_up is refused under the envelope, then under a head limit its emote exceeds; the robot stays asleep; widened, it wakes', async () => {
  await setPolicy({});
  // Off the init pose (or the daemon's wake_up would stand down), then limp: asleep without a 4 s goto_sleep.
  expect((await call('goto_pose', { pitch: 10, body_yaw_deg: 0, duration_s: 1, wait: true })).result?.status).toBe('completed');
  expect((await call('set_motor_mode', { mode: 'disabled' })).result, 'motors disabled').toBeDefined();
  expect(await power()).toBe('asleep');
  await setPolicy({ body_yaw_deg: BODY });
  // → goto_sleep on the asleep robot ← already_asleep (nothing to do, nothing checked).
  expect((await call('goto_sleep', { wait: true })).result?.status).toBe('already_asleep');
  record().clear();
  // → wake_up ← OutsideEnvelope: its init pose recentres the body.
  await expectRefusedInPlace('wake_up', await call('wake_up', { wait: true }), 0);
  expect(await power()).toBe('asleep');
  // Inside the envelope, but the head limited to 100 °/s: the emote's roll (20° in 0.2 s) is too fast from any pose.
  await setPolicy({}, { head_deg_per_s: 100 });
  const slow = await call('wake_up', { wait: true });
  expect(slow.error?.data, JSON.stringify(slow)).toMatchObject({ _tag: 'TooFast', axis: 'head_roll_deg', peak_speed: 187.5, limit: 100, shortest_duration_s: null });
  expect(slow.error.message).toMatch(/cannot be stretched.*the same from any pose: have speed\.head_deg_per_s raised to at least 188/);
  expect(record().moves).toEqual([]);
  expect(await power()).toBe('asleep');
  // Widened (the operator's own call): wake_up runs.
  await setPolicy({});
  expect((await call('wake_up', { wait: true })).result?.status).toBe('completed');
  expect(await power()).toBe('awake');
}, 30_000);

test('goto_sleep running when the pitch is narrowed below its sleep pose (24.4°): stopped, named in the answer', async () => {
  record().clear();
  const before = safetyEvents('policy_narrowed_stop').length;
  // → goto_sleep {wait: false} ← accepted; once its goto runs → head_pitch_deg [-30, 10].
  await sleepUnderWay();
  const narrowed = await setPolicy({ head_pitch_deg: { min: -30, max: 10 } });
  expect(narrowed.result.motion_stopped).toEqual({ function: 'goto_sleep', owner: expect.any(String), violations: [{ axis: 'head_pitch_deg', value: 24.4, min: -30, max: 10 }] });
  await waitFor(async () => record().moves.every((m) => m.outcome !== 'running'), 5_000, 'the sequence stopped');
  expect(record().moves.find((m) => m.kind === 'goto_sleep')?.outcome).not.toBe('completed');
  await waitFor(async () => safetyEvents('policy_narrowed_stop').length > before, 5_000, 'the policy_narrowed_stop event');
  expect(safetyEvents('policy_narrowed_stop').at(-1)).toMatchObject({ function: 'goto_sleep', violations: [{ axis: 'head_pitch_deg', value: 24.4 }] });
  // The head stopped short of the sleep pose's pitch.
  await sleep(300);
  expect(deg(record().poses.at(-1)!.head.pitch)).toBeLessThan(24);
}, 30_000);

test('goto_sleep from yaw 40°, body 100° would turn the body at 187.5 °/s (its 1 s lift to init): TooFast, nothing moves', async () => {
  if ((await power()) !== 'awake') expect((await call('wake_up', { wait: true })).result?.status).toBe('completed');
  await setPolicy({});
  // → goto_pose {yaw 40, body 100, 1.6 s} ← completed (the body at 117.2 °/s peak).
  expect((await call('goto_pose', { yaw: 40, body_yaw_deg: 100, duration_s: 1.6, wait: true })).result?.status).toBe('completed');
  record().clear();
  // → goto_sleep ← TooFast body_yaw_deg 187.5 > 120: bring the robot nearer init first.
  const refused = await call('goto_sleep', { wait: true });
  expect(refused.error?.data, JSON.stringify(refused)).toMatchObject({ _tag: 'TooFast', axis: 'body_yaw_deg', peak_speed: 187.5, limit: 120, unit: 'deg/s', shortest_duration_s: null });
  expect(refused.error.message).toMatch(/bring the robot nearer its init pose first .*speed\.body_deg_per_s raised to at least 188/);
  await waitFor(async () => safetyEvents('refused').some((r) => r.function === 'goto_sleep' && r.error_tag === 'TooFast'), 5_000, 'the TooFast refusal audited');
  await sleep(WATCH_MS);
  expect(record().moves).toEqual([]);
  expect(deg(record().poses.at(-1)!.bodyYaw)).toBeCloseTo(100, 0);
  expect(await power()).toBe('awake');
  // It wrote nothing, so the body target the goto left is still known: a head target names no body (no pin to the present yaw).
  expect((await call('look_at_world', { yaw: 38, wait: true })).result?.status).toBe('completed');
  expect(record().targets.filter((t) => t.values.bodyYaw !== undefined)).toEqual([]);
}, 30_000);

test('accepted, goto_sleep from yaw 20°, body 85° (no lift: the body at 79.7 °/s) and wake_up from the sleep pose stay within every limit tick to tick', async () => {
  expect((await call('goto_pose', { yaw: 20, body_yaw_deg: 85, duration_s: 0.5, wait: true })).result?.status).toBe('completed');
  const since = record().nowMs();
  const slept = await call('goto_sleep', { wait: true });
  expect(slept.result?.status, JSON.stringify(slept)).toBe('completed');
  const woke = await call('wake_up', { wait: true });
  expect(woke.result?.status, JSON.stringify(woke)).toBe('completed');
  const poses = record().poses.filter((p) => p.at >= since);
  expect(excesses(poses)).toEqual([]);
  // They ran: the body went from 85° to 0°, the antennas folded to ±174.8° and back to ±10°.
  expect(Math.max(...poses.map((p) => deg(p.bodyYaw)))).toBeGreaterThan(84);
  expect(Math.max(...poses.map((p) => deg(p.antennas[1])))).toBeGreaterThan(170);
  expect(deg(poses.at(-1)!.bodyYaw)).toBeCloseTo(0, 1);
}, 30_000);

test('goto_sleep running when the antenna limit is lowered below its folding speed (154.5 °/s): stopped, speed_excess named', async () => {
  // From the init pose wake_up left (antennas ±10°, body 0°).
  record().clear();
  // → goto_sleep {wait: false} ← accepted; once its goto runs → antenna_deg_per_s 100.
  await sleepUnderWay();
  const lowered = await setPolicy({}, { antenna_deg_per_s: 100 });
  expect(lowered.result.motion_stopped).toMatchObject({ function: 'goto_sleep', violations: [], speed_excess: { axis: expect.stringMatching(/^antenna_/), limit: 100, unit: 'deg/s' } });
  expect(lowered.result.motion_stopped.speed_excess.peak_speed).toBeCloseTo(154.457, 2);
  await waitFor(async () => record().moves.every((m) => m.outcome !== 'running'), 5_000, 'the sequence stopped');
  expect(record().moves.find((m) => m.kind === 'goto_sleep')?.outcome).not.toBe('completed');
}, 30_000);
