// Enabling the motors of an asleep robot does not wake it (README "State"): after goto_sleep,
// set_motor_mode enabled (or gravity compensation, then enabled) is accepted and the motors are on,
// but motion stays refused RobotAsleep — audited, nothing sent — with the head still at the sleep
// pose (daemon-api §7; streaming set_target there can crash the daemon, §13 #1430); goto_sleep then
// runs the daemon's sequence again (it ends with the motors disabled) instead of answering
// already_asleep; only wake_up makes the robot movable. Over NATS against the emulator.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { startReadyScene } from '../harness/ready-state.ts';
import { rpc } from '../harness/mesh-peer.ts';

const DEVICE = 'asleep-enabled';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const AUDIT = `device-connect.default.${DEVICE}.audit`;
/** goto_sleep and wake_up take 4–5 s and ~2.3 s simulated: 250 ms and 115 ms at this scale. */
const TIME_SCALE = '0.05';

let scene: MeshScene;
let seq = 0;
const call = async (method: string, params: object = {}): Promise<Record<string, any>> => (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c${++seq}`, method, params }, 15_000)) as Record<string, any>;
const driverState = async (): Promise<Record<string, any>> => (await call('get_status')).result.driver_state;
const emulator = () => scene.driver.emulator!;
const audited = (): Array<Record<string, any>> => scene.all.messages.filter((m) => m.subject === AUDIT).map((m) => m.body as Record<string, any>);
/** Moves and realtime targets the emulator applied (its ground truth). */
const applied = () => ({ moves: emulator().motionRecord.moves.map((m) => m.kind), targets: emulator().motionRecord.targets.length });

beforeAll(async () => {
  // The emulator boots awake: ready means linked and awake.
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--sim-time-scale', TIME_SCALE, '--discovery-mode', 'infra']);
}, 60_000);
afterAll(async () => {
  await scene?.stop();
});

async function putToSleep(): Promise<void> {
  expect((await call('goto_sleep', { wait: true })).result).toMatchObject({ status: 'completed' });
  await waitFor(async () => (await driverState()).power_state === 'asleep', 5_000, 'the robot asleep');
  expect(emulator().snapshot().motorMode).toBe('disabled');
}

/** `fn` is refused `tag` in power state asleep, audited as such, and nothing reaches the robot. */
async function expectRefusedAsleep(fn: string, params: object, tag: string, message: string): Promise<void> {
  emulator().motionRecord.clear();
  const before = audited().length;
  const reply = await call(fn, params);
  expect(reply.error?.data, JSON.stringify(reply)).toMatchObject({ _tag: tag });
  expect(reply.error.message).toContain(message);
  await waitFor(() => audited().slice(before).some((r) => r.kind === 'refused' && r.function === fn), 5_000, `the ${fn} refusal audited`);
  expect(audited().slice(before).find((r) => r.kind === 'refused' && r.function === fn)).toMatchObject({ error_tag: tag, state: { power: (await driverState()).power_state } });
  expect(applied()).toEqual({ moves: [], targets: 0 });
}

test('asleep, motors enabled by set_motor_mode: motion refused RobotAsleep (audited); goto_sleep runs again and disables them; wake_up makes it movable', async () => {
  await putToSleep();
  expect((await call('goto_sleep')).result, 'asleep with the motors disabled').toEqual({ status: 'already_asleep' });

  // → set_motor_mode enabled ← accepted; the motors are on, the robot still asleep.
  expect((await call('set_motor_mode', { mode: 'enabled' })).error).toBeUndefined();
  await waitFor(() => emulator().snapshot().motorMode === 'enabled', 5_000, "the emulator's motors enabled");
  expect(await driverState()).toMatchObject({ power_state: 'asleep', motor_mode: 'enabled', wake_required: true });

  // → look_at_world, set_body_yaw, goto_pose ← RobotAsleep, nothing applied.
  await expectRefusedAsleep('look_at_world', { yaw: 10, pitch: 5 }, 'RobotAsleep', 'the robot is asleep (motors enabled but not woken): call wake_up first');
  await expectRefusedAsleep('set_body_yaw', { yaw_deg: 20 }, 'RobotAsleep', 'call wake_up first');
  await expectRefusedAsleep('goto_pose', { yaw: 10, duration_s: 1 }, 'RobotAsleep', 'call wake_up first');
  expect((await driverState()).power_state).toBe('asleep');

  // → goto_sleep ← the daemon's sequence runs (not already_asleep) and ends with the motors disabled.
  emulator().motionRecord.clear();
  expect((await call('goto_sleep', { wait: true })).result).toMatchObject({ status: 'completed' });
  expect(applied().moves).toEqual(['goto_sleep']);
  expect(emulator().snapshot().motorMode).toBe('disabled');
  await waitFor(async () => (await driverState()).motor_mode === 'disabled', 5_000, 'motor_mode disabled in get_status');
  expect((await driverState()).power_state).toBe('asleep');
  expect((await call('goto_sleep')).result).toEqual({ status: 'already_asleep' });

  // → wake_up ← awake; motion accepted.
  expect((await call('wake_up', { wait: true })).result).toMatchObject({ status: 'completed' });
  await waitFor(async () => (await driverState()).power_state === 'awake', 5_000, 'the robot awake');
  expect((await driverState()).wake_required).toBe(false);
  expect((await call('look_at_world', { yaw: 10, pitch: 5 })).result).toMatchObject({ status: 'accepted' });
}, 60_000);

test('asleep, then gravity compensation, then enabled: still asleep (MotorsCompliant, then RobotAsleep); wake_up makes it movable', async () => {
  await putToSleep();
  expect((await call('set_motor_mode', { mode: 'gravity_compensation' })).error).toBeUndefined();
  await waitFor(async () => (await driverState()).power_state === 'compliant', 5_000, 'power_state compliant');
  await expectRefusedAsleep('look_at_world', { yaw: 10 }, 'MotorsCompliant', 'has not been woken since: call wake_up first');

  expect((await call('set_motor_mode', { mode: 'enabled' })).error).toBeUndefined();
  await waitFor(async () => (await driverState()).motor_mode === 'enabled', 5_000, 'motor_mode enabled');
  expect((await driverState()).power_state).toBe('asleep');
  await expectRefusedAsleep('look_at_world', { yaw: 10 }, 'RobotAsleep', 'motors enabled but not woken');

  expect((await call('wake_up', { wait: true })).result).toMatchObject({ status: 'completed' });
  await waitFor(async () => (await driverState()).power_state === 'awake', 5_000, 'the robot awake');
  expect((await call('look_at_world', { yaw: -10 })).result).toMatchObject({ status: 'accepted' });
}, 60_000);
