// One HTTP request through the emulated daemon, in FastAPI's order (reachy-daemon-api.md §0):
// log it, find the route (404/405), decode a JSON body (422 `json_invalid`), the backend gate
// (503), the required-body check (422 `missing`), then the handler; an unexpected exception
// becomes uvicorn's plain-text 500. Owns the node:http request/response plumbing only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.ts';
import { type CommandLog, parseLoggedBody } from './command-log.ts';
import {
  backendNotRunning, internalServerError, methodNotAllowed, notFound, validationFailed, type HttpReply,
} from './fastapi-errors.ts';
import { matchRoute } from './http-routes.ts';
import { invalidJsonIssue } from './request-validation.ts';
import type { SimDaemon } from './sim-daemon.ts';

/** Largest request body read (bytes); the daemon's biggest JSON bodies are a few hundred bytes. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Python's json error for the commonest malformed body (V8's wording differs). */
const JSON_DECODE_ERROR = 'Expecting value';

type BodyRead = { readonly kind: 'ok'; readonly text: string } | { readonly kind: 'too-large' };

function readBody(request: IncomingMessage): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? { kind: 'too-large' } : { kind: 'ok', text: Buffer.concat(chunks).toString('utf8') }));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, reply: HttpReply): void {
  const isJson = 'json' in reply;
  const payload = isJson ? JSON.stringify(reply.json) : reply.text;
  response.writeHead(reply.status, {
    'content-type': isJson ? 'application/json' : reply.contentType,
    'content-length': Buffer.byteLength(payload),
  });
  response.end(payload);
}

function jsonErrorPosition(error: unknown): number {
  const found = error instanceof Error ? /position (\d+)/.exec(error.message) : null;
  return found ? Number(found[1]) : 0;
}

async function dispatch(request: IncomingMessage, daemon: SimDaemon, log: CommandLog): Promise<HttpReply> {
  const url = new URL(request.url ?? '/', 'http://emulator.invalid');
  const method = request.method ?? 'GET';
  const read = await readBody(request);
  const text = read.kind === 'ok' ? read.text : '';
  log.record({ transport: 'http', method, path: url.pathname, query: Object.fromEntries(url.searchParams), body: parseLoggedBody(text) });
  if (read.kind === 'too-large') return { status: 413, json: { detail: 'Request Entity Too Large' } };

  const match = matchRoute(method, url.pathname);
  if (match.kind === 'not-found') return notFound();
  if (match.kind === 'method-not-allowed') return methodNotAllowed();
  const { route, params } = match;

  let body: unknown;
  if (route.body === 'required' && text.trim().length > 0) {
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
  return route.handle({ method, path: url.pathname, params, query: url.searchParams, body }, daemon);
}

/** The `request` listener of the emulator's node:http server. */
export function createRequestHandler(daemon: SimDaemon, log: CommandLog, logger: Logger): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    dispatch(request, daemon, log).then(
      (reply) => {
        logger.debug('http', { method: request.method, path: request.url, status: reply.status });
        send(response, reply);
      },
      (error: unknown) => {
        logger.error('http handler failed', { method: request.method, path: request.url, error });
        if (!response.headersSent) send(response, internalServerError());
        else response.destroy();
      },
    );
  };
}
