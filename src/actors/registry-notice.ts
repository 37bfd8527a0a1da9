// What the driver says when the registry does not answer its registerDevice requests (infra
// discovery, device-connect-protocol.md §2.5): nobody answers (no registry runs on this tenant),
// the request timed out, or the broker refused it — each once at warn with what to do, then
// rate-limited (logging/failure-notice.ts). Owns the wording; the mesh machine owns the back-off.
// Issue 10 item 2 ("missing registry").
import type { FailureNotice } from '../logging/failure-notice.ts';
import { causeOf, describeCause } from '../adapters/network-cause.ts';
import { REGISTER_BACKOFF_BASE_MS, REGISTER_BACKOFF_MAX_MS } from '../machines/mesh.machine.ts';

const D2D_ADVICE = 'start the Device Connect registry for this tenant, or run the driver with --discovery-mode d2d (presence on the mesh, no registry needed)';

export function reportRegistryFailure(notice: FailureNotice, subject: string, error: unknown): void {
  const { cause, code, detail } = causeOf(error);
  const what =
    cause === 'no_responders'
      ? `no registry answers on ${subject}`
      : cause === 'timeout'
        ? `the registry did not answer on ${subject} in time`
        : `registration on ${subject} failed: ${describeCause(cause)}`;
  const cadence = `retrying with back-off ${REGISTER_BACKOFF_BASE_MS / 1000} s → ${REGISTER_BACKOFF_MAX_MS / 1000} s`;
  notice.failed(cause, `${what}; ${cadence} — ${D2D_ADVICE}`, { subject, cause, code, error: detail });
}
