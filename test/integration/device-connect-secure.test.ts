// Transcripts with real security and discovery modes: a JWT `.creds` user (operator/account/user
// minted per run), a portal `.creds.json`, TLS with a private CA and mTLS, and D2D presence
// discovery (probe answered within 1 s, departing on stop). device-connect-protocol.md §2.10, §3.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credsAuthenticator } from '@nats-io/nats-core';
import { afterEach, describe, expect, test } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { fakeRegistry, openClient, recorder, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function server(options: Parameters<typeof startNatsServer>[0]): Promise<NatsServerHandle> {
  const s = await startNatsServer(options);
  cleanups.push(() => s.stop());
  return s;
}

async function driver(argv: string[], env: Record<string, string> = {}): Promise<TestDriver> {
  const d = await startTestDriver(argv, env);
  cleanups.push(() => d.stop());
  return d;
}

describe('credentials', () => {
  test('registers and serves RPC with a NATS .creds file on a JWT broker', async () => {
    const s = await server({ auth: 'jwt' });
    const jwt = s.jwt!;
    const nc = await openClient(s.url, { authenticator: credsAuthenticator(new TextEncoder().encode(jwt.creds)) });
    cleanups.push(() => nc.close());
    const registry = fakeRegistry(nc);
    await nc.flush();
    await driver(['--device-id', 'jwt-dev', '--messaging-url', s.url], { MESSAGING_CREDENTIALS_FILE: jwt.credsFile });
    const req = await registry.requests.next();
    expect((req.body as { params: { device_id: string } }).params.device_id).toBe('jwt-dev');
    const reply = await rpc(nc, 'device-connect.default.jwt-dev.cmd', { jsonrpc: '2.0', id: 'j1', method: 'get_status' });
    expect(reply.result).toBeDefined();
  });

  test('takes device id, tenant and URLs from a portal .creds.json', async () => {
    const s = await server({ auth: 'jwt' });
    const jwt = s.jwt!;
    const portalFile = join(s.configDir, 'lab-robot.creds.json');
    writeFileSync(portalFile, JSON.stringify({ device_id: 'lab-robot', auth_type: 'jwt', tenant: 'lab', nats: { urls: [s.url], jwt: jwt.jwt, nkey_seed: jwt.seed } }));
    chmodSync(portalFile, 0o600);
    const nc = await openClient(s.url, { authenticator: credsAuthenticator(new TextEncoder().encode(jwt.creds)) });
    cleanups.push(() => nc.close());
    const registry = fakeRegistry(nc);
    await nc.flush();
    const d = await driver([], { MESSAGING_CREDENTIALS_FILE: portalFile });
    expect(d.config.deviceId).toBe('lab-robot');
    expect(d.config.tenant).toBe('lab');
    const req = await registry.requests.next();
    expect(req.subject).toBe('device-connect.lab.registry');
    const reply = await rpc(nc, 'device-connect.lab.lab-robot.cmd', { jsonrpc: '2.0', id: 'p1', method: 'get_status' });
    expect(reply.result).toBeDefined();
  });

  test('an untrusted user never gets on the mesh, and the driver keeps running', async () => {
    const s = await server({ auth: 'jwt' });
    const untrusted = await s.jwt!.mintUntrustedUser();
    const d = await driver(['--device-id', 'bad-dev', '--messaging-url', s.url], { MESSAGING_CREDENTIALS_FILE: untrusted.credsFile });
    // The first refused attempt can take longer than a fixed wait on a loaded machine: wait for it.
    await expect.poll(() => d.runtime.mesh.getSnapshot().context.lastError, { timeout: 10_000 }).toMatch(/authorization|auth/i);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(d.runtime.mesh.getSnapshot().matches('connecting')).toBe(true);
    expect(d.runtime.mesh.getSnapshot().status).toBe('active');
  });
});

describe('TLS', () => {
  test('connects to a tls broker with the configured CA and serves RPC', async () => {
    const s = await server({ tls: 'server' });
    const tls = s.tls!;
    const nc = await openClient(s.url, { tls: { caFile: tls.caFile } });
    cleanups.push(() => nc.close());
    const registry = fakeRegistry(nc);
    await nc.flush();
    await driver(['--device-id', 'tls-dev', '--messaging-url', s.url.replace('nats://', 'tls://'), '--tls-ca-file', tls.caFile], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
    await registry.requests.next();
    const reply = await rpc(nc, 'device-connect.default.tls-dev.cmd', { jsonrpc: '2.0', id: 't1', method: 'get_status' });
    expect(reply.result).toBeDefined();
  });

  test('presents a client certificate for mTLS together with JWT credentials', async () => {
    const s = await server({ tls: 'mutual', auth: 'jwt' });
    const tls = s.tls!;
    const nc = await openClient(s.url, { tls: { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile }, authenticator: credsAuthenticator(new TextEncoder().encode(s.jwt!.creds)) });
    cleanups.push(() => nc.close());
    const registry = fakeRegistry(nc);
    await nc.flush();
    await driver(['--device-id', 'mtls-dev', '--messaging-url', s.url.replace('nats://', 'tls://')], {
      MESSAGING_CREDENTIALS_FILE: s.jwt!.credsFile,
      MESSAGING_TLS_CA_FILE: tls.caFile,
      MESSAGING_TLS_CERT_FILE: tls.clientCertFile,
      MESSAGING_TLS_KEY_FILE: tls.clientKeyFile,
    });
    await registry.requests.next();
    const reply = await rpc(nc, 'device-connect.default.mtls-dev.cmd', { jsonrpc: '2.0', id: 'm1', method: 'get_status' });
    expect(reply.result).toBeDefined();
  });
});

describe('D2D discovery', () => {
  test('announces presence, answers a probe within 1 s and departs on stop', async () => {
    const s = await server({});
    const nc = await openClient(s.url);
    cleanups.push(() => nc.close());
    const d = await startTestDriver(['--device-id', 'd2d-dev', '--tenant', 'lab', '--messaging-url', s.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
    let stopped = false;
    cleanups.push(() => (stopped ? undefined : d.stop()));
    const presence = recorder(nc, 'device-connect.lab.*.presence');
    await nc.flush();
    const first = await presence.next();
    const body = first.body as Record<string, any>;
    expect(first.subject).toBe('device-connect.lab.d2d-dev.presence');
    expect(body).toMatchObject({ device_id: 'd2d-dev', d2d: true, identity: { device_type: 'reachy_mini' } });
    expect(typeof body.ts).toBe('number');
    expect(body.status.ts).toMatch(/Z$/);
    expect(body.capabilities.functions.map((f: { name: string }) => f.name)).toContain('get_status');
    // Past the start-up burst the cadence is 5 s; a probe must be answered at once.
    await new Promise((r) => setTimeout(r, 200));
    presence.drain();
    const sent = Date.now();
    nc.publish('device-connect.lab.discovery.probe', JSON.stringify({ probe: true, ts: sent / 1000 }));
    const answer = await presence.next(() => true, 1_000);
    expect(answer.at - sent).toBeLessThan(1_000);
    presence.drain();
    stopped = true;
    await d.stop();
    const departing = await presence.next((m) => (m.body as { departing?: boolean }).departing === true);
    expect(departing.body).toMatchObject({ device_id: 'd2d-dev', tenant: 'lab', departing: true });
  });
});
