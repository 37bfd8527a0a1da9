// Who may use the settings API: the app token as `Authorization: Bearer`, or a session cookie
// obtained once through a single-use login code (the printed link carries the code, never the
// token), and the Origin rule for mutating requests. Owns random token generation, secret
// comparison (constant time over SHA-256 digests), login-code and session lifetimes. Does not own
// the token file or routing (src/adapters/settings-http/: settings-token.ts, request-protections.ts,
// login-routes.ts). Spec: reference-driver.md §10/§12 (the reference UI had no authentication),
// threat model "treat settings port like root".
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes = 256 bits: unguessable, and 43 base64url characters (app token, login codes, session ids). */
export const TOKEN_BYTES = 32;

export function newRandomToken(bytes: number = TOKEN_BYTES): string {
  return randomBytes(bytes).toString('base64url');
}
/** Cookie carrying the session id (HttpOnly, SameSite=Strict, Path=/). */
export const SESSION_COOKIE = 'reachy_settings_session';
/** A login code is valid this long after it was issued: time to copy it from the log into a browser. */
export const LOGIN_CODE_TTL_MS = 60 * 60 * 1000;
/** A session lasts a working day; after that the user needs a new login link. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Sessions kept at once; the oldest is dropped beyond this so the map cannot grow without bound. */
export const MAX_SESSIONS = 32;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time equality of two secrets of any length (their digests are compared). */
export function secretsEqual(candidate: string, expected: string): boolean {
  return timingSafeEqual(digest(candidate), digest(expected));
}

/**
 * Mutating requests: an `Origin` header, when present, must be this server's own origin as the
 * request's Host header names it (`http://<host>`); `null` and other origins are refused. Without
 * an Origin the request is not from a browser form or script, so the token alone decides.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (!host) return false;
  try {
    const parsed = new URL(origin);
    return parsed.protocol === 'http:' && parsed.origin === new URL(`http://${host}`).origin;
  } catch {
    return false;
  }
}

export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

export interface SettingsAuth {
  /** A fresh single-use login code; any earlier unused code stops working. */
  issueLoginCode(): string;
  /** Exchanges a login code for a new session id, once; undefined when unknown, used or expired. */
  redeemLoginCode(code: string): string | undefined;
  /** Whether the bearer token (`''` for an unusable Authorization header) or the session cookie authorises the request. */
  authorised(bearer: string | undefined, sessionId: string | undefined): boolean;
}

export function createSettingsAuth(token: string, now: () => number = Date.now): SettingsAuth {
  let pendingCode: { readonly code: string; readonly expiresAt: number } | undefined;
  // Keyed by the digest of the session id, so the map never holds a usable cookie value.
  const sessions = new Map<string, number>();

  const sessionValid = (sessionId: string): boolean => {
    const key = digest(sessionId).toString('hex');
    const expiresAt = sessions.get(key);
    if (expiresAt === undefined) return false;
    if (expiresAt <= now()) {
      sessions.delete(key);
      return false;
    }
    return true;
  };

  return {
    issueLoginCode() {
      const code = newRandomToken();
      pendingCode = { code, expiresAt: now() + LOGIN_CODE_TTL_MS };
      return code;
    },
    redeemLoginCode(code) {
      const pending = pendingCode;
      if (!pending || !secretsEqual(code, pending.code)) return undefined;
      pendingCode = undefined;
      if (pending.expiresAt <= now()) return undefined;
      const sessionId = newRandomToken();
      sessions.set(digest(sessionId).toString('hex'), now() + SESSION_TTL_MS);
      while (sessions.size > MAX_SESSIONS) {
        const oldest = sessions.keys().next().value;
        if (oldest === undefined) break;
        sessions.delete(oldest);
      }
      return sessionId;
    },
    authorised(bearer, sessionId) {
      // An Authorization header, when sent, alone decides: a wrong token is never rescued by a cookie.
      if (bearer !== undefined) return secretsEqual(bearer, token);
      return sessionId !== undefined && sessionId !== '' && sessionValid(sessionId);
    },
  };
}
