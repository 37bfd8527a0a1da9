// One HTTP request through the emulated daemon, in FastAPI's order (reachy-daemon-api.md §0):
// log it, find the route (404/405), decode a JSON body (422 `json_invalid`), the backend gate
// (503), the required-body check (422 `missing`), then the handler; an unexpected exception
// becomes uvicorn's plain-text 500. In front of all that, the daemon's MaxBodySizeMiddleware on the
// sound upload path (413 from the Content-Length before reading, or once a streamed body passes
// the cap; the connection is then closed). The body is read on arrival (bytes in the daemon's
// kernel); then the injected faults (fault-injector.ts): request delay, pause, reply hold, dropped
// reply. Owns the node:http request/response plumbing only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.ts';
import { type CommandLog, parseLoggedBody } from './command-log.ts';
import type { FaultInjector } from './fault-injector.ts';
import {
  backendNotRunning, internalServerError, methodNotAllowed, notFound, validationFailed, type HttpReply,
} from './fastapi-errors.ts';
import { matchRoute } from './http-routes.ts';
import { invalidJsonIssue } from './request-validation.ts';
import type { SimDaemon } from './sim-daemon.ts';
import { MAX_SOUND_UPLOAD_BYTES } from './sound-uploads.ts';

/** Largest request body read (bytes); the daemon's biggest JSON bodies are a few hundred bytes. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Python's json error for the commonest malformed body (V8's wording differs). */
const JSON_DECODE_ERROR = 'Expecting value';

/**
 * Paths under the daemon's MaxBodySizeMiddleware (main.py) and their cap: exact paths, any method,
 * checked before routing.
 */
const MIDDLEWARE_BODY_LIMITS: ReadonlyMap<string, number> = new Map([['/api/media/sounds/upload', MAX_SOUND_UPLOAD_BYTES]]);

type BodyRead = { readonly kind: 'ok'; readonly bytes: Buffer } | { readonly kind: 'too-large' };

/** Reads the body up to `limit`; `stopAtLimit` resolves as soon as it is passed, reading no further. */
function readBody(request: IncomingMessage, limit: number, stopAtLimit: boolean): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        if (stopAtLimit) {
          request.off('data', onData);
          request.pause();
          resolve({ kind: 'too-large' });
        }
      } else chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(tooLarge ? { kind: 'too-large' } : { kind: 'ok', bytes: Buffer.concat(chunks) }));
    request.on('error', reject);
  });
}

interface Dispatched {
  readonly reply: HttpReply;
  /** Close the connection after the reply (a body left unread must not be parsed as a request). */
  readonly close: boolean;
}

