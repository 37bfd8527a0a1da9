// The `--sim` convenience broker: when nothing answers on the default broker URL, start a private
// `nats-server` on a free loopback port and stop it with the driver. Owns that child process and
// the reachability probe; never used for a real robot or a configured broker.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import { ConfigError, DEFAULT_BROKER_URL, type DriverConfig } from '../config/config.ts';

/** A local broker answers a TCP connect in well under this; anything slower is "not there". */
export const BROKER_PROBE_TIMEOUT_MS = 750;
/** nats-server is ready in ~50 ms here; allow for a slow first start on a busy CI box. */
export const PRIVATE_BROKER_START_TIMEOUT_MS = 10_000;
/** Where Debian puts system binaries that a non-root PATH often lacks (nats-server is in /usr/sbin). */
const SYSTEM_BIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/local/bin', '/usr/bin'];

/** PATH's directories, then the system binary directories. */
export function binarySearchDirs(pathEnv: string | undefined): string[] {
  return [...(pathEnv ?? '').split(delimiter).filter(Boolean), ...SYSTEM_BIN_DIRS];
}

/** The first executable `name` in `dirs`, or undefined. */
export function findExecutable(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function findNatsServer(pathEnv: string | undefined): string | undefined {
  return findExecutable('nats-server', binarySearchDirs(pathEnv));
}

/** True when something accepts a TCP connection at the URL's host and port. */
export function brokerAnswers(url: string, timeoutMs = BROKER_PROBE_TIMEOUT_MS): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '');
    port = Number(u.port || 4222);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

async function freeLoopbackPort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateBroker {
  readonly url: string;
  /** The nats-server child's process id (undefined if the spawn gave none). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startPrivateBroker(binary: string): Promise<PrivateBroker> {
  const port = await freeLoopbackPort();
  // Its own process group: Ctrl-C in the terminal reaches the driver only, which leaves the mesh
  // (departing presence) before it stops the broker; the driver's exit still kills it.
  const child: ChildProcess = spawn(binary, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', detached: true });
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + PRIVATE_BROKER_START_TIMEOUT_MS;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (!(await brokerAnswers(url, 200))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the private nats-server (${binary}) did not start on ${url}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const kill = () => child.kill('SIGTERM');
  process.once('exit', kill);
  return {
    url,
    pid: child.pid,
    async stop() {
      process.off('exit', kill);
      if (exited) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

export interface BrokerChoiceDeps {
  readonly answers: (url: string) => Promise<boolean>;
  readonly findBinary: (pathEnv: string) => string | undefined;
  readonly start: (binary: string) => Promise<PrivateBroker>;
}

const REAL_DEPS: BrokerChoiceDeps = { answers: (url) => brokerAnswers(url), findBinary: findNatsServer, start: startPrivateBroker };

/**
 * The broker URLs the driver uses. Only `--sim` with the default URL, when nothing answers there,
 * gets a private loopback broker; otherwise the configured URLs are used as they are (the driver
 * waits for a configured broker forever rather than exit).
 */
export async function chooseBrokers(
  config: Pick<DriverConfig, 'sim' | 'messagingUrls' | 'sources' | 'searchPath'>,
  deps: BrokerChoiceDeps = REAL_DEPS,
): Promise<{ urls: ReadonlyArray<string>; broker?: PrivateBroker }> {
  const usingDefault = config.sources.messagingUrls === 'default' && config.messagingUrls.length === 1 && config.messagingUrls[0] === DEFAULT_BROKER_URL;
  if (!config.sim || !usingDefault || (await deps.answers(DEFAULT_BROKER_URL))) return { urls: config.messagingUrls };
  const binary = deps.findBinary(config.searchPath);
  if (!binary) {
    throw new ConfigError(
      `no NATS broker answers at ${DEFAULT_BROKER_URL} and nats-server is not installed: install it (apt-get install nats-server) or point the driver at a broker with MESSAGING_URLS`,
    );
  }
  const broker = await deps.start(binary);
  return { urls: [broker.url], broker };
}
