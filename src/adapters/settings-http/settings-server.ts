// The settings app's HTTP server (fastify): reference-driver.md §10 routes plus /api/effective (what
// the RUNNING driver uses), /api/status, /api/apply, PATCH /api/settings (partial saves),
// /api/login-link (`settings-link`: token + same machine) and the live view (/api/live, SSE), behind
// the app token or a login-link session, the same-origin rule for mutations, a Host allowlist (DNS
// rebinding) and connection/header/body limits (threat model: "treat settings port like root").
// Owns routing, hooks, limits and headers; files are this directory's other modules, the pure rules
// and the page live in src/settings/. Reads no argv/env: everything comes from the caller.
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { http } from '../http-builtins.ts';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { DriverConfig, SettingsLayer } from '../../config/config.ts';
import type { LiveView } from '../../actors/live-view.ts';
import { registerLiveRoutes } from './live-routes.ts';
import { registerChangeRoutes } from './change-routes.ts';
import { createHostAllowlist, isLoopbackName } from '../../settings/host-allowlist.ts';
import { inEffectView } from '../../settings/in-effect-view.ts';
import { usedLinkPage } from '../../settings/login-page.ts';
import { writePrivateFileAtomic } from '../private-files.ts';
import { listenUrls, ownNamesReader } from './own-addresses.ts';
import { createLogger } from '../../logging/logger.ts';
import { MAX_UPLOAD_FILE_BYTES, uploadNameProblem } from '../../settings/credentials-upload-rules.ts';
import type { ConfigInputs } from '../../settings/effective-config.ts';
import { HttpFailure } from '../../settings/http-failure.ts';
import { bearerToken, createSettingsAuth, LOGIN_CODE_TTL_MS, originAllowed, SESSION_COOKIE, SESSION_TTL_MS } from '../../settings/settings-auth.ts';
import { decodeSettings, describeIssues, type AppSettings } from '../../settings/settings-schema.ts';
import { CONFIG_FILE_READS } from '../config-files.ts';
import { readLimited, storeUploadedCredentials } from './credentials-upload.ts';
import { createSettingsStore, SettingsFileInvalid } from './settings-store.ts';
import { loadOrCreateToken } from './settings-token.ts';

const log = createLogger('settings');

/**
 * The page (written separately); served at `/` when present. In src/ it sits two folders up from
 * this module; in the installed package's bundle (scripts/build-dist.ts) this code is in a chunk
 * directly under dist/, next to dist/settings/static/.
 */
