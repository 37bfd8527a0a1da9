// Whether a broker list can be reached with given connection options, asked before a live apply
// moves the mesh there (new brokers, TLS files or credentials): one short-lived connection, one
// pass over the servers, closed at once. Brokers none of which accept the connection are answered
// with BrokerUnreachable naming them and the cause (DNS, refused, timeout, TLS, authorization…), so
// the apply is refused and the mesh that answers now stays. Owns that probe and its error; not the
// mesh's own connection (nats-first-connect.ts, nats-link.ts) nor start-up, where an unreachable
// broker is retried and reported instead (the driver has no other mesh to keep there).
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { connectNats } from './nats-connect.ts';
import * as Data from 'effect/Data';
import { brokerAdvice, serverListOf } from './nats-first-connect.ts';
import { causeOf, describeCause, type NetworkCause } from './network-cause.ts';

/**
 * Each server's dial in the probe. A reachable broker accepts (TLS and authorization included) in
 * milliseconds, tens of them over a slow uplink; a host that drops packets costs this much per
 * configured server before the apply is refused, which a settings save can wait.
 */
export const BROKER_REACH_TIMEOUT_MS = 2_000;

/** None of the brokers an apply would move the mesh to could be reached: the apply is refused, the mesh stays. */
export class BrokerUnreachable extends Data.TaggedError('BrokerUnreachable')<{
  readonly message: string;
  readonly brokers: ReadonlyArray<string>;
  readonly cause: NetworkCause;
  /** The identifier the cause was read from (`ECONNREFUSED`, `TimeoutError`…). */
  readonly code: string;
}> {}

/** BrokerUnreachable when no server of `options` accepts a connection (each dial bounded); undefined once one does. Never throws. */
export async function unreachableBrokers(options: NodeConnectionOptions, timeoutMs: number = BROKER_REACH_TIMEOUT_MS): Promise<BrokerUnreachable | undefined> {
  const brokers = serverListOf(options);
  try {
    // In the order configured. maxReconnectAttempts -1: with 0, nats.js takes a second server out of
    // the pool at each failed first dial (the last one), so a broker after an unreachable one went untried.
    const nc = await connectNats({ ...options, servers: [...brokers], name: `${String(options.name ?? 'reachy-mini-driver')} (reachability check)`, waitOnFirstConnect: false, reconnect: false, maxReconnectAttempts: -1, noRandomize: true, timeout: timeoutMs });
    await nc.close().catch(() => undefined);
    return undefined;
  } catch (error) {
    const { cause, code, detail } = causeOf(error);
    const message = `the mesh connection was not moved: none of the brokers ${brokers.join(', ')} can be reached (${describeCause(cause)}: ${detail}); the driver stays on the brokers it uses now — ${brokerAdvice(cause)}`;
    return new BrokerUnreachable({ message, brokers, cause, code });
  }
}
