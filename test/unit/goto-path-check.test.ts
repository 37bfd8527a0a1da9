// The envelope check of a goto's whole path (src/safety/goto-path-check.ts): a law that overshoots
// its ends is refused where the swing leaves the envelope; laws that stay between the present pose
// and the target pass; a path from a pose already outside a narrowed envelope back towards it is not
// refused for where it starts.
import { expect, test } from 'vitest';
import { gotoPathRefusal, pathViolations } from '../../src/safety/goto-path-check.ts';
import { MECHANICAL_RANGES, type Envelope } from '../../src/safety/safety-policy.ts';

const rad = (deg: number) => (deg * Math.PI) / 180;
const at = (yaw: number, roll = 0) => ({ head: { x: 0, y: 0, z: 0, roll: rad(roll), pitch: 0, yaw: rad(yaw) }, bodyYaw: 0, antennas: [0, 0] as const });
const YAW_30: Envelope = { ...MECHANICAL_RANGES, head_yaw_deg: { min: -30, max: 30 } };

test('cartoon from yaw -30 to 30 under ±30 swings to ±36: refused, naming the laws that stay inside', () => {
  const refusal = gotoPathRefusal(YAW_30, 'goto_pose', at(-30), { head: at(30).head }, 'cartoon');
  expect(refusal?._tag).toBe('OutsideEnvelope');
  expect(refusal?.message).toMatch(/the cartoon path from the present pose overshoots .*head_yaw_deg reaches -36\.01, outside \[-30, 30\].*linear, minjerk, ease_in_out stay inside/);
  expect(refusal?.violations).toEqual([{ axis: 'head_yaw_deg', value: expect.closeTo(-36.01, 2), min: -30, max: 30 }]);
});

test('the other laws stay between the ends: no violation', () => {
  for (const law of ['linear', 'minjerk', 'ease_in_out'] as const) expect(pathViolations(YAW_30, at(-30), { head: at(30).head }, law)).toEqual([]);
  expect(gotoPathRefusal(YAW_30, 'goto_pose', at(0), { head: at(20).head }, 'cartoon')).toBeNull();
});

test('from outside a narrowed envelope back towards it: min-jerk passes, a cartoon swing further out is refused', () => {
  expect(gotoPathRefusal(YAW_30, 'goto_pose', at(40), { head: at(0).head }, 'minjerk')).toBeNull();
  expect(gotoPathRefusal(YAW_30, 'goto_pose', at(40), { head: at(0).head }, 'cartoon')?.violations[0]).toMatchObject({ axis: 'head_yaw_deg', value: expect.closeTo(44, 0) });
});

test('roll swings too, and the joints: antennas and body yaw are checked on the path', () => {
  const roll = { ...MECHANICAL_RANGES, head_roll_deg: { min: -20, max: 20 } };
  expect(pathViolations(roll, at(0, -20), { head: at(0, 20).head }, 'cartoon').map((v) => v.axis)).toEqual(['head_roll_deg']);
  const antenna = { ...MECHANICAL_RANGES, antenna_left_deg: { min: -20, max: 20 } };
  expect(pathViolations(antenna, at(0), { antennas: [0, rad(20)] }, 'cartoon')).toEqual([{ axis: 'antenna_left_deg', value: expect.closeTo(22, 0), min: -20, max: 20 }]);
});
