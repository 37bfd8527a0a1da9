// The stop guarantee for /ws/sdk realtime targets the daemon reads late (README "Safety"): the
// daemon's pushes keep flowing while the frames we sent on that socket wait (a busy receive loop),
// so nothing shows a target was handled, however old it is. A stop therefore appends a hold after
// every target not yet followed by one, on the same socket: the daemon handles one socket's frames
// in order (RM ws_server.py `_recv_loop`), so the hold is applied after the late target and the
// head ends where the stop found it. The real driver over NATS against its --sim emulator, whose
// /ws/sdk frames are delayed (`emulator.faults`); the emulator's motion record is the ground truth.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { REALTIME_HOLD_WINDOW_MS } from '../../src/actors/motion-executor.ts';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'ws-target-late-hold';
const CMD = `device-connect.default.${DEVICE}.cmd`;
/** The daemon handles each frame on /ws/sdk this late while its pushes keep coming. */
const FRAME_DELAY_MS = 3_000;
/** The stop comes this long after the target reached the daemon: past the old 1 s hold window, well before the target is handled. */
const STOP_AFTER_MS = REALTIME_HOLD_WINDOW_MS + 500;
let scene: MeshScene;
type Reply = Record<string, any>;
const call = (method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000) => rpc(scene.nc, CMD, { jsonrpc: '2.0', id: method, method, params }, timeoutMs) as Promise<Reply>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error']);
}, 30_000);
afterAll(async () => {
  await scene?.stop();
});

test('a realtime target the daemon reads after the stop answered is followed on its socket by the hold: the head ends where the stop found it', async () => {
  const emulator = scene.driver.emulator!;
  const yawDeg = () => (emulator.snapshot().headPose.yaw * 180) / Math.PI;
  const sdkTargets = () => emulator.motionRecord.targets.filter((t) => t.via === 'sdk');
  const before = sdkTargets().length;
  const received = emulator.received.length;
  emulator.faults.apply({ routeDelays: [{ path: '/ws/sdk', requestMs: [FRAME_DELAY_MS, FRAME_DELAY_MS] }] }, 1);
  const sent = await call('look_at_world', { yaw: 3 });
  expect(sent.result.status).toBe('accepted');
  // The driver's first head target: it knows no body target the daemon holds, so the frame pins the
  // body at the present yaw too (set_full_target {head, body_yaw}).
  await waitFor(() => emulator.received.slice(received).some((r) => r.path === '/ws/sdk' && (r.body as Reply)?.type === 'set_full_target' && (r.body as Reply).head), 5_000, 'the target at the daemon');
  await sleep(STOP_AFTER_MS);
  expect(sdkTargets().length, 'the target is still waiting in the daemon').toBe(before);
  const stopped = await call('stop_motion');
  const atAnswer = yawDeg();
  expect(stopped.result.stop).toBe('confirmed');
  // The late target is applied, then the hold the stop sent after it on the same socket.
  await waitFor(() => sdkTargets().length >= before + 2, FRAME_DELAY_MS + 5_000, 'the late target and the hold after it applied');
  emulator.faults.clear();
  expect(sdkTargets().slice(before).map((t) => t.kind)).toEqual(['set_full_target', 'set_full_target']);
  await expect.poll(yawDeg, { timeout: 2_000 }).toBeCloseTo(atAnswer, 1);
}, 30_000);
