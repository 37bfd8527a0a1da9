// The settings app's way in without the token in a URL: GET /login redeems a single-use login code
// for a session cookie (a used or expired link answers a page saying so), and POST
// /api/login-link/challenge then POST /api/login-link mint a fresh link for `reachy-mini-driver
// settings-link`, only from the machine running the driver and only after the proof handshake of
// src/settings/link-proof.ts (the server proves it holds the app token first; the token itself is
// never sent, and a bearer token or session does not mint links). Owns those routes and their
// refusals (each a stable error_tag with its real reason); codes and sessions are src/settings/settings-auth.ts's, the client side settings-link-client.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackName } from '../../host-allowlist.ts';
import { createLogger } from '../../logging/logger.ts';
import { HttpFailure } from '../../settings/http-failure.ts';
import { isLinkNonce, isServerLinkNonce, MAX_REDEEMED_LINK_NONCES, type LinkChallenges, type LinkRedeemRefusal } from '../../settings/link-proof.ts';
import { usedLinkPage } from '../../settings/login-page.ts';
import { LOGIN_CODE_TTL_MS, SESSION_COOKIE, SESSION_TTL_MS, type SettingsAuth } from '../../settings/settings-auth.ts';
import { refuseCrossOrigin } from './request-protections.ts';
import { isRecord } from '../../protocol/json-object.ts';

const log = createLogger('settings');

export interface LoginRoutesContext {
  readonly auth: SettingsAuth;
  /** The `settings-link` handshakes' nonces and proofs (src/settings/link-proof.ts). */
  readonly challenges: LinkChallenges;
  /** Where the server answers, known once it listens: the printed URL and every reachable one. */
  readonly where: () => { readonly url: string; readonly urls: ReadonlyArray<string> };
}

/** A fresh single-use login path (any earlier unused code stops working). */
export function loginPathOf(auth: SettingsAuth): string {
  return `/login?code=${auth.issueLoginCode()}`;
}

/** Links are minted only for requests from this machine (loopback, or the address they reached). */
function refuseOtherMachines(request: FastifyRequest): void {
  const remote = (request.socket.remoteAddress ?? '').toLowerCase();
  if (!isLoopbackName(remote) && remote !== (request.socket.localAddress ?? '').toLowerCase()) {
    throw new HttpFailure(403, 'new login links are given only to requests from the machine running the driver');
  }
}

const RUN_AGAIN = 'run `reachy-mini-driver settings-link` again on the machine running the driver';

/** Each refusal of a link request says its real reason (the tag is answered as `error_tag`). */
const REDEEM_REFUSALS: Readonly<Record<LinkRedeemRefusal | 'LinkProofMissing', { readonly status: number; readonly message: string }>> = {
  LinkProofMissing: { status: 401, message: 'a new login link needs proof of the app token (client_nonce, server_nonce and proof): run `reachy-mini-driver settings-link` on the machine running the driver' },
  LinkProofMismatch: { status: 401, message: 'a new login link needs proof of the app token, and this proof does not match it: run `reachy-mini-driver settings-link` on the machine running the driver' },
  LinkNonceUnknown: { status: 401, message: `this server did not issue that server_nonce for this client_nonce and port (or issued it before the app restarted): ${RUN_AGAIN}` },
  LinkNonceExpired: { status: 401, message: `that server_nonce expired (the two requests were more than 30 s apart): ${RUN_AGAIN}` },
  LinkNonceSpent: { status: 401, message: `that server_nonce already got a link (each works once): ${RUN_AGAIN}` },
  TooManyLinks: { status: 429, message: `more than ${MAX_REDEEMED_LINK_NONCES} login links were given in the last 30 s: wait 30 s, then ${RUN_AGAIN}` },
};

function refuseLink(tag: LinkRedeemRefusal | 'LinkProofMissing'): never {
  const { status, message } = REDEEM_REFUSALS[tag];
  throw new HttpFailure(status, message, [], tag);
}

/** A field of a JSON body, when the body is an object. */
function field(body: unknown, name: string): unknown {
  return isRecord(body) ? body[name] : undefined;
}

export function registerLoginRoutes(app: FastifyInstance, { auth, challenges, where }: LoginRoutesContext): void {
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

  // Step 1: the server proves it holds the app token (an HMAC over the client's nonce, a fresh
  // nonce of its own and the port this request reached), so the client never talks to an impostor.
  app.post('/api/login-link/challenge', async (request) => {
    refuseOtherMachines(request);
    refuseCrossOrigin(request);
    const clientNonce = field(request.body, 'client_nonce');
    if (!isLinkNonce(clientNonce)) throw new HttpFailure(400, 'client_nonce must be a fresh random nonce: 32 bytes in base64url (43 characters)');
    const { serverNonce, proof } = challenges.challenge(clientNonce, request.socket.localPort ?? 0);
    return { ok: true, server_nonce: serverNonce, proof };
  });

  // Step 2: the client's own proof over that server nonce (single use) mints a fresh one-time link.
  // Only the app token (0600 in the config dir, so only the driver's user can read it) makes it.
  app.post('/api/login-link', async (request) => {
    refuseOtherMachines(request);
    refuseCrossOrigin(request);
    const clientNonce = field(request.body, 'client_nonce');
    const serverNonce = field(request.body, 'server_nonce');
    if (!isLinkNonce(clientNonce) || !isServerLinkNonce(serverNonce)) refuseLink('LinkProofMissing');
    const redeemed = challenges.redeem({ clientNonce, serverNonce, port: request.socket.localPort ?? 0 }, field(request.body, 'proof'));
    if (!redeemed.ok) refuseLink(redeemed._tag);
    const path = loginPathOf(auth);
    log.info('fresh one-time login link issued (settings-link)');
    const { url, urls } = where();
    return { ok: true, url: url + path, urls: urls.map((u) => u + path), expires_in_s: Math.floor(LOGIN_CODE_TTL_MS / 1000) };
  });
}
