// What every request to the settings app passes through, whatever its route (threat model: "treat
// settings port like root"): the Host allowlist (DNS rebinding) before anything else, JSON bodies
// parsed within a size limit (a key that would set a prototype refused), the app token or a login
// session then the same-origin rule for mutations (the guard routes opt into), security headers on
// every answer, and errors shaped as `{ok:false, error, issues}`. Owns those hooks and their constants; the token and session rules
// are src/settings/settings-auth.ts's, the allowed names src/host-allowlist.ts's.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createLogger } from '../../logging/logger.ts';
import { messageOf } from '../../errors.ts';
import type { HostAllowlist } from '../../host-allowlist.ts';
import { HttpFailure } from '../../settings/http-failure.ts';
import { bearerToken, originAllowed, SESSION_COOKIE, type SettingsAuth } from '../../settings/settings-auth.ts';

const log = createLogger('settings');

/** JSON bodies are settings objects of a few hundred bytes; 64 KiB is generous and still cheap. */
export const JSON_BODY_LIMIT_BYTES = 64 * 1024;
/**
 * Same-origin everything, no inline code, no framing: the page needs nothing else, and an injected
 * script (were a value ever rendered as HTML) could neither run nor call out.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type RequestGuard = (request: FastifyRequest) => Promise<void>;

/** First of all hooks (before static files, /login, /api/health): a foreign Host is a rebinding page, answered 421 and closed. */
export function refuseForeignHosts(app: FastifyInstance, hosts: HostAllowlist): void {
  app.addHook('onRequest', async (request, reply) => {
    if (hosts.allows(request.headers.host)) return;
    log.warn('request refused: Host header not allowed', { host: String(request.headers.host ?? '').slice(0, 100) });
    reply.header('connection', 'close');
    return reply.code(421).send({ ok: false, error: 'this server does not answer to that host name (add it with --settings-allowed-hosts on the driver)', issues: [] });
  });
}

/** Segments of a refused key's path named in the answer: enough to find it, bounded however deep it was. */
const PROTOTYPE_PATH_SEGMENTS_SHOWN = 8;

interface KeyAt {
  readonly value: unknown;
  readonly key: string;
  readonly parent: KeyAt | null;
}

/** `a.b.__proto__`: the keys from the body down to `at` (the root has no parent), the last few when deeper. */
function pathOf(at: KeyAt): string {
  const segments: string[] = [];
  let node = at;
  while (node.parent !== null && segments.length < PROTOTYPE_PATH_SEGMENTS_SHOWN) {
    segments.push(node.key);
    node = node.parent;
  }
  return (node.parent === null ? '' : '….') + segments.reverse().join('.');
}

/**
 * The path of the first key of a parsed body that would set an object's prototype when copied
 * (`__proto__`, `constructor.prototype`), at any depth; undefined when there is none. Walks with
 * its own stack, not recursion: a 64 KiB body nests ~30,000 deep.
 */
export function prototypeKeyPath(body: unknown): string | undefined {
  const stack: KeyAt[] = [{ value: body, key: '', parent: null }];
  for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
    if (typeof at.value !== 'object' || at.value === null) continue;
    for (const [key, value] of Object.entries(at.value)) {
      const child: KeyAt = { value, key, parent: at };
      if (key === '__proto__') return pathOf(child);
      if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')) return `${pathOf(child)}.prototype`;
      stack.push(child);
    }
  }
  return undefined;
}

/**
 * JSON within JSON_BODY_LIMIT_BYTES; an empty body means "no body" (POST /api/validate uses the
 * saved file then). A key that would set a prototype is refused (400), as fastify's own parser does.
 */
export function parseJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT_BYTES }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return done(new HttpFailure(400, 'request body is not valid JSON'), undefined);
    }
    const refused = prototypeKeyPath(parsed);
    if (refused === undefined) return done(null, parsed);
    done(new HttpFailure(400, `request body refused: key "${refused}" could set an object's prototype`), undefined);
  });
}

/** Security headers on every answer, no caching of the API, and every error as `{ok:false, error, issues}` (a 500 logged). */
export function secureAnswers(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    if (request.url.startsWith('/api/') || request.url.startsWith('/login')) reply.header('cache-control', 'no-store');
    // Answered before the body was read (401, 413…): close the connection instead of draining it.
    if (!request.raw.complete) reply.header('connection', 'close');
    return payload;
  });
  app.setErrorHandler((error: unknown, _request, reply) => {
    if (error instanceof HttpFailure) {
      if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="reachy-mini-settings"');
      return reply.code(error.status).send(error.body());
    }
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply.code(status).send({ ok: false, error: messageOf(error), issues: [] });
    }
    log.error('settings request failed', { error: messageOf(error) });
    return reply.code(500).send({ ok: false, error: `internal error: ${messageOf(error)}`, issues: [] });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ ok: false, error: 'not found', issues: [] }));
}

/** The guard protected routes run on request: the token (bearer or session cookie) first, then the Origin rule for mutating methods. */
export function settingsGuard(auth: SettingsAuth): RequestGuard {
  return async (request) => {
    const header = request.headers.authorization;
    const bearer = header === undefined ? undefined : (bearerToken(header) ?? '');
    if (!auth.authorised(bearer, request.cookies[SESSION_COOKIE])) {
      throw new HttpFailure(401, 'not authorised: open the one-time login link printed by the driver, or send "Authorization: Bearer <token>" (the token is in settings-token in the config dir)');
    }
    if (MUTATING_METHODS.has(request.method)) refuseCrossOrigin(request);
  };
}

/** The same-origin rule of mutating requests (src/settings/settings-auth.ts originAllowed): 403 otherwise. */
export function refuseCrossOrigin(request: FastifyRequest): void {
  if (!originAllowed(request.headers.origin, request.headers.host)) {
    throw new HttpFailure(403, 'cross-origin request refused: the Origin header must be this server\'s own origin');
  }
}
