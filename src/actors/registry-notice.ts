// What the driver says when the registry does not register it (infra discovery,
// device-connect-protocol.md §2.5): nobody answers (no registry runs on this tenant), the request
// timed out, the broker refused it, the registry answered a JSON-RPC error (cause
// `registry_error:<code>`, e.g. -32603 while its etcd is down) or a reply without a registration id
// (`registry_reply_invalid`) — each once at warn with what to do, then rate-limited
// (logging/failure-notice.ts), the reply cut to an excerpt. Owns the wording and the cause keys;
// the mesh machine owns the back-off. Issue 10 item 2 ("missing registry").
import type { FailureNotice } from '../logging/failure-notice.ts';
import { causeOf, describeCause } from '../adapters/network-cause.ts';
import { REGISTER_BACKOFF_BASE_MS, REGISTER_BACKOFF_MAX_MS } from '../machines/mesh.machine.ts';
import { excerpt } from '../logging/excerpt.ts';
import { rpcErrorOf } from '../protocol/json-rpc.ts';

const D2D_ADVICE = 'start the Device Connect registry for this tenant, or run the driver with --discovery-mode d2d (presence on the mesh, no registry needed)';
const REGISTRY_ERROR_ADVICE = 'the registry runs but cannot register devices (its store, e.g. etcd, down?): check the registry\'s log';
const CADENCE = `retrying with back-off ${REGISTER_BACKOFF_BASE_MS / 1000} s → ${REGISTER_BACKOFF_MAX_MS / 1000} s`;

export function reportRegistryFailure(notice: FailureNotice, subject: string, error: unknown): void {
  const { cause, code, detail } = causeOf(error);
  const what =
    cause === 'no_responders'
      ? `no registry answers on ${subject}`
      : cause === 'timeout'
        ? `the registry did not answer on ${subject} in time`
        : `registration on ${subject} failed: ${describeCause(cause)}`;
  notice.failed(cause, `${what}; ${CADENCE} — ${D2D_ADVICE}`, { subject, cause, code, error: detail });
}

/** The registry answered, but not with a registration id: its error (by code) or an unusable reply. */
export function reportRegistryReply(notice: FailureNotice, subject: string, reply: unknown): void {
  const error = rpcErrorOf(reply);
  if (error) {
    const cause = `registry_error:${error.code}`;
    notice.failed(cause, `the registry on ${subject} answered error ${error.code} (${excerpt(error.message)}); ${CADENCE} — ${REGISTRY_ERROR_ADVICE}`, { subject, cause, code: error.code });
    return;
  }
  const cause = 'registry_reply_invalid';
  notice.failed(cause, `the registry on ${subject} answered without a registration id; ${CADENCE} — ${REGISTRY_ERROR_ADVICE}`, { subject, cause, reply: excerpt(reply) });
}
