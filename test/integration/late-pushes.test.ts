// What the driver writes from the robot's pose while the daemon's /ws/sdk pushes run late (its
// per-client push queue backed up: emulator fault sdkPushDelayMs) and its HTTP answers come at
// once: the newest pose the pushes give is then 200 ms older than the robot's. A target written at
// that pose pulls the robot back to where it was. So the pose written back comes from the daemon's
// own report: the first head target's body pin (README "Envelope") leaves a body another client
// has just turned where it is; a stop's hold (README "Safety: what a stop guarantees") leaves a
// goto stopped midway and a realtime ramp stopped midway where the stop found them, never back
// along their path. A goto is planned and a waited move checked from that report too: right after
// a goto, the next one's speed is not under-read, a move that reached its goal is not failed, and a
// realtime target with none sent lately to step from is ramped from where the head is.
// Over NATS against the emulator, /ws/sdk transport.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startBodyScene, type BodyScene } from '../harness/body-scene.ts';
import { stepSize } from '../../src/safety/speed-limits.ts';
import { excesses } from '../harness/speed-excess.ts';

/** Ten daemon ticks: at the speeds below the robot travels 20° and more meanwhile. */
const PUSH_DELAY_MS = 200;
/** Long enough after the stop's answer for any hold written by then to have been applied. */
const SETTLE_MS = 400;
/** Back from the farthest point reached: none but the daemon's rounding. */
const BACK_TOLERANCE_DEG = 0.5;

const degrees = (radians: number): number => (radians * 180) / Math.PI;

