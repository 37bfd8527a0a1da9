// A realtime ramp whose next step the write-time check refuses is audited as a refusal (review R
// item 3; README "Safety": a command refused right before its daemon write is a `refused` record like
// the gate's): alice's ramp, her lease lapsed and taken by bob, writes nothing more and leaves a
// `refused` safety_event for alice with `error_tag: "LeaseHeld"` and `at: "write"`, as a goto or an
// expression refused there does. Head at 10 °/s, so a 40° turn is ramped over ~4 s.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'ramp-refused-audit';
const CMD = `device-connect.default.${DEVICE}.cmd`;
type Reply = Record<string, any>;
let scene: MeshScene;
const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000) => rpc(scene.nc, CMD, { jsonrpc: '2.0', id: method, method, params }, timeoutMs) as Promise<Reply>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const safetyEvents = () => scene.all.messages.filter((m) => m.subject.endsWith('.event.safety_event')).map((m) => (m.body as Reply).params as Reply);
const headYaw = () => (scene.driver.emulator!.snapshot().headPose as unknown as { yaw: number }).yaw;
/** Many daemon ticks (20 ms): a ramp still writing would have moved the head by then. */
const QUIET_MS = 300;

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error', '--max-head-speed', '10']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

test('a ramp whose owner lost the lease to bob is audited as refused at the write, with LeaseHeld, and writes nothing more', async () => {
  expect((await call('acquire_lease', { owner: 'alice', ttl_s: 0.5 })).result).toBeDefined();
  const started = await call('look_at_world', { yaw: 40, owner: 'alice' });
  expect(started.result?.speed_limited?.mode).toBe('ramped');
  await waitFor(async () => (await call('get_status')).result?.driver_state?.lease_active === false, 5_000, "alice's lease lapsed");
  expect((await call('acquire_lease', { owner: 'bob', ttl_s: 30 })).result).toBeDefined();
  await waitFor(() => safetyEvents().some((e) => e.kind === 'refused' && e.owner === 'alice'), 5_000, "alice's refusal at the write is audited");
  const refused = safetyEvents().filter((e) => e.kind === 'refused' && e.owner === 'alice');
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ function: 'look_at_world', error_tag: 'LeaseHeld', at: 'write' });
  const stoppedAt = headYaw();
  await sleep(QUIET_MS);
  expect(headYaw()).toBe(stoppedAt);
  expect((stoppedAt * 180) / Math.PI).toBeLessThan(35);
}, 30_000);
