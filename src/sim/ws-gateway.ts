// WebSocket handshakes of the emulated daemon: routes an HTTP upgrade to its endpoint by path,
// refuses it the way uvicorn does (403 for an unknown path or a failed parameter validation; the
// backend gate's 503 `{"detail":"Backend not running"}`, reachy-daemon-api.md §0), logs every
// received frame, hands frames to their endpoint through the injected faults (per-socket delay
// keeping order, pause: handshakes, frames and pongs held until resume — fault-injector.ts), and
// terminates every socket when the daemon dies. Owns no endpoint behaviour.
import type { IncomingMessage } from 'node:http';
import { http } from '../adapters/http-builtins.ts';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logging/logger.ts';
import { type CommandLog, parseLoggedBody } from './command-log.ts';
import { type FaultInjector, OrderedRelease } from './fault-injector.ts';
import type { SimClock } from './sim-clock.ts';

export type Admission =
  | { readonly accept: true }
  | { readonly accept: false; readonly status: number; readonly json?: unknown };

export interface WsEndpoint {
  readonly path: string;
  /** Decides the handshake before any frame is exchanged (FastAPI dependencies and query params). */
  admit(query: URLSearchParams): Admission;
  connect(socket: WebSocket, query: URLSearchParams): void;
  /**
   * A frame from `socket`, when the daemon's loop gets to it (after injected delays or a pause;
   * the socket may be closed by then). `receivedAt`: emulator wall ms when it arrived.
   */
  frame?(socket: WebSocket, data: Buffer, isBinary: boolean, receivedAt: number): void;
}

/** Largest frame accepted (bytes); daemon frames are small JSON, uploads are chunked to 16 KiB. */
const MAX_FRAME_BYTES = 1024 * 1024;

export const REFUSE_FORBIDDEN: Admission = { accept: false, status: 403 };

function refuse(socket: Duplex, status: number, json: unknown): void {
  const body = json === undefined ? '' : JSON.stringify(json);
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    ...(body ? ['Content-Type: application/json'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

function asBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return Buffer.from(String(data));
}

export interface WsGatewayDeps {
  readonly log: CommandLog;
  readonly logger: Logger;
  readonly faults: FaultInjector;
  /** Delays run on the daemon clock, so a killed daemon leaves none behind. */
  readonly clock: SimClock;
}

export class WsGateway {
  // Pongs are the loop's work too: a stalled daemon answers no ping (autoPong off, pongs held).
  readonly #server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES, autoPong: false });
  readonly #endpoints: ReadonlyMap<string, WsEndpoint>;
  readonly #deps: WsGatewayDeps;

  constructor(endpoints: readonly WsEndpoint[], deps: WsGatewayDeps) {
    this.#endpoints = new Map(endpoints.map((endpoint) => [endpoint.path, endpoint]));
    this.#deps = deps;
  }

  /** The `upgrade` listener of the node:http server; a paused daemon answers the handshake on resume. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#deps.faults.whenRunning(() => {
      if (socket.destroyed) return;
      this.#upgrade(request, socket, head);
    });
  }

  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { logger } = this.#deps;
    const url = new URL(request.url ?? '/', 'http://emulator.invalid');
    const endpoint = this.#endpoints.get(url.pathname);
    const admission = endpoint ? endpoint.admit(url.searchParams) : REFUSE_FORBIDDEN;
    if (!endpoint || !admission.accept) {
      const refusal = admission.accept ? REFUSE_FORBIDDEN : admission;
      logger.debug('ws refused', { path: url.pathname, status: 'status' in refusal ? refusal.status : 403 });
      refuse(socket, 'status' in refusal ? refusal.status : 403, 'json' in refusal ? refusal.json : undefined);
      return;
    }
    this.#server.handleUpgrade(request, socket, head, (ws) => {
      this.#wire(ws, endpoint, url);
      endpoint.connect(ws, url.searchParams);
    });
  }

  #wire(ws: WebSocket, endpoint: WsEndpoint, url: URL): void {
    const { log, logger, faults, clock } = this.#deps;
    const query = Object.fromEntries(url.searchParams);
    const inOrder = new OrderedRelease((ms, fn) => clock.afterWall(ms, fn));
    ws.on('message', (data, isBinary) => {
      const receivedAt = clock.wallNowMs();
      const bytes = asBuffer(data);
      const text = bytes.toString(isBinary ? 'base64' : 'utf8');
      log.record({ transport: 'ws', method: 'WS', path: url.pathname, query, body: isBinary ? text : parseLoggedBody(text) });
      inOrder.push(faults.requestDelayMs(url.pathname), () => faults.whenRunning(() => endpoint.frame?.(ws, bytes, isBinary, receivedAt)));
    });
    ws.on('ping', (data) => faults.whenRunning(() => {
      if (ws.readyState === ws.OPEN) ws.pong(data);
    }));
    ws.on('error', (error) => logger.debug('ws error', { path: url.pathname, error }));
  }

  /** Drops every open socket without a close frame (the daemon process is gone). */
  terminateAll(): void {
    for (const client of this.#server.clients) client.terminate();
  }

  close(): Promise<void> {
    this.terminateAll();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
