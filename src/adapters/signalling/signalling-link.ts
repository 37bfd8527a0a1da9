// One consumer-side WebSocket to a gst-webrtc-signalling v1 server (reachy-daemon-api.md §9.2):
// opens it with a handshake deadline and a bounded frame size, decodes every text frame strictly
// (protocol.ts) into an inbox that the consumer flow reads step by step ("the next message of this
// stage") and then hands to a live handler once the session runs. Owns the socket, its close and
// the mapping of socket failures to `SignallingUnreachable`; does not own the consumer flow, the
// session, nor any WebRTC (signalling-client.ts).
import WebSocket from 'ws';
import type { Logger } from '../../logging/logger.ts';
import { SignallingProtocolError, SignallingTimeout, SignallingUnreachable } from '../../media/signalling/errors.ts';
import { type ClientMessage, type DecodeProblem, type ServerMessage, decodeServerMessage, encodeClientMessage } from '../../media/signalling/protocol.ts';

/**
 * Largest frame accepted. The biggest legitimate frame is the robot's SDP offer (H.264 + Opus +
 * the `data` DataChannel, a few KiB; tens of KiB with many codecs); 256 KiB bounds memory with margin.
 */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** How long `close()` waits for the server's close frame before dropping the socket. */
export const CLOSE_GRACE_MS = 500;
/**
 * Frames kept while the flow is between two reads (e.g. during the caller's answer callback, ICE
 * and `peerStatusChanged` accumulate). A real server sends a handful; more means a runaway peer, so
 * the link is dropped instead of growing without bound.
 */
export const MAX_INBOX_FRAMES = 1024;

export type InboxItem =
  | { readonly kind: 'message'; readonly message: ServerMessage }
  | { readonly kind: 'problem'; readonly problem: DecodeProblem }
  | { readonly kind: 'closed'; readonly code: number; readonly reason: string };

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? code : 'unknown';
}

export class SignallingLink {
  readonly url: string;
  readonly #socket: WebSocket;
  readonly #log: Logger;
  readonly #queue: InboxItem[] = [];
  readonly #closedPromise: Promise<void>;
  #waiter: ((item: InboxItem) => void) | null = null;
  #live: ((item: InboxItem) => void) | null = null;
  #closedItem: InboxItem | null = null;

