// The motion executor's stop hold over /ws/sdk right after the socket came back (README "Safety:
// what a stop guarantees"), against the emulator behind a proxy that cuts the link: a realtime
// target, the link drops, another client moves the robot, the link returns and a stop sweeps at
// once, before the daemon's first push on the new connection. The hold must not send the robot to
// the pose pushed before the drop (the daemon applies a hold in one tick, at no speed limit).
import { afterEach, expect, test } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { closeDaemonLink, openDaemonLink } from '../../src/actors/daemon-link.ts';
import { createMotionExecutor } from '../../src/actors/motion-executor.ts';
import type { ExecuteInput } from '../../src/machines/motion.machine.ts';
import { DaemonHttpClient } from '../../src/adapters/daemon-http.ts';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';
import { startEmulator } from '../../src/sim/emulator.ts';
import { startCutProxy } from '../harness/tcp-cut-proxy.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough for the emulator to push the new target's pose, and for a goto of 0.2 s to end. */
const SETTLE_MS = 400;

test('a stop right after /ws/sdk reconnects holds where the robot is, not where the last connection saw it', async () => {
  const emulator = await startEmulator();
  cleanups.push(() => emulator.close());
  const proxy = await startCutProxy(emulator.port);
  cleanups.push(() => proxy.close());
  const link = openDaemonLink(`http://127.0.0.1:${proxy.port}`, 'websocket');
  cleanups.push(() => closeDaemonLink(link));
  expect(await link.sdk!.waitOpen(3_000)).toBe(true);
  const executor = createMotionExecutor({ link: () => link, mayMove: () => null, report: () => undefined, policy: () => DEFAULT_SAFETY_POLICY });
  // → antennas target (5°-ish): pushed back on this connection.
  const input = { requestId: 'r1', epoch: 0, owner: 'me', power: 'any', supersedes: [], command: { op: 'antennas_target', antennas: [0.05, -0.05] }, target: { kind: 'antenna_pose', right: 2.86, left: -2.86 } } as unknown as ExecuteInput;
  await toPromise(createActor(executor.executeCommand, { input }).start());
  await sleep(SETTLE_MS);
  expect(link.sdk!.latest('joint_positions')!.value.antennas_joint_positions[0]).toBeCloseTo(0.05, 3);
  // The link drops; another client turns the antennas to ±1.2 rad meanwhile.
  proxy.cut();
  const other = new DaemonHttpClient({ baseUrl: emulator.url });
  cleanups.push(() => other.close());
  await other.goto({ antennas: [1.2, -1.2], duration: 0.2 });
  await sleep(SETTLE_MS);
  // The link returns; the stop sweeps the moment /ws/sdk is open again.
  const swept = new Promise((resolve, reject) => {
    const off = link.sdk!.on('open', () => {
      off();
      toPromise(createActor(executor.stopMotion, { input: { uuids: [] } }).start()).then(resolve, reject);
    });
  });
  proxy.restore();
  await swept;
  await sleep(SETTLE_MS);
  // Before 2026-12-06 the hold went to the cached ±0.05 rad: a ~66° jump in one tick.
  expect(emulator.snapshot().antennas.map((a) => Math.round(a * 100) / 100)).toEqual([1.2, -1.2]);
}, 20_000);
