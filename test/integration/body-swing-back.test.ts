// The body target the daemon holds and does not report (README "Safety envelope"; daemon-api §6
// item 2: realtime IK pulls the body toward it; only a command naming the body changes it): a goto
// leaves the body at 90° with the head at 45°, a realtime head turn to -45° drags it to 20°, the
// daemon still holds 90°. A head turn back to 45° would let it swing back to 90° at the head's speed,
// past the driver's prediction from the present yaw. The driver pins the body target there before a
// head-only realtime target (/ws/sdk set_body_yaw, HTTP target_body_yaw), so the body stays at 20°:
// inside a body envelope [0, 60] set meanwhile, never over 120°/s. Over NATS against the emulator.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_SPEED_LIMITS } from '../../src/safety/safety-policy.ts';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';
import { bodyExcess } from '../harness/speed-excess.ts';

type Reply = Record<string, any>;
const deg = (rad: number): number => (rad * 180) / Math.PI;

describe.each(['websocket', 'http'])('transport %s', (transport) => {
  const DEVICE = `body-swing-back-${transport}`;
  const base = `device-connect.default.${DEVICE}`;
  let scene: MeshScene;
  let n = 0;
  const call = (method: string, params: Record<string, unknown> = {}) => rpc(scene.nc, `${base}.cmd`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, 20_000) as Promise<Reply>;
  const supervise = (method: string, params: Record<string, unknown>) => rpc(scene.nc, `${base}.supervisor`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, 10_000) as Promise<Reply>;
  const body = (): number => deg(scene.driver.emulator!.snapshot().bodyYaw);

  async function setBodyEnvelope(min: number, max: number): Promise<void> {
    const policy = (await call('get_safety_policy')).result.policy;
    const changed = { ...policy, envelope: { ...policy.envelope, body_yaw_deg: { min, max } }, speed: { ...DEFAULT_SPEED_LIMITS } };
    expect((await supervise('set_safety_policy', { policy: changed, reason: 'body swing back', owner: 'ops' })).result).toBeDefined();
  }

  beforeAll(async () => {
    scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error', '--transport-mode', transport]);
  }, 30_000);
  afterAll(async () => {
    await scene?.stop();
  });

  test('a head turn back after the body was dragged leaves the body where the driver predicted: inside the envelope, under its speed limit', async () => {
    await setBodyEnvelope(-160, 160);
    // → goto_pose {yaw: 45, body_yaw_deg: 90} ← completed: the daemon now holds body 90°.
    expect((await call('goto_pose', { yaw: 45, body_yaw_deg: 90, duration_s: 3, wait: true })).result?.status).toBe('completed');
    expect(body()).toBeCloseTo(90, 3);
    // → look_at_world {yaw: -45} ← completed: the body dragged to 20° (predicted and ramped).
    expect((await call('look_at_world', { yaw: -45, wait: true })).result?.status).toBe('completed');
    await waitFor(async () => Math.abs(body() - 20) < 0.01, 5_000, 'the body pulled to 20°');

    // The operator narrows the body envelope around where the body is.
    await setBodyEnvelope(0, 60);
    scene.driver.emulator!.motionRecord.clear();
    // → look_at_world {yaw: 45} ← completed; the body stays at 20° (without the pin: back to 90° at the head's speed).
    const back = await call('look_at_world', { yaw: 45, wait: true });
    expect(back.result?.status, JSON.stringify(back)).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(body()).toBeCloseTo(20, 2);
    expect(bodyExcess(scene.driver.emulator!.motionRecord.poses)).toBeLessThanOrEqual(0);
  }, 60_000);
});
