// get_joints from the /ws/sdk caches (src/actors/robot-reads.ts): the reply is dated by the joints
// push, so a head pose that stopped being pushed while the joints still are is left out (null),
// never passed on under the joints' fresh date; when both are old, both go out marked stale.
import { expect, test } from 'vitest';
import type { DaemonLink } from '../../src/actors/daemon-link.ts';
import { answerRobotRead } from '../../src/actors/robot-reads.ts';

const IDENTITY = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
const push = <T>(value: T, ageMs: number, stale: boolean) => ({ value, receivedAt: Date.now() - ageMs, ageMs, stale, thisConnection: !stale });

function linkWith(jointsStale: boolean, poseStale: boolean): DaemonLink {
  const cache: Record<string, unknown> = {
    joint_positions: push({ type: 'joint_positions', head_joint_positions: [0.1, 0, 0, 0, 0, 0, 0], antennas_joint_positions: [0, 0] }, jointsStale ? 3_000 : 20, jointsStale),
    head_pose: push({ type: 'head_pose', head_pose: IDENTITY }, poseStale ? 3_000 : 20, poseStale),
  };
  return { sdk: { latest: (type: string) => cache[type] } } as unknown as DaemonLink;
}

test('fresh joints, fresh head pose: both', async () => {
  const answer = await answerRobotRead('get_joints', linkWith(false, false), null, 'connected');
  expect(answer).toMatchObject({ ok: true, result: { stale: false, head_pose: { yaw: 0, roll: 0, z_mm: 0 } } });
});

test('fresh joints, head pose no longer pushed: head_pose null (before 2026-12-06 the old pose went out as fresh)', async () => {
  const answer = await answerRobotRead('get_joints', linkWith(false, true), null, 'connected');
  expect(answer).toMatchObject({ ok: true, result: { stale: false, head_pose: null } });
});

test('both old: both go out, marked stale', async () => {
  const answer = await answerRobotRead('get_joints', linkWith(true, true), null, 'connected');
  expect(answer).toMatchObject({ ok: true, result: { stale: true, head_pose: { yaw: 0 } } });
});
