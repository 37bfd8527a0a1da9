// The driver's broker connection across several servers (src/adapters/nats-options.ts,
// nats-first-connect.ts), on real nats-server processes behind cuttable proxies: a server down at
// the first connect stays a failover target, and when the connected server's host vanishes (its
// connection drops, new dials hang unanswered) the next dial goes to another server at once instead
// of waiting CONNECT_TIMEOUT_MS on the lost one. Plus the pure choice of the next server.
import { afterEach, expect, test } from 'vitest';
import type { NatsConnection, Server } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { connectOnce, restoreConfiguredServers } from '../../src/adapters/nats-first-connect.ts';
import { CONNECT_TIMEOUT_MS, leastRecentlyDialed, natsConnectionOptions, RECONNECT_JITTER_MS, RECONNECT_TIME_WAIT_MS } from '../../src/adapters/nats-options.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { startCutProxy, type CutProxy } from '../harness/tcp-cut-proxy.ts';

/** The failover bound of issue 13 part 4, well under CONNECT_TIMEOUT_MS (what redialing the lost host first would cost). */
const FAILOVER_BOUND_MS = 2_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

const server = (listen: string, lastConnect: number): Server => {
  const [hostname, port] = listen.split(':') as [string, string];
  return { hostname, port: Number(port), listen, src: listen, tlsName: '', reconnects: 0, lastConnect, gossiped: false, didConnect: lastConnect > 0 };
};

test('the next server is the one dialed longest ago: never-dialed first, the one just lost last, ties in pool order', () => {
  expect(leastRecentlyDialed([server('a:4222', 5_000), server('b:4222', 0), server('c:4222', 0)])?.listen).toBe('b:4222');
  expect(leastRecentlyDialed([server('lost:4222', 9_000), server('b:4222', 3_000), server('c:4222', 7_000)])?.listen).toBe('b:4222');
  expect(leastRecentlyDialed([server('only:4222', 9_000)])?.listen).toBe('only:4222');
  expect(leastRecentlyDialed([])).toBeNull();
});

async function twoServersBehindProxies(): Promise<{ proxies: [CutProxy, CutProxy]; urls: string[] }> {
  const servers: NatsServerHandle[] = [await startNatsServer(), await startNatsServer()];
  const proxies: [CutProxy, CutProxy] = [await startCutProxy(servers[0]!.port), await startCutProxy(servers[1]!.port)];
  cleanups.push(() => Promise.all([...proxies.map((p) => p.close()), ...servers.map((s) => s.stop())]));
  return { proxies, urls: proxies.map((p) => `nats://127.0.0.1:${p.port}`) };
}

async function driverConnection(urls: string[]): Promise<NatsConnection> {
  const nc = await connectOnce(natsConnectionOptions({ servers: urls, name: 'failover-test', credentials: undefined, tls: {} }));
  cleanups.push(() => nc.close());
  return nc;
}

test('nats.js drops a server that failed during the first connect from the pool; restoreConfiguredServers puts it back', async () => {
  const { proxies: [down, up], urls } = await twoServersBehindProxies();
  down.cut();
  const configured = [`nats://127.0.0.1:${down.port}`, `nats://127.0.0.1:${up.port}`];
  const nc = await connect({ servers: configured, noRandomize: true, waitOnFirstConnect: false });
  cleanups.push(() => nc.close());
  expect(nc.getServers().map((s) => s.listen)).toEqual([`127.0.0.1:${up.port}`]);
  restoreConfiguredServers(nc, configured);
  expect(nc.getServers().map((s) => s.listen).sort()).toEqual(urls.map((u) => u.slice('nats://'.length)).sort());
  expect(nc.getServer()).toBe(`127.0.0.1:${up.port}`);
});

test('a server down at the first connect stays in the pool; when the connected host vanishes the other one is dialed at once', async () => {
  const { proxies: [first, second], urls } = await twoServersBehindProxies();
  second.cut(); // down at start: the first connect can only succeed through `first`
  const nc = await driverConnection(urls);
  expect(nc.getServer()).toBe(`127.0.0.1:${first.port}`);
  expect(nc.getServers().map((s) => s.listen).sort()).toEqual(urls.map((u) => u.slice('nats://'.length)).sort());
  second.restore();
  // A long-lived connection: the lost server's own reconnect wait has passed, as in a real outage.
  await new Promise((resolve) => setTimeout(resolve, RECONNECT_TIME_WAIT_MS + RECONNECT_JITTER_MS + 100));

  const reconnected = (async () => {
    for await (const status of nc.status()) if (status.type === 'reconnect') return Date.now();
    return Number.POSITIVE_INFINITY;
  })();
  const vanishedAt = Date.now();
  first.blackhole(); // the connection drops; a new dial to it would hang until CONNECT_TIMEOUT_MS
  const failoverMs = (await Promise.race([reconnected, new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), CONNECT_TIMEOUT_MS + 2_000))])) - vanishedAt;
  expect(failoverMs).toBeLessThanOrEqual(FAILOVER_BOUND_MS);
  expect(nc.getServer()).toBe(`127.0.0.1:${second.port}`);
  expect(second.carried).toBeGreaterThanOrEqual(1);
  await nc.flush(); // usable on the new server
});
