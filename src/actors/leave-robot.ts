// Letting go of one robot before the driver points at another (a settings change of the daemon
// target): stop on the old link, then wait until motion has settled there — the stop confirmed,
// nothing commanded or moving, no cancelled request whose move could still start. Owns that wait
// and why it did not settle; the swap is robot-runtime.ts's `retarget`, what a stop means is
// motion.machine.ts's. README "Safety: what a stop guarantees" (a stop answered before the driver
// left must hold on the robot it left, where nothing would watch a late move any more).
import { randomUUID } from 'node:crypto';
import type { Actor, SnapshotFrom } from 'xstate';
import type { DriverChildren } from '../machines/driver-policy.ts';
import type { DriverMachine } from '../machines/driver.machine.ts';
import { executionStateName, liveOrphans, type MotionMachine } from '../machines/motion.machine.ts';

/**
 * How long a retarget waits for motion to settle on the old link. A stop answers within 250 ms and
 * a failed sweep is tried again every 250 ms, so a daemon slow by a second or two still confirms
 * within it; a settings save answers within a few seconds either way.
 */
export const LEAVE_SETTLE_WAIT_MS = 3_000;

/** Null when the driver may leave the robot now; else what still holds it (the reason given back). */
export function unsettledReason(motion: SnapshotFrom<MotionMachine>, now: number): string | null {
  const state = executionStateName(motion.value);
  if (state === 'stopping' || motion.context.stopConfirmed === false) return 'the stop is not confirmed by the daemon yet';
  if (state === 'commanded' || state === 'moving') return `a command is ${state === 'moving' ? 'moving the robot' : 'on its way to the daemon'}`;
  const orphans = liveOrphans(motion.context.orphans, now);
  if (orphans.length > 0) return `${orphans.length} cancelled command(s) may still start a move (their outcome is unknown)`;
  return null;
}

/**
 * Stops motion (as `stop_motion` by `reconfigure`) and resolves once it has settled (null), or after
 * LEAVE_SETTLE_WAIT_MS with the reason it has not.
 */
export function leaveRobot(driver: Actor<DriverMachine>, waitMs = LEAVE_SETTLE_WAIT_MS): Promise<string | null> {
  const motion = (): DriverChildren['motion'] => driver.getSnapshot().context.children.motion;
  driver.send({ type: 'rpc.stop_motion', requestId: `retarget:${randomUUID()}`, owner: 'reconfigure' });
  const reason = () => unsettledReason(motion().getSnapshot(), Date.now());
  if (reason() === null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve(reason());
    };
    const timer = setTimeout(done, waitMs);
    const subscription = motion().subscribe(() => {
      if (reason() === null) done();
    });
  });
}
