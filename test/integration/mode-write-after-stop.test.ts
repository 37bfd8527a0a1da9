// The stop guarantee for writes that are not moves (README "Safety"): a motor-mode change has no
// move uuid to stop, so a set_motor_mode (or wake_up's motor enable) the daemon handles late must
// not land after a stop answered `confirmed`. The stop reads `unconfirmed` while the request is with
// the daemon; once the daemon applied it, the driver writes the mode before it back and audits it
// (`late_mode_reverted`), so the robot after the stop is the robot before the cancelled call. The
// real driver over NATS against its --sim emulator, whose set_mode route is delayed
// (`emulator.faults`); the emulator's own motor mode and received requests are the ground truth.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { linkAndPower, startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'mode-write-after-stop';
const CMD = `device-connect.default.${DEVICE}.cmd`;
/** The daemon handles set_mode this late (a busy uvicorn worker): longer than a stop's 250 ms bound. */
const SET_MODE_DELAY_MS = 1_000;
const SET_MODE = '/api/motors/set_mode/';
let scene: MeshScene;
type Reply = Record<string, any>;
const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 15_000) => rpc(scene.nc, CMD, { jsonrpc: '2.0', id: method, method, params }, timeoutMs) as Promise<Reply>;
const status = async () => (await call('get_status')).result.driver_state as Reply;
/** The set_mode requests the emulator received since `mark`, as the modes asked for. */
const modesAsked = (mark: number) => scene.driver.emulator!.received.slice(mark).filter((r) => r.path.startsWith(SET_MODE)).map((r) => r.path.slice(SET_MODE.length));
const safetyEvents = (kind: string) => scene.all.messages.filter((m) => m.subject.endsWith('.event.safety_event')).map((m) => (m.body as Reply).params).filter((p) => p.kind === kind);

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

/**
 * Awake, the interlock safe, the motors enabled and no stop owed. A case that left the robot asleep
 * (a disabled mode the daemon applied, even if put back since) needs wake_up: enabling the motors
 * of an asleep robot does not wake it.
 */
async function fromAwake(): Promise<void> {
  const emulator = scene.driver.emulator!;
  emulator.faults.clear();
  await call('reset_interlock', { reason: 'next case' }).catch(() => undefined);
  await waitFor(async () => (await status()).execution_state === 'idle', 10_000, 'no stop owed');
  if ((await status()).power_state !== 'awake') {
    // Its own owner, whose lease (taken by the motion call) is released: the cases' callers find it free.
    await call('wake_up', { owner: 'fixture', wait: true });
    await call('release_lease', { owner: 'fixture' });
  }
  await waitFor(async () => linkAndPower({ driver_state: await status() }) === 'connected/awake', 10_000, 'awake again');
}

/** Sends `method` and returns once its set_mode request reached the emulator (and waits there). */
async function sentToSlowDaemon(method: string, params: Record<string, unknown>): Promise<{ answer: Promise<Reply>; mark: number }> {
  const emulator = scene.driver.emulator!;
  const mark = emulator.received.length;
  emulator.faults.apply({ routeDelays: [{ path: `${SET_MODE}*`, requestMs: [SET_MODE_DELAY_MS, SET_MODE_DELAY_MS] }] }, 1);
  const answer = call(method, params);
  await waitFor(() => modesAsked(mark).length > 0, 10_000, `${method}'s set_mode request at the daemon`);
  return { answer, mark };
}

for (const stop of ['stop_motion', 'emergency_stop'] as const) {
  test(`set_motor_mode disabled waiting in the daemon when ${stop} comes: the stop is unconfirmed until the mode is put back`, async () => {
    await fromAwake();
    const emulator = scene.driver.emulator!;
    const reverted = safetyEvents('late_mode_reverted').length;
    const { answer, mark } = await sentToSlowDaemon('set_motor_mode', { mode: 'disabled', owner: 'alice' });
    const stopped = await call(stop, {});
    const modeAtAnswer = emulator.snapshot().motorMode;
    // The request is still with the daemon: the stop cannot say nothing issued before it will act.
    expect(stopped.result.stop).toBe('unconfirmed');
    expect(stopped.result.cancelled_in_flight).toEqual([{ function: 'set_motor_mode', owner: 'alice' }]);
    expect(modeAtAnswer).toBe('enabled');
    const cancelled = await answer;
    expect(cancelled.error.data._tag).toBe('MotionCancelled');
    expect(cancelled.error.message).not.toContain('before it moved the robot');
    // The daemon applies it, then the driver writes back the mode before it; the stop then confirms.
    await waitFor(async () => (await status()).execution_state === 'idle', 10_000, 'the stop confirmed');
    expect(modesAsked(mark)).toEqual(['disabled', 'enabled']);
    expect(emulator.snapshot().motorMode).toBe('enabled');
    await waitFor(() => safetyEvents('late_mode_reverted').length > reverted, 5_000, 'a late_mode_reverted safety_event');
    expect(safetyEvents('late_mode_reverted').at(-1)).toMatchObject({ function: 'set_motor_mode', owner: 'alice', from: 'disabled', to: 'enabled' });
  }, 30_000);
}

test('wake_up on an asleep robot stopped while its motor enable waits in the daemon: the robot is left asleep, motors disabled', async () => {
  await fromAwake();
  const emulator = scene.driver.emulator!;
  await call('goto_sleep', { wait: true });
  await waitFor(async () => (await status()).power_state === 'asleep', 10_000, 'asleep');
  expect(emulator.snapshot().motorMode).toBe('disabled');
  const wakeUps = emulator.motionRecord.moves.filter((m) => m.kind === 'wake_up').length;
  const { answer, mark } = await sentToSlowDaemon('wake_up', { wait: true });
  const stopped = await call('stop_motion', {});
  expect(stopped.result.stop).toBe('unconfirmed');
  const cancelled = await answer;
  expect(cancelled.error.data._tag).toBe('MotionCancelled');
  expect(cancelled.error.message).not.toContain('before it moved the robot');
  await waitFor(async () => (await status()).execution_state === 'idle', 10_000, 'the stop confirmed');
  expect(modesAsked(mark)).toEqual(['enabled', 'disabled']);
  expect(emulator.snapshot().motorMode).toBe('disabled');
  expect(emulator.motionRecord.moves.filter((m) => m.kind === 'wake_up').length, 'no wake-up move started').toBe(wakeUps);
  // The daemon's next 1 Hz status reads disabled too: the driver stays asleep.
  await waitFor(async () => (await status()).power_state === 'asleep', 5_000, 'asleep after the stop');
  expect((await call('look_at_world', { yaw: 5 })).error.data._tag).toBe('RobotAsleep');
}, 30_000);
