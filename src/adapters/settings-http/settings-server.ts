// The settings app's HTTP server (fastify): reference-driver.md §10 routes plus this driver's
// additions (named on startSettingsServer), behind the app token or a login-link session, the
// same-origin rule for mutations, a Host allowlist (DNS rebinding) and connection/header/body limits
// (threat model: "treat settings port like root"). Owns the server's life (token, listen, the server
// file, close), its header/request/idle deadlines and the order hooks, plugins and routes are
// installed in; which sockets it takes is connection-admission.ts's, the hooks request-protections.ts's,
// the routes this directory's *-routes.ts/upload-route.ts, the pure rules and the page src/settings/'s.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify from 'fastify';
import type { LiveView } from '../../actors/live-view.ts';
import type { DriverConfig } from '../../config/config.ts';
import { createHostAllowlist } from '../../host-allowlist.ts';
import { createLogger } from '../../logging/logger.ts';
import type { ConfigInputs } from '../../settings/effective-config.ts';
import { createLinkChallenges } from '../../settings/link-proof.ts';
import { createSettingsAuth } from '../../settings/settings-auth.ts';
import { CONFIG_FILE_READS } from '../config-files.ts';
import { http } from '../http-builtins.ts';
import { listenUrls, ownNamesReader } from '../own-addresses.ts';
import { writePrivateFileAtomic } from '../private-files.ts';
import { admitConnections } from './connection-admission.ts';
import { connectionRefusalNotice } from './connection-refusal-notice.ts';
import { registerLiveRoutes } from './live-routes.ts';
import { loginPathOf, registerLoginRoutes } from './login-routes.ts';
import { CONTENT_SECURITY_POLICY, JSON_BODY_LIMIT_BYTES, parseJsonBodies, refuseForeignHosts, secureAnswers, settingsGuard } from './request-protections.ts';
import type { SettingsAuditChange } from './settings-audit-change.ts';
import { applyAfterSave, registerSettingsRoutes } from './settings-routes.ts';
import { createSettingsStore } from './settings-store.ts';
import { loadOrCreateToken } from './settings-token.ts';
import { MULTIPART_LIMITS, registerUploadRoute } from './upload-route.ts';

const log = createLogger('settings');

/**
 * The page (written separately); served at `/` when present. In src/ it sits two folders up from
 * this module; in the installed package's bundle (scripts/build-dist.ts) this code is in a chunk
 * directly under dist/, next to dist/settings/static/.
 */
