// The emulator's WebRTC signalling server: gst-webrtc-signalling protocol v1 (reachy-daemon-api.md
// §9.2, what webrtcsink runs on :8443) over one node:http server + ws on loopback (ephemeral port
// by default). Owns the lifecycle in the emulator's style — start, stop/start on the same port
// ("media server killed and back"), close — the ws sockets (frame decoding, bounds, `error` replies
// to bad frames) and producer registration. Producers either connect over ws with roles
// ["producer"] like the real webrtcsink, or register in-process (`registerProducer`) through the
// same router, so both follow one code path. Routing lives in signalling-router.ts.
import type { Server } from 'node:http';
import { http } from '../adapters/http-builtins.ts';
import type { Server as NetServer } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { createLogger } from '../logging/logger.ts';
import { decodeClientMessage, encodeServerMessage } from '../media/signalling/protocol.ts';
import { type InProcessProducer, type ProducerRegistration, registerInProcessProducer } from './signalling-in-process.ts';
import { type PeerSnapshot, type SessionSnapshot, SignallingRouter } from './signalling-router.ts';
import { listenOn } from './server-listen.ts';

export type { InProcessProducer, ProducerRegistration, ProducerSession, ProducerSessionHandlers } from './signalling-in-process.ts';
export type { PeerSnapshot, SessionSnapshot } from './signalling-router.ts';

export interface SignallingServerOptions {
  /** Bind address; loopback unless the emulated robot is reachable from the LAN. */
  readonly host?: string;
  /** 0 (default) picks an ephemeral port, kept across stop()/start(); the robot uses 8443. */
  readonly port?: number;
  /** A listening socket handed over by the driver (the --sim emulator's process): the first start serves it instead of binding `port`. */
  readonly socket?: NetServer;
}

export interface SignallingServer {
  readonly host: string;
  readonly port: number;
  /** `ws://host:port`. */
  readonly url: string;
  /** True while the server listens (false after stop() until start()). */
  readonly running: boolean;
  /** Connected and in-process peers with their roles and meta. */
  peers(): PeerSnapshot[];
  sessions(): SessionSnapshot[];
  /** Adds an in-process producer (roles ["producer"], `meta`); it stays registered across stop()/start(). */
  registerProducer(producer: InProcessProducer): ProducerRegistration;
  /** Drops every socket (their sessions end, the in-process side gets `endSession`) and frees the port. */
  stop(): Promise<void>;
  /** Listens again on the same port (after stop()). */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** Final stop; unregisters in-process producers. The server cannot be started again. */
  close(): Promise<void>;
}

const DEFAULT_HOST = '127.0.0.1';
/**
 * Largest frame accepted (bytes). The largest legitimate frame is an SDP offer or answer (a few
 * KiB, tens with many codecs); a bigger frame closes that socket (1009), not the server.
 */
export const MAX_FRAME_BYTES = 256 * 1024;
/** Peers at once. The robot serves a handful of viewers; 64 bounds the emulator's memory under abuse. */
export const MAX_PEERS = 64;
/** Close code for a peer refused because the server is full ("try again later", RFC 6455 §7.4.1). */
const CLOSE_TRY_AGAIN_LATER = 1013;

class EmulatedSignallingServer implements SignallingServer {
  readonly host: string;
  readonly #logger = createLogger('sim:signalling');
  readonly #router = new SignallingRouter(this.#logger);
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES });
  /** Open ws peers → their peer id. */
  readonly #sockets = new Map<WebSocket, string>();
  readonly #registrations = new Set<ProducerRegistration>();
  #port: number;
  /** The handed-over socket until the first start serves it. */
  #socket: NetServer | undefined;
  #server: Server | null = null;
  #closed = false;

  constructor(options: SignallingServerOptions) {
    this.host = options.host ?? DEFAULT_HOST;
    this.#port = options.port ?? 0;
    this.#socket = options.socket;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `ws://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.#port}`;
  }

  get running(): boolean {
    return this.#server !== null;
  }

  peers(): PeerSnapshot[] {
    return this.#router.peers();
  }

  sessions(): SessionSnapshot[] {
    return this.#router.sessions();
  }

  registerProducer(producer: InProcessProducer): ProducerRegistration {
    if (this.#closed) throw new Error('signalling server closed');
    const inner = registerInProcessProducer(this.#router, producer, this.#logger);
    const registration: ProducerRegistration = {
      peerId: inner.peerId,
      unregister: () => {
        this.#registrations.delete(registration);
        inner.unregister();
      },
    };
    this.#registrations.add(registration);
    return registration;
  }

  async start(): Promise<void> {
    if (this.#closed) throw new Error('signalling server closed');
    if (this.#server) return;
    const server = http.createServer((_request, response) => {
      // Like webrtcsink's server, only WebSocket upgrades are served.
      response.writeHead(426, { 'content-type': 'text/plain', connection: 'close', upgrade: 'websocket' });
      response.end('Upgrade Required');
    });
    server.on('upgrade', (request, socket, head: Buffer) => {
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws));
    });
    const socket = this.#socket;
    this.#socket = undefined;
    this.#port = await listenOn(server, socket ? { socket } : { port: this.#port, host: this.host });
    this.#server = server;
    this.#logger.debug('signalling server listening', { url: this.url });
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    // Sockets first (so no frame goes out to a dying peer), then their sessions and statuses.
    const dropped = [...this.#sockets];
    this.#sockets.clear();
    for (const [ws] of dropped) ws.terminate();
    for (const [, peerId] of dropped) this.#router.removePeer(peerId);
    await closed;
    this.#logger.debug('signalling server stopped', { port: this.#port });
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    for (const registration of [...this.#registrations]) registration.unregister();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #accept(ws: WebSocket): void {
    if (!this.#server || this.#router.peerCount >= MAX_PEERS) {
      this.#logger.warn('signalling peer refused: server full or stopping', { peers: this.#router.peerCount, limit: MAX_PEERS });
      ws.close(CLOSE_TRY_AGAIN_LATER, 'too many peers');
      return;
    }
    const peerId = this.#router.addPeer({
      kind: 'ws',
      deliver: (message) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(encodeServerMessage(message));
      },
    });
    this.#sockets.set(ws, peerId);
    ws.on('message', (data, isBinary) => {
      if (!this.#sockets.has(ws)) return;
      if (isBinary) {
        this.#router.reject(peerId, 'binary frames are not supported (the protocol is JSON text)');
        return;
      }
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
      const decoded = decodeClientMessage(text);
      if (decoded.ok) this.#router.handle(peerId, decoded.message);
      else this.#router.reject(peerId, decoded.problem.details);
    });
    ws.on('close', () => {
      if (this.#sockets.get(ws) !== peerId) return;
      this.#sockets.delete(ws);
      this.#router.removePeer(peerId);
    });
    // Oversized or invalid frames: ws reports here, then closes the socket (handled above).
    ws.on('error', (error) => this.#logger.debug('signalling socket error', { peerId, error }));
  }
}

/** Starts a signalling server and resolves once it listens: `startSignallingServer({ host: '127.0.0.1', port: 0 })`. */
export async function startSignallingServer(options: SignallingServerOptions = {}): Promise<SignallingServer> {
  const server = new EmulatedSignallingServer(options);
  await server.start();
  return server;
}
