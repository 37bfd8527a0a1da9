// The multi-server harness itself (nats-cluster.ts), so a fleet test failing says something about the
// driver, not the harness: a message crosses the routes from one node to another; a killed node
// frees its port, starts again on it and rejoins; clustered JetStream answers its API on every node;
// the cut proxy refuses, black-holes and restores.
import { connect as tcpConnect } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { startNatsCluster, type NatsCluster } from './nats-cluster.ts';
import { startCutProxy } from './tcp-cut-proxy.ts';

const clusters: NatsCluster[] = [];
afterEach(async () => {
  while (clusters.length > 0) await clusters.pop()!.stop();
});

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('routes carry a request from one node to a responder on another; a killed node restarts on its port and rejoins', async () => {
  const cluster = await startNatsCluster({ size: 3 });
  clusters.push(cluster);
  const [a, b, c] = cluster.nodes as [NatsCluster['nodes'][0], NatsCluster['nodes'][0], NatsCluster['nodes'][0]];
  const responder = await connect({ servers: c.url, name: 'responder' });
  responder.subscribe('echo', { callback: (_e, msg) => void msg.respond(msg.data) });
  await responder.flush();
  const caller = await connect({ servers: a.url });
  await cluster.waitForRoutes();
  expect((await caller.request('echo', 'hello', { timeout: 2_000 })).string()).toBe('hello');
  expect(await c.clientNames()).toContain('responder');

  const times = await b.kill();
  expect(times.exitedAt).toBeGreaterThanOrEqual(times.signalledAt);
  expect(b.running).toBe(false);
  expect(await portAccepts(b.port)).toBe(false);
  await b.start();
  await cluster.waitForRoutes();
  const late = await connect({ servers: b.url });
  expect((await late.request('echo', 'again', { timeout: 2_000 })).string()).toBe('again');
  await Promise.all([responder.close(), caller.close(), late.close()]);
});

test('clustered JetStream answers its API on every node', async () => {
  const cluster = await startNatsCluster({ size: 3, jetstream: true });
  clusters.push(cluster);
  for (const node of cluster.nodes) {
    const nc = await connect({ servers: node.url });
    const info = (await nc.request('$JS.API.INFO', '', { timeout: 3_000 })).json<{ type: string }>();
    expect(info.type).toBe('io.nats.jetstream.api.v1.account_info_response');
    await nc.close();
  }
});

test('the cut proxy carries, refuses, black-holes and restores', async () => {
  const cluster = await startNatsCluster({ size: 1 });
  clusters.push(cluster);
  const proxy = await startCutProxy(cluster.nodes[0]!.port);
  try {
    const url = `nats://127.0.0.1:${proxy.port}`;
    const through = await connect({ servers: url, reconnect: false });
    await through.flush();
    expect(proxy.carried).toBe(1);
    proxy.cut();
    await through.closed(); // the link dropped under it (reconnect off: closed for good)
    expect(through.isClosed()).toBe(true);
    await expect(connect({ servers: url, reconnect: false, timeout: 1_000 })).rejects.toThrow();
    proxy.blackhole();
    const started = Date.now();
    await expect(connect({ servers: url, reconnect: false, timeout: 500 })).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(450); // held until the client's own timeout
    proxy.restore();
    const again = await connect({ servers: url, reconnect: false });
    await again.flush();
    await again.close();
  } finally {
    await proxy.close();
  }
});
