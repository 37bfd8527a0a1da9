// The limits the daemon enforces (reachy-daemon-api.md §6), as REST transcripts: body yaw pulled
// within ±65° of the head yaw then clamped to ±160° (the samples of fixtures/daemon/limits1.txt),
// and head poses with no IK solution answered `ok` but silently not applied — nothing else is
// clamped. Targets are read back from present_* routes and /full.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { get, post, WsProbe } from './protocol-client.ts';

const deg = (d: number): number => (d * Math.PI) / 180;
const toDeg = (r: number): number => (r * 180) / Math.PI;

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: 0.02 });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(async () => {
  await post(emulator.url, '/api/move/set_target', { target_head_pose: {}, target_body_yaw: 0 });
});

const bodyYawDeg = async (): Promise<number> => toDeg((await get(emulator.url, '/api/state/present_body_yaw')).json as number);
type PoseKey = 'x' | 'y' | 'z' | 'roll' | 'pitch' | 'yaw';
const headPose = async (): Promise<Record<PoseKey, number>> => (await get(emulator.url, '/api/state/present_head_pose')).json as Record<PoseKey, number>;

describe('body yaw: within ±65° of the head yaw, then ±160° (limits1.txt)', () => {
  test.each([
    ['head yaw 100°, body target 0 → body 35°', { yaw: deg(100) }, undefined, 35],
    ['head yaw 170°, body target 0 → body 105°', { yaw: deg(170) }, undefined, 105],
    ['head yaw −120°, body target 0 → body −55°', { yaw: deg(-120) }, undefined, -55],
    ['body target 170°, head yaw 0 → body 65°', undefined, deg(170), 65],
    ['body target 60°, head yaw 0 → kept', undefined, deg(60), 60],
    ['head yaw 175°, body target 175° → ±160° clamp', { yaw: deg(175) }, deg(175), 160],
  ] as const)('%s', async (_title, head, body, expectedDeg) => {
    const reply = await post(emulator.url, '/api/move/set_target', {
      ...(head ? { target_head_pose: head } : {}),
      ...(body === undefined ? {} : { target_body_yaw: body }),
    });
    expect(reply.json).toEqual({ status: 'ok' });
    expect(await bodyYawDeg()).toBeCloseTo(expectedDeg, 6);
    if (head) expect(toDeg((await headPose()).yaw)).toBeCloseTo(toDeg(head.yaw), 6);
  });

  test('a goto past the limit ends clamped, and /full agrees with present_body_yaw', async () => {
    const updates = await WsProbe.open(`${emulator.wsUrl}/api/move/ws/updates`);
    try {
      await post(emulator.url, '/api/move/goto', { body_yaw: deg(200), duration: 0.5 });
      await updates.nextOfType('move_completed');
    } finally {
      await updates.close();
    }
    expect(await bodyYawDeg()).toBeCloseTo(65, 6);
    const full = (await get(emulator.url, '/api/state/full?with_head_joints=true')).json as { body_yaw: number; head_joints: number[] };
    expect(full.head_joints[0]).toBe(full.body_yaw);
  });
});

describe('unreachable head poses: `ok`, silently dropped, previous pose kept', () => {
  test.each([
    ['z = +0.2 m (move1.txt)', { z: 0.2 }],
    ['x = +60 mm (IK limit +52.3 mm)', { x: 0.06 }],
    ['roll = 55° (IK limit ±51.9°)', { roll: deg(55) }],
    ['pitch = 55° (IK limit +50.8°)', { pitch: deg(55) }],
    ['z = −60 mm (IK limit −55.8 mm)', { z: -0.06 }],
  ] as const)('%s', async (_title, pose) => {
    await post(emulator.url, '/api/move/set_target', { target_head_pose: { yaw: deg(30) } });
    const before = await headPose();
    const reply = await post(emulator.url, '/api/move/set_target', { target_head_pose: pose });
    expect([reply.status, reply.json]).toEqual([200, { status: 'ok' }]);
    expect(await headPose()).toEqual(before);
  });

  test('reachable extremes inside the IK range are applied unclamped', async () => {
    for (const pose of [{ z: -0.05 }, { x: 0.05 }, { y: -0.045 }, { roll: deg(45) }, { pitch: deg(-70) }, { yaw: deg(100) }]) {
      await post(emulator.url, '/api/move/set_target', { target_head_pose: pose, target_body_yaw: 0 });
      const [key, value] = Object.entries(pose)[0] as [PoseKey, number];
      expect((await headPose())[key]).toBeCloseTo(value, 9);
    }
  });

  test('while the commanded head is unreachable, a body-yaw-only target is refused too (daemon keeps the bad head target)', async () => {
    await post(emulator.url, '/api/move/set_target', { target_head_pose: { z: 0.2 } });
    await post(emulator.url, '/api/move/set_target', { target_body_yaw: deg(20) });
    expect(await bodyYawDeg()).toBeCloseTo(0, 9);
    await post(emulator.url, '/api/move/set_target', { target_head_pose: {} });
    await post(emulator.url, '/api/move/set_target', { target_body_yaw: deg(20) });
    expect(await bodyYawDeg()).toBeCloseTo(20, 9);
  });

  test('an unreachable goto target is never reached: the head stops at the last solvable pose', async () => {
    const updates = await WsProbe.open(`${emulator.wsUrl}/api/move/ws/updates`);
    try {
      await post(emulator.url, '/api/move/goto', { head_pose: { z: 0.2 }, duration: 0.5 });
      expect(await updates.nextOfType('move_completed')).toMatchObject({ details: '' });
    } finally {
      await updates.close();
    }
    const z = (await headPose()).z;
    expect(z).toBeGreaterThan(0.015);
    expect(z).toBeLessThan(0.03);
  });
});
