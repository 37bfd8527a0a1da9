// The `settings-link` handshake's proofs, so the app token never travels: the server proves it
// holds the token with an HMAC-SHA256 (keyed with it) over the client's nonce, a server nonce and
// the port it answers on (a relay on another port cannot pass it on); then the client proves itself
// over the same values under another context. Owns the contexts, proofs, nonce shapes and the
// server's nonces: stateless (each carries its expiry and this server's MAC over it, the client's
// nonce and the port), so challenges store and evict nothing; only redeemed nonces are kept (single
// use). Not the routes (login-routes.ts) nor the client (settings-link-client.ts).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { monotonicMs } from '../monotonic-clock.ts';
import { newRandomToken, secretsEqual, TOKEN_BYTES } from './settings-auth.ts';

/** Fixed context strings: a proof made for one side never verifies as the other side's, nor as a nonce's MAC. */
const SERVER_CONTEXT = 'reachy-mini-driver settings-link server proof v1';
const CLIENT_CONTEXT = 'reachy-mini-driver settings-link client proof v1';
const NONCE_CONTEXT = 'reachy-mini-driver settings-link server nonce v1';
/** Client nonces are TOKEN_BYTES random bytes in base64url (43 characters): never repeated, never guessed. */
const CLIENT_NONCE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** A server nonce: 16 random bytes (unique), its expiry (8 bytes), its MAC (32 bytes, HMAC-SHA256): 56 bytes, 75 base64url characters. */
const NONCE_RANDOM_BYTES = 16;
const NONCE_EXPIRY_BYTES = 8;
const NONCE_MAC_BYTES = 32;
const SERVER_NONCE_BYTES = NONCE_RANDOM_BYTES + NONCE_EXPIRY_BYTES + NONCE_MAC_BYTES;
const SERVER_NONCE_SHAPE = /^[A-Za-z0-9_-]{75}$/;
/** The exchange is two requests on this machine, milliseconds apart; 30 s still covers a machine under load. */
export const LINK_CHALLENGE_TTL_MS = 30_000;
/**
 * Redeemed nonces are kept (single use) until they expire; only a caller holding the token adds one,
 * and a person runs `settings-link` a few times a day, so this many links within 30 s is never real
 * use. Beyond it redemptions are refused (TooManyLinks) rather than a kept nonce dropped (it could be
 * replayed).
 */
export const MAX_REDEEMED_LINK_NONCES = 64;

/** The values both proofs cover: the client's nonce, the server's nonce and the server's port. */
export interface LinkExchange {
  readonly clientNonce: string;
  readonly serverNonce: string;
  readonly port: number;
}

export function newLinkNonce(): string {
  return newRandomToken(TOKEN_BYTES);
}

/** Whether `value` has the shape of a client's nonce. */
export function isLinkNonce(value: unknown): value is string {
  return typeof value === 'string' && CLIENT_NONCE_SHAPE.test(value);
}

/** Whether `value` has the shape of a server's nonce (whether this server issued it is `redeem`'s to say). */
export function isServerLinkNonce(value: unknown): value is string {
  return typeof value === 'string' && SERVER_NONCE_SHAPE.test(value);
}

function proofOf(token: string, context: string, exchange: LinkExchange): string {
  const message = [context, String(exchange.port), exchange.clientNonce, exchange.serverNonce].join('\n');
  return createHmac('sha256', token).update(message, 'utf8').digest('base64url');
}

/** What the server shows to prove it holds the token. */
export function serverProofOf(token: string, exchange: LinkExchange): string {
  return proofOf(token, SERVER_CONTEXT, exchange);
}

/** What the client shows, once the server proved itself, to get a link. */
export function clientProofOf(token: string, exchange: LinkExchange): string {
  return proofOf(token, CLIENT_CONTEXT, exchange);
}

/** Constant-time check of a received proof (anything not a string is no proof). */
export function proofMatches(received: unknown, expected: string): boolean {
  return typeof received === 'string' && secretsEqual(received, expected);
}

