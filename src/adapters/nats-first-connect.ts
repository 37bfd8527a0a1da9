// The first connection to the broker, made visible: nats.js' own "wait on first connect" retries in
// silence (a wrong URL printed nothing for 45 s, even at debug), so each attempt is one pass over the
// servers and a failure says which URL, why (DNS, refused, timeout, TLS, authorization) and how often
// it is retried — once at warn, then rate-limited (logging/failure-notice.ts). The mesh machine owns
// the retry (its `connectBackoff`, and `lastError` shows the cause). Once connected, nats.js owns
// reconnects (nats-link.ts logs them); the configured servers that failed during that first pass
// are put back into its pool, so a cluster node that was down at start is a failover target later.
// Issue 10 item 2, issue 13 part 4.
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { connectNats } from './nats-connect.ts';
import type { NatsConnection } from '@nats-io/nats-core';
import { createLogger } from '../logging/logger.ts';
import { failureNotice, type FailureNotice } from '../logging/failure-notice.ts';
import { causeOf, describeCause, type NetworkCause } from './network-cause.ts';
import { CONNECT_BACKOFF_BASE_MS, CONNECT_BACKOFF_MAX_MS } from '../machines/mesh.machine.ts';

const log = createLogger('nats');

/** What to do about each cause, in the words of the configuration (flags and their variables). */
export function brokerAdvice(cause: NetworkCause): string {
  switch (cause) {
    case 'dns':
      return 'check the host name in --messaging-url / MESSAGING_URLS';
    case 'refused':
      return 'start nats-server there, or point --messaging-url / MESSAGING_URLS at a running broker';
    case 'timeout':
    case 'unreachable':
      return 'check the address and any firewall between this machine and the broker';
    case 'tls':
      return 'check the tls:// URL and --tls-ca-file / --tls-cert-file / --tls-key-file (the broker must speak TLS with a certificate that CA signed)';
    case 'authorization':
      return 'the broker refused these credentials: check --nats-credentials-file / MESSAGING_CREDENTIALS_FILE (user, account, expiry), or ask the broker admin';
    default:
      return 'check --messaging-url / MESSAGING_URLS and the broker log';
  }
}

/** The servers of `options` as a list (nats.js's own default when none is given). */
export function serverListOf(options: NodeConnectionOptions): ReadonlyArray<string> {
  const s = options.servers;
  return Array.isArray(s) ? [...s] : [String(s ?? 'nats://127.0.0.1:4222')];
}

function serversOf(options: NodeConnectionOptions): string {
  return serverListOf(options).join(',');
}

/** Logs one failed first-connect attempt through `notice`. */
export function reportBrokerFailure(notice: FailureNotice, servers: string, error: unknown): void {
  const { cause, code, detail } = causeOf(error);
  notice.failed(`${servers}|${cause}`, `cannot reach the NATS broker at ${servers}: ${describeCause(cause)}; retrying with back-off ${CONNECT_BACKOFF_BASE_MS / 1000} s → ${CONNECT_BACKOFF_MAX_MS / 1000} s — ${brokerAdvice(cause)}`, {
    servers,
    cause,
    code,
    error: detail,
  });
}

/**
 * nats.js removes from the pool, for the connection's whole life, every server that failed while it
 * had never connected (with `waitOnFirstConnect` off, as here). A cluster node down when the driver
 * starts would then never be a failover target. Setting the configured list again restores them
 * (entries still in the pool keep their state); servers the cluster advertised are dropped until
 * its next membership update, which is what the configured list is there for.
 */
export function restoreConfiguredServers(nc: NatsConnection, configured: ReadonlyArray<string>): void {
  if (configured.length === 0 || nc.getServers().filter((s) => !s.gossiped).length >= configured.length) return;
  nc.setServers([...configured]);
}

/**
 * One pass over the configured servers: the connection, or the failure reported through `notice`
 * (once, then rate-limited) and rethrown — the mesh machine waits its back-off and dials again.
 */
export async function connectOnce(options: NodeConnectionOptions, notice: FailureNotice = failureNotice(log)): Promise<NatsConnection> {
  try {
    const nc = await connectNats({ ...options, ...(Array.isArray(options.servers) ? { servers: [...options.servers] } : {}), waitOnFirstConnect: false });
    if (Array.isArray(options.servers)) restoreConfiguredServers(nc, options.servers);
    notice.recovered('broker reachable; connected', { server: nc.getServer() });
    return nc;
  } catch (error) {
    reportBrokerFailure(notice, serversOf(options), error);
    throw error;
  }
}

/** A notice for broker connection failures (one per mesh side, kept across attempts). */
export function brokerNotice(): FailureNotice {
  return failureNotice(log);
}
