// The emulator's maths against the daemon's numbers: analytical IK vs the joints captured on the
// real daemon, FK as its inverse, the yaw clamps, the goto time laws and pose interpolation
// (reachy-daemon-api.md §5–§7), and the simulated clock's timer bookkeeping.
import { describe, expect, test } from 'vitest';
import { interpolatePose, timeLaw } from '../../src/sim/interpolation.ts';
import { forwardKinematics, inverseKinematics, resolveBodyYaw } from '../../src/sim/kinematics.ts';
import { IDENTITY4, magicDistance, poseFromXyzRpy, xyzRpyFromPose } from '../../src/robot/pose-math.ts';
import { SLEEP_HEAD_JOINTS, SLEEP_HEAD_POSE } from '../../src/robot/daemon-poses.ts';
import { ClockStopped, SimClock } from '../../src/sim/sim-clock.ts';
import { AFTER_GOTO_HEAD_JOINTS, INIT_HEAD_JOINTS, SLEEP_POSE_HEAD_JOINTS } from './daemon-fixtures.ts';
import { numericDiff } from './json-shape.ts';

const deg = (d: number): number => (d * Math.PI) / 180;

describe('inverse kinematics (Analytical engine)', () => {
  test('identity → the daemon joints [0, ±0.6265...]', () => {
    expect(numericDiff(inverseKinematics(IDENTITY4, 0), INIT_HEAD_JOINTS, 1e-6)).toEqual([]);
  });

  test('move1.txt pose (z 10 mm, pitch 0.2, yaw 0.3, body 0.2) → the sampled joints', () => {
    const pose = poseFromXyzRpy({ x: 0, y: 0, z: 0.01, roll: 0, pitch: 0.2, yaw: 0.3 });
    expect(numericDiff(inverseKinematics(pose, 0.2), AFTER_GOTO_HEAD_JOINTS, 1e-6)).toEqual([]);
  });

  test('the sleep pose → the joints sampled after goto_sleep (within the real FK noise)', () => {
    expect(numericDiff(inverseKinematics(SLEEP_HEAD_POSE, 0), SLEEP_POSE_HEAD_JOINTS, 1e-3)).toEqual([]);
  });

  test('no real solution → null (z +0.2 m, pitch 55°)', () => {
    expect(inverseKinematics(poseFromXyzRpy({ x: 0, y: 0, z: 0.2, roll: 0, pitch: 0, yaw: 0 }), 0)).toBeNull();
    expect(inverseKinematics(poseFromXyzRpy({ x: 0, y: 0, z: 0, roll: 0, pitch: deg(55), yaw: 0 }), 0)).toBeNull();
  });

  test('body yaw: ±65° around the head yaw, then ±160°; unclamped when automatic body yaw is off', () => {
    const headYaw = (d: number) => poseFromXyzRpy({ x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: deg(d) });
    expect(resolveBodyYaw(headYaw(100), 0)).toBeCloseTo(deg(35), 12);
    expect(resolveBodyYaw(headYaw(0), deg(170))).toBeCloseTo(deg(65), 12);
    expect(resolveBodyYaw(headYaw(175), deg(175))).toBeCloseTo(deg(160), 12);
    expect(resolveBodyYaw(headYaw(-175), deg(-175))).toBeCloseTo(deg(-160), 12);
    expect(inverseKinematics(headYaw(10), deg(30), false)?.[0]).toBe(deg(30));
  });
});

describe('forward kinematics (Newton on the IK)', () => {
  test('the mockup boot joints → x −15.2, y 1.0, z −50.4 mm, pitch 30.8° (timing.txt)', () => {
    const pose = forwardKinematics(SLEEP_HEAD_JOINTS, SLEEP_HEAD_POSE);
    expect(pose).not.toBeNull();
    const p = xyzRpyFromPose(pose ?? IDENTITY4);
    expect(numericDiff([p.x * 1000, p.y * 1000, p.z * 1000, (p.pitch * 180) / Math.PI], [-15.2, 1.0, -50.4, 30.8], 0.06)).toEqual([]);
  });

  test('round trip IK → FK from a distant guess', () => {
    const pose = poseFromXyzRpy({ x: 0.01, y: -0.02, z: 0.005, roll: 0.1, pitch: -0.2, yaw: 0.5 });
    const joints = inverseKinematics(pose, 0.3);
    const back = forwardKinematics(joints ?? [], IDENTITY4);
    expect(numericDiff(back, pose, 1e-9)).toEqual([]);
  });
});

