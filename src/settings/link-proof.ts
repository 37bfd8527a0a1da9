// The `settings-link` handshake's proofs, so the app token itself never travels: the client sends a
// fresh nonce; the server proves it holds the token with an HMAC-SHA256 (keyed with the token) over
// that nonce, a fresh nonce of its own and the port it answers on (a relay on another port cannot
// pass a real server's proof on); only then does the client ask for a link, proving itself with an
// HMAC over the same values under another context (neither side's proof can stand in for the
// other's). Owns the contexts, the proofs, the nonce shape and the server's pending challenges
// (single use, short-lived, bounded). Not the routes (login-routes.ts) nor the client's requests
// (settings-link-client.ts), both in src/adapters/settings-http/.
import { createHmac } from 'node:crypto';
import { monotonicMs } from '../monotonic-clock.ts';
import { newRandomToken, secretsEqual, TOKEN_BYTES } from './settings-auth.ts';

/** Fixed context strings: a proof made for one side never verifies as the other side's. */
const SERVER_CONTEXT = 'reachy-mini-driver settings-link server proof v1';
const CLIENT_CONTEXT = 'reachy-mini-driver settings-link client proof v1';
/** Nonces are TOKEN_BYTES random bytes in base64url (43 characters): never repeated, never guessed. */
const NONCE_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** The exchange is two requests on this machine, milliseconds apart; 30 s still covers a machine under load. */
export const LINK_CHALLENGE_TTL_MS = 30_000;
/** A few `settings-link` runs at once at most; beyond this the oldest challenge is dropped, so requests cannot grow memory. */
export const MAX_LINK_CHALLENGES = 8;

/** The values both proofs cover: the client's nonce, the server's nonce and the server's port. */
export interface LinkExchange {
  readonly clientNonce: string;
  readonly serverNonce: string;
  readonly port: number;
}

export function newLinkNonce(): string {
  return newRandomToken(TOKEN_BYTES);
}

export function isLinkNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE_SHAPE.test(value);
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

export interface LinkChallenges {
  /** A fresh pending server nonce for the client's nonce, and the server's proof over both and `port`. */
  challenge(clientNonce: string, port: number): { readonly serverNonce: string; readonly proof: string };
  /** Whether `proof` is the client's proof for a pending, unexpired server nonce; the nonce is spent either way. */
  redeem(serverNonce: string, proof: unknown): boolean;
}

export function createLinkChallenges(token: string, now: () => number = monotonicMs): LinkChallenges {
  const pending = new Map<string, { readonly clientNonce: string; readonly port: number; readonly expiresAt: number }>();
  return {
    challenge(clientNonce, port) {
      const serverNonce = newLinkNonce();
      pending.set(serverNonce, { clientNonce, port, expiresAt: now() + LINK_CHALLENGE_TTL_MS });
      for (const oldest of pending.keys()) {
        if (pending.size <= MAX_LINK_CHALLENGES) break;
        pending.delete(oldest);
      }
      return { serverNonce, proof: serverProofOf(token, { clientNonce, serverNonce, port }) };
    },
    redeem(serverNonce, proof) {
      const entry = pending.get(serverNonce);
      if (entry === undefined) return false;
      pending.delete(serverNonce);
      if (entry.expiresAt <= now()) return false;
      return proofMatches(proof, clientProofOf(token, { clientNonce: entry.clientNonce, serverNonce, port: entry.port }));
    },
  };
}
