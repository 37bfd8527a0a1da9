// WebSocket handshakes of the emulated daemon: routes an HTTP upgrade to its endpoint by path,
// refuses it the way uvicorn does (403 for an unknown path or a failed parameter validation; the
// backend gate's 503 `{"detail":"Backend not running"}`, reachy-daemon-api.md §0), logs every
// received frame, and terminates every socket when the daemon dies. Owns no endpoint behaviour.
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../logging/logger.ts';
import { type CommandLog, parseLoggedBody } from './command-log.ts';

export type Admission =
  | { readonly accept: true }
  | { readonly accept: false; readonly status: number; readonly json?: unknown };

export interface WsEndpoint {
  readonly path: string;
  /** Decides the handshake before any frame is exchanged (FastAPI dependencies and query params). */
  admit(query: URLSearchParams): Admission;
  connect(socket: WebSocket, query: URLSearchParams): void;
}

/** Largest frame accepted (bytes); daemon frames are small JSON, uploads are chunked to 16 KiB. */
const MAX_FRAME_BYTES = 1024 * 1024;

export const REFUSE_FORBIDDEN: Admission = { accept: false, status: 403 };

function refuse(socket: Duplex, status: number, json: unknown): void {
  const body = json === undefined ? '' : JSON.stringify(json);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    ...(body ? ['Content-Type: application/json'] : []),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

export class WsGateway {
  readonly #server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES });
  readonly #endpoints: ReadonlyMap<string, WsEndpoint>;
  readonly #log: CommandLog;
  readonly #logger: Logger;

  constructor(endpoints: readonly WsEndpoint[], log: CommandLog, logger: Logger) {
    this.#endpoints = new Map(endpoints.map((endpoint) => [endpoint.path, endpoint]));
    this.#log = log;
    this.#logger = logger;
  }

  /** The `upgrade` listener of the node:http server. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://emulator.invalid');
    const endpoint = this.#endpoints.get(url.pathname);
    const admission = endpoint ? endpoint.admit(url.searchParams) : REFUSE_FORBIDDEN;
    if (!endpoint || !admission.accept) {
      const refusal = admission.accept ? REFUSE_FORBIDDEN : admission;
      this.#logger.debug('ws refused', { path: url.pathname, status: 'status' in refusal ? refusal.status : 403 });
      refuse(socket, 'status' in refusal ? refusal.status : 403, 'json' in refusal ? refusal.json : undefined);
      return;
    }
    this.#server.handleUpgrade(request, socket, head, (ws) => {
      const query = Object.fromEntries(url.searchParams);
      ws.on('message', (data, isBinary) => {
        const text = Buffer.isBuffer(data) ? data.toString(isBinary ? 'base64' : 'utf8') : String(data);
        this.#log.record({ transport: 'ws', method: 'WS', path: url.pathname, query, body: isBinary ? text : parseLoggedBody(text) });
      });
      ws.on('error', (error) => this.#logger.debug('ws error', { path: url.pathname, error }));
      endpoint.connect(ws, url.searchParams);
    });
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
