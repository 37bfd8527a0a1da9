// A warning that cannot flood the log: the first occurrence is written at once, later ones at most
// once per interval, each line saying how many were suppressed since the last. Owns only that
// throttling; the caller chooses the logger, level and interval. Used for dropped mesh messages.
import type { Logger } from './logger.ts';

export type RateLimitedLog = (message: string, fields?: Record<string, unknown>) => void;

export function rateLimited(log: Logger, level: 'warn' | 'error', intervalMs: number, now: () => number = Date.now): RateLimitedLog {
  let lastAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (message, fields) => {
    const at = now();
    if (at - lastAt < intervalMs) {
      suppressed += 1;
      return;
    }
    lastAt = at;
    log[level](message, suppressed > 0 ? { ...fields, suppressed_since_last: suppressed } : fields);
    suppressed = 0;
  };
}
