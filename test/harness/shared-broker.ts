// One nats-server and one client connection for a whole test file: started before its first test,
// closed and stopped after its last (vitest hooks, registered by the call). The file receives them
// through `take`. Owns only that lifetime; what the file does on the broker is its own.
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll } from 'vitest';
import { openClient } from './mesh-peer.ts';
import { startNatsServer, type NatsServerHandle } from './nats-server.ts';

export interface SharedBroker {
  readonly server: NatsServerHandle;
  readonly nc: NatsConnection;
}

export function useSharedBroker(take: (broker: SharedBroker) => void): void {
  let server: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await openClient(server.url);
    take({ server, nc });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });
}