describe('poses written back while the daemon\'s pushes run late (/ws/sdk)', () => {
  let robot: BodyScene;

  beforeAll(async () => {
    robot = await startBodyScene('late-pushes', 'websocket');
    await robot.setBodyEnvelope(-160, 160);
  }, 30_000);
  afterAll(async () => {
    await robot?.stop();
  });

  /** The emulator's (body or head yaw) samples of each daemon tick since the record was cleared, in degrees. */
  const samples = (of: (pose: { bodyYaw: number; head: { yaw: number } }) => number): number[] =>
    robot.scene.driver.emulator!.motionRecord.poses.map((pose) => degrees(of(pose)));
  /** The largest step back (against a turn toward larger angles) from the farthest point reached before it. */
  const wentBack = (samples: number[]): number => {
    let farthest = -Infinity;
    let back = 0;
    for (const sample of samples) {
      farthest = Math.max(farthest, sample);
      back = Math.max(back, farthest - sample);
    }
    return back;
  };

  // First in the file: the driver has written no body target yet, so its first head target pins one.
  test('another client turns the body to 40° just before the first head target: the pin leaves it at 40° (pinned at the pushed yaw it went back to 0°)', async () => {
    const emulator = robot.scene.driver.emulator!;
    emulator.faults.apply({ sdkPushDelayMs: PUSH_DELAY_MS }, 3);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const other = await fetch(`${emulator.url}/api/move/set_target`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target_body_yaw: (40 * Math.PI) / 180 }) });
      expect(await other.json()).toEqual({ status: 'ok' });
      expect(robot.body()).toBeCloseTo(40, 1);
      // → look_at_world {yaw: 10} ← completed; the pushes still show the body at 0°.
      const look = await robot.call('look_at_world', { yaw: 10, wait: true });
      expect(look.result?.status, JSON.stringify(look)).toBe('completed');
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      expect(robot.body()).toBeCloseTo(40, 1);
    } finally {
      emulator.faults.clear();
    }
  }, 30_000);

  test('a goto turning the body, stopped midway: the body stays where the stop found it (with the push-pose hold it went back about 20°)', async () => {
    const emulator = robot.scene.driver.emulator!;
    const start = await robot.call('goto_pose', { yaw: 0, body_yaw_deg: 0, duration_s: 1, wait: true });
    expect(start.result?.status, JSON.stringify(start)).toBe('completed');
    emulator.faults.apply({ sdkPushDelayMs: PUSH_DELAY_MS }, 1);
    try {
      emulator.motionRecord.clear();
      // → goto_pose {body_yaw_deg: 60, 1 s} ← accepted; half-way the body turns at about 110°/s.
      const turn = await robot.call('goto_pose', { yaw: 0, body_yaw_deg: 60, duration_s: 1 });
      expect(turn.result?.status, JSON.stringify(turn)).toBe('accepted');
      await new Promise((resolve) => setTimeout(resolve, 500));
      // → stop_motion ← answered; the body on every daemon tick since the turn began.
      const stop = await robot.call('stop_motion');
      expect(stop.result?.stop, JSON.stringify(stop)).toBe('confirmed');
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const body = samples((pose) => pose.bodyYaw);
      const shown = body.map((b) => b.toFixed(1)).join(' ');
      expect(Math.max(...body), shown).toBeGreaterThan(15);
      expect(body.at(-1), shown).toBeLessThan(55);
      expect(wentBack(body), shown).toBeLessThan(BACK_TOLERANCE_DEG);
    } finally {
      emulator.faults.clear();
    }
  }, 30_000);

  test('a realtime head turn ramped at its speed limit, stopped midway: the head stays where the stop found it (with the push-pose hold it went back a step or two)', async () => {
    const emulator = robot.scene.driver.emulator!;
    const start = await robot.call('look_at_world', { yaw: -40, wait: true });
    expect(start.result?.status, JSON.stringify(start)).toBe('completed');
    emulator.faults.apply({ sdkPushDelayMs: PUSH_DELAY_MS }, 2);
    try {
      // The pushes the driver reads from here on are 200 ms late.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      emulator.motionRecord.clear();
      // → look_at_world {yaw: 40} ← accepted, ramped at 200°/s: a step of 3.2° per tick, and no
      // step farther than one from the pose pushed, so a step each time the pushes show the last.
      const turn = await robot.call('look_at_world', { yaw: 40 });
      expect(turn.result?.status, JSON.stringify(turn)).toBe('accepted');
      expect(turn.result?.speed_limited, JSON.stringify(turn)).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 700));
      // → stop_motion ← answered; the head on every daemon tick since the turn began.
      const stop = await robot.call('stop_motion');
      expect(stop.result?.stop, JSON.stringify(stop)).toBe('confirmed');
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const head = samples((pose) => pose.head.yaw);
      const shown = head.map((y) => y.toFixed(1)).join(' ');
      expect(Math.max(...head), shown).toBeGreaterThan(-34);
      expect(head.at(-1), shown).toBeLessThan(35);
      expect(wentBack(head), shown).toBeLessThan(BACK_TOLERANCE_DEG);
    } finally {
      emulator.faults.clear();
    }
  }, 30_000);

  /**
   * A goto to yaw 0 with fresh pushes, then pushes 200 ms late (`seed`) and, once the driver reads
   * only late ones, a waited goto to yaw 40° (← completed: checked against a pose 200 ms old it
   * failed PoseNotReached); `then` runs right after it with the motion record cleared.
   */
  const rightAfterGotoToForty = async (seed: number, then: () => Promise<void>): Promise<void> => {
    const emulator = robot.scene.driver.emulator!;
    const start = await robot.call('goto_pose', { yaw: 0, duration_s: 1, wait: true });
    expect(start.result?.status, JSON.stringify(start)).toBe('completed');
    emulator.faults.apply({ sdkPushDelayMs: PUSH_DELAY_MS }, seed);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // → goto_pose {yaw: 40, 0.5 s, wait} ← completed (peak 150°/s).
      const there = await robot.call('goto_pose', { yaw: 40, duration_s: 0.5, wait: true });
      expect(there.result?.status, JSON.stringify(there)).toBe('completed');
      emulator.motionRecord.clear();
      await then();
    } finally {
      emulator.faults.clear();
    }
  };

  test('gotos right after gotos: a waited one completes (checked against a pose 200 ms old it failed PoseNotReached), and one whose true speed is over the limit is refused TooFast for that speed (from a pose 200 ms old it was under-read)', async () => {
    await rightAfterGotoToForty(4, async () => {
      // → goto_pose {yaw: -40, 0.7 s} at once ← TooFast: 80° in 0.7 s peaks at 1.875 × 80 / 0.7 = 214.3°/s.
      const back = await robot.call('goto_pose', { yaw: -40, duration_s: 0.7 });
      expect(back.error?.data?._tag, JSON.stringify(back)).toBe('TooFast');
      expect(back.error.data).toMatchObject({ axis: 'head_yaw_deg', peak_speed: expect.closeTo(214.3, 0), limit: 200 });
      expect(robot.scene.driver.emulator!.motionRecord.moves).toEqual([]);
    });
  }, 30_000);

  test('a realtime head target right after a goto, 10° from where the goto left the head: ramped, no tick over two steps (planned from a pose 200 ms old it went in one tick)', async () => {
    await rightAfterGotoToForty(5, async () => {
      // → look_at_world {yaw: 30, wait} at once ← completed, ramped: 10° is three steps of 3.2°.
      const look = await robot.call('look_at_world', { yaw: 30, wait: true });
      expect(look.result?.status, JSON.stringify(look)).toBe('completed');
      expect(look.result.speed_limited?.mode, JSON.stringify(look)).toBe('ramped');
      // Every tick within the limit — but for the one residual a late stream leaves: two steps in
      // one tick when the daemon's ticks jitter (the pushes no longer show which step it applied;
      // README "Speed limits"), never more.
      for (const excess of excesses(robot.scene.driver.emulator!.motionRecord.poses)) {
        expect(Math.abs(excess.change), JSON.stringify(excess)).toBeLessThanOrEqual(2 * stepSize(200) + 1e-6);
      }
    });
  }, 30_000);
});
