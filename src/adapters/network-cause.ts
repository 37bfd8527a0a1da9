// Why a network peer (the NATS broker, the daemon, the signalling server, the inspector relay)
// could not be reached, as one of a few causes a user can act on: DNS, refused, timeout, TLS,
// authorization, unreachable. Reads only stable identifiers — system codes (`ENOTFOUND`,
// `ECONNREFUSED`…), error class names of nats.js, the `_tag` and `code` fields of our own tagged
// errors — never the message text. Owns the classification and the one-line advice per cause; the
// callers own the logging (logging/failure-notice.ts) and the retry policy. Issue 10 item 2.

export type NetworkCause = 'dns' | 'refused' | 'timeout' | 'tls' | 'authorization' | 'unreachable' | 'no_responders' | 'other';

export interface CauseOf {
  readonly cause: NetworkCause;
  /** The identifier the cause was read from (`ENOTFOUND`, `TimeoutError`, `DaemonTimeout`…), or `unknown`. */
  readonly code: string;
  /** The error's own message, for the log line only (never parsed). */
  readonly detail: string;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const REFUSED_CODES = new Set(['ECONNREFUSED']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'TimeoutError', 'DaemonTimeout', 'SignallingTimeout']);
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'EADDRNOTAVAIL']);
const AUTH_CODES = new Set(['AuthorizationError', 'UserAuthenticationExpiredError', 'PermissionViolationError']);
const TLS_CODES = new Set(['EPROTO', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']);

export function isTls(code: string): boolean {
  return TLS_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_');
}

function stringField(value: unknown, field: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[field];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Every identifier of `error` and its causes, most specific first (`code` before the class name). */
function identifiersOf(error: unknown): string[] {
  const ids: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth += 1) {
    for (const field of ['code', '_tag']) {
      const v = stringField(current, field);
      if (v) ids.push(v);
    }
    if (current instanceof Error && current.name !== 'Error') ids.push(current.name);
    // AggregateError (Node's happy-eyeballs dial of every address): its members carry the codes.
    if (current instanceof AggregateError) for (const member of current.errors) ids.push(...identifiersOf(member));
    current = (current as { cause?: unknown }).cause;
  }
  return ids;
}

function causeOfCode(code: string): NetworkCause | undefined {
  if (DNS_CODES.has(code)) return 'dns';
  if (REFUSED_CODES.has(code)) return 'refused';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (AUTH_CODES.has(code)) return 'authorization';
  if (isTls(code)) return 'tls';
  if (UNREACHABLE_CODES.has(code)) return 'unreachable';
  // nats.js: a request to a subject nobody subscribes to (NoRespondersError.name).
  if (code === 'NoResponders') return 'no_responders';
  return undefined;
}

export function causeOf(error: unknown): CauseOf {
  const detail = error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error) ? String((error as { message: unknown }).message) : String(error);
  for (const id of identifiersOf(error)) {
    const cause = causeOfCode(id);
    if (cause) return { cause, code: id, detail };
  }
  return { cause: 'other', code: identifiersOf(error)[0] ?? 'unknown', detail };
}

/** How a cause reads in a log line ("DNS lookup failed"). */
export function describeCause(cause: NetworkCause): string {
  switch (cause) {
    case 'dns':
      return 'DNS lookup failed (no such host name)';
    case 'refused':
      return 'connection refused (nothing listens on that port)';
    case 'timeout':
      return 'timed out (host down, firewalled or wrong address)';
    case 'tls':
      return 'TLS handshake failed';
    case 'authorization':
      return 'authorization refused';
    case 'unreachable':
      return 'network unreachable or connection reset';
    case 'no_responders':
      return 'nobody answers on that subject (no responders)';
    default:
      return 'failed';
  }
}
