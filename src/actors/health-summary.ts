// One line at info every minute saying how the driver is: mesh, daemon link, media, interlock and
// lease, each read from the root's children at that moment (the children's snapshots are the only
// truth: this keeps no state of its own). An operator tailing the log, or reading it after the
// fact, sees the current picture without asking for get_status. Owns the timer and the wording.
// Issue 10 item 2 ("a one-line health summary").
import { createLogger, type Logger } from '../logging/logger.ts';
import type { GateView } from '../machines/driver-policy.ts';

const log = createLogger('health');

/** Once a minute: often enough to date a change in any log excerpt, rare enough to stay out of the way. */
export const HEALTH_SUMMARY_INTERVAL_MS = 60_000;

function secondsLeft(expiresAt: number, now: number): number {
  return Math.max(0, Math.round((expiresAt - now) / 1000));
}

/** The summary's fields, from one read of the root's view. */
export function healthFields(view: GateView, now: number = Date.now()): Record<string, string> {
  const lease = view.lease.owner === null ? 'free' : `${view.lease.owner}(${secondsLeft(view.lease.expiresAt, now)}s)`;
  return {
    mesh: view.mesh.state,
    daemon: view.connection.state,
    media: view.media.state,
    interlock: view.interlock.state === 'tripped' ? `tripped(${view.interlock.reason ?? 'no reason'})` : 'safe',
    lease,
    execution: view.motion.state,
  };
}

/** Logs the summary every `intervalMs` until stopped; `read` is called at each tick. */
export function startHealthSummary(read: () => GateView, intervalMs: number = HEALTH_SUMMARY_INTERVAL_MS, logger: Logger = log): { stop(): void } {
  const timer = setInterval(() => {
    let fields: Record<string, string>;
    try {
      fields = healthFields(read());
    } catch {
      return; // the root is stopping: nothing to summarise
    }
    logger.info('health', fields);
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
