// Misbehaving peers for the daemon adapter tests, for failures the emulator cannot produce: a TCP
// proxy in front of the emulator that resets the connection once the daemon has answered (the
// request did reach the daemon — the case where a retried POST would run twice), a server that
// accepts and never answers, a scripted HTTP server (malformed replies), and a WebSocket server
// that never answers pings. Plus `nextEvent`, to await a client's next event like a transcript line.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { DaemonMoveUpdates, MoveUpdatesEvents } from '../../src/adapters/daemon-move-updates.ts';
import type { DaemonSdkSocket, SdkSocketEvents } from '../../src/adapters/daemon-sdk-socket.ts';

/** Default wait for an expected event; generous, every peer here answers within milliseconds. */
const DEFAULT_WAIT_MS = 3000;

export interface Peer {
  readonly url: string;
  close(): Promise<void>;
}

function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server | ReturnType<typeof createHttpServer>, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

export interface ResetProxy extends Peer {
  /** The next `count` daemon replies are replaced by a TCP reset (the request was delivered). */
  resetNextReplies(count: number): void;
}

/** A loopback TCP proxy to `targetPort` that can cut replies after the daemon processed the request. */
export async function startResetProxy(targetPort: number): Promise<ResetProxy> {
  const sockets = new Set<Socket>();
  let resets = 0;
  const server = createServer((client) => {
    sockets.add(client);
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (resets > 0) {
        resets -= 1;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    resetNextReplies: (count) => {
      resets = count;
    },
    close: () => closeServer(server, sockets),
  };
}

/** Accepts TCP connections and never sends a byte (a wedged daemon). */
export async function startSilentServer(): Promise<Peer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server, sockets) };
}

/** An HTTP server answering every request with `reply(path)` (status, content type, raw body). */
export async function startScriptedHttp(reply: (request: IncomingMessage) => { status: number; body: string; type?: string }): Promise<Peer> {
  const sockets = new Set<Socket>();
  const server = createHttpServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      const { status, body, type } = reply(request);
      response.writeHead(status, { 'content-type': type ?? 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server, sockets) };
}

export interface DeafWsServer extends Peer {
  /** Number of WebSocket connections accepted so far. */
  readonly connections: number;
}

/** A WebSocket server that accepts every upgrade, sends nothing and never answers pings. */
export async function startDeafWsServer(): Promise<DeafWsServer> {
  const sockets = new Set<Socket>();
  const http = createHttpServer();
  const wss = new WebSocketServer({ server: http, autoPong: false, perMessageDeflate: false });
  let connections = 0;
  wss.on('connection', () => {
    connections += 1;
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(http);
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closeServer(http, sockets);
    },
  };
}

type ArgOf<F> = F extends (arg: infer A) => void ? A : undefined;

/** The next `event` (matching `match`) emitted by an adapter, or a rejection after `timeoutMs`. */
export function nextEvent<K extends keyof SdkSocketEvents>(
  source: DaemonSdkSocket, event: K, match?: (value: ArgOf<SdkSocketEvents[K]>) => boolean, timeoutMs?: number,
): Promise<ArgOf<SdkSocketEvents[K]>>;
export function nextEvent<K extends keyof MoveUpdatesEvents>(
  source: DaemonMoveUpdates, event: K, match?: (value: ArgOf<MoveUpdatesEvents[K]>) => boolean, timeoutMs?: number,
): Promise<ArgOf<MoveUpdatesEvents[K]>>;
export function nextEvent(
  source: { on(event: string, listener: (value: unknown) => void): () => void },
  event: string,
  match: (value: unknown) => boolean = () => true,
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = source.on(event, (value) => {
      if (!match(value)) return;
      clearTimeout(timer);
      stop();
      resolve(value);
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until true or `timeoutMs` elapses. */
export async function eventually(probe: () => boolean | Promise<boolean>, timeoutMs = DEFAULT_WAIT_MS, everyMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return;
    await sleep(everyMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