describe('goto time laws and interpolation', () => {
  test('values of the four laws', () => {
    expect(timeLaw(0.25, 'linear')).toBe(0.25);
    expect(timeLaw(0.25, 'minjerk')).toBeCloseTo(0.103515625, 15);
    expect(timeLaw(0.5, 'minjerk')).toBeCloseTo(0.5, 15);
    expect(timeLaw(0.25, 'ease_in_out')).toBe(0.125);
    expect(timeLaw(0.75, 'ease_in_out')).toBe(0.875);
    expect(Math.min(...[0.05, 0.1, 0.15, 0.2].map((t) => timeLaw(t, 'cartoon')))).toBeLessThan(0);
    expect(Math.max(...[0.8, 0.85, 0.9, 0.95].map((t) => timeLaw(t, 'cartoon')))).toBeGreaterThan(1);
    for (const method of ['linear', 'minjerk', 'ease_in_out', 'cartoon'] as const) {
      expect(timeLaw(0, method)).toBeCloseTo(0, 12);
      expect(timeLaw(1, method)).toBeCloseTo(1, 12);
    }
  });

  test('yaw is interpolated as a scalar: 170° → −170° goes through the front (0°), not the back', () => {
    const from = poseFromXyzRpy({ x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: deg(170) });
    const to = poseFromXyzRpy({ x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: deg(-170) });
    expect(xyzRpyFromPose(interpolatePose(from, to, 0.5)).yaw).toBeCloseTo(0, 12);
  });

  test('translation is linear and the end points are exact', () => {
    const to = poseFromXyzRpy({ x: 0.01, y: 0, z: -0.02, roll: 0.1, pitch: 0.2, yaw: 0.3 });
    expect(numericDiff(xyzRpyFromPose(interpolatePose(IDENTITY4, to, 0.5)), { x: 0.005, y: 0, z: -0.01 }, 1e-15)).toEqual([]);
    expect(numericDiff(interpolatePose(IDENTITY4, to, 1), to, 1e-12)).toEqual([]);
  });

  test('magic distance sleep ↔ init ≈ 73 units, the wake-up goto ≈ 1.46 s', () => {
    expect(magicDistance(SLEEP_HEAD_POSE, IDENTITY4)).toBeGreaterThan(72);
    expect(magicDistance(SLEEP_HEAD_POSE, IDENTITY4)).toBeLessThan(74);
  });
});

describe('SimClock', () => {
  test('time runs 1/timeScale faster; cancelAll rejects pending sleeps and clears every timer', async () => {
    let now = 0;
    const clock = new SimClock({ timeScale: 0.01, wallNowMs: () => now });
    now = 10;
    expect(clock.now()).toBeCloseTo(1, 12);
    expect(clock.wallMs(2)).toBeCloseTo(20, 12);
    const sleeping = clock.sleep(1000);
    clock.every(1000, () => undefined);
    clock.after(1000, () => undefined);
    expect(clock.pendingCount).toBe(3);
    clock.cancelAll();
    await expect(sleeping).rejects.toBeInstanceOf(ClockStopped);
    expect(clock.pendingCount).toBe(0);
  });

  test('an aborted sleep rejects with the abort reason', async () => {
    const clock = new SimClock({ timeScale: 1 });
    const controller = new AbortController();
    const sleeping = clock.sleep(10, controller.signal);
    controller.abort(new Error('stop'));
    await expect(sleeping).rejects.toThrow('stop');
    expect(clock.pendingCount).toBe(0);
  });

  test('timeScale must be positive', () => {
    expect(() => new SimClock({ timeScale: 0 })).toThrow(RangeError);
  });
});
