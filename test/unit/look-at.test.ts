// look-at maths against the daemon's own samples (reachy-daemon-api.md §8): `lookAtRpyDeg`
// (src/robot/look-at.ts) gives the published roll, pitch and yaw for four world points, and a point
// straight behind the head turns 180° about Z. Pure maths only: what look_at_point does with the
// angles (envelope, zero offsets) is test/unit/envelope-check.test.ts.
import { expect, test } from 'vitest';
import { lookAtRpyDeg } from '../../src/robot/look-at.ts';

test.each([
  [[1, 0, 0], { roll: 0, pitch: 0, yaw: 0 }],
  [[0.5, 0.5, 0], { roll: 0, pitch: 0, yaw: 45 }],
  [[0.5, 0, 0.5], { roll: 0, pitch: -45, yaw: 0 }],
  [[0.5, 0.2, -0.1], { roll: 2.03, pitch: 10.52, yaw: 21.8 }],
])('look at %j', ([x, y, z], expected) => {
  const rpy = lookAtRpyDeg(x!, y!, z!);
  expect(rpy.roll).toBeCloseTo(expected.roll, 1);
  expect(rpy.pitch).toBeCloseTo(expected.pitch, 1);
  expect(rpy.yaw).toBeCloseTo(expected.yaw, 1);
});

test('behind the head turns 180° about Z', () => {
  const rpy = lookAtRpyDeg(-1, 0, 0);
  expect(Math.abs(rpy.yaw)).toBeCloseTo(180, 5);
});
