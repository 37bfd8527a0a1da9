// A body target the head keeps the body short of (README "Envelope"; reachy-daemon-api.md §6 item 2:
// the daemon keeps the body within 65° of the head's yaw): with the head at 0°, `set_body_yaw 100`
// turns the body to 65° and no further. The realtime target is ramped for the body's speed limit up
// to where the body stops, then the goal itself is written (the daemon holds it) and the caller is
// answered at once, told where the body stays (`body_held_short`) — before, the ramp stepped a target
// the body could not follow until its deadline and answered MotionNotCompleted, leaving the daemon
// holding a target one step past the body. The daemon's sockets closing and reconnecting leave the
// driver knowing the daemon holds 100° or, had it restarted, another target: a head turn that would
// let the body on to 95° is refused under a body envelope [0, 80] (before: predicted from the
// present 65°, accepted, and the body swung out of the envelope); under a wide one it runs, the body
// going on toward the 100° the daemon holds, at or under its speed limit. A goto naming the body says
// the same. First, a body target another client left (the head at 0° keeping a body asked for 100°
// at 65°), which the driver cannot know: its first head target pins the body target at the present
// yaw, and a head turn to 30° leaves the body at 65° under a body envelope [0, 80] (before: predicted
// from 65°, accepted, the body swung on to 95°). Over NATS against the emulator, on both transports.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBodyScene, type BodyScene, type Reply } from '../harness/body-scene.ts';
import { waitFor } from '../harness/driver-harness.ts';
import { bodyExcess } from '../harness/speed-excess.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The two transports' scenes run side by side (this file runs alone: TIMED in vitest.config.ts).
describe.concurrent('both transports', () => {
for (const transport of ['websocket', 'http']) describe(`transport ${transport}`, () => {
  let robot: BodyScene;
  const call = (method: string, params: Record<string, unknown> = {}): Promise<Reply> => robot.call(method, params);
  const body = (): number => robot.body();

  beforeAll(async () => {
    robot = await startBodyScene(`body-held-short-${transport}`, transport);
  }, 30_000);
  afterAll(async () => {
    await robot?.stop();
  });

  test('set_body_yaw beyond 65° of the head: completed at the body limit with body_held_short, the daemon holding the goal (after its sockets reconnect too: the head turn that would let the body out of the envelope refused; else the body goes on toward it); a goto the same; a reachable target without the field', async () => {
    const emulator = robot.scene.driver.emulator!;
    const record = emulator.motionRecord;
    // Another client, before the driver wrote any body target: the daemon holds 100°, the head at 0°
    // keeps the body at 65°; the driver does not know the held target.
    const other = await fetch(`${emulator.url}/api/move/set_target`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target_body_yaw: (100 * Math.PI) / 180 }) });
    expect(await other.json()).toEqual({ status: 'ok' });
    await waitFor(async () => Math.abs(body() - 65) < 0.05, 5_000, 'the body at 65° (another client)');
    await robot.setBodyEnvelope(0, 80);
    // → look_at_world {yaw: 30} ← completed, the body kept at 65°: the driver's first head target pins
    // the body target at the present yaw (before: predicted from 65°, accepted, the body swung to 95°).
    const pinned = await call('look_at_world', { yaw: 30, wait: true });
    expect(pinned.result?.status, JSON.stringify(pinned)).toBe('completed');
    await sleep(300);
    expect(body()).toBeCloseTo(65, 0);
    await robot.setBodyEnvelope(-160, 160);
    const ahead = await call('look_at_world', { yaw: 0, wait: true });
    expect(ahead.result?.status, JSON.stringify(ahead)).toBe('completed');
    const level = await call('set_body_yaw', { yaw_deg: 0, wait: true });
    expect(level.result?.status, JSON.stringify(level)).toBe('completed');
    expect(level.result.body_held_short).toBeUndefined();
    record.clear();

    // → set_body_yaw {yaw_deg: 100} ← completed, ramped, the body held at 65° (before: MotionNotCompleted at the ramp's deadline).
    const turned = await call('set_body_yaw', { yaw_deg: 100, wait: true });
    expect(turned.result?.status, JSON.stringify(turned)).toBe('completed');
    expect(turned.result.speed_limited?.mode).toBe('ramped');
    expect(turned.result.body_held_short).toEqual({ body_yaw_deg: expect.closeTo(65, 1), head_yaw_deg: expect.closeTo(0, 1), target_body_yaw_deg: 100 });
    await waitFor(async () => Math.abs(body() - 65) < 0.05, 5_000, 'the body at 65°');
    expect(bodyExcess(record.poses)).toBe(0);

    // The daemon's sockets close and the driver reconnects (the daemon kept running, still holding
    // 100°): the driver knows the body target is 100° or, had the daemon restarted, another.
    await robot.dropDaemonSockets();
    await robot.setBodyEnvelope(0, 80);
    record.clear();
    // → look_at_world {yaw: 30} ← OutsideEnvelope body_yaw_deg 95 (before: accepted from the present 65°, the body swung to 95°).
    const refused = await call('look_at_world', { yaw: 30, wait: true });
    expect(refused.error?.data?._tag, JSON.stringify(refused)).toBe('OutsideEnvelope');
    expect(refused.error.data.violations).toEqual([{ axis: 'body_yaw_deg', value: expect.closeTo(95, 1), min: 0, max: 80 }]);
    await sleep(200);
    expect(body()).toBeCloseTo(65, 1);
    expect(record.targets).toEqual([]);
    await robot.setBodyEnvelope(-160, 160);

    // → look_at_world {yaw: 30} ← completed: the body goes on to 95° (the daemon holds 100°; before, one step past 65°).
    record.clear();
    const head = await call('look_at_world', { yaw: 30, wait: true });
    expect(head.result?.status, JSON.stringify(head)).toBe('completed');
    await waitFor(async () => Math.abs(body() - 95) < 0.05, 5_000, 'the body on to 95°');
    // → look_at_world {yaw: 45} ← completed: the body reaches the 100° it was asked for.
    const further = await call('look_at_world', { yaw: 45, wait: true });
    expect(further.result?.status, JSON.stringify(further)).toBe('completed');
    await waitFor(async () => Math.abs(body() - 100) < 0.05, 5_000, 'the body at 100°');
    expect(bodyExcess(record.poses)).toBe(0);

    // → set_body_yaw {yaw_deg: -100, duration_s: 4} ← completed, the head at 45° keeping the body at -20°.
    const goto = await call('set_body_yaw', { yaw_deg: -100, duration_s: 4, wait: true });
    expect(goto.result?.status, JSON.stringify(goto)).toBe('completed');
    expect(goto.result.body_held_short).toEqual({ body_yaw_deg: expect.closeTo(-20, 1), head_yaw_deg: expect.closeTo(45, 1), target_body_yaw_deg: -100 });
    await waitFor(async () => Math.abs(body() + 20) < 0.05, 5_000, 'the body at -20°');

    // → set_body_yaw {yaw_deg: 10} ← completed, reached: no body_held_short.
    const reachable = await call('set_body_yaw', { yaw_deg: 10, wait: true });
    expect(reachable.result?.status, JSON.stringify(reachable)).toBe('completed');
    expect(reachable.result.body_held_short).toBeUndefined();
    await waitFor(async () => Math.abs(body() - 10) < 0.05, 5_000, 'the body at 10°');
  }, 60_000);
});
});
