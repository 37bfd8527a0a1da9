// Multi-server broker topologies for the fleet tests, on real Debian `nats-server` processes bound to
// free 127.0.0.1 ports: a cluster of N nodes joined by routes (every node lists every route), and a
// hub with one leaf node whose remote goes through a cuttable TCP proxy (tcp-cut-proxy.ts). Each
// node has an HTTP monitoring port (`/routez`, `/connz`, `/leafz`) so tests can wait for the
// topology and see which node a client sits on; each can be killed (SIGKILL, a crash) and started
// again on the same ports. Owns configs, ports and processes (through nats-server.ts's watchdog);
// not the clients or drivers under test.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, spawnNatsProcess, type NatsProcess } from './nats-server.ts';
import { startCutProxy, type CutProxy } from './tcp-cut-proxy.ts';

const LOOPBACK = '127.0.0.1';
/** Routes retry every second (nats-server's default); three nodes meet within ~1 s, 10 s covers a loaded CI box. */
const TOPOLOGY_READY_TIMEOUT_MS = 10_000;
/** How often the monitoring endpoints are polled while waiting for routes or the leaf link. */
const MONITOR_POLL_MS = 50;
/** One monitoring request; the endpoints answer from memory in milliseconds. */
const MONITOR_REQUEST_TIMEOUT_MS = 2_000;
/**
 * The leaf node redials its hub every `reconnect` seconds (integer, nats-server's default is 1):
 * the floor of the time mesh calls need to come back after the hub link returns.
 */
export const LEAF_RECONNECT_S = 1;
/** Server log kept per node for diagnostics, bounded. */
const LOG_CAP_CHARS = 128 * 1024;

export interface KillTimes {
  /** Date.now() just before SIGKILL was sent. */
  readonly signalledAt: number;
  /** Date.now() once the process had exited (the port is closed). */
  readonly exitedAt: number;
}

export interface NatsNode {
  readonly name: string;
  /** `nats://127.0.0.1:<port>`: the client URL. */
  readonly url: string;
  readonly port: number;
  readonly running: boolean;
  readonly pid: number | undefined;
  /** A monitoring endpoint as JSON (`routez`, `connz?limit=1024`, `leafz`). */
  monitor<T = Record<string, unknown>>(path: string): Promise<T>;
  /** Names of the client connections on this node (`name` given at connect; unnamed ones are ''). */
  clientNames(): Promise<string[]>;
  /** A crash: SIGKILL, resolves once the process is gone. */
  kill(): Promise<KillTimes>;
  /** Starts the node again with the same ports and config; resolves when it is ready for clients. */
  start(): Promise<void>;
  logs(): string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Every node's client URL, for a client's server list. */
  readonly urls: readonly string[];
  /** Resolves once every running node has a route to every other running node. */
  waitForRoutes(): Promise<void>;
  stop(): Promise<void>;
}

export interface LeafTopology {
  /** The mesh-wide broker; accepts leaf connections (through `link`). */
  readonly hub: NatsNode;
  /** The robot-local broker; its remote is the hub through `link`. */
  readonly leaf: NatsNode;
  /** The hub link: cut and restore it while both brokers keep running. */
  readonly link: CutProxy;
  /** Resolves once the leaf's hub connection is up (`true`) or gone (`false`). */
  waitForLink(up: boolean): Promise<void>;
  stop(): Promise<void>;
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freeLoopbackPort());
  return [...ports];
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TOPOLOGY_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, MONITOR_POLL_MS));
  }
  throw new Error(`nats topology: ${what} not within ${TOPOLOGY_READY_TIMEOUT_MS} ms`);
}

