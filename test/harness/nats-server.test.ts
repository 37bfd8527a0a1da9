// Proves the real-broker harness against a real nats.js client: each mode (plain, jwt, tls, mtls)
// accepts the right credentials and rejects wrong ones, narrower JWT users hit permission errors,
// restart() keeps the port so reconnecting clients come back, and no nats-server outlives its owner.
// Does not test the driver itself; integration suites build on this harness.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { pathToFileURL } from 'node:url';
import { createUser, fmtCreds } from '@nats-io/jwt';
import { credsAuthenticator, errors, type NatsConnection, type Status } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, test } from 'vitest';
import { findNatsServer, startNatsServer, type NatsServerHandle } from './nats-server.ts';
import { pidAlive } from './process-tree.ts';

/** A message on loopback arrives in well under a millisecond; 5 s only bounds a broken setup. */
const MESSAGE_TIMEOUT_MS = 5_000;
/** Upper bound for an asynchronous condition (reconnect, process death) to become true. */
const CONDITION_TIMEOUT_MS = 10_000;
/** Connect timeout for the cert-less mTLS client: long enough for the handshake to be refused. */
const MTLS_REJECT_TIMEOUT_MS = 2_000;
/** Polling period for such conditions: fast enough not to slow the suite, cheap on CPU. */
const POLL_MS = 20;
/** Reconnect backoff for the restart test: short so the suite is fast, non-zero to avoid a spin. */
const RECONNECT_WAIT_MS = 50;

const encoder = new TextEncoder();
const servers: NatsServerHandle[] = [];
const clients: NatsConnection[] = [];

async function start(...args: Parameters<typeof startNatsServer>): Promise<NatsServerHandle> {
  const server = await startNatsServer(...args);
  servers.push(server);
  return server;
}

async function client(options: Parameters<typeof connect>[0]): Promise<NatsConnection> {
  const nc = await connect(options);
  clients.push(nc);
  return nc;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((nc) => nc.close().catch(() => {})));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function waitFor(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + CONDITION_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function roundTrip(nc: NatsConnection, subject: string): Promise<void> {
  const sub = nc.subscribe(subject, { max: 1, timeout: MESSAGE_TIMEOUT_MS });
  await nc.flush();
  nc.publish(subject, `hello ${subject}`);
  const received: string[] = [];
  for await (const msg of sub) received.push(msg.string());
  expect(received).toEqual([`hello ${subject}`]);
}

function recordStatus(nc: NatsConnection): Status[] {
  const seen: Status[] = [];
  void (async () => {
    for await (const status of nc.status()) seen.push(status);
  })();
  return seen;
}

function portAcceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('binary discovery', () => {
  test('a missing nats-server is a loud error naming the apt package, not a skip', () => {
    expect(() => findNatsServer(['/nonexistent-dir'])).toThrow(/apt-get install -y nats-server/);
  });
});

describe('plain mode', () => {
  test('serves a real client on 127.0.0.1 and stop() kills the process and cleans up', async () => {
    const server = await start();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.running).toBe(true);
    expect(server.jwt).toBeUndefined();
    expect(server.tls).toBeUndefined();
    const pid = server.pid;
    expect(pid).toBeTypeOf('number');

    const nc = await client({ servers: server.url });
    await roundTrip(nc, 'harness.plain');
    await nc.close();

    await server.stop();
    expect(server.running).toBe(false);
    expect(pidAlive(pid ?? -1)).toBe(false);
    expect(existsSync(server.configDir)).toBe(false);
    expect(await portAcceptsTcp(server.port)).toBe(false);
    await server.stop(); // idempotent
  });
});

describe('max_payload', () => {
  test('the broker announces the configured max_payload and clients refuse to publish past it', async () => {
    const server = await start({ maxPayload: 2_048 });
    const nc = await client({ servers: server.url });
    expect(nc.info?.max_payload).toBe(2_048);
    expect(() => nc.publish('x', 'y'.repeat(2_049))).toThrow(/max_payload/);
    await expect(start({ maxPayload: 0 })).rejects.toThrow(RangeError);
  });
});

