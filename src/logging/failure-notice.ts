// "Once clearly, then rate-limited" for a peer that keeps failing (the broker, the daemon, the
// signalling server, the inspector relay, the registry): the first failure — and each change of
// cause — is a warning with the whole explanation and what to do; repeats of the same cause are
// logged at debug and summed up at warn at most once per interval; the first success after a
// logged failure says so once at info. Owns only that bookkeeping; callers choose the text, the
// cause keys and the logger. Issue 10 item 2 (builds on rate-limited.ts, which drops mesh warnings).
import type { Logger } from './logger.ts';

/**
 * A failure that lasts is repeated at warn at most this often: once a minute keeps an outage
 * visible in any log window without flooding it (a broker retried every second would print 60
 * lines a minute).
 */
export const FAILURE_REPEAT_INTERVAL_MS = 60_000;

export interface FailureNotice {
  /** One failed attempt; `cause` is the key that decides "same failure again" (e.g. `dns`, `refused`). */
  failed(cause: string, message: string, fields?: Record<string, unknown>): void;
  /** Success: one info line when a failure had been logged since the last success. */
  recovered(message: string, fields?: Record<string, unknown>): void;
  /** The cause being reported now, or null when healthy. */
  readonly failing: string | null;
}

export function failureNotice(log: Logger, intervalMs: number = FAILURE_REPEAT_INTERVAL_MS, now: () => number = Date.now): FailureNotice {
  let cause: string | null = null;
  let since = 0;
  let lastWarnAt = 0;
  let attempts = 0;
  let suppressed = 0;
  return {
    get failing() {
      return cause;
    },
    failed(next, message, fields) {
      const at = now();
      attempts += 1;
      if (next !== cause) {
        cause = next;
        since = at;
        lastWarnAt = at;
        suppressed = 0;
        log.warn(message, fields);
        return;
      }
      if (at - lastWarnAt >= intervalMs) {
        lastWarnAt = at;
        log.warn(`still failing: ${message}`, { ...fields, failing_for_s: Math.round((at - since) / 1000), attempts, suppressed_since_last: suppressed });
        suppressed = 0;
        return;
      }
      suppressed += 1;
      log.debug(`retry failed: ${message}`, { ...fields, attempts });
    },
    recovered(message, fields) {
      if (cause === null) return;
      log.info(message, { ...fields, failed_attempts: attempts, failing_for_s: Math.round((now() - since) / 1000) });
      cause = null;
      attempts = 0;
      suppressed = 0;
    },
  };
}