export const STATIC_DIR = [new URL('../../settings/static/', import.meta.url), new URL('./settings/static/', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../settings/static/', import.meta.url));
/** `service` of /api/health, as the reference answers it (§10). */
export const HEALTH_SERVICE = 'reachy_mini_device_connect_settings';
/** JSON bodies are settings objects of a few hundred bytes; 64 KiB is generous and still cheap. */
export const JSON_BODY_LIMIT_BYTES = 64 * 1024;
/** Multipart framing around the file: boundaries, part headers and a few small fields. */
const MULTIPART_OVERHEAD_BYTES = 16 * 1024;
/** A declared Content-Length above this is refused (413) before a single body byte is read. */
export const MAX_UPLOAD_REQUEST_BYTES = MAX_UPLOAD_FILE_BYTES + MULTIPART_OVERHEAD_BYTES;
/** Non-file form fields: the page sends none; a few are tolerated, each at most 1 KiB. */
const MAX_FORM_FIELDS = 4;
const MAX_FORM_FIELD_BYTES = 1024;
const MAX_FORM_PARTS = MAX_FORM_FIELDS + 1;
/** A request that takes longer than this to arrive (a slow-drip upload) is cut off. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** Headers are a few hundred bytes; on a LAN they arrive in milliseconds. A client still sending them after this is holding a socket (slowloris). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A socket with no traffic in either direction this long is closed (the live stream sends a heartbeat well within it). */
export const IDLE_SOCKET_TIMEOUT_MS = 120_000;
/** Idle keep-alive sockets are kept this long between a page's requests (the status panel polls every 2 s). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * Open sockets at once: a browser opens up to 6 per host, so this is ~10 browsers with a live view
 * each; beyond it the kernel refuses new sockets instead of the driver's process running out of
 * file descriptors to a LAN peer that opens thousands.
 */
export const MAX_CONNECTIONS = 64;
/** Node checks the header and request deadlines this often (its default, 30 s, would let a slow client hold a socket for 40 s). */
const DEADLINE_CHECK_INTERVAL_MS = 1_000;
/** A browser's headers with the one session cookie are under 2 KiB; 8 KiB leaves room and halves Node's default. */
export const MAX_HEADER_BYTES = 8 * 1024;

/** The HTTP server with every limit above (fastify applies none of its own with a serverFactory). */
function limitedServer(handler: (request: IncomingMessage, response: ServerResponse) => void): Server {
  const server = http.createServer(
    { headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS, maxHeaderSize: MAX_HEADER_BYTES },
    handler,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.setTimeout(IDLE_SOCKET_TIMEOUT_MS);
  server.maxConnections = MAX_CONNECTIONS;
  return server;
}

/** Written in the config dir while the server runs: how `settings-link` finds it (port, pid). */
export const SERVER_FILE_NAME = 'settings-server.json';
/**
 * Same-origin everything, no inline code, no framing: the page needs nothing else, and an injected
 * script (were a value ever rendered as HTML) could neither run nor call out.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Reference §10 routes + this driver's additions (the paths the page and tests rely on). */
export const PROTECTED_ROUTES = [
  ['GET', '/api/settings'],
  ['PUT', '/api/settings'],
  ['POST', '/api/validate'],
  ['POST', '/api/credentials/upload'],
  ['GET', '/api/effective'],
  ['GET', '/api/status'],
  ['POST', '/api/apply'],
] as const;

export interface SettingsServerOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Holds `settings-token` and `credentials/`. */
  readonly configDir: string;
  readonly settingsFile: string;
  /** The driver's argv and env: the effective configuration is resolveConfig of these and the settings. */
  readonly argv: ReadonlyArray<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Live machine states (mesh, daemon link, power, interlock, lease, media, last error). */
  readonly status: () => unknown;
  /** Applies the saved settings to the running driver now; its result is returned as is. */
  readonly apply: () => Promise<unknown>;
  /** Host names answered beyond loopback, this machine's names and reachy-mini.local (`*`: any). */
  readonly allowedHosts?: ReadonlyArray<string>;
  /** The configuration the running driver uses (last start or successful apply); undefined while none runs. */
  readonly inEffect?: () => DriverConfig | undefined;
  /** The actor system's live view (/live.html); absent: the view says no driver is attached. */
  readonly liveView?: LiveView;
  /** Told of every saved change (settings keys, credentials stored) for the audit trail: names and fingerprints, never values. */
  readonly onAudit?: (change: SettingsAuditChange) => void;
}

/** A change the settings app made, as the audit trail records it. */
export interface SettingsAuditChange {
  readonly kind: 'settings_changed' | 'credentials_uploaded';
  readonly reason: string;
  readonly fields: Record<string, unknown>;
}

export interface SettingsServer {
  readonly url: string;
  readonly port: number;
  /** `url` + `/login?code=…`: a single-use login code (valid LOGIN_CODE_TTL_MS), never the token. */
  readonly loginUrl: string;
  /** The same link without scheme and host, for printing with the robot's LAN addresses. */
  readonly loginPath: string;
  /** Every URL the server can be reached at (loopback, LAN addresses, `<hostname>.local` when bound to all interfaces). */
  readonly urls: ReadonlyArray<string>;
  /** Mints a fresh login link; any earlier unused link stops working. */
  issueLoginUrl(): string;
  close(): Promise<void>;
}

/** A browsable URL for the bound address (the unspecified addresses are shown as loopback). */
function displayUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function startSettingsServer(options: SettingsServerOptions): Promise<SettingsServer> {
  const configDir = resolve(options.configDir);
  const { token, path: tokenPath, created } = await loadOrCreateToken(configDir);
  if (created) log.info('settings token created', { path: tokenPath });
  const auth = createSettingsAuth(token);
  const store = createSettingsStore(resolve(options.settingsFile));
  const inputs: ConfigInputs = { argv: options.argv, env: options.env, files: CONFIG_FILE_READS };

  const app = Fastify({ logger: false, bodyLimit: JSON_BODY_LIMIT_BYTES, forceCloseConnections: true, serverFactory: limitedServer });
  const hosts = createHostAllowlist(ownNamesReader(), [...(options.allowedHosts ?? []), ...(options.host === '0.0.0.0' || options.host === '::' ? [] : [options.host])]);
  // Before everything else (static files, /login, /api/health): a foreign Host is a rebinding page.
  app.addHook('onRequest', async (request, reply) => {
    if (hosts.allows(request.headers.host)) return;
    log.warn('request refused: Host header not allowed', { host: String(request.headers.host ?? '').slice(0, 100) });
    reply.header('connection', 'close');
    return reply.code(421).send({ ok: false, error: 'this server does not answer to that host name (add it with --settings-allowed-hosts on the driver)', issues: [] });
  });

  // An empty JSON body means "no body" (POST /api/validate uses the saved file then).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: JSON_BODY_LIMIT_BYTES }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpFailure(400, 'request body is not valid JSON'), undefined);
    }
  });
  await app.register(fastifyCookie);
  await app.register(fastifyMultipart, {
    throwFileSizeLimit: false,
    limits: { fileSize: MAX_UPLOAD_FILE_BYTES, files: 1, fields: MAX_FORM_FIELDS, fieldSize: MAX_FORM_FIELD_BYTES, parts: MAX_FORM_PARTS },
  });
  if (existsSync(STATIC_DIR)) {
    await app.register(fastifyStatic, { root: STATIC_DIR, prefix: '/', index: 'index.html', dotfiles: 'ignore' });
  }

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
      return reply.code(status).send({ ok: false, error: errorMessage(error), issues: [] });
    }
    log.error('settings request failed', { error: errorMessage(error) });
    return reply.code(500).send({ ok: false, error: `internal error: ${errorMessage(error)}`, issues: [] });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ ok: false, error: 'not found', issues: [] }));

  /** Token (bearer or session cookie) first, then the Origin rule for mutating methods. */
  const guard = async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const bearer = header === undefined ? undefined : (bearerToken(header) ?? '');
    if (!auth.authorised(bearer, request.cookies[SESSION_COOKIE])) {
      throw new HttpFailure(401, 'not authorised: open the one-time login link printed by the driver, or send "Authorization: Bearer <token>" (the token is in settings-token in the config dir)');
    }
    if (MUTATING_METHODS.has(request.method) && !originAllowed(request.headers.origin, request.headers.host)) {
      throw new HttpFailure(403, 'cross-origin request refused: the Origin header must be this server\'s own origin');
    }
  };

  const readSaved = (status: number): AppSettings => {
    try {
      return store.read();
    } catch (error) {
      if (error instanceof SettingsFileInvalid) throw new HttpFailure(status, error.message, error.issues);
      throw error;
    }
  };

  const readSavedLayer = (status: number): SettingsLayer | undefined => {
    try {
      return store.readLayer();
    } catch (error) {
      if (error instanceof SettingsFileInvalid) throw new HttpFailure(status, error.message, error.issues);
      throw error;
    }
  };

  const runApply = async (): Promise<unknown> => {
    try {
      return (await options.apply()) ?? null;
    } catch (error) {
      log.warn('apply failed', { error: errorMessage(error) });
      return { ok: false, error: errorMessage(error) };
    }
  };

  app.get('/api/health', async () => ({ status: 'ok', service: HEALTH_SERVICE }));

  // HEAD is not routed: a link previewer's HEAD must not spend the single-use code.
  app.get('/login', { exposeHeadRoute: false }, async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply: FastifyReply) => {
    const query = request.query;
    // `code` is the link's parameter; `token` is accepted as its alias. Either way it is the
    // single-use login code: the app token itself never travels in a URL.
    const code = typeof query.code === 'string' ? query.code : typeof query.token === 'string' ? query.token : undefined;
    const sessionId = code === undefined ? undefined : auth.redeemLoginCode(code);
    if (sessionId === undefined) {
      // Already logged in with it in this browser (the link opened twice): just go to the page.
      if (auth.authorised(undefined, request.cookies[SESSION_COOKIE])) return reply.redirect('/', 303);
      if ((request.headers.accept ?? '').includes('text/html')) return reply.code(401).type('text/html; charset=utf-8').send(usedLinkPage());
      throw new HttpFailure(401, 'this login link is invalid, expired or already used: run `reachy-mini-driver settings-link` on the machine running the driver for a new one');
    }
    reply.setCookie(SESSION_COOKIE, sessionId, { httpOnly: true, sameSite: 'strict', path: '/', maxAge: Math.floor(SESSION_TTL_MS / 1000) });
    return reply.redirect('/', 303);
  });

  app.get('/api/settings', { onRequest: guard }, async () => readSaved(409));

  app.put('/api/settings', { onRequest: guard }, async (request) => {
    const decoded = decodeSettings(request.body);
    if (!decoded.ok) throw new HttpFailure(422, describeIssues(decoded.issues), decoded.issues);
    await store.exclusive(() => store.write(decoded.settings));
    log.info('settings saved', { path: store.path });
    options.onAudit?.({ kind: 'settings_changed', reason: 'settings file replaced', fields: { keys: Object.keys(decoded.settings).sort(), via: 'PUT /api/settings' } });
    return { saved: true, settings: decoded.settings, applied: await runApply() };
  });

  registerChangeRoutes(app, { guard, store, inputs, runApply, ...(options.onAudit ? { onAudit: options.onAudit } : {}) });

  // A flat map per settings key (`{value, source}`), as the page reads it. `x-config-loaded: false`
  // says the driver's configuration does not load as saved (the view is then approximate; see
  // buildEffectiveView) and /api/validate explains why.
  // With a running driver the values are ITS configuration (x-driver-running: true) and a saved
  // value it does not use yet is the entry's `pending`: a failed apply never shows as in effect.
  app.get('/api/effective', { onRequest: guard }, async (_request, reply) => {
    const saved = existsSync(store.path) ? readSaved(409) : undefined;
    const { view, exact, running } = inEffectView(options.inEffect?.(), inputs, saved === undefined ? undefined : readSavedLayer(409), saved);
    reply.header('x-config-loaded', exact ? 'true' : 'false');
    reply.header('x-driver-running', running ? 'true' : 'false');
    return view;
  });

  app.get('/api/status', { onRequest: guard }, async (_request, reply) => reply.send((await options.status()) ?? {}));

  app.post('/api/apply', { onRequest: guard }, async (_request, reply) => {
    const result = await options.apply();
    log.info('apply requested through the settings app');
    return reply.send(result ?? null);
  });

  // `reachy-mini-driver settings-link`: the app token (0600 in the config dir, so only the driver's
  // user can read it) from this same machine mints a fresh one-time link; a browser session cannot.
  app.post('/api/login-link', { onRequest: guard }, async (request) => {
    if (request.headers.authorization === undefined) throw new HttpFailure(403, 'a new login link needs the app token (run `reachy-mini-driver settings-link` on the machine running the driver)');
    const remote = (request.socket.remoteAddress ?? '').toLowerCase();
    if (!isLoopbackName(remote) && remote !== (request.socket.localAddress ?? '').toLowerCase()) {
      throw new HttpFailure(403, 'new login links are given only to requests from the machine running the driver');
    }
    const path = issueLoginPath();
    log.info('fresh one-time login link issued (settings-link)');
    return { ok: true, url: url + path, urls: urls.map((u) => u + path), expires_in_s: Math.floor(LOGIN_CODE_TTL_MS / 1000) };
  });

  registerLiveRoutes(app, guard, options.liveView, CONTENT_SECURITY_POLICY);

  const uploadSizeGate = async (request: FastifyRequest): Promise<void> => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_UPLOAD_REQUEST_BYTES) throw new HttpFailure(413, 'credentials file too large (max 256 KiB)');
  };

  app.post('/api/credentials/upload', { onRequest: [guard, uploadSizeGate] }, async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>) => {
    if (!request.isMultipart()) throw new HttpFailure(415, 'expected a multipart/form-data upload with the file in field "file"');
    const part = await request.file({ preservePath: true } as Parameters<typeof request.file>[0]);
    if (!part) throw new HttpFailure(400, 'missing file: send it in the multipart field "file"');
    if (part.fieldname !== 'file') throw new HttpFailure(400, `unexpected multipart field ${JSON.stringify(part.fieldname)}: send the file in field "file"`);
    // Refuse a bad name before reading a single byte of the content.
    const nameProblem = uploadNameProblem(part.filename);
    if (nameProblem) throw new HttpFailure(400, nameProblem);
    const read = await readLimited(part.file, MAX_UPLOAD_FILE_BYTES);
    if (!read.ok) throw new HttpFailure(413, 'credentials file too large (max 256 KiB)');
    const replace = request.query.replace === '1' || request.query.replace === 'true';
    const stored = await storeUploadedCredentials({ name: part.filename, bytes: read.bytes, configDir, replace, store });
    options.onAudit?.({ kind: 'credentials_uploaded', reason: `credentials ${stored.stored}`, fields: { file: part.filename, kind: stored.kind, fingerprint: stored.fingerprint, stored: stored.stored, device_id: stored.device_id, tenant: stored.tenant } });
    return stored;
  });

  let url = '';
  let urls: string[] = [];
  const issueLoginPath = (): string => `/login?code=${auth.issueLoginCode()}`;
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  url = displayUrl(options.host, port);
  urls = listenUrls(options.host, port);
  const loginPath = issueLoginPath();
  const serverFile = join(configDir, SERVER_FILE_NAME);
  await writePrivateFileAtomic(serverFile, JSON.stringify({ pid: process.pid, host: options.host, port, url }) + '\n');
  log.info('settings app listening', { url, urls: urls.join(' '), path: tokenPath });
  return {
    url,
    port,
    urls,
    loginUrl: url + loginPath,
    loginPath,
    issueLoginUrl: () => url + issueLoginPath(),
    async close() {
      await app.close();
      // Only ours: another server may have started on this config dir since.
      try {
        if ((JSON.parse(readFileSync(serverFile, 'utf8')) as { pid?: unknown }).pid === process.pid) await rm(serverFile, { force: true });
      } catch {
        // Already gone or unreadable: nothing to clean up.
      }
    },
  };
}