/** Why a redemption mints no link; stable names the route answers as `error_tag`. */
export type LinkRedeemRefusal = 'LinkNonceUnknown' | 'LinkNonceExpired' | 'LinkProofMismatch' | 'LinkNonceSpent' | 'TooManyLinks';

export type LinkRedeemResult = { readonly ok: true } | { readonly ok: false; readonly _tag: LinkRedeemRefusal };

export interface LinkChallenges {
  /** A fresh server nonce for the client's nonce and `port`, and the server's proof over all three. Stores nothing. */
  challenge(clientNonce: string, port: number): { readonly serverNonce: string; readonly proof: string };
  /** Whether `proof` is the client's proof for a server nonce this server issued for these values, unexpired and not yet redeemed. */
  redeem(exchange: LinkExchange, proof: unknown): LinkRedeemResult;
}

const refused = (tag: LinkRedeemRefusal): LinkRedeemResult => ({ ok: false, _tag: tag });

/** The MAC binding a server nonce's random part and expiry to the client's nonce and the port. */
function nonceMac(key: Buffer, random: Buffer, expiry: Buffer, clientNonce: string, port: number): Buffer {
  const h = createHmac('sha256', key).update(`${NONCE_CONTEXT}\n${port}\n${clientNonce}\n`, 'utf8');
  return h.update(random).update(expiry).digest();
}

/** The expiry a server nonce carries when this server issued it for these values; undefined otherwise. */
function issuedExpiry(key: Buffer, exchange: LinkExchange): number | undefined {
  const bytes = Buffer.from(exchange.serverNonce, 'base64url');
  if (bytes.length !== SERVER_NONCE_BYTES || bytes.toString('base64url') !== exchange.serverNonce) return undefined;
  const random = bytes.subarray(0, NONCE_RANDOM_BYTES);
  const expiry = bytes.subarray(NONCE_RANDOM_BYTES, NONCE_RANDOM_BYTES + NONCE_EXPIRY_BYTES);
  const mac = bytes.subarray(NONCE_RANDOM_BYTES + NONCE_EXPIRY_BYTES);
  if (!timingSafeEqual(mac, nonceMac(key, random, expiry, exchange.clientNonce, exchange.port))) return undefined;
  return expiry.readDoubleBE(0);
}

/**
 * `token` keys the proofs; the nonces' MAC key is random per instance, so a nonce of an earlier run
 * of the app (whose monotonic clock began elsewhere) never verifies.
 */
export function createLinkChallenges(token: string, now: () => number = monotonicMs): LinkChallenges {
  const key = randomBytes(32);
  const redeemed = new Map<string, number>();
  const forgetExpired = (): void => {
    for (const [nonce, expiresAt] of redeemed) if (expiresAt <= now()) redeemed.delete(nonce);
  };
  return {
    challenge(clientNonce, port) {
      const random = randomBytes(NONCE_RANDOM_BYTES);
      const expiry = Buffer.alloc(NONCE_EXPIRY_BYTES);
      expiry.writeDoubleBE(now() + LINK_CHALLENGE_TTL_MS, 0);
      const serverNonce = Buffer.concat([random, expiry, nonceMac(key, random, expiry, clientNonce, port)]).toString('base64url');
      return { serverNonce, proof: serverProofOf(token, { clientNonce, serverNonce, port }) };
    },
    redeem(exchange, proof) {
      const expiresAt = issuedExpiry(key, exchange);
      if (expiresAt === undefined) return refused('LinkNonceUnknown');
      if (expiresAt <= now()) return refused('LinkNonceExpired');
      if (!proofMatches(proof, clientProofOf(token, exchange))) return refused('LinkProofMismatch');
      forgetExpired();
      if (redeemed.has(exchange.serverNonce)) return refused('LinkNonceSpent');
      if (redeemed.size >= MAX_REDEEMED_LINK_NONCES) return refused('TooManyLinks');
      redeemed.set(exchange.serverNonce, expiresAt);
      return { ok: true };
    },
  };
}