export const STATIC_DIR = [new URL('../../settings/static/', import.meta.url), new URL('./settings/static/', import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../settings/static/', import.meta.url));
/** A request that takes longer than this to arrive (a slow-drip upload) is cut off. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** Headers are a few hundred bytes; on a LAN they arrive in milliseconds. A client still sending them after this is holding a socket (slowloris). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** A socket with no traffic in either direction this long is closed (the live stream sends a heartbeat well within it). */
export const IDLE_SOCKET_TIMEOUT_MS = 120_000;
/** Idle keep-alive sockets are kept this long between a page's requests (the status panel polls every 2 s). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Node checks the header and request deadlines this often (its default, 30 s, would let a slow client hold a socket for 40 s). */
const DEADLINE_CHECK_INTERVAL_MS = 1_000;
/** A browser's headers with the one session cookie are under 2 KiB; 8 KiB leaves room and halves Node's default. */
export const MAX_HEADER_BYTES = 8 * 1024;

/**
 * The HTTP server with every limit above, and the connection limits of connection-admission.ts in
 * front of it (fastify applies none of its own with a serverFactory). `headersTimeoutMs` (default
 * HEADERS_TIMEOUT_MS); tests shorten it.
 */
export function limitedServer(handler: (request: IncomingMessage, response: ServerResponse) => void, headersTimeoutMs: number = HEADERS_TIMEOUT_MS): Server {
  const server = http.createServer(
    { headersTimeout: headersTimeoutMs, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL_MS, maxHeaderSize: MAX_HEADER_BYTES },
    handler,
  );
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.setTimeout(IDLE_SOCKET_TIMEOUT_MS);
  admitConnections(server, { refused: connectionRefusalNotice() });
  return server;
}

/** Written in the config dir while the server runs: how `settings-link` finds it (port, pid). */
export const SERVER_FILE_NAME = 'settings-server.json';
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
  /** Applies the saved settings (starts the driver in app mode); /api/apply answers its result, a save or an upload as `applied`. */
  readonly apply: () => Promise<unknown>;
  /** Host names answered beyond loopback, this machine's names and reachy-mini.local (`*`: any). */
  readonly allowedHosts?: ReadonlyArray<string>;
  /** The configuration the running driver uses (last start or successful apply); undefined while none runs. */
  readonly inEffect?: () => DriverConfig | undefined;
  /** The daemon URL the running driver dials (under --sim, its emulator's); undefined while none runs. */
  readonly dialedDaemon?: () => string | undefined;
  /** The actor system's live view (/live.html); absent: the view says no driver is attached. */
  readonly liveView?: LiveView;
  /** Told of every saved change (settings keys, credentials stored) for the audit trail: names and fingerprints, never values. */
  readonly onAudit?: (change: SettingsAuditChange) => void;
  /** How long a client may take to send its headers (default HEADERS_TIMEOUT_MS); tests shorten it. */
  readonly headersTimeoutMs?: number;
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

/**
 * Starts the server: reference-driver.md §10 routes plus /api/effective (what the RUNNING driver
 * uses), /api/status, /api/apply, PATCH /api/settings (partial saves), /api/login-link
 * (`settings-link`: proof of the token + same machine) and the live view (/api/live, SSE). The Host
 * names it answers are src/host-allowlist.ts's rule, this machine's names ../own-addresses.ts's.
 */
export async function startSettingsServer(options: SettingsServerOptions): Promise<SettingsServer> {
  const configDir = resolve(options.configDir);
  const { token, path: tokenPath, created } = await loadOrCreateToken(configDir);
  if (created) log.info('settings token created', { path: tokenPath });
  const auth = createSettingsAuth(token);
  const guard = settingsGuard(auth);
  const store = createSettingsStore(resolve(options.settingsFile));
  const app = Fastify({ logger: false, bodyLimit: JSON_BODY_LIMIT_BYTES, forceCloseConnections: true, serverFactory: (handler) => limitedServer(handler, options.headersTimeoutMs) });
  refuseForeignHosts(app, createHostAllowlist(ownNamesReader(), [...(options.allowedHosts ?? []), ...(options.host === '0.0.0.0' || options.host === '::' ? [] : [options.host])]));
  parseJsonBodies(app);
  await app.register(fastifyCookie);
  await app.register(fastifyMultipart, { throwFileSizeLimit: false, limits: MULTIPART_LIMITS });
  if (existsSync(STATIC_DIR)) {
    await app.register(fastifyStatic, { root: STATIC_DIR, prefix: '/', index: 'index.html', dotfiles: 'ignore' });
  }
  secureAnswers(app);
  const audit = options.onAudit ? { onAudit: options.onAudit } : {};
  const inputs: ConfigInputs = { argv: options.argv, env: options.env, files: CONFIG_FILE_READS };
  registerSettingsRoutes(app, { guard, store, inputs, status: options.status, apply: options.apply, ...(options.inEffect ? { inEffect: options.inEffect } : {}), ...(options.dialedDaemon ? { dialedDaemon: options.dialedDaemon } : {}), ...audit });
  let where: { url: string; urls: string[] } = { url: '', urls: [] };
  registerLoginRoutes(app, { auth, challenges: createLinkChallenges(token), where: () => where });
  registerLiveRoutes(app, guard, options.liveView, CONTENT_SECURITY_POLICY);
  registerUploadRoute(app, { guard, configDir, store, runApply: applyAfterSave(options.apply), ...audit });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const url = displayUrl(options.host, port);
  where = { url, urls: listenUrls(options.host, port) };
  const loginPath = loginPathOf(auth);
  const serverFile = join(configDir, SERVER_FILE_NAME);
  await writePrivateFileAtomic(serverFile, JSON.stringify({ pid: process.pid, host: options.host, port, url }) + '\n');
  log.info('settings app listening', { url, urls: where.urls.join(' '), path: tokenPath });
  return {
    url,
    port,
    urls: where.urls,
    loginUrl: url + loginPath,
    loginPath,
    issueLoginUrl: () => url + loginPathOf(auth),
    close: async () => {
      await app.close();
      await removeOwnServerFile(serverFile);
    },
  };
}

/** Only ours: another server may have started on this config dir since. */
async function removeOwnServerFile(serverFile: string): Promise<void> {
  try {
    if ((JSON.parse(readFileSync(serverFile, 'utf8')) as { pid?: unknown }).pid === process.pid) await rm(serverFile, { force: true });
  } catch {
    // Already gone or unreadable: nothing to clean up.
  }
}
