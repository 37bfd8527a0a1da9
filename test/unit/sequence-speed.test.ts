// The daemon's own sequences against the speed limits (src/safety/sequence-speed.ts): which gotos
// wake_up and goto_sleep run from a present pose and for how long (daemon-api §7), their peaks, and
// the TooFast refusal with what the caller can do — bring the robot nearer the start, or have the
// limit raised (or no limit allows it).
import { describe, expect, test } from 'vitest';
import { DEFAULT_SPEED_LIMITS, MAX_SPEED_LIMITS } from '../../src/safety/safety-policy.ts';
import { sequenceLegs, sequenceSpeed } from '../../src/safety/sequence-speed.ts';
import type { RobotPosition } from '../../src/safety/speed-limits.ts';

const rad = (deg: number): number => (deg * Math.PI) / 180;
/** The pose the daemon reports after goto_sleep (daemon-api §10.3). */
const ASLEEP: RobotPosition = { head: { x: -0.021, y: 0.001, z: -0.044, roll: 0, pitch: rad(24.4), yaw: 0 }, bodyYaw: 0, antennas: [-3.05, 3.05] };
const AT_INIT: RobotPosition = { head: { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 }, bodyYaw: 0, antennas: [-0.1745, 0.1745] };
const headYaw = (yawDeg: number, bodyDeg = 0): RobotPosition => ({ ...AT_INIT, head: { ...AT_INIT.head, yaw: rad(yawDeg) }, bodyYaw: rad(bodyDeg) });
const peakOf = (peaks: ReturnType<typeof sequenceSpeed>['peaks'], axis: string): number | undefined => peaks.find((p) => p.axis === axis)?.peak_speed;

describe('sequenceLegs', () => {
  test('wake_up: from the sleep pose, to init in 0.02 s per magic unit, then the roll and back in 0.2 s each; at init it stands down', () => {
    const legs = sequenceLegs('wake_up', ASLEEP);
    expect(legs.map((l) => [Number(l.durationS.toFixed(3)), l.fromPresent])).toEqual([[1.463, true], [0.2, false], [0.2, false]]);
    expect(sequenceLegs('wake_up', AT_INIT)).toEqual([]);
    // Within the daemon's 0.01 of init (0.5° of yaw), whatever the body: enabling pinned the targets there.
    expect(sequenceLegs('wake_up', headYaw(0.5, 60))).toEqual([]);
  });

  test('goto_sleep: near the sleep pose nothing; far from init (45°) a 1 s lift then 2 s to sleep; near init (10°) 2 s from where it is; at the threshold both', () => {
    expect(sequenceLegs('goto_sleep', ASLEEP)).toEqual([]);
    expect(sequenceLegs('goto_sleep', headYaw(45)).map((l) => [l.durationS, l.fromPresent])).toEqual([[1, true], [2, false]]);
    expect(sequenceLegs('goto_sleep', headYaw(10)).map((l) => [l.durationS, l.fromPresent])).toEqual([[2, true]]);
    expect(sequenceLegs('goto_sleep', headYaw(29.5)).map((l) => [l.durationS, l.fromPresent])).toEqual([[1, true], [2, false], [2, true]]);
  });
});

describe('sequenceSpeed: peaks and refusal', () => {
  test('under the default limits wake_up from the sleep pose and goto_sleep from init run (roll 187.5, antennas 211.1 and 154.5 °/s)', () => {
    const wake = sequenceSpeed('wake_up', ASLEEP, DEFAULT_SPEED_LIMITS).peaks;
    expect(peakOf(wake, 'head_roll_deg')).toBeCloseTo(187.5, 3);
    expect(peakOf(wake, 'antenna_left_deg')).toBeCloseTo(211.1, 1);
    expect(peakOf(sequenceSpeed('goto_sleep', AT_INIT, DEFAULT_SPEED_LIMITS).peaks, 'antenna_right_deg')).toBeCloseTo(154.457, 2);
    expect(sequenceSpeed('wake_up', ASLEEP, DEFAULT_SPEED_LIMITS).refusal).toBeNull();
    expect(sequenceSpeed('goto_sleep', AT_INIT, DEFAULT_SPEED_LIMITS).refusal).toBeNull();
  });

  test('goto_sleep from yaw 40°, body 100°: the 1 s lift turns the body at 187.5 °/s — TooFast, bring the robot nearer init or raise the body limit', () => {
    const refusal = sequenceSpeed('goto_sleep', headYaw(40, 100), DEFAULT_SPEED_LIMITS).refusal;
    expect(refusal).toMatchObject({ _tag: 'TooFast', axis: 'body_yaw_deg', limit: 120, unit: 'deg/s', shortest_duration_s: null });
    expect(refusal?.peak_speed).toBeCloseTo(187.5, 3);
    expect(refusal?.message).toMatch(/^goto_sleep: the daemon's sequence would move body_yaw_deg at 187.5 deg\/s, above the limit of 120 deg\/s .*cannot be stretched\); bring the robot nearer its init pose first .*speed\.body_deg_per_s raised to at least 188/);
    // Its head at yaw 20° (no lift), the goto to sleep takes 2 s: 93.75 °/s, within.
    expect(sequenceSpeed('goto_sleep', headYaw(20, 85), DEFAULT_SPEED_LIMITS).refusal).toBeNull();
  });

  test('wake_up: the emote is the same from any pose; a first goto a tick long turning the body is allowed by no limit', () => {
    const emote = sequenceSpeed('wake_up', ASLEEP, { ...DEFAULT_SPEED_LIMITS, head_deg_per_s: 100 }).refusal;
    expect(emote).toMatchObject({ axis: 'head_roll_deg', limit: 100 });
    expect(emote?.message).toMatch(/the same from any pose: have speed\.head_deg_per_s raised to at least 188/);
    // The head 1° off init (past the 0.01 at which it stands down), the body at 60°: its first goto lasts 0.02 s.
    const snap = sequenceSpeed('wake_up', headYaw(1, 60), DEFAULT_SPEED_LIMITS).refusal;
    expect(snap).toMatchObject({ axis: 'body_yaw_deg', limit: 120 });
    expect(snap?.peak_speed).toBeGreaterThan(MAX_SPEED_LIMITS.body_deg_per_s);
    expect(snap?.message).toMatch(/with the motors off, turn the robot by hand nearer its init pose .*no speed\.body_deg_per_s allows it \(at most 1000\)/);
  });
});