describe('jwt mode', () => {
  test('accepts the minted user creds and writes them 0600', async () => {
    const server = await start({ auth: 'jwt' });
    const jwt = server.jwt;
    if (jwt === undefined) throw new Error('jwt material missing');
    expect(jwt.creds).toContain(jwt.jwt);
    expect(jwt.creds).toContain(jwt.seed);
    expect(jwt.seed.startsWith('SU')).toBe(true);
    expect(jwt.publicKey.startsWith('U')).toBe(true);
    expect(await readFile(jwt.credsFile, 'utf8')).toBe(jwt.creds);
    expect((await stat(jwt.credsFile)).mode & 0o777).toBe(0o600);

    const nc = await client({ servers: server.url, authenticator: credsAuthenticator(encoder.encode(jwt.creds)) });
    await roundTrip(nc, 'harness.jwt');
  });

  test('rejects absent, untrusted and mismatched-seed credentials', async () => {
    const server = await start({ auth: 'jwt' });
    const jwt = server.jwt;
    if (jwt === undefined) throw new Error('jwt material missing');

    await expect(connect({ servers: server.url })).rejects.toThrow(/authorization/i);

    const untrusted = await jwt.mintUntrustedUser();
    await expect(
      connect({ servers: server.url, authenticator: credsAuthenticator(encoder.encode(untrusted.creds)) }),
    ).rejects.toThrow(/authorization/i);

    const wrongSeed = fmtCreds(jwt.jwt, createUser());
    await expect(connect({ servers: server.url, authenticator: credsAuthenticator(wrongSeed) })).rejects.toThrow(
      /authorization/i,
    );
  });

  test('a narrower user gets permission violations outside its allow-lists', async () => {
    const server = await start({ auth: 'jwt' });
    const narrow = await server.jwt?.mintUser({ name: 'narrow', pub: ['allowed.>'], sub: ['allowed.>'] });
    if (narrow === undefined) throw new Error('jwt material missing');
    expect((await stat(narrow.credsFile)).mode & 0o777).toBe(0o600);

    const nc = await client({ servers: server.url, authenticator: credsAuthenticator(encoder.encode(narrow.creds)) });
    const statuses = recordStatus(nc);
    await roundTrip(nc, 'allowed.ok');

    nc.publish('forbidden.pub', 'nope');
    await nc.flush();
    await waitFor('a publish permission violation', () =>
      statuses.some(
        (s) =>
          s.type === 'error' &&
          s.error instanceof errors.PermissionViolationError &&
          s.error.operation === 'publish' &&
          s.error.subject === 'forbidden.pub',
      ),
    );

    const denied = nc.subscribe('forbidden.sub');
    const closedWith = await denied.closed;
    expect(closedWith).toBeInstanceOf(errors.PermissionViolationError);
    expect((closedWith as InstanceType<typeof errors.PermissionViolationError>).operation).toBe('subscription');
    expect(nc.isClosed()).toBe(false); // permission errors are not fatal to the connection
  });

  test('restart() keeps the operator config: the same creds work afterwards', async () => {
    const server = await start({ auth: 'jwt' });
    const creds = encoder.encode(server.jwt?.creds ?? '');
    await server.restart();
    const nc = await client({ servers: server.url, authenticator: credsAuthenticator(creds) });
    await roundTrip(nc, 'harness.jwt.restarted');
  });
});

