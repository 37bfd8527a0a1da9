// wake_up on an awake robot answers `already_awake` (goto_sleep on an asleep one `already_asleep`)
// only when the caller may command the robot at all (README "State"): with the interlock tripped
// or the lease held by another owner, the gate's refusal wins — InterlockTripped / LeaseHeld,
// audited and published as every refusal — and nothing reaches the daemon. Over NATS against the
// emulator; the transcript is the test.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { startReadyScene } from '../harness/ready-state.ts';
import { rpc } from '../harness/mesh-peer.ts';

const DEVICE = 'already-there';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SAFETY_EVENT = `device-connect.default.${DEVICE}.event.safety_event`;

let scene: MeshScene;
let seq = 0;
const call = async (method: string, params: object = {}): Promise<Record<string, any>> => (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c${++seq}`, method, params }, 15_000)) as Record<string, any>;
const state = async () => (await call('get_status')).result.driver_state;
const refusals = (): Array<Record<string, any>> => scene.all.messages.filter((m) => m.subject === SAFETY_EVENT).map((m) => (m.body as any).params).filter((p) => p.kind === 'refused');

beforeAll(async () => {
  // The emulator boots awake: ready means linked and awake.
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--sim-time-scale', '0.05', '--discovery-mode', 'infra']);
}, 60_000);
afterAll(async () => {
  await scene?.stop();
});

/** `reply` is the refusal `tag`, published as a `refused` safety_event for `fn`. */
async function expectRefused(reply: Record<string, any>, tag: string, fn: string, before: number): Promise<void> {
  expect(reply.error?.data?._tag, JSON.stringify(reply)).toBe(tag);
  await waitFor(async () => refusals().length > before, 5_000, `the ${fn} refusal published`);
  expect(refusals().slice(before).find((r) => r.function === fn)).toMatchObject({ error_tag: tag });
}

test('awake robot, interlock tripped: wake_up answers InterlockTripped (audited), not already_awake; after the reset it is already_awake again', async () => {
  scene.driver.emulator!.motionRecord.clear();
  expect((await call('emergency_stop', { reason: 'hand in the way' })).result?.status).toBe('tripped');
  const before = refusals().length;
  // → wake_up ← InterlockTripped
  await expectRefused(await call('wake_up', { wait: true }), 'InterlockTripped', 'wake_up', before);
  expect(scene.driver.emulator!.motionRecord.moves).toEqual([]);
  expect((await call('reset_interlock', { reason: 'clear' })).result?.status).toBe('safe');
  // → wake_up ← already_awake
  expect((await call('wake_up')).result).toEqual({ status: 'already_awake' });
}, 30_000);

test('awake robot, lease held by alice: wake_up from bob answers LeaseHeld (audited); from alice already_awake', async () => {
  expect((await call('acquire_lease', { owner: 'alice', ttl_s: 30 })).result).toBeDefined();
  const before = refusals().length;
  await expectRefused(await call('wake_up', { owner: 'bob' }), 'LeaseHeld', 'wake_up', before);
  expect((await call('wake_up', { owner: 'alice' })).result).toEqual({ status: 'already_awake' });
  expect((await call('release_lease', { owner: 'alice' })).error).toBeUndefined();
}, 30_000);

test('asleep robot, interlock tripped: goto_sleep answers InterlockTripped (audited), not already_asleep', async () => {
  expect((await call('goto_sleep', { wait: true })).error).toBeUndefined();
  await waitFor(async () => (await state()).power_state === 'asleep', 10_000, 'the robot asleep');
  expect((await call('goto_sleep')).result).toEqual({ status: 'already_asleep' });
  expect((await call('emergency_stop', { reason: 'hand in the way' })).result?.status).toBe('tripped');
  const before = refusals().length;
  await expectRefused(await call('goto_sleep'), 'InterlockTripped', 'goto_sleep', before);
  expect((await call('reset_interlock', { reason: 'clear' })).result?.status).toBe('safe');
}, 30_000);
