// Letting go of one robot — before the driver points at another (a settings change of the daemon
// target) or before it stops (SIGTERM, Ctrl-C, the settings app stopping): stop motion as
// stop_motion does, then wait until it has settled there — the stop confirmed, nothing commanded or
// moving, no cancelled request whose move could still start. Owns that wait, its bounds and why it
// did not settle; the swap is robot-runtime.ts's `retarget`, the shutdown its `stopMotionForShutdown`,
// what a stop means motion.machine.ts's. README "Safety: what a stop guarantees" (a stop answered
// before the driver left must hold on the robot it left, where nothing would watch a late move any more).
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

/**
 * How long shutdown waits for motion to settle before it goes on regardless. A stop answers within
 * 250 ms and a failed sweep is tried again every 250 ms, so a daemon slow by a second still confirms
 * within it; short enough that the whole shutdown (this, the audit's 2 s drain, the mesh drain) ends
 * well inside the 10 s the dashboard gives the driver before SIGKILL (launcher.py STOP_GRACE_S).
 */
export const SHUTDOWN_STOP_WAIT_MS = 2_000;

/** How a leave stops and how long it waits (the retarget's by default). */
export interface LeaveOptions {
  /** The stop's owner, as a stop_motion caller's (audited with the stop's reason, ends held approvals). */
  readonly owner: string;
  readonly waitMs: number;
  /**
   * Stop waiting once a sweep has failed while the daemon link is not up: that daemon is not heard
   * from again before the driver goes (shutdown), so waiting out `waitMs` would only hold it back.
   */
  readonly endWhenUnreachable: boolean;
}

const RETARGET: LeaveOptions = { owner: 'reconfigure', waitMs: LEAVE_SETTLE_WAIT_MS, endWhenUnreachable: false };

/** The options of the stop before the driver stops. */
export const SHUTDOWN: LeaveOptions = { owner: 'shutdown', waitMs: SHUTDOWN_STOP_WAIT_MS, endWhenUnreachable: true };

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
 * The stop cannot be confirmed now: the daemon link is down and either a sweep failed (motion waits
 * to retry it) or the link never connected in this run (nothing was ever sent to that daemon from
 * here, and a stop could not reach it: a driver pointed at a robot it never reached stops at once).
 */
function unreachable(children: DriverChildren): boolean {
  const connection = children.connection.getSnapshot();
  if (connection.value === 'connected') return false;
  return children.motion.getSnapshot().value === 'stopRetry' || connection.context.connects === 0;
}

/**
 * Stops motion (as `stop_motion` by `options.owner`) and resolves once it has settled (null), or
 * after `options.waitMs` — or, with `endWhenUnreachable`, as soon as the daemon proved unreachable —
 * with the reason it has not.
 */
export function leaveRobot(driver: Actor<DriverMachine>, options: LeaveOptions = RETARGET): Promise<string | null> {
  const children = (): DriverChildren => driver.getSnapshot().context.children;
  driver.send({ type: 'rpc.stop_motion', requestId: `${options.owner}:${randomUUID()}`, owner: options.owner });
  const reason = () => unsettledReason(children().motion.getSnapshot(), Date.now());
  if (reason() === null) return Promise.resolve(null);
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const s of subscriptions) s.unsubscribe();
      resolve(reason());
    };
    const timer = setTimeout(done, options.waitMs);
    const check = (): void => {
      if (reason() === null || (options.endWhenUnreachable && unreachable(children()))) done();
    };
    const subscriptions = [children().motion.subscribe(check), children().connection.subscribe(check)];
  });
}
