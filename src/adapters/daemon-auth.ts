// How the daemon adapters authenticate to a protected daemon and trust its TLS certificate (the
// prior art's REACHY_DAEMON_TOKEN / TLS, reference-driver.md §13): the token goes out as
// `Authorization: Bearer <token>` on every REST call and both WebSocket upgrades; an https/wss
// daemon is verified against the system roots or the CA file given (never skipped). The token is a
// `Secret`: it is revealed only into the header, never logged, never in machine context. Owns the
// header and the CA read; not the routes.
import { readFileSync } from 'node:fs';
import type { Secret } from '../config/secret.ts';

export interface DaemonAuth {
  /** REACHY_DAEMON_TOKEN. */
  readonly token?: Secret;
  /** PEM text of the CA that signed the daemon's certificate (--daemon-ca-file). */
  readonly ca?: string;
}

/** The Authorization header of `auth` (none without a token). */
export function authHeaders(auth: DaemonAuth | undefined): Record<string, string> {
  return auth?.token ? { authorization: `Bearer ${auth.token.reveal()}` } : {};
}

/** The TLS trust options of `auth` for undici's connector and ws (none: the system roots). */
export function tlsTrust(auth: DaemonAuth | undefined): { ca?: string } {
  return auth?.ca ? { ca: auth.ca } : {};
}

/** Reads the CA file once at start; a missing or unreadable file throws (the config already checked it exists). */
export function daemonAuthOf(token: Secret | undefined, caFile: string | undefined): DaemonAuth {
  return { ...(token ? { token } : {}), ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}) };
}
