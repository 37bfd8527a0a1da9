// The first connection to the broker, made visible: nats.js' own "wait on first connect" retries in
// silence (a wrong URL printed nothing for 45 s, even at debug), so this loop dials once per attempt
// and, when it fails, says which URL, why (DNS, refused, timeout, TLS, authorization) and how often
// it retries — once at warn, then rate-limited (logging/failure-notice.ts). The cadence is nats.js'
// own reconnect cadence (nats-options.ts), so nothing changes for a broker that comes up later. Once
// connected, nats.js owns reconnects (nats-link.ts logs them). Issue 10 item 2.
import { connect, type NodeConnectionOptions } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { createLogger } from '../logging/logger.ts';
import { failureNotice, type FailureNotice } from '../logging/failure-notice.ts';
import { causeOf, describeCause, type NetworkCause } from './network-cause.ts';
import { RECONNECT_JITTER_MS, RECONNECT_TIME_WAIT_MS } from './nats-options.ts';

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

function serversOf(options: NodeConnectionOptions): string {
  const s = options.servers;
  return Array.isArray(s) ? s.join(',') : String(s ?? 'nats://127.0.0.1:4222');
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Logs one failed first-connect attempt through `notice`. */
export function reportBrokerFailure(notice: FailureNotice, servers: string, error: unknown): void {
  const { cause, code, detail } = causeOf(error);
  notice.failed(cause, `cannot reach the NATS broker at ${servers}: ${describeCause(cause)}; retrying every ~${RECONNECT_TIME_WAIT_MS / 1000} s — ${brokerAdvice(cause)}`, {
    servers,
    cause,
    code,
    error: detail,
    retry_every_ms: RECONNECT_TIME_WAIT_MS,
  });
}

/** Dials until connected (or `signal` aborts: then throws); every failure is reported, once then rate-limited. */
export async function connectFirst(options: NodeConnectionOptions, signal?: AbortSignal, notice: FailureNotice = failureNotice(log)): Promise<NatsConnection> {
  const servers = serversOf(options);
  for (;;) {
    if (signal?.aborted) throw new Error('stopped while connecting');
    try {
      // One pass over the servers; the wait between passes is ours (below), so each failure is seen.
      const nc = await connect({ ...options, ...(Array.isArray(options.servers) ? { servers: [...options.servers] } : {}), waitOnFirstConnect: false });
      notice.recovered('broker reachable again; connected', { server: nc.getServer() });
      return nc;
    } catch (error) {
      reportBrokerFailure(notice, servers, error);
    }
    await pause(RECONNECT_TIME_WAIT_MS + Math.floor(Math.random() * RECONNECT_JITTER_MS), signal);
  }
}
