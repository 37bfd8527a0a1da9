// The body target the daemon holds and does not report (README "Safety envelope"; reachy-daemon-api.md
// §6 item 2: a realtime target naming only the head turns the body toward the body target the daemon
// holds): a goto leaves the body at 90° with the head at 45°, a realtime head turn to -45° drags the
// body to 20°, and the daemon still holds 90°. A realtime head turn back to 45° lets the body swing
// back to 90° — a channel the command does not name. The driver tracks the body target its own
// writes set (src/actors/held-body-target.ts) and predicts that swing: under a body envelope
// [0, 60] set meanwhile the head turn is refused OutsideEnvelope naming body_yaw_deg 90 and nothing
// moves; under a wide envelope it runs, the body reaches 90° as the daemon takes it, at or under its
// speed limit on every emulator tick. A stop that ended a move leaves the daemon holding the present
// pose, body included, so a goto stopped midway leaves no body target behind to swing the body to.
// Over NATS against the emulator, on both transports.
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

  /** The daemon holds body 90°; the head at -45° has dragged the body to 20°. */
  async function dragBodyShortOfItsTarget(): Promise<void> {
    await setBodyEnvelope(-160, 160);
    // → goto_pose {yaw: 45, body_yaw_deg: 90} ← completed: the daemon now holds body 90°.
    const faced = await call('goto_pose', { yaw: 45, body_yaw_deg: 90, duration_s: 3, wait: true });
    expect(faced.result?.status, JSON.stringify(faced)).toBe('completed');
    expect(body()).toBeCloseTo(90, 3);
    // → look_at_world {yaw: -45} ← completed: the body dragged to 20° (predicted and ramped).
    const dragged = await call('look_at_world', { yaw: -45, wait: true });
    expect(dragged.result?.status, JSON.stringify(dragged)).toBe('completed');
    await waitFor(async () => Math.abs(body() - 20) < 0.01, 5_000, 'the body pulled to 20°');
  }

  beforeAll(async () => {
    scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--log-level', 'error', '--transport-mode', transport]);
  }, 30_000);
  afterAll(async () => {
    await scene?.stop();
  });

  test('body envelope [0, 60] set after the drag: the head turn back, which would swing the body to 90°, is refused naming body_yaw_deg; nothing moves', async () => {
    await dragBodyShortOfItsTarget();
    await setBodyEnvelope(0, 60);
    scene.driver.emulator!.motionRecord.clear();
    // → look_at_world {yaw: 45} ← OutsideEnvelope body_yaw_deg 90 (the old prediction, from the present 20°: accepted, body to 90°).
    const back = await call('look_at_world', { yaw: 45, wait: true });
    expect(back.error?.data?._tag, JSON.stringify(back)).toBe('OutsideEnvelope');
    expect(back.error.data.violations).toEqual([{ axis: 'body_yaw_deg', value: expect.closeTo(90, 2), min: 0, max: 60 }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(body()).toBeCloseTo(20, 2);
    expect(scene.driver.emulator!.motionRecord.targets).toEqual([]);
    expect(scene.driver.emulator!.motionRecord.moves).toEqual([]);
  }, 60_000);

  test('wide envelope: the head turn back runs, the body swings back to 90° as the daemon takes it, never over its speed limit', async () => {
    await dragBodyShortOfItsTarget();
    scene.driver.emulator!.motionRecord.clear();
    // → look_at_world {yaw: 45} ← completed, ramped for the body (the old ramp: the head's speed, the body over 120°/s).
    const back = await call('look_at_world', { yaw: 45, wait: true });
    expect(back.result?.status, JSON.stringify(back)).toBe('completed');
    await waitFor(async () => Math.abs(body() - 90) < 0.01, 5_000, 'the body back at 90°');
    expect(bodyExcess(scene.driver.emulator!.motionRecord.poses)).toBe(0);
  }, 60_000);

  test('a goto naming the body stopped midway: the stop leaves the daemon holding the body where it is, and a head turn back does not swing it', async () => {
    await setBodyEnvelope(-160, 160);
    const start = await call('goto_pose', { yaw: -10, body_yaw_deg: -24, duration_s: 3, wait: true });
    expect(start.result?.status, JSON.stringify(start)).toBe('completed');
    // → goto_pose {yaw: 45, body_yaw_deg: -70, 2 s} ← accepted; past mid-move the head pulls the body short of the goto's own body path.
    const turn = await call('goto_pose', { yaw: 45, body_yaw_deg: -70, duration_s: 2 });
    expect(turn.result?.status, JSON.stringify(turn)).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // → stop_motion ← stopped: the daemon held a body target of about -55° with the body pulled to about -38°, until the stop's hold.
    expect((await call('stop_motion')).result?.status).toBeDefined();
    const stoppedAt = body();
    expect(stoppedAt).toBeGreaterThan(-45);
    // → look_at_world {yaw: 0} ← completed: the body stays (without the hold it swung back to about -55°).
    const back = await call('look_at_world', { yaw: 0, wait: true });
    expect(back.result?.status, JSON.stringify(back)).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(Math.abs(body() - stoppedAt)).toBeLessThan(0.5);
  }, 60_000);
});
