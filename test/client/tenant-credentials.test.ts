// The client under portal-style tenant credentials (device-connect-protocol.md §1 "Tenant
// namespacing"): a user allowed only `device-connect.<tenant>.>` plus `_INBOX.>` can list, invoke,
// watch and probe, because every reply comes back on nats.js' default `_INBOX.` prefix; the same user
// cannot reach another tenant. Real nats-server with operator JWTs (test/harness/nats-server.ts).
import { credsAuthenticator, errors, type NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runClientCommand, EXIT_FAILURE, EXIT_OK } from '../../src/client/cli-commands.ts';
import { MeshClient } from '../../src/client/mesh-client.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { capturedD2dDevice, capturedRegistry, capturedRng001 } from './wire-fakes.ts';

const encoder = new TextEncoder();
let server: NatsServerHandle;
let fleet: NatsConnection;
let tenantUser: NatsConnection;
let tenantCreds: Uint8Array;

beforeAll(async () => {
  server = await startNatsServer({ auth: 'jwt' });
  const jwt = server.jwt;
  if (!jwt) throw new Error('jwt material missing');
  // The registry/devices use the unrestricted user, as a privileged registry credential would.
  fleet = await connect({ servers: server.url, authenticator: credsAuthenticator(encoder.encode(jwt.creds)) });
  // What the portal mints for a tenant member (portal/services/nsc.py).
  const member = await jwt.mintUser({
    name: 'default-member',
    pub: ['device-connect.default.>', '_INBOX.>'],
    sub: ['device-connect.default.>', '_INBOX.>'],
  });
  tenantCreds = encoder.encode(member.creds);
  tenantUser = await connect({ servers: server.url, authenticator: credsAuthenticator(tenantCreds) });
  capturedRegistry(fleet);
  capturedRng001(fleet);
  capturedD2dDevice(fleet); // tenant lab, which the member may not see
  await fleet.flush();
});

afterAll(async () => {
  await tenantUser?.close();
  await fleet?.close();
  await server?.stop();
});

test('list and invoke work with only device-connect.default.> and _INBOX.>', async () => {
  const client = new MeshClient(tenantUser, { tenant: 'default', discoveryMode: 'infra' });

  expect((await client.listDevices()).map((d) => d.deviceId)).toEqual(['rng-001', 'who-001']);
  expect(await client.invoke('rng-001', 'generate', { min: 1, max: 2 })).toMatchObject({ ok: true, value: { value: 1.02 } });
});

test('the CLI with tenant credentials', async () => {
  const lines: string[] = [];
  const code = await runClientCommand({
    command: 'call',
    positional: ['rng-001', 'get_stats'],
    connectOptions: { servers: server.url, authenticator: credsAuthenticator(tenantCreds) },
    tenant: 'default',
    discoveryMode: 'infra',
    out: (line) => lines.push(line),
  });
  // capturedRng001 answers everything but generate with -32601: the round trip itself is what matters
  expect({ code, lines }).toEqual({ code: EXIT_FAILURE, lines: ['error -32601 Unknown method: get_stats'] });

  const devices: string[] = [];
  expect(
    await runClientCommand({
      command: 'devices',
      positional: [],
      connectOptions: { servers: server.url, authenticator: credsAuthenticator(tenantCreds) },
      tenant: 'default',
      discoveryMode: 'infra',
      out: (line) => devices.push(line),
    }),
  ).toBe(EXIT_OK);
  expect(devices).toHaveLength(3);
});

test('another tenant is out of reach: the presence subscription is refused at once', async () => {
  const client = new MeshClient(tenantUser, { tenant: 'lab', discoveryMode: 'd2d' });
  const started = performance.now();
  try {
    const error = await client.listDevices().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errors.PermissionViolationError);
    expect(error).toMatchObject({ operation: 'subscription', subject: 'device-connect.lab.*.presence' });
    expect(performance.now() - started).toBeLessThan(1_000); // no 3 s first-peer wait
  } finally {
    client.close();
  }
  // the connection is still usable for the member's own tenant
  const own = new MeshClient(tenantUser, { tenant: 'default', discoveryMode: 'infra' });
  expect(await own.listDevices()).toHaveLength(2);
});
