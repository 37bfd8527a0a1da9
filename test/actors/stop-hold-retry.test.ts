// The HTTP stop's hold (README "Safety: what a stop guarantees") counts only once the daemon answered
// it: against the emulator, a realtime target is answered, then every set_target reply is lost. A
// sweep sends its hold and is abandoned for a newer stop's sweep (a second stop_motion) before the
// hold is answered; the newer sweep must send the hold again and stay unconfirmed, not confirm as if
// the lost hold had been applied (before 2026-12-06 a hold counted from the moment it was sent, so
// the newer sweep confirmed at once with no hold answered).
import { afterEach, expect, test } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { closeDaemonLink, openDaemonLink } from '../../src/actors/daemon-link.ts';
import { createMotionExecutor } from '../../src/actors/motion-executor.ts';
import type { ExecuteInput } from '../../src/machines/motion.machine.ts';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';
import { startEmulator } from '../../src/sim/emulator.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
/** Polls `done` every few ms (the emulator records what it received as it arrives). */
async function waitFor(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 2));
}
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

test('a hold whose answer never came is sent again by a newer stop\'s sweep, which stays unconfirmed', async () => {
  const emulator = await startEmulator();
  cleanups.push(() => emulator.close());
  const link = openDaemonLink(emulator.url, 'http');
  cleanups.push(() => closeDaemonLink(link));
  let stopped = false;
  const executor = createMotionExecutor({ link: () => link, mayMove: () => (stopped ? ({ _tag: 'MotionCancelled', message: 'stopped' } as never) : null), report: () => undefined, policy: () => DEFAULT_SAFETY_POLICY });
  const input = { requestId: 'r1', epoch: 1, owner: 'me', power: 'any', supersedes: [], command: { op: 'antennas_target', antennas: [0.005, 0.005] }, target: { kind: 'antenna_pose', right: 0.29, left: 0.29 } } as unknown as ExecuteInput;
  await toPromise(createActor(executor.executeCommand, { input }).start());
  // From now on the daemon applies set_target but its reply never comes.
  emulator.faults.apply({ dropReplies: [{ path: '/api/move/set_target', probability: 1 }] }, 1);
  stopped = true;
  const holds = (): number => emulator.received.filter((c) => c.path === '/api/move/set_target').length - 1;
  const first = createActor(executor.stopMotion, { input: { uuids: [] } }).start();
  await waitFor(() => holds() === 1);
  first.stop();
  const newer = toPromise(createActor(executor.stopMotion, { input: { uuids: [] } }).start());
  await expect(newer, 'no hold answered yet: not confirmed').rejects.toMatchObject({ _tag: 'DaemonTimeout' });
  expect(holds(), 'the newer sweep held again').toBe(2);
}, 20_000);
