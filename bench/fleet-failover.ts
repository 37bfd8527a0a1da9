// `npm run bench`, fleet part: how long after a cluster node dies the drivers that were on it answer
// `get_status` again. A 3-node loopback cluster (test/harness/nats-cluster.ts), in-process `--sim
// --no-media` drivers given every node's URL, and one bare NATS client per driver with the driver's
// own connection options as the baseline (its `reconnect` status: the broker connection alone, no
// driver on top). Each round kills (SIGKILL) the node holding the most drivers, measures both from
// the kill, then starts the node again. Reported as p50/p99/max and the driver/bare p50 ratio.
// Owns only measurement; no assertions (the 2 s bound is test/integration/fleet-cluster.test.ts).
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { loadConfig } from '../src/adapters/config-files.ts';
import { connectOnce } from '../src/adapters/nats-first-connect.ts';
import { natsConnectionOptions, RECONNECT_JITTER_MS, RECONNECT_TIME_WAIT_MS } from '../src/adapters/nats-options.ts';
import { MeshClient } from '../src/client/mesh-client.ts';
import { startDriver, type RunningDriver } from '../src/driver.ts';
import { setLogLevel } from '../src/logging/logger.ts';
import { startNatsCluster, type NatsNode } from '../test/harness/nats-cluster.ts';
import { firstAnswer } from '../test/harness/first-answer.ts';
import type { Stats } from './run.ts';

/** Drivers in the fleet: enough for several per node, few enough to start in ~1 s. */
const DEFAULT_DRIVERS = 12;
/** Node kills measured; each round's victim is the node holding the most drivers then. */
const DEFAULT_ROUNDS = 4;
/** Each poll of a driver after the kill (polls overlap, one every POLL_INTERVAL_MS); a reachable driver answers in milliseconds. */
const POLL_REQUEST_TIMEOUT_MS = 500;
const POLL_INTERVAL_MS = 10;
/** A driver not back after this long counts as this long (and shows in `max`). */
const GIVE_UP_MS = 10_000;
const DRIVER_PREFIX = 'reachy-mini-driver ';
const BARE_PREFIX = 'bench-bare ';

export interface FleetFailoverReport {
  readonly driverAnswer: Stats & { readonly max: number };
  readonly bareReconnect: Stats & { readonly max: number };
  readonly rounds: number;
}

function stats(samples: number[]): Stats & { max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN, mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length), samples: sorted.length };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function namesOn(node: NatsNode, prefix: string): Promise<string[]> {
  return (await node.clientNames()).filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
}

/** Time from `since` until `id` answers get_status through `mesh` (overlapping polls). */
async function answersAgain(mesh: MeshClient, id: string, since: number): Promise<number> {
  const at = await firstAnswer(mesh, id, { intervalMs: POLL_INTERVAL_MS, requestTimeoutMs: POLL_REQUEST_TIMEOUT_MS, giveUpMs: GIVE_UP_MS });
  return at === undefined ? GIVE_UP_MS : at - since;
}

/** Time from `since` until the bare client's next `reconnect` status. */
async function bareReconnects(nc: NatsConnection, since: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(GIVE_UP_MS), GIVE_UP_MS)));
  const reconnect = (async () => {
    for await (const status of nc.status()) if (status.type === 'reconnect') return Date.now() - since;
    return GIVE_UP_MS;
  })();
  return await Promise.race([reconnect, timeout]).finally(() => clearTimeout(timer));
}

export async function runFleetFailoverBench(drivers = DEFAULT_DRIVERS, rounds = DEFAULT_ROUNDS): Promise<FleetFailoverReport> {
  setLogLevel('error');
  const cluster = await startNatsCluster({ size: 3 });
  const fleet: Array<{ id: string; driver: RunningDriver }> = [];
  const bare: NatsConnection[] = [];
  const observers: NatsConnection[] = [];
  const driverSamples: number[] = [];
  const bareSamples: number[] = [];
  try {
    const env = { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', REACHY_AUDIT_LOG: 'none' };
    for (let i = 0; i < drivers; i++) {
      const id = `bench-fleet-${i}`;
      fleet.push({ id, driver: await startDriver(loadConfig({ argv: ['--sim', '--no-media', '--device-id', id, '--messaging-url', cluster.urls.join(',')], env })) });
      bare.push(await connectOnce(natsConnectionOptions({ servers: cluster.urls, name: `${BARE_PREFIX}${i}`, credentials: undefined, tls: {} })));
    }
    // One observer per node that stays on it; each round calls from one on a surviving node.
    for (const node of cluster.nodes) observers.push(await connect({ servers: node.url, name: `bench-observer ${node.name}`, maxReconnectAttempts: -1, reconnectTimeWait: 100 }));
    for (let round = 0; round < rounds; round++) {
      await sleep(RECONNECT_TIME_WAIT_MS + RECONNECT_JITTER_MS); // connections older than the redial wait, as in a running fleet
      const onNodes = await Promise.all(cluster.nodes.map((n) => namesOn(n, DRIVER_PREFIX)));
      const victimIndex = onNodes.reduce((best, ids, i) => (ids.length > onNodes[best]!.length ? i : best), 0);
      const victim = cluster.nodes[victimIndex]!;
      const affectedBare = (await namesOn(victim, BARE_PREFIX)).map((i) => bare[Number(i)]!);
      const mesh = new MeshClient(observers[(victimIndex + 1) % observers.length]!, { tenant: 'default', discoveryMode: 'd2d', requestTimeoutMs: 5_000 });
      const since = Date.now();
      const bareDone = affectedBare.map((nc) => bareReconnects(nc, since));
      await victim.kill();
      driverSamples.push(...(await Promise.all(onNodes[victimIndex]!.map((id) => answersAgain(mesh, id, since)))));
      bareSamples.push(...(await Promise.all(bareDone)));
      mesh.close();
      await victim.start();
      await cluster.waitForRoutes();
    }
  } finally {
    await Promise.all(fleet.map((f) => f.driver.stop()));
    await Promise.all([...bare, ...observers].map((nc) => nc.close().catch(() => undefined)));
    await cluster.stop();
  }
  return { driverAnswer: stats(driverSamples), bareReconnect: stats(bareSamples), rounds };
}

export function formatFleetFailover(r: FleetFailoverReport): string {
  const row = (name: string, s: Stats & { max: number }) => `  ${name.padEnd(34)} p50 ${s.p50.toFixed(0).padStart(5)} ms  p99 ${s.p99.toFixed(0).padStart(5)} ms  max ${s.max.toFixed(0).padStart(5)} ms  (${s.samples} samples)`;
  return [
    '',
    `Fleet failover: a 3-node cluster, the node with the most drivers killed ${r.rounds} times; time from the kill`,
    row('driver answers get_status again', r.driverAnswer),
    row('bare NATS client reconnected', r.bareReconnect),
    `  driver / bare p50: ${(r.driverAnswer.p50 / r.bareReconnect.p50).toFixed(2)}×`,
    '',
  ].join('\n');
}
