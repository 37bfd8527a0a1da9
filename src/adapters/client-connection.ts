// The CLI client's NATS connection (`reachy-mini-driver devices|functions|call|events`,
// device-connect-protocol.md §3.3–§3.5): the driver's own connection options (servers, JWT, TLS;
// nats-options.ts) made one-shot for a person at a terminal, and the connect itself, whose failure
// comes back as a value. Owns no mesh operation (src/client/mesh-client.ts runs them on the open
// connection) and no printing (src/client/cli-commands.ts).
import type { NatsConnection } from '@nats-io/nats-core';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { connectNats } from './nats-connect.ts';
import { messageOf } from '../errors.ts';
import { natsConnectionOptions, type NatsOptionsInput } from './nats-options.ts';

/** How the broker lists the CLI among its clients. */
export const CLIENT_CONNECTION_NAME = 'reachy-mini-driver client';

/**
 * The driver's connection options, but one-shot: a person at a terminal wants an answer, not an
 * endless wait for a broker. Every listed broker is dialled once, in the order given, and a lost
 * connection is not re-made (`reconnect: false`). Not `maxReconnectAttempts: 0`: with it nats.js
 * drops a second server from its pool at each failed first dial, so a live broker listed after a dead
 * one went untried in about half the runs (as in broker-reach.ts and duplicate-device.ts).
 */
export function clientConnectionOptions(input: Omit<NatsOptionsInput, 'name'>): NodeConnectionOptions {
  return { ...natsConnectionOptions({ ...input, name: CLIENT_CONNECTION_NAME }), waitOnFirstConnect: false, reconnect: false, maxReconnectAttempts: -1, noRandomize: true };
}

export type ClientConnectResult = { readonly ok: true; readonly connection: NatsConnection } | { readonly ok: false; readonly reason: string };

/** Opens the connection; a broker that cannot be reached (or refuses the credentials) is `{ ok: false, reason }`. */
export async function openClientConnection(options: NodeConnectionOptions): Promise<ClientConnectResult> {
  try {
    return { ok: true, connection: await connectNats(options) };
  } catch (error) {
    return { ok: false, reason: messageOf(error) };
  }
}
