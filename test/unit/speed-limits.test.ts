// The speed-limit maths (src/safety/speed-limits.ts, src/robot/time-laws.ts) and the executor's
// decisions built on it (src/actors/speed-guard.ts): peak-speed factors of the time laws, per-axis
// travel in the policy's units, the shortest allowed goto duration, refuse/stretch, and the ramp
// step bounded by the observed pose and by the targets just sent.
import { describe, expect, test } from 'vitest';
import { planGoto, planRealtime, readPosition } from '../../src/actors/speed-guard.ts';
import { moveTimeoutMs } from '../../src/rpc/robot-functions.ts';
import { degToRad } from '../../src/robot/pose-math.ts';
import { peakSpeedFactor, timeLaw } from '../../src/robot/time-laws.ts';
import { DEFAULT_SPEED_LIMITS, type SpeedLimits } from '../../src/safety/safety-policy.ts';
import { axisTravels, gotoExcess, peakExcess, rampStep, realtimeExcess, stepSize, type RobotPosition } from '../../src/safety/speed-limits.ts';

const rad = degToRad;
const HEAD_Z = 0.177;
const AT_REST: RobotPosition = { head: { x: 0, y: 0, z: HEAD_Z, roll: 0, pitch: 0, yaw: 0 }, bodyYaw: 0, antennas: [0, 0] };
const headAt = (yawDeg: number) => ({ x: 0, y: 0, z: HEAD_Z, roll: 0, pitch: 0, yaw: rad(yawDeg) });
const headMatrix = (yawDeg: number) => [Math.cos(rad(yawDeg)), -Math.sin(rad(yawDeg)), 0, 0, Math.sin(rad(yawDeg)), Math.cos(rad(yawDeg)), 0, 0, 0, 0, 1, HEAD_Z, 0, 0, 0, 1];
const limits = (overrides: Partial<SpeedLimits> = {}): SpeedLimits => ({ ...DEFAULT_SPEED_LIMITS, ...overrides });

describe('time laws', () => {
  test('every law runs from 0 to 1', () => {
    for (const m of ['linear', 'minjerk', 'ease_in_out', 'cartoon'] as const) {
      expect(timeLaw(0, m)).toBeCloseTo(0, 12);
      expect(timeLaw(1, m)).toBeCloseTo(1, 12);
    }
  });

  test('peak speed factors: linear 1, min-jerk 1.875, ease-in-out 2, cartoon c2 + 3 (its slope at t = 0.5)', () => {
    expect(peakSpeedFactor('linear')).toBeCloseTo(1, 5);
    expect(peakSpeedFactor('minjerk')).toBeCloseTo(1.875, 5);
    expect(peakSpeedFactor('ease_in_out')).toBeCloseTo(2, 5);
    expect(peakSpeedFactor('cartoon')).toBeCloseTo(1.70158 * 1.525 + 3, 5);
  });
});

