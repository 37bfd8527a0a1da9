// A ramped realtime target with wait: true answers from how its ramp ended (review R item 2; README
// "Safety", speed limits): cut short at the write because the lease passed to another owner, the
// waiting caller hears that refusal (LeaseHeld), never `completed`; across a brief daemon stall the
// ramp waits and goes on, and `completed` comes with the head at its target; a stall outlasting the
// ramp's overrun answers MotionNotCompleted naming where the head stopped — a body ramp's names
// the body, and no head pose. Head and body at 10 °/s, so a 30–40° turn is ramped over 3.75–5 s.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'ramp-wait-outcome';
const CMD = `device-connect.default.${DEVICE}.cmd`;
type Reply = Record<string, any>;
let scene: MeshScene;
const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 20_000) => rpc(scene.nc, CMD, { jsonrpc: '2.0', id: method, method, params }, timeoutMs) as Promise<Reply>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The emulated daemon stalls for `ms` (no ticks, no pushes, no answers), then resumes. */
async function stallDaemon(ms: number): Promise<void> {
  scene.driver.emulator!.faults.pause();
  await sleep(ms);
  scene.driver.emulator!.faults.resume();
}
const bodyYawDeg = () => (scene.driver.emulator!.snapshot().bodyYaw * 180) / Math.PI;
const headYawDeg = () => ((scene.driver.emulator!.snapshot().headPose as unknown as { yaw: number }).yaw * 180) / Math.PI;
/** Longer than a ramp's wait for one tick (RAMP_TICK_TIMEOUT_MS, 150 ms): the ramp sees the stall. */
const BRIEF_STALL_MS = 400;
/**
 * Longer than what is left of a 30° ramp at 10 °/s and its 2 s overrun (RAMP_OVERRUN_MS) once it is
 * under way: steps of 80 % of the limit (STEP_FRACTION) take 3.75 s, 5.75 s in all (5.5 s, as it
 * was, left the ramp's last tenth of a second to meet the resumed daemon: a refusal, not a timeout).
 */
const LONG_STALL_MS = 7_000;
/** Past the daemon sockets' pong deadline (2 s): a socket the stall left to close has closed. */
const PONG_DEADLINE_MS = 2_500;
/** The emulator reports the target exactly; this only absorbs the pose round trip's float noise. */
const AT_TARGET_DEG = 0.5;

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error', '--max-head-speed', '10', '--max-body-speed', '10']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

test('a ramp cut short at the write because the lease passed to bob answers alice LeaseHeld, not completed', async () => {
  expect((await call('acquire_lease', { owner: 'alice', ttl_s: 0.5 })).result).toBeDefined();
  const waiting = call('look_at_world', { yaw: 40, owner: 'alice', wait: true });
  await waitFor(async () => (await call('get_status')).result?.driver_state?.lease_active === false, 5_000, "alice's lease lapsed");
  expect((await call('acquire_lease', { owner: 'bob', ttl_s: 30 })).result).toBeDefined();
  try {
    const answer = await waiting;
    expect(answer.result).toBeUndefined();
    expect(answer.error?.data?._tag).toBe('LeaseHeld');
    expect(answer.error?.data?.holder).toBe('bob');
    expect(headYawDeg()).toBeLessThan(35);
  } finally {
    await call('release_lease', { owner: 'bob' });
  }
}, 30_000);

test('a brief daemon stall pauses the ramp, which goes on and completes at its target', async () => {
  expect((await call('look_at_world', { yaw: 0, owner: 'carol', wait: true })).result?.status).toBe('completed');
  const waiting = call('look_at_world', { yaw: 30, owner: 'carol', wait: true });
  await waitFor(() => headYawDeg() > 3, 5_000, 'the ramp is under way');
  await stallDaemon(BRIEF_STALL_MS);
  const answer = await waiting;
  expect(answer.error).toBeUndefined();
  expect(answer.result?.status).toBe('completed');
  expect(Math.abs(headYawDeg() - 30)).toBeLessThan(AT_TARGET_DEG);
}, 30_000);

test('a stall outlasting the ramp answers MotionNotCompleted naming where the head stopped', async () => {
  expect((await call('look_at_world', { yaw: 0, owner: 'carol', wait: true })).result?.status).toBe('completed');
  const waiting = call('look_at_world', { yaw: 30, owner: 'carol', wait: true });
  await waitFor(() => headYawDeg() > 3, 5_000, 'the ramp is under way');
  await stallDaemon(LONG_STALL_MS);
  const answer = await waiting;
  expect(answer.error?.data?._tag).toBe('MotionNotCompleted');
  expect(answer.error?.data?.outcome).toBe('timeout');
  const stoppedAt = answer.error?.data?.reached?.yaw as number;
  // `reached` is the last pose the ramp observed: up to a step behind the 3° the test saw (10°/s: 0.2° a tick).
  expect(stoppedAt).toBeGreaterThan(2);
  expect(stoppedAt).toBeLessThan(30 - AT_TARGET_DEG);
  expect(Math.abs(headYawDeg() - stoppedAt)).toBeLessThan(AT_TARGET_DEG);
}, 30_000);

test('a body ramp outlasted by a stall answers MotionNotCompleted about the body, without a head pose', async () => {
  // The long stall before closes the daemon sockets, each when its own pong is late: connected
  // again, and still connected once every socket's pong deadline from before has passed.
  const connected = async () => (await call('get_status')).result?.driver_state?.connection_state === 'connected';
  await waitFor(connected, 10_000, 'the daemon link back');
  await sleep(PONG_DEADLINE_MS);
  await waitFor(connected, 10_000, 'the daemon link back for good');
  const level = await call('set_body_yaw', { yaw_deg: 0, owner: 'carol', wait: true });
  expect(level.result?.status, JSON.stringify(level)).toBe('completed');
  const waiting = call('set_body_yaw', { yaw_deg: 30, owner: 'carol', wait: true });
  await waitFor(() => bodyYawDeg() > 3, 5_000, 'the body ramp is under way');
  await stallDaemon(LONG_STALL_MS);
  const answer = await waiting;
  expect(answer.error?.data?._tag, JSON.stringify(answer)).toBe('MotionNotCompleted');
  expect(answer.error?.data?.outcome).toBe('timeout');
  expect(answer.error?.message).toMatch(/the daemon stalled and the ramp ran out of time before it reached its target$/);
  expect(answer.error?.data?.reached).toBeUndefined();
}, 30_000);