function send(response: ServerResponse, reply: HttpReply, close = false): void {
  const isJson = 'json' in reply;
  const payload = isJson ? JSON.stringify(reply.json) : reply.text;
  response.writeHead(reply.status, {
    'content-type': isJson ? 'application/json' : reply.contentType,
    'content-length': Buffer.byteLength(payload),
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(payload);
}

/** The middleware's 413. */
const bodyTooLarge = (limit: number): HttpReply => ({ status: 413, json: { detail: `Request body too large; maximum is ${limit} bytes` } });

/** What the command log keeps of a body: multipart bodies (up to 25 MiB) only as a summary. */
function loggedBody(bytes: Buffer, contentType: string | undefined): unknown {
  if (contentType?.toLowerCase().startsWith('multipart/')) return `[multipart body, ${bytes.length} bytes]`;
  return parseLoggedBody(bytes.toString('utf8'));
}

function jsonErrorPosition(error: unknown): number {
  const found = error instanceof Error ? /position (\d+)/.exec(error.message) : null;
  return found ? Number(found[1]) : 0;
}

/** A request whose body has been read, or one already answered by the middleware. */
type Received =
  | { readonly kind: 'answered'; readonly path: string; readonly dispatched: Dispatched }
  | { readonly kind: 'read'; readonly url: URL; readonly method: string; readonly raw: Buffer; readonly contentType: string | undefined };

/** Reads and logs a request; the middleware answers oversized uploads here. */
async function receive(request: IncomingMessage, log: CommandLog): Promise<Received> {
  const url = new URL(request.url ?? '/', 'http://emulator.invalid');
  const method = request.method ?? 'GET';
  const contentType = request.headers['content-type'];
  const query = Object.fromEntries(url.searchParams);
  const middlewareLimit = MIDDLEWARE_BODY_LIMITS.get(url.pathname);
  const answered = (dispatched: Dispatched): Received => ({ kind: 'answered', path: url.pathname, dispatched });
  if (middlewareLimit !== undefined) {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > middlewareLimit) {
      log.record({ transport: 'http', method, path: url.pathname, query, body: undefined });
      return answered({ reply: bodyTooLarge(middlewareLimit), close: true });
    }
  }
  const read = await readBody(request, middlewareLimit ?? MAX_BODY_BYTES, middlewareLimit !== undefined);
  const raw = read.kind === 'ok' ? read.bytes : Buffer.alloc(0);
  log.record({ transport: 'http', method, path: url.pathname, query, body: loggedBody(raw, contentType) });
  if (read.kind === 'too-large') {
    return answered(middlewareLimit !== undefined
      ? { reply: bodyTooLarge(middlewareLimit), close: true }
      : { reply: { status: 413, json: { detail: 'Request Entity Too Large' } }, close: false });
  }
  return { kind: 'read', url, method, raw, contentType };
}

async function routeRequest(received: Extract<Received, { kind: 'read' }>, receivedAt: number, daemon: SimDaemon): Promise<HttpReply> {
  const { url, method, raw, contentType } = received;
  const match = matchRoute(method, url.pathname);
  if (match.kind === 'not-found') return notFound();
  if (match.kind === 'method-not-allowed') return methodNotAllowed();
  const { route, params } = match;

  let body: unknown;
  const text = route.body === 'required' ? raw.toString('utf8') : '';
  if (text.trim().length > 0) {
    try {
      body = JSON.parse(text) as unknown;
    } catch (error) {
      return validationFailed([invalidJsonIssue(['body'], jsonErrorPosition(error), JSON_DECODE_ERROR)]);
    }
  }
  if (route.needsBackend && !daemon.backendReady) return backendNotRunning();
  if (route.body === 'required' && (body === undefined || body === null)) {
    return validationFailed([{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }]);
  }
  return route.handle({ method, path: url.pathname, params, query: url.searchParams, body, rawBody: raw, contentType, receivedAt }, daemon);
}

export interface RequestHandlerDeps {
  readonly daemon: SimDaemon;
  readonly log: CommandLog;
  readonly logger: Logger;
  readonly faults: FaultInjector;
}

/** Runs `fn` after `ms` wall ms on the daemon clock (cleared if the daemon dies), or at once for 0. */
function later(daemon: SimDaemon, ms: number, fn: () => void): void {
  if (ms > 0) daemon.clock.afterWall(ms, fn);
  else fn();
}

/** The `request` listener of the emulator's node:http server. */
export function createRequestHandler({ daemon, log, logger, faults }: RequestHandlerDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const deliver = (request: IncomingMessage, response: ServerResponse, path: string, { reply, close }: Dispatched): void => {
    const dropped = faults.dropsReply(path);
    later(daemon, faults.responseDelayMs(path), () => faults.whenRunning(() => {
      logger.debug('http', { method: request.method, path: request.url, status: reply.status, dropped });
      if (!dropped) send(response, reply, close);
    }));
  };
  const fail = (request: IncomingMessage, response: ServerResponse, error: unknown): void => {
    logger.error('http handler failed', { method: request.method, path: request.url, error });
    if (!response.headersSent) send(response, internalServerError());
    else response.destroy();
  };
  return (request, response) => {
    const receivedAt = daemon.clock.wallNowMs();
    receive(request, log).then((received) => {
      const path = received.kind === 'read' ? received.url.pathname : received.path;
      later(daemon, faults.requestDelayMs(path), () => faults.whenRunning(() => {
        if (received.kind === 'answered') {
          deliver(request, response, path, received.dispatched);
          return;
        }
        routeRequest(received, receivedAt, daemon).then(
          (reply) => deliver(request, response, path, { reply, close: false }),
          (error: unknown) => fail(request, response, error),
        );
      }));
    }, (error: unknown) => fail(request, response, error));
  };
}
