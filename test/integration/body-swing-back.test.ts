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
import { startBodyScene, type BodyScene, type Reply } from '../harness/body-scene.ts';
import { waitFor } from '../harness/driver-harness.ts';
import { bodyExcess } from '../harness/speed-excess.ts';

// The two transports' scenes run side by side (this file runs alone: TIMED in vitest.config.ts;
// the checks read each tick's actual Δt, so a busier loop only loosens them); each one's steps in
// one test.
describe.concurrent('both transports', () => {
for (const transport of ['websocket', 'http']) describe(`transport ${transport}`, () => {
  let robot: BodyScene;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<Reply> => robot.call(method, params);
  const body = (): number => robot.body();
  const setBodyEnvelope = (min: number, max: number): Promise<void> => robot.setBodyEnvelope(min, max);

  beforeAll(async () => {
    robot = await startBodyScene(`body-swing-back-${transport}`, transport);
  }, 30_000);
  afterAll(async () => {
    await robot?.stop();
  });

  // One test per transport, its steps in order; the two transports side by side.
  test('the head turn back, which would swing the body to 90°: refused naming body_yaw_deg under a body envelope [0, 60] (nothing moves), run under a wide one with the body never over its speed limit; a goto naming the body stopped midway leaves no body target behind to swing the body to', async () => {
    const record = robot.scene.driver.emulator!.motionRecord;
    await setBodyEnvelope(-160, 160);
    // → goto_pose {yaw: 45, body_yaw_deg: 90} ← completed: the daemon now holds body 90°.
    const faced = await call('goto_pose', { yaw: 45, body_yaw_deg: 90, duration_s: 1.5, wait: true });
    expect(faced.result?.status, JSON.stringify(faced)).toBe('completed');
    expect(body()).toBeCloseTo(90, 3);
    // → look_at_world {yaw: -45} ← completed: the body dragged to 20° (predicted and ramped).
    const dragged = await call('look_at_world', { yaw: -45, wait: true });
    expect(dragged.result?.status, JSON.stringify(dragged)).toBe('completed');
    await waitFor(async () => Math.abs(body() - 20) < 0.01, 5_000, 'the body pulled to 20°');

    // The operator narrows the body envelope around where the body is.
    await setBodyEnvelope(0, 60);
    record.clear();
    // → look_at_world {yaw: 45} ← OutsideEnvelope body_yaw_deg 90 (the old prediction, from the present 20°: accepted, body to 90°).
    const refused = await call('look_at_world', { yaw: 45, wait: true });
    expect(refused.error?.data?._tag, JSON.stringify(refused)).toBe('OutsideEnvelope');
    expect(refused.error.data.violations).toEqual([{ axis: 'body_yaw_deg', value: expect.closeTo(90, 2), min: 0, max: 60 }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(body()).toBeCloseTo(20, 2);
    expect(record.targets).toEqual([]);
    expect(record.moves).toEqual([]);

    await setBodyEnvelope(-160, 160);
    record.clear();
    // → look_at_world {yaw: 45} ← completed, ramped for the body (the old ramp: the head's speed, the body over 120°/s).
    const back = await call('look_at_world', { yaw: 45, wait: true });
    expect(back.result?.status, JSON.stringify(back)).toBe('completed');
    await waitFor(async () => Math.abs(body() - 90) < 0.01, 5_000, 'the body back at 90°');
    expect(bodyExcess(record.poses)).toBe(0);

    // A goto naming the body stopped midway: the stop leaves the daemon holding the body where it is,
    // and a head turn back does not swing it.
    await setBodyEnvelope(-160, 160);
    const start = await call('goto_pose', { yaw: -10, body_yaw_deg: -24, duration_s: 2, wait: true });
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
    const ahead = await call('look_at_world', { yaw: 0, wait: true });
    expect(ahead.result?.status, JSON.stringify(ahead)).toBe('completed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(Math.abs(body() - stoppedAt)).toBeLessThan(0.5);
  }, 90_000);
});
});