async function createNode(dir: string, name: string, port: number, monitorPort: number, body: readonly string[]): Promise<NatsNode> {
  const configFile = join(dir, `${name}.conf`);
  const config = [`listen: "${LOOPBACK}:${port}"`, `server_name: ${name}`, `http: "${LOOPBACK}:${monitorPort}"`, ...body, ''].join('\n');
  await writeFile(configFile, config, { mode: 0o600 });
  let log = '';
  const appendLog = (text: string): void => {
    log = (log + text).slice(-LOG_CAP_CHARS);
  };
  let proc: NatsProcess | undefined = await spawnNatsProcess(configFile, appendLog);
  const monitor = async <T>(path: string): Promise<T> => {
    const response = await fetch(`http://${LOOPBACK}:${monitorPort}/${path}`, { signal: AbortSignal.timeout(MONITOR_REQUEST_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${name} /${path}: HTTP ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    name,
    url: `nats://${LOOPBACK}:${port}`,
    port,
    get running() {
      return proc?.running ?? false;
    },
    get pid() {
      return proc?.pid;
    },
    monitor,
    async clientNames() {
      const connz = await monitor<{ connections?: Array<{ name?: string }> }>('connz?limit=4096');
      return (connz.connections ?? []).map((c) => c.name ?? '');
    },
    async kill() {
      const signalledAt = Date.now();
      await proc?.stop('SIGKILL');
      proc = undefined;
      return { signalledAt, exitedAt: Date.now() };
    },
    async start() {
      if (proc?.running) throw new Error(`${name} is already running`);
      proc = await spawnNatsProcess(configFile, appendLog);
    },
    logs: () => log,
  };
}

export interface NatsClusterOptions {
  /** Nodes (default 3). */
  readonly size?: number;
  readonly name?: string;
  /** Clustered JetStream on every node (own store dir each); ready once the meta group has a leader. */
  readonly jetstream?: boolean;
}

/** `size` nodes (default 3) in one cluster; resolves once every route is up (and JetStream's meta leader, with `jetstream`). */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const clusterName = options.name ?? 'reachy_fleet';
  const dir = await mkdtemp(join(tmpdir(), 'reachy-nats-cluster-'));
  const ports = await distinctPorts(size * 3);
  const clientPorts = ports.slice(0, size);
  const routePorts = ports.slice(size, 2 * size);
  const monitorPorts = ports.slice(2 * size);
  // Every node lists every route, itself included (nats-server skips its own): any node can restart alone.
  const routes = routePorts.map((p) => `nats-route://${LOOPBACK}:${p}`).join(', ');
  const nodes: NatsNode[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => (n.running ? n.kill() : undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const body = ['cluster {', `  name: ${clusterName}`, `  listen: "${LOOPBACK}:${routePorts[i]}"`, `  routes: [ ${routes} ]`, '}'];
      if (options.jetstream) body.push(`jetstream { store_dir: ${JSON.stringify(join(dir, `node${i + 1}-js`))} }`);
      nodes.push(await createNode(dir, `node${i + 1}`, clientPorts[i]!, monitorPorts[i]!, body));
    }
    const waitForRoutes = () =>
      until('every route', async () => {
        const running = nodes.filter((n) => n.running);
        const counts = await Promise.all(running.map(async (n) => (await n.monitor<{ num_routes: number }>('routez')).num_routes));
        return counts.every((c) => c === running.length - 1);
      });
    await waitForRoutes();
    if (options.jetstream) {
      await until('a JetStream meta leader', async () => {
        const jsz = await nodes[0]!.monitor<{ meta_cluster?: { leader?: string } }>('jsz');
        return (jsz.meta_cluster?.leader ?? '') !== '';
      });
    }
    return { nodes, urls: nodes.map((n) => n.url), waitForRoutes, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A hub and one leaf node whose remote is the hub's leaf port through a cuttable proxy. */
export async function startLeafTopology(): Promise<LeafTopology> {
  const dir = await mkdtemp(join(tmpdir(), 'reachy-nats-leaf-'));
  const [hubPort, hubLeafPort, hubMonitor, leafPort, leafMonitor] = (await distinctPorts(5)) as [number, number, number, number, number];
  const nodes: NatsNode[] = [];
  let link: CutProxy | undefined;
  const stopAll = async (): Promise<void> => {
    await link?.close();
    await Promise.all(nodes.map((n) => (n.running ? n.kill() : undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const hub = await createNode(dir, 'hub', hubPort, hubMonitor, ['leafnodes {', `  listen: "${LOOPBACK}:${hubLeafPort}"`, '}']);
    nodes.push(hub);
    link = await startCutProxy(hubLeafPort);
    const leaf = await createNode(dir, 'leaf', leafPort, leafMonitor, [
      'leafnodes {',
      `  reconnect: ${LEAF_RECONNECT_S}`,
      `  remotes [ { url: "nats-leaf://${LOOPBACK}:${link.port}" } ]`,
      '}',
    ]);
    nodes.push(leaf);
    const waitForLink = (up: boolean) =>
      until(up ? 'the leaf link up' : 'the leaf link down', async () => {
        const onLeaf = await leaf.monitor<{ leafnodes: number }>('leafz');
        if (!up) return onLeaf.leafnodes === 0;
        return onLeaf.leafnodes === 1 && (await hub.monitor<{ leafnodes: number }>('leafz')).leafnodes === 1;
      });
    await waitForLink(true);
    return { hub, leaf, link, waitForLink, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