describe('goto limits', () => {
  test('travel is per axis in the policy units (degrees, millimetres)', () => {
    const travels = axisTravels(AT_REST, { head: { ...headAt(45), x: 0.01 }, bodyYaw: rad(-30), antennas: [rad(80), rad(-10)] }, DEFAULT_SPEED_LIMITS);
    const byAxis = Object.fromEntries(travels.map((t) => [t.axis, t]));
    expect(byAxis.head_yaw_deg!.delta).toBeCloseTo(45, 9);
    expect(byAxis.head_x_mm).toMatchObject({ limit: 200, unit: 'mm/s' });
    expect(byAxis.head_x_mm!.delta).toBeCloseTo(10, 9);
    expect(byAxis.body_yaw_deg!.delta).toBeCloseTo(-30, 9);
    expect(byAxis.antenna_right_deg).toMatchObject({ limit: 600, unit: 'deg/s' });
    expect(byAxis.antenna_left_deg!.delta).toBeCloseTo(-10, 9);
  });

  test('a 45° yaw in 0.05 s min-jerk peaks at 1,687.5°/s; the shortest allowed duration is 0.422 s (whole ms, rounded up)', () => {
    const excess = gotoExcess(axisTravels(AT_REST, { head: headAt(45) }, DEFAULT_SPEED_LIMITS), 0.05, 'minjerk');
    expect(excess).toMatchObject({ axis: 'head_yaw_deg', limit: 200, unit: 'deg/s', shortestDurationS: 0.422 });
    expect(excess!.peakSpeed).toBeCloseTo(1687.5, 6);
    expect(gotoExcess(axisTravels(AT_REST, { head: headAt(45) }, DEFAULT_SPEED_LIMITS), 0.422, 'minjerk')).toBeNull();
  });

  test('the steeper of the requested law and min-jerk counts (the REST route runs min-jerk whatever it is asked)', () => {
    const travels = axisTravels(AT_REST, { head: headAt(45) }, DEFAULT_SPEED_LIMITS);
    expect(gotoExcess(travels, 0.3, 'linear')?.shortestDurationS).toBe(0.422);
    expect(gotoExcess(travels, 0.3, 'cartoon')?.shortestDurationS).toBe(Math.ceil((peakSpeedFactor('cartoon') * 45 * 1000) / 200) / 1000);
  });

  test('the slowest axis sets the shortest duration', () => {
    const excess = gotoExcess(axisTravels(AT_REST, { head: headAt(45), bodyYaw: rad(60) }, DEFAULT_SPEED_LIMITS), 0.1, 'minjerk');
    expect(excess).toMatchObject({ axis: 'body_yaw_deg', limit: 120, shortestDurationS: 0.938 });
  });

  test('refuse → TooFast with the shortest duration; stretch → the shortest duration, reported; beyond 30 s → TooFast either way', () => {
    const command = { op: 'goto', head_pose: { m: headMatrix(45) }, duration: 0.05, interpolation: 'minjerk' };
    expect(() => planGoto(AT_REST, command, limits())).toThrow(expect.objectContaining({ _tag: 'TooFast', axis: 'head_yaw_deg', limit: 200, unit: 'deg/s', shortest_duration_s: 0.422 }));
    const stretched = planGoto(AT_REST, command, limits({ goto_policy: 'stretch' }));
    expect(stretched).toMatchObject({
      durationS: 0.422,
      limited: { mode: 'stretched', axis: 'head_yaw_deg', peak_speed: 1687.5, limit: 200, unit: 'deg/s', requested_duration_s: 0.05, duration_s: 0.422 },
    });
    // The plan's peaks are those of the duration sent: at the limit, within float noise of it.
    expect(stretched.peaks).toEqual([{ axis: 'head_yaw_deg', peak_speed: expect.closeTo((1.875 * 45) / 0.422, 6), unit: 'deg/s' }]);
    expect(peakExcess(stretched.peaks, limits())).toBeNull();
    expect(planGoto(AT_REST, { ...command, duration: 1 }, limits())).toEqual({ durationS: 1, limited: null, peaks: [{ axis: 'head_yaw_deg', peak_speed: expect.closeTo(84.375, 6), unit: 'deg/s' }] });
    const slowBody = { op: 'goto', body_yaw: rad(150), duration: 1, interpolation: 'minjerk' };
    expect(() => planGoto(AT_REST, slowBody, limits({ goto_policy: 'stretch', body_deg_per_s: 5 }))).toThrow(expect.objectContaining({ _tag: 'TooFast', axis: 'body_yaw_deg', shortest_duration_s: 56.25 }));
  });
});

test('a planned goto against limits set later: the peak farthest above its own limit, none at or under it', () => {
  const peaks = [
    { axis: 'head_yaw_deg', peak_speed: 37.5, unit: 'deg/s' },
    { axis: 'body_yaw_deg', peak_speed: 30, unit: 'deg/s' },
    { axis: 'head_z_mm', peak_speed: 15, unit: 'mm/s' },
  ] as const;
  expect(peakExcess(peaks, limits({ head_deg_per_s: 37.5 }))).toBeNull();
  expect(peakExcess(peaks, limits({ head_deg_per_s: 20 }))).toEqual({ axis: 'head_yaw_deg', peak_speed: 37.5, limit: 20, unit: 'deg/s' });
  // 30 over 10 is further above its limit than 37.5 over 20.
  expect(peakExcess(peaks, limits({ head_deg_per_s: 20, body_deg_per_s: 10 }))).toEqual({ axis: 'body_yaw_deg', peak_speed: 30, limit: 10, unit: 'deg/s' });
  expect(peakExcess(peaks, limits({ head_translation_mm_per_s: 10 }))).toEqual({ axis: 'head_z_mm', peak_speed: 15, limit: 10, unit: 'mm/s' });
  expect(peakExcess([], limits({ head_deg_per_s: 1 }))).toBeNull();
});

