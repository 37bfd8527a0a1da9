// Per-file broker fixture for the client tests: one real nats-server (test/harness/nats-server.ts,
// which fails loudly when the binary is missing) and, per test, two fresh connections — `fleet` for
// the fake registry/devices and `client` for the code under test — so no subscription leaks between
// tests. Registers vitest hooks; call once at the top of a test file.
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

export interface Broker {
  readonly url: string;
  readonly fleet: NatsConnection;
  readonly client: NatsConnection;
}

export function useBroker(): Broker {
  let server: NatsServerHandle | undefined;
  let fleet: NatsConnection | undefined;
  let client: NatsConnection | undefined;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    if (!server) throw new Error('broker not started');
    fleet = await connect({ servers: server.url, name: 'fake-fleet' });
    client = await connect({ servers: server.url, name: 'mesh-client-under-test' });
  });
  afterEach(async () => {
    await client?.close();
    await fleet?.close();
  });
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} used outside a test`);
    return value;
  };
  return {
    get url() {
      return need(server, 'broker').url;
    },
    get fleet() {
      return need(fleet, 'fleet connection');
    },
    get client() {
      return need(client, 'client connection');
    },
  };
}
