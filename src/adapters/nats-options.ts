// Turns the frozen config into nats.js connection options: servers, JWT authenticator, TLS/mTLS
// files, and a reconnect policy that rides out broker restarts forever and fails over across a
// cluster's nodes (device-connect-protocol.md §3.3–§3.6): after a lost connection the next dial goes
// to the node dialed longest ago, never first to the one just lost. Secrets go straight into the
// authenticator closure; the returned object is never logged. Does not connect (nats-link.ts does).
import { jwtAuthenticator, type Server } from '@nats-io/nats-core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import type { LoadedCredentials, TlsFiles } from '../config/credentials.ts';

/** nats-py's `reconnect_time_wait` (§3.6); the test for "re-registered within 5 s" depends on it. */
export const RECONNECT_TIME_WAIT_MS = 1_000;
/** Jitter keeps a fleet from reconnecting in lock-step after a broker restart. */
export const RECONNECT_JITTER_MS = 250;
/** Liveness: a dead TCP path is noticed within ~PING_INTERVAL_MS × MAX_PINGS_OUT. */
export const PING_INTERVAL_MS = 10_000;
export const MAX_PINGS_OUT = 2;
/**
 * Per-attempt connect timeout: a TLS handshake over a slow uplink fits; it is also what a dial to
 * a host that vanished (no RST) costs, which is why a failover never dials the lost server first.
 */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * The server to dial next: the one dialed longest ago (never-dialed ones first; ties keep the
 * pool's order, whose head is nats.js' own choice). nats.js would otherwise redial the server it
 * just lost before any other — instant when that node's process died (connection refused), but a
 * whole CONNECT_TIMEOUT_MS when its host vanished. The server just lost is always the one dialed
 * most recently (the dial that succeeded), so it goes last and a live node is reached first.
 */
export function leastRecentlyDialed(pool: ReadonlyArray<Server>): Server | null {
  let pick: Server | null = null;
  for (const server of pool) if (pick === null || server.lastConnect < pick.lastConnect) pick = server;
  return pick;
}

export interface NatsOptionsInput {
  readonly servers: ReadonlyArray<string>;
  readonly name: string;
  readonly credentials: LoadedCredentials | undefined;
  readonly tls: TlsFiles;
  /** Per-attempt connect timeout (default CONNECT_TIMEOUT_MS); only tests shorten it. */
  readonly connectTimeoutMs?: number;
}

export function natsConnectionOptions(input: NatsOptionsInput): NodeConnectionOptions {
  const usesTls = input.servers.some((s) => s.startsWith('tls://')) || input.tls.caFile !== undefined || input.tls.certFile !== undefined;
  const options: NodeConnectionOptions = {
    servers: [...input.servers],
    name: input.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
    reconnectJitter: RECONNECT_JITTER_MS,
    waitOnFirstConnect: true,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    timeout: input.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    reconnectToServer: leastRecentlyDialed,
  };
  if (input.credentials) {
    const { jwt, seed } = input.credentials;
    options.authenticator = jwtAuthenticator(
      () => jwt.reveal(),
      () => new TextEncoder().encode(seed.reveal()),
    );
  }
  if (usesTls) {
    options.tls = {
      ...(input.tls.caFile ? { caFile: input.tls.caFile } : {}),
      ...(input.tls.certFile ? { certFile: input.tls.certFile } : {}),
      ...(input.tls.keyFile ? { keyFile: input.tls.keyFile } : {}),
    };
  }
  return options;
}
