// Acts on another device's `emergencyStop` event (prior art, reference-driver.md §13): the pure
// decision (src/safety/d2d-estop.ts) says trip or ignore; a trip goes to the root as the same
// `supervisor.trip` the supervisor subject sends (source `d2d`, owner the emitting device), so the
// interlock trips first and motion stops under the stop guarantee. Every decision is audited
// through the safety trail. Owns no subscription (the mesh adapter's) and no state.
import { randomUUID } from 'node:crypto';
import { createLogger } from '../logging/logger.ts';
import { rateLimited } from '../logging/rate-limited.ts';
import { estopDecision, estopReasonOf, type EstopDecision } from '../safety/d2d-estop.ts';

const log = createLogger('d2d-estop');
/**
 * A device outside the list may publish emergencyStop in a loop: the log says so at most once per
 * this interval (every event is still audited); trips are always logged.
 */
export const IGNORED_ESTOP_WARNING_INTERVAL_MS = 10_000;

export interface EstopListenerOptions {
  /** DEVICE_CONNECT_ESTOP_ALLOW globs (read at each event: the config in force). */
  readonly allow: () => ReadonlyArray<string>;
  readonly selfId: () => string;
  /** Sends the trip to the root (`supervisor.trip`). */
  readonly trip: (event: { type: 'supervisor.trip'; requestId: string; reason: string; owner: string; source: 'd2d' }) => void;
  /** Audits the decision (safety trail). */
  readonly record: (decision: EstopDecision) => void;
}

/** The mesh runtime's `onEmergencyStop`: decide, trip when allowed, audit either way. */
export function d2dEstopListener(options: EstopListenerOptions): (emitter: string, body: string) => void {
  const warnIgnored = rateLimited(log, 'warn', IGNORED_ESTOP_WARNING_INTERVAL_MS);
  return (emitter, body) => {
    const decision = estopDecision(options.allow(), emitter, options.selfId(), estopReasonOf(body));
    if (decision.act === 'trip') {
      log.warn('emergencyStop event from an allowed device: tripping the interlock', { emitter, reason: decision.reason });
      options.trip({ type: 'supervisor.trip', requestId: `d2d:${randomUUID()}`, reason: `emergencyStop event from ${emitter}: ${decision.reason}`, owner: emitter, source: 'd2d' });
    } else if (decision.why === 'not_allowed') {
      warnIgnored('emergencyStop event ignored: its device is not in DEVICE_CONNECT_ESTOP_ALLOW', { emitter });
    }
    options.record(decision);
  };
}