describe('tls mode', () => {
  test('server TLS: a client trusting the throwaway CA connects; one that does not is refused', async () => {
    const server = await start({ tls: 'server' });
    const tls = server.tls;
    if (tls === undefined) throw new Error('tls material missing');
    for (const file of [tls.caFile, tls.serverCertFile, tls.serverKeyFile, tls.clientCertFile, tls.clientKeyFile]) {
      expect(existsSync(file)).toBe(true);
    }

    const nc = await client({ servers: server.url, tls: { caFile: tls.caFile } });
    expect(nc.info?.tls_required).toBe(true);
    await roundTrip(nc, 'harness.tls');

    await expect(connect({ servers: server.url })).rejects.toThrow();
  });

  test('mutual TLS: the client certificate is required', async () => {
    const server = await start({ tls: 'mutual' });
    const tls = server.tls;
    if (tls === undefined) throw new Error('tls material missing');

    const nc = await client({
      servers: server.url,
      tls: { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile },
    });
    expect(nc.info?.tls_verify).toBe(true);
    await roundTrip(nc, 'harness.mtls');

    // Under TLS 1.3 the server's rejection alert arrives after the client's handshake completes
    // and nats.js only gives up at its connect timeout; the server log proves why.
    await expect(
      connect({ servers: server.url, tls: { caFile: tls.caFile }, timeout: MTLS_REJECT_TIMEOUT_MS }),
    ).rejects.toThrow();
    expect(server.logs()).toMatch(/didn't provide a certificate/);
  });

  test('jwt and tls combine', async () => {
    const server = await start({ auth: 'jwt', tls: 'mutual' });
    const { jwt, tls } = server;
    if (jwt === undefined || tls === undefined) throw new Error('material missing');
    const nc = await client({
      servers: server.url,
      authenticator: credsAuthenticator(encoder.encode(jwt.creds)),
      tls: { caFile: tls.caFile, certFile: tls.clientCertFile, keyFile: tls.clientKeyFile },
    });
    await roundTrip(nc, 'harness.jwt.tls');
  });
});

describe('restart', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`restart({ signal: ${signal} }) keeps the port and a reconnecting client comes back`, async () => {
      const server = await start();
      const { port, url } = server;
      const oldPid = server.pid;
      const nc = await client({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_WAIT_MS });
      const statuses = recordStatus(nc);
      await roundTrip(nc, 'before.restart');

      await server.restart({
        signal,
        whileDown: async () => {
          expect(server.running).toBe(false);
          expect(server.pid).toBeUndefined();
          expect(pidAlive(oldPid ?? -1)).toBe(false);
          expect(await portAcceptsTcp(port)).toBe(false);
          await waitFor('the client to notice the disconnect', () => statuses.some((s) => s.type === 'disconnect'));
        },
      });

      expect(server.port).toBe(port);
      expect(server.url).toBe(url);
      expect(server.running).toBe(true);
      expect(server.pid).not.toBe(oldPid);
      await waitFor('the client to reconnect', () => statuses.some((s) => s.type === 'reconnect'));
      await roundTrip(nc, 'after.restart');
    });
  }

  test('restart() after stop() is refused', async () => {
    const server = await start();
    await server.stop();
    await expect(server.restart()).rejects.toThrow(/after stop/);
  });
});

describe('orphan protection', () => {
  const harnessUrl = pathToFileURL(new URL('./nats-server.ts', import.meta.url).pathname).href;
  const script = [
    'const { startNatsServer } = await import(process.argv[1]);',
    'const s = await startNatsServer();',
    'process.stdout.write(JSON.stringify({ pid: s.pid, dir: s.configDir }) + "\\n");',
    'if (process.argv[2] === "exit") process.exit(0);',
    'setInterval(() => {}, 1000);',
  ].join('\n');

  for (const ending of ['SIGKILL', 'exit'] as const) {
    test(`nats-server dies when its owning process ends via ${ending} without stop()`, async () => {
      const owner = spawn(process.execPath, ['--input-type=module', '-e', script, harnessUrl, ending], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        owner.stdout.setEncoding('utf8');
        owner.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
        });
        owner.once('exit', (code) => reject(new Error(`owner exited early (${String(code)}): ${out}`)));
      });
      const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
      try {
        expect(pid).toBeTypeOf('number');
        if (ending === 'SIGKILL') {
          expect(pidAlive(pid)).toBe(true);
          owner.kill('SIGKILL');
        }
        await waitFor(`nats-server pid ${pid} to exit`, () => !pidAlive(pid));
      } finally {
        owner.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