test('a waiting move is given time for the longest stretch (30 s) however short it was asked to be', () => {
  expect(moveTimeoutMs(0.05, true)).toBeGreaterThan(30_000 + 1_000);
  expect(moveTimeoutMs(0.05, false)).toBe(20_000);
});

describe('realtime limits', () => {
  const step = stepSize(DEFAULT_SPEED_LIMITS.head_deg_per_s);

  test('one step is 0.8 × limit × 20 ms: 3.2° of head rotation at 200°/s', () => {
    expect(step).toBeCloseTo(3.2, 9);
  });

  test('a target within one step is sent as is; a farther one needs ceil(distance / step) ticks', () => {
    expect(realtimeExcess(axisTravels(AT_REST, { head: headAt(3) }, DEFAULT_SPEED_LIMITS))).toBeNull();
    const far = realtimeExcess(axisTravels(AT_REST, { head: headAt(45) }, DEFAULT_SPEED_LIMITS));
    expect(far).toMatchObject({ axis: 'head_yaw_deg', shortestDurationS: 0.3 });
    expect(far!.peakSpeed).toBeCloseTo(45 / 0.02, 6);
    expect(planRealtime(AT_REST, { head: headAt(3) }, limits(), {})).toEqual({ kind: 'direct' });
  });

  test('a ramp steps each axis by at most one step from the observed pose and arrives exactly', () => {
    let present: RobotPosition = AT_REST;
    let steps = 0;
    for (;;) {
      const { next, reached } = rampStep(present, { head: headAt(45), antennas: [rad(80), rad(-80)] }, DEFAULT_SPEED_LIMITS);
      expect(Math.abs((next.head!.yaw - present.head.yaw) * (180 / Math.PI))).toBeLessThanOrEqual(step + 1e-9);
      expect(Math.abs((next.antennas![0] - present.antennas[0]) * (180 / Math.PI))).toBeLessThanOrEqual(stepSize(600) + 1e-9);
      present = { ...present, head: next.head!, antennas: next.antennas! };
      steps++;
      if (reached) break;
    }
    expect(steps).toBe(15);
    expect(present.head.yaw).toBe(rad(45));
  });

  test('a reversed target right after a step keeps within one step of the step just sent too (the daemon may hold it already)', () => {
    const justSent = { head: headAt(3.2) };
    const { next } = rampStep(AT_REST, { head: headAt(-45) }, DEFAULT_SPEED_LIMITS, justSent);
    // Within [-3.2, 3.2] of the observation and [0, 6.4] of the step sent: at most back to 0.
    expect(next.head!.yaw).toBeCloseTo(0, 12);
    expect(planRealtime(AT_REST, { head: headAt(1) }, limits(), { head: headAt(-3) })).toMatchObject({ kind: 'ramp' });
  });

  test('policy refuse → TooFast without a duration; a ramp longer than 15 s → TooFast', () => {
    expect(() => planRealtime(AT_REST, { head: headAt(45) }, limits({ realtime_policy: 'refuse' }), {})).toThrow(expect.objectContaining({ _tag: 'TooFast', axis: 'head_yaw_deg', shortest_duration_s: null }));
    expect(planRealtime(AT_REST, { head: headAt(45) }, limits(), {})).toMatchObject({ kind: 'ramp', limited: { mode: 'ramped', axis: 'head_yaw_deg', duration_s: 0.3, requested_duration_s: null } });
    expect(() => planRealtime(AT_REST, { bodyYaw: rad(150) }, limits({ body_deg_per_s: 5 }), {})).toThrow(expect.objectContaining({ _tag: 'TooFast', axis: 'body_yaw_deg' }));
  });
});

test('a present pose without the body yaw is no pose: refused HandlerFailed, not read as body 0 (a stop hold writes it back as the body target)', async () => {
  const head_pose = { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 };
  const client = (state: object) => ({ fullState: async () => ({ head_pose, antennas_position: [0, 0], ...state }) }) as never;
  await expect(readPosition(client({ body_yaw: null, head_joints: null }), {})).rejects.toMatchObject({ _tag: 'HandlerFailed' });
  expect((await readPosition(client({ body_yaw: null, head_joints: [0.5, 0, 0, 0, 0, 0, 0] }), {})).bodyYaw).toBe(0.5);
  expect((await readPosition(client({ body_yaw: -0.25, head_joints: null }), {})).bodyYaw).toBe(-0.25);
});
