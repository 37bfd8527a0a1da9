// Where the daemon takes the body for a head move (src/robot/body-follow.ts, the rule the emulator
// applies; src/safety/body-follow-check.ts, the driver's checks of it): the body is pulled to within
// 65° of the head's world yaw, then clamped to ±160°; a head-only command that pulls it outside the
// body envelope is refused naming body_yaw_deg, and its travel counts against the body speed limit.
import { expect, test } from 'vitest';
import { resolveBodyYaw } from '../../src/robot/body-follow.ts';
import { poseFromXyzRpy } from '../../src/robot/pose-math.ts';
import { peakSpeedFactor } from '../../src/robot/time-laws.ts';
import { bodyHeldShort, bodyYawAt, pulledBodyRefusal, pulledBodyTravel, pulledRampSeconds, realtimeBodyEnd, realtimeBodyEnds } from '../../src/safety/body-follow-check.ts';
import { DEFAULT_SPEED_LIMITS, MECHANICAL_RANGES, type Envelope } from '../../src/safety/safety-policy.ts';
import { gotoExcess, rampStep, stepSize, type RobotPosition } from '../../src/safety/speed-limits.ts';
import { planRealtime } from '../../src/actors/speed-guard.ts';

const rad = (deg: number) => (deg * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;
const head = (yaw: number, pitch = 0) => ({ x: 0, y: 0, z: 0, roll: 0, pitch: rad(pitch), yaw: rad(yaw) });
const at = (headYaw: number, bodyYaw: number): RobotPosition => ({ head: head(headYaw), bodyYaw: rad(bodyYaw), antennas: [0, 0] });
const BODY_60_110: Envelope = { ...MECHANICAL_RANGES, body_yaw_deg: { min: 60, max: 110 } };

test('the daemon rule: the body is pulled to within 65° of the head, then clamped to ±160° (daemon-api §6 item 2, observed values)', () => {
  expect(deg(resolveBodyYaw(poseFromXyzRpy(head(100)), 0))).toBeCloseTo(35, 9);
  expect(deg(resolveBodyYaw(poseFromXyzRpy(head(0)), rad(170)))).toBeCloseTo(65, 9);
  expect(deg(resolveBodyYaw(poseFromXyzRpy(head(0)), rad(60)))).toBeCloseTo(60, 9);
  expect(deg(resolveBodyYaw(poseFromXyzRpy(head(175)), rad(175)))).toBeCloseTo(160, 9);
});

test('a head target predicts the body from the present body yaw: a goto at its end, a realtime target at once', () => {
  expect(deg(bodyYawAt(at(45, 90), { head: head(-45) }, 1))).toBeCloseTo(20, 6);
  expect(deg(bodyYawAt(at(45, 90), { head: head(-45) }, 0))).toBeCloseTo(90, 6);
  // Halfway (yaw 0) the body is pulled to 65°.
  expect(deg(bodyYawAt(at(45, 90), { head: head(-45) }, 0.5))).toBeCloseTo(65, 6);
  // A body target too far from the head is clamped as well.
  expect(deg(bodyYawAt(at(-45, 20), { bodyYaw: rad(90) }, 1))).toBeCloseTo(20, 6);
});

test('pulled outside the body envelope: refused naming body_yaw_deg and saying the daemon would pull it', () => {
  for (const method of [null, 'minjerk'] as const) {
    const refusal = pulledBodyRefusal(BODY_60_110, 'look_at_world', at(45, 90), { head: head(-45) }, method);
    expect(refusal?._tag).toBe('OutsideEnvelope');
    expect(refusal?.message).toMatch(/look_at_world: the daemon would pull the body to body_yaw_deg 20 .*within 65° of the head's yaw.*outside \[60, 110\]/);
    expect(refusal?.violations).toEqual([{ axis: 'body_yaw_deg', value: expect.closeTo(20, 3), min: 60, max: 110 }]);
  }
});

test('not pulled, or pulled and still inside, or not moved: no refusal', () => {
  expect(pulledBodyRefusal(BODY_60_110, 'look_at_world', at(45, 90), { head: head(30) }, null)).toBeNull();
  expect(pulledBodyRefusal(BODY_60_110, 'look_at_world', at(45, 90), { head: head(0) }, 'minjerk')).toBeNull(); // to 65
  expect(pulledBodyRefusal(BODY_60_110, 'goto_pose', at(45, 90), { antennas: [0, 0] }, 'minjerk')).toBeNull();
  // The body already outside a narrowed envelope, not moved by the head: the head may move.
  expect(pulledBodyRefusal(BODY_60_110, 'look_at_world', at(0, 20), { head: head(10) }, null)).toBeNull();
});

test('a cartoon swing pulls the body past both ends of its path: refused on the path although the end is inside', () => {
  const envelope: Envelope = { ...MECHANICAL_RANGES, body_yaw_deg: { min: 73, max: 110 } };
  // Head 45 → 10 pulls the body 90 → 75; cartoon swings the head ~10 % of its travel past 10, to ~6.5.
  expect(pulledBodyRefusal(envelope, 'goto_pose', at(45, 90), { head: head(10) }, 'minjerk')).toBeNull();
  const swing = pulledBodyRefusal(envelope, 'goto_pose', at(45, 90), { head: head(10) }, 'cartoon');
  expect(swing?.violations[0]).toMatchObject({ axis: 'body_yaw_deg', value: expect.closeTo(71.5, 0) });
});

test('the pulled body counts against the body speed limit: a goto is as fast as the head yaw where it pulls', () => {
  // Head 45 → -45 over 1 s min-jerk: the head peaks at 168.75°/s at mid-move, where the body (90 → 20) is pulled.
  const travel = pulledBodyTravel(at(45, 90), { head: head(-45) }, DEFAULT_SPEED_LIMITS, 'minjerk');
  expect(travel?.axis).toBe('body_yaw_deg');
  const excess = gotoExcess(travel ? [travel] : [], 1, 'minjerk');
  expect(excess?.axis).toBe('body_yaw_deg');
  expect(excess?.peakSpeed).toBeCloseTo(1.875 * 90, 0);
  expect(excess?.shortestDurationS).toBeCloseTo((1.875 * 90) / 120, 2);
  // Pulled only in the slow tail of the move: far less than the head's travel.
  const tail = pulledBodyTravel(at(0, -25), { head: head(45) }, DEFAULT_SPEED_LIMITS, 'minjerk');
  expect((peakSpeedFactor('minjerk') * Math.abs(tail?.delta ?? 0)) / 0.5).toBeLessThan(120);
  // Not pulled: no travel.
  expect(Math.abs(pulledBodyTravel(at(0, 0), { head: head(30) }, DEFAULT_SPEED_LIMITS, 'minjerk')?.delta ?? 0)).toBeLessThan(1e-6);
  expect(pulledBodyTravel(at(0, 0), { head: head(30) }, DEFAULT_SPEED_LIMITS, null)).toBeNull();
  // A realtime target: the jump itself.
  expect(pulledBodyTravel(at(45, 90), { head: head(-45) }, DEFAULT_SPEED_LIMITS, null)?.delta).toBeCloseTo(-70, 6);
});

test('a ramp step of a head target keeps the pulled body within one body step; the ramp is timed for it', () => {
  const present = at(0, 65); // on the pull boundary: every degree of head yaw to the right drags the body
  const { next, reached } = rampStep(present, { head: head(-45) }, DEFAULT_SPEED_LIMITS);
  expect(reached).toBe(false);
  const moved = deg(resolveBodyYaw(poseFromXyzRpy(next.head!), present.bodyYaw)) - 65;
  expect(Math.abs(moved)).toBeCloseTo(stepSize(DEFAULT_SPEED_LIMITS.body_deg_per_s), 3);
  // The head alone would have stepped farther (200°/s vs 120°/s).
  expect(Math.abs(deg(next.head!.yaw))).toBeLessThan(stepSize(DEFAULT_SPEED_LIMITS.head_deg_per_s));
  // Unpulled part at the head's step, pulled part at the body's.
  const seconds = pulledRampSeconds(at(45, 90), { head: head(-45) }, DEFAULT_SPEED_LIMITS, 20);
  expect(seconds).toBeCloseTo(Math.ceil(20 / 3.2 + 70 / 1.92) * 0.02, 6);
});

test('a realtime head target pulls from the body target the daemon holds: after a drag the body swings back toward it', () => {
  // Head at -45° has dragged a body held at 90° to 20°; the daemon still holds 90°.
  const dragged: RobotPosition = { ...at(-45, 20), heldBodyYaws: [rad(90)] };
  expect(deg(realtimeBodyEnd(dragged, { head: head(45) }))).toBeCloseTo(90, 6);
  expect(deg(realtimeBodyEnd(at(-45, 20), { head: head(45) }))).toBeCloseTo(20, 6);
  // A goto starts the body from the present yaw whatever the daemon held.
  expect(deg(bodyYawAt(dragged, { head: head(45) }, 1))).toBeCloseTo(20, 6);
  // Envelope [0, 60]: refused naming body_yaw_deg 90 (from the present yaw: accepted).
  const BODY_0_60: Envelope = { ...MECHANICAL_RANGES, body_yaw_deg: { min: 0, max: 60 } };
  expect(pulledBodyRefusal(BODY_0_60, 'look_at_world', dragged, { head: head(45) }, null)?.violations).toEqual([{ axis: 'body_yaw_deg', value: expect.closeTo(90, 3), min: 0, max: 60 }]);
  expect(pulledBodyRefusal(BODY_0_60, 'look_at_world', at(-45, 20), { head: head(45) }, null)).toBeNull();
  // The swing counts against the body speed limit, and the ramp is timed and stepped for it.
  expect(pulledBodyTravel(dragged, { head: head(45) }, DEFAULT_SPEED_LIMITS, null)?.delta).toBeCloseTo(70, 6);
  expect(pulledBodyTravel(at(-45, 20), { head: head(45) }, DEFAULT_SPEED_LIMITS, null)).toBeNull();
  expect(pulledRampSeconds(dragged, { head: head(45) }, DEFAULT_SPEED_LIMITS, 20)).toBeCloseTo(Math.ceil(20 / 3.2 + 70 / 1.92) * 0.02, 6);
  const { next } = rampStep(dragged, { head: head(45) }, DEFAULT_SPEED_LIMITS);
  const swung = deg(resolveBodyYaw(poseFromXyzRpy(next.head!), rad(90))) - 20;
  expect(swung).toBeCloseTo(stepSize(DEFAULT_SPEED_LIMITS.body_deg_per_s), 3);
});

test('a body target the head keeps short: ramped up to where the body stops, then the goal itself (the daemon holds it); the ramp timed for that travel', () => {
  const step = stepSize(DEFAULT_SPEED_LIMITS.body_deg_per_s);
  // Head at 0°, body at 30°, asked 100°: one body step toward it.
  const early = rampStep(at(0, 30), { bodyYaw: rad(100) }, DEFAULT_SPEED_LIMITS);
  expect(early.reached).toBe(false);
  expect(deg(early.next.bodyYaw!)).toBeCloseTo(30 + step, 6);
  // At 65° the body goes no further: the goal itself is written (before: 65° + a step, until the ramp's deadline).
  const stopped = rampStep(at(0, 65), { bodyYaw: rad(100) }, DEFAULT_SPEED_LIMITS, { bodyYaw: rad(65 + step / 2) });
  expect(stopped.reached).toBe(true);
  expect(deg(stopped.next.bodyYaw!)).toBeCloseTo(100, 9);
  // Within a step of 65° on the way: the goal moves the body less than a step.
  expect(rampStep(at(0, 65 - step / 2), { bodyYaw: rad(100) }, DEFAULT_SPEED_LIMITS).reached).toBe(true);
  // A recent head target the daemon may hold: the goal only when it keeps the body within a step too.
  expect(rampStep(at(0, 65), { bodyYaw: rad(100) }, DEFAULT_SPEED_LIMITS, { head: head(10) }).reached).toBe(false);
  // The ramp's length: 65° of body travel, not 100°.
  const plan = planRealtime(at(0, 0), { bodyYaw: rad(100) }, DEFAULT_SPEED_LIMITS, {});
  expect(plan.kind).toBe('ramp');
  if (plan.kind === 'ramp') expect(plan.limited.duration_s).toBeCloseTo(Math.ceil(65 / step) * 0.02, 6);
});

test('body_held_short: where the daemon keeps a body the command names short of its target', () => {
  expect(bodyHeldShort(at(0, 0), { bodyYaw: rad(100) })).toEqual({ body_yaw_deg: 65, head_yaw_deg: 0, target_body_yaw_deg: 100 });
  // A goto's end: its own head.
  expect(bodyHeldShort(at(0, 0), { head: head(45), bodyYaw: rad(-100) })).toEqual({ body_yaw_deg: -20, head_yaw_deg: 45, target_body_yaw_deg: -100 });
  expect(bodyHeldShort(at(0, 0), { bodyYaw: rad(60) })).toBeNull();
  expect(bodyHeldShort(at(0, 0), { head: head(30) })).toBeNull();
});

test('after a daemon socket closed, the body target known before or the present yaw: each end checked, the farther one travelled', () => {
  // The head at 0° keeps a body held at 100° at 65°; the socket closed since: 100° or 65°.
  const either: RobotPosition = { ...at(0, 65), heldBodyYaws: [rad(100), rad(65)] };
  const BODY_0_80: Envelope = { ...MECHANICAL_RANGES, body_yaw_deg: { min: 0, max: 80 } };
  // A head turn to 30° takes the body to 95° if the daemon still holds 100°: refused.
  expect(pulledBodyRefusal(BODY_0_80, 'look_at_world', either, { head: head(30) }, null)?.violations).toEqual([{ axis: 'body_yaw_deg', value: expect.closeTo(95, 3), min: 0, max: 80 }]);
  // Known to hold 65°: the body stays, nothing to refuse.
  expect(pulledBodyRefusal(BODY_0_80, 'look_at_world', { ...at(0, 65), heldBodyYaws: [rad(65)] }, { head: head(30) }, null)).toBeNull();
  // The farther end is travelled and ramped for.
  expect(realtimeBodyEnds(either, { head: head(30) }).map(deg)).toEqual([expect.closeTo(95, 6), expect.closeTo(65, 6)]);
  expect(pulledBodyTravel(either, { head: head(30) }, DEFAULT_SPEED_LIMITS, null)?.delta).toBeCloseTo(30, 6);
  const { next } = rampStep(either, { head: head(30) }, DEFAULT_SPEED_LIMITS);
  expect(deg(resolveBodyYaw(poseFromXyzRpy(next.head!), rad(100))) - 65).toBeLessThanOrEqual(stepSize(DEFAULT_SPEED_LIMITS.body_deg_per_s) + 1e-9);
  expect(deg(next.head!.yaw)).toBeGreaterThan(0);
});