  private constructor(url: string, socket: WebSocket, log: Logger) {
    this.url = url;
    this.#socket = socket;
    this.#log = log;
    this.#closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#push({ kind: 'problem', problem: { kind: 'not-an-object', messageType: null, details: 'binary frame (the protocol is JSON text)' } });
        return;
      }
      const decoded = decodeServerMessage(rawText(data));
      this.#push(decoded.ok ? { kind: 'message', message: decoded.message } : { kind: 'problem', problem: decoded.problem });
    });
    socket.on('close', (code, reason) => {
      const item: InboxItem = { kind: 'closed', code, reason: reason.length > 0 ? reason.toString('utf8') : `closed with code ${code}` };
      this.#closedItem = item;
      this.#push(item);
    });
    // After `open`, an error is always followed by `close`, which the inbox reports.
    socket.on('error', (error) => this.#log.debug('signalling socket error', { url, error }));
  }

  /** Connects; rejects with `SignallingUnreachable` (never anything else) when no WebSocket opens in time. */
  static open(url: string, handshakeTimeoutMs: number, log: Logger): Promise<SignallingLink> {
    return new Promise((resolve, reject) => {
      let socket: WebSocket;
      try {
        socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: MAX_PAYLOAD_BYTES, followRedirects: false });
      } catch (error) {
        reject(new SignallingUnreachable({ message: `invalid signalling URL ${url}: ${(error as Error).message}`, url, code: 'EINVAL' }));
        return;
      }
      let code: string | null = null;
      const timer = setTimeout(() => {
        code = 'ETIMEDOUT';
        socket.terminate();
      }, handshakeTimeoutMs);
      socket.once('unexpected-response', (_request, response) => {
        code = `HTTP_${response.statusCode ?? 0}`;
        socket.terminate();
      });
      const onError = (error: Error): void => {
        clearTimeout(timer);
        code ??= errorCode(error);
        const why = code === 'ETIMEDOUT' ? `no WebSocket handshake within ${handshakeTimeoutMs} ms` : code.startsWith('HTTP_') ? `HTTP ${code.slice(5)} instead of a WebSocket upgrade` : error.message;
        reject(new SignallingUnreachable({ message: `signalling server ${url} unreachable: ${why}`, url, code }));
      };
      socket.once('error', onError);
      socket.once('open', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new SignallingLink(url, socket, log));
      });
    });
  }

  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  /** Sends one message; false (nothing sent) once the socket is no longer open. */
  send(message: ClientMessage): boolean {
    if (!this.open) return false;
    this.#socket.send(encodeClientMessage(message));
    return true;
  }

  /** The next inbox item, or `timeout`. After a close, every read returns the `closed` item. */
  next(timeoutMs: number): Promise<InboxItem | 'timeout'> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closedItem) return Promise.resolve(this.#closedItem);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve('timeout');
      }, Math.max(0, timeoutMs));
      this.#waiter = (item) => {
        clearTimeout(timer);
        resolve(item);
      };
    });
  }

  /** From now on every item (queued ones first, in order) goes to `handler`; `next` is no longer used. */
  goLive(handler: (item: InboxItem) => void): void {
    this.#live = handler;
    for (let item = this.#queue.shift(); item && this.#live; item = this.#queue.shift()) handler(item);
  }

  /** Closes (normal closure), dropping the socket if the server does not answer within the grace. */
  async close(reason: string): Promise<void> {
    this.#live = null;
    const socket = this.#socket;
    if (socket.readyState === WebSocket.CLOSED) return;
    const grace = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    if (socket.readyState === WebSocket.OPEN) socket.close(1000, reason);
    else socket.terminate();
    await this.#closedPromise;
    clearTimeout(grace);
  }

  #push(item: InboxItem): void {
    if (this.#live) {
      this.#live(item);
      return;
    }
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = null;
      waiter(item);
      return;
    }
    if (item.kind === 'closed') return; // kept in #closedItem, read last
    this.#queue.push(item);
    if (this.#queue.length > MAX_INBOX_FRAMES) {
      this.#log.warn('signalling inbox overflow, dropping the link', { url: this.url, frames: this.#queue.length });
      this.#queue.length = 0;
      this.#socket.terminate();
    }
  }
}

/** What a stage does with a message: the value it waited for, or `undefined` to skip it. */
export type Accept<T> = (message: ServerMessage) => T | undefined;

/**
 * Reads the link until `accept` returns a value. A malformed frame (unless `skip` says this stage
 * may pass over it) or a server `error` rejects with `SignallingProtocolError`, the deadline with
 * `SignallingTimeout`; a close rejects with what `onClosed` builds (the caller knows whether it was
 * closing on purpose).
 */
export async function expectMessage<T>(
  link: SignallingLink,
  stage: string,
  timeoutMs: number,
  accept: Accept<T>,
  onClosed: (item: { readonly code: number; readonly reason: string }) => Error,
  skip: (problem: DecodeProblem) => boolean = () => false,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const item = await link.next(deadline - performance.now());
    if (item === 'timeout') throw new SignallingTimeout({ message: `no ${stage} from ${link.url} within ${timeoutMs} ms`, stage, timeoutMs });
    if (item.kind === 'closed') throw onClosed(item);
    if (item.kind === 'problem') {
      if (skip(item.problem)) continue;
      throw protocolError(stage, item.problem.details);
    }
    if (item.message.type === 'error') throw protocolError(stage, `server error: ${item.message.details}`);
    const value = accept(item.message);
    if (value !== undefined) return value;
  }
}

export function protocolError(stage: string, details: string): SignallingProtocolError {
  return new SignallingProtocolError({ message: `signalling protocol error while waiting for ${stage}: ${details}`, details, stage });
}
