// Every NATS connection the driver and its CLI open goes through `connectNats`: @nats-io/transport-node's
// own `connect`, with one fix. In nats.js 3.4 a dial that times out after TCP connected but before
// the server's INFO (a broker that accepts and never speaks: hung, stopped with SIGSTOP, another
// service on the port) keeps its socket open — the transport's close() does nothing until it is
// connected (nats-io/nats.js#64) — so each retry added one: a driver pointed at such a broker leaked a
// socket every ~6 s. Here that close() destroys the socket. Does not cover a dial whose TCP connect
// never completes (a black hole): the kernel ends that one (~2 min). Owns the transport factory
// only; options, retries and reporting stay with the callers (nats-options.ts, nats-first-connect.ts).
import type { NatsConnection } from '@nats-io/nats-core';
import { errors, hasWsProtocol, NatsConnectionImpl, setTransportFactory } from '@nats-io/nats-core/internal';
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { NodeTransport, nodeResolveHost } from '@nats-io/transport-node/lib/node_transport.js';

/** NodeTransport whose close() before the connection was made ends the dial's socket too. */
class ClosingTransport extends NodeTransport {
  override close(err?: Error): Promise<void> {
    if (!this.connected && !this.done) {
      // `done` also makes a dial that completes after this destroy its socket at once (NodeTransport.connect).
      this.done = true;
      this.socket?.destroy();
    }
    return super.close(err);
  }
}

/** nats.js' `connect` for Node, on ClosingTransport. The factory is process-wide (nats.js reads it at each dial, reconnects too). */
export function connectNats(options: NodeConnectionOptions): Promise<NatsConnection> {
  if (hasWsProtocol(options)) {
    return Promise.reject(errors.InvalidArgumentError.format('servers', 'the node client does not speak websockets'));
  }
  setTransportFactory({ factory: () => new ClosingTransport(), dnsResolveFn: nodeResolveHost });
  return NatsConnectionImpl.connect(options);
}
