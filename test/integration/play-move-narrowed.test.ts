// A recorded move under a narrowed policy (README "Recorded moves", "Safety policy"): the daemon
// plays a dataset's poses at their recorded speed, which the driver cannot check, so while the
// operator's envelope is narrower than the mechanical ranges — or a speed limit lower than its
// default — play_move is refused UncheckedMove (naming the narrowed fields, saying how to proceed),
// at the gate, audited, and nothing moves. With head pitch ±2° and antennas ±5°, cheerful1 would
// reach pitch 10° and antennas 30°. Under the defaults (or wider limits) it plays as before.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'play-move-narrowed';
const base = `device-connect.default.${DEVICE}`;
const SAFETY_EVENT = `${base}.event.safety_event`;
type Reply = Record<string, any>;
let scene: MeshScene;
let n = 0;
const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 70_000) => rpc(scene.nc, `${base}.cmd`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, timeoutMs) as Promise<Reply>;
const supervise = (method: string, params: Record<string, unknown>) => rpc(scene.nc, `${base}.supervisor`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, 10_000) as Promise<Reply>;
const refusals = (): Array<Record<string, any>> => scene.all.messages.filter((m) => m.subject === SAFETY_EVENT).map((m) => (m.body as any).params).filter((p) => p.kind === 'refused');
const PLAY = { move_name: 'cheerful1', dataset: 'pollen-robotics/reachy-mini-emotions-library', wait: true };

async function setPolicy(change: (policy: Reply) => Reply): Promise<void> {
  const policy = JSON.parse(JSON.stringify(DEFAULT_SAFETY_POLICY)) as Reply;
  expect((await supervise('set_safety_policy', { policy: change(policy), reason: 'recorded moves', owner: 'ops' })).result).toBeDefined();
}

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

test('envelope narrowed (pitch ±2°, antennas ±5°): play_move is refused UncheckedMove naming the fields, audited; nothing moves', async () => {
  const narrow = { min: -2, max: 2 };
  await setPolicy((p) => ({ ...p, envelope: { ...p.envelope, head_pitch_deg: narrow, antenna_left_deg: { min: -5, max: 5 }, antenna_right_deg: { min: -5, max: 5 } } }));
  scene.driver.emulator!.motionRecord.clear();

  // → play_move {move_name: cheerful1} ← UncheckedMove: the driver cannot check a recorded move against a narrowed envelope.
  const refused = await call('play_move', PLAY);
  expect(refused.error?.data?._tag, JSON.stringify(refused)).toBe('UncheckedMove');
  expect(refused.error.data).toMatchObject({ function: 'play_move', narrowed: ['envelope.head_pitch_deg', 'envelope.antenna_left_deg', 'envelope.antenna_right_deg'] });
  expect(refused.error.message).toMatch(/cannot check .*restore the mechanical envelope and the default speed limits .*play_expression or goto_pose/);
  await waitFor(async () => refusals().some((r) => r.function === 'play_move' && r.error_tag === 'UncheckedMove'), 5_000, 'the refusal audited');
  expect(scene.driver.emulator!.motionRecord.moves).toEqual([]);
}, 30_000);

test('a speed limit lowered below its default: play_move is refused UncheckedMove too (a recorded move plays at its recorded speed)', async () => {
  await setPolicy((p) => ({ ...p, speed: { ...p.speed, body_deg_per_s: 60 } }));
  const refused = await call('play_move', PLAY);
  expect(refused.error?.data?._tag, JSON.stringify(refused)).toBe('UncheckedMove');
  expect(refused.error.data.narrowed).toEqual(['speed.body_deg_per_s']);
  expect(scene.driver.emulator!.motionRecord.moves).toEqual([]);
}, 30_000);

test('the default policy, or limits above the defaults: play_move plays', async () => {
  await setPolicy((p) => ({ ...p, speed: { ...p.speed, head_deg_per_s: 400 } }));
  const played = await call('play_move', PLAY);
  expect(played.result?.status, JSON.stringify(played)).toBe('completed');
  expect(scene.driver.emulator!.motionRecord.moves.map((m) => m.kind)).toContain('recorded');
}, 90_000);

test('a recorded move playing when the policy narrows is stopped (it cannot be checked against it), named in the answer', async () => {
  await setPolicy((p) => p);
  scene.driver.emulator!.motionRecord.clear();
  // → play_move {cheerful1, wait: false} ← accepted: it plays under the defaults.
  const started = await call('play_move', { ...PLAY, wait: false });
  expect(started.result, JSON.stringify(started)).toBeDefined();
  await waitFor(async () => scene.driver.emulator!.motionRecord.moves.some((m) => m.kind === 'recorded' && m.outcome === 'running'), 5_000, 'the move playing');

  // → set_safety_policy {pitch ±2°} ← applied, motion_stopped names play_move and the narrowed field.
  const narrowed = await supervise('set_safety_policy', { policy: { ...JSON.parse(JSON.stringify(DEFAULT_SAFETY_POLICY)), envelope: { ...DEFAULT_SAFETY_POLICY.envelope, head_pitch_deg: { min: -2, max: 2 } } }, reason: 'tighter', owner: 'ops' });
  expect(narrowed.result?.motion_stopped, JSON.stringify(narrowed)).toMatchObject({ function: 'play_move', narrowed: ['envelope.head_pitch_deg'] });
  await waitFor(async () => scene.driver.emulator!.motionRecord.moves.every((m) => m.outcome !== 'running'), 5_000, 'the move stopped');
  expect(scene.driver.emulator!.motionRecord.moves.find((m) => m.kind === 'recorded')?.outcome).not.toBe('completed');
}, 30_000);
