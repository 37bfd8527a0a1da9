// Test-side client of the daemon emulator: REST calls through undici's `request` (never global
// fetch) and a WebSocket probe that queues every received JSON frame so a test can await "the
// next message of this kind" like reading a protocol transcript. Owns no assertions.
import { request } from 'undici';
import WebSocket from 'ws';

export interface HttpResult {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  readonly json: unknown;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export async function call(baseUrl: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<HttpResult> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const response = await request(`${baseUrl}${path}`, {
    method,
    ...(payload === undefined ? {} : { body: payload, headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), text, json: parse(text) };
}

export const get = (baseUrl: string, path: string): Promise<HttpResult> => call(baseUrl, 'GET', path);
export const post = (baseUrl: string, path: string, body?: unknown): Promise<HttpResult> => call(baseUrl, 'POST', path, body);

export type Frame = Record<string, unknown>;

interface Waiter {
  readonly match: (frame: Frame) => boolean;
  readonly resolve: (frame: Frame) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Default wait for an expected frame; generous, the emulator answers within one 20 ms tick. */
const DEFAULT_WAIT_MS = 3000;

export class WsProbe {
  readonly socket: WebSocket;
  /** Every frame received, with its arrival time (ms, performance.now). */
  readonly log: { readonly at: number; readonly frame: Frame }[] = [];
  readonly #queue: Frame[] = [];
  readonly #waiters = new Set<Waiter>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.log.push({ at: performance.now(), frame });
      for (const waiter of this.#waiters) {
        if (waiter.match(frame)) {
          this.#waiters.delete(waiter);
          clearTimeout(waiter.timer);
          waiter.resolve(frame);
          return;
        }
      }
      this.#queue.push(frame);
    });
  }

  static open(url: string): Promise<WsProbe> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      const probe = new WsProbe(socket);
      socket.once('open', () => resolve(probe));
      socket.once('error', reject);
    });
  }

  /** The next not-yet-consumed frame matching `match` (already queued, or the next to arrive). */
  next(match: (frame: Frame) => boolean = () => true, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame> {
    const index = this.#queue.findIndex(match);
    if (index >= 0) return Promise.resolve(this.#queue.splice(index, 1)[0] as Frame);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new Error(`no matching frame within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  nextOfType(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((frame) => frame.type === type, timeoutMs);
  }

  /** Drops queued frames (e.g. pushes received before the step under test). */
  drain(): void {
    this.#queue.length = 0;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the close code once the server closes (or the socket drops). */
  closed(): Promise<number> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) resolve(1006);
      else this.socket.once('close', (code) => resolve(code));
    });
  }

  close(): Promise<void> {
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('probe closed'));
    }
    this.#waiters.clear();
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.close();
    });
  }
}

/** Opens a socket expecting the handshake to be refused; resolves with the HTTP status. */
export function refusedStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('handshake unexpectedly accepted'));
    });
    socket.once('error', () => undefined);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true or `timeoutMs` elapses. */
export async function eventually(probe: () => Promise<boolean> | boolean, timeoutMs = DEFAULT_WAIT_MS, everyMs = 10): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await probe()) return;
    await sleep(everyMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
