// Failures of the link to the Reachy daemon, as values a caller can act on (Effect
// `Data.TaggedError`, stable `_tag`, fields instead of text to parse). Owns the vocabulary and
// the human message of each; does not own retry policy (daemon-http.ts) nor the mapping to
// JSON-RPC (src/errors.ts). Follows reachy-daemon-api.md §0 "Error shapes" and "Backend gate":
// FastAPI 422 `{"detail":[issue...]}`, `HTTPException` `{"detail":"..."}`, plain-text 500, and the
// 503 `{"detail":"Backend not running"}` gate.
import * as Data from 'effect/Data';

/** One pydantic validation issue, as FastAPI lists them under `detail` in a 422 reply. */
export interface DaemonValidationIssue {
  readonly type: string;
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  readonly input?: unknown;
  readonly ctx?: Readonly<Record<string, unknown>>;
}

/** FastAPI's `detail`: a string (`HTTPException`), the validation list (422), or absent. */
export type DaemonDetail = string | readonly DaemonValidationIssue[] | null;

/** Nothing answered at the TCP level: connection refused, reset, closed mid-request, or no route. */
export class DaemonUnreachable extends Data.TaggedError('DaemonUnreachable')<{
  readonly message: string;
  readonly url: string;
  /** The system/undici code (`ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`, ...), or `unknown`. */
  readonly code: string;
}> {}

/** The daemon accepted the connection but did not answer in time. */
export class DaemonTimeout extends Data.TaggedError('DaemonTimeout')<{
  readonly message: string;
  readonly method: string;
  readonly route: string;
  readonly timeoutMs: number;
}> {}

/** A 4xx reply: the daemon refused the request as sent (422 validation, 404, 409 busy, ...). */
export class DaemonRejected extends Data.TaggedError('DaemonRejected')<{
  readonly message: string;
  readonly status: number;
  readonly method: string;
  readonly route: string;
  readonly detail: DaemonDetail;
}> {}

/** A 5xx reply other than the backend gate (e.g. the uncaught KeyError of an unknown move uuid). */
export class DaemonServerError extends Data.TaggedError('DaemonServerError')<{
  readonly message: string;
  readonly status: number;
  readonly method: string;
  readonly route: string;
  /** The first bytes of the body (`Internal Server Error` for uvicorn's default). */
  readonly bodyExcerpt: string;
}> {}

/** 503 `{"detail":"Backend not running"}`: the daemon runs but its robot backend is stopped. */
export class DaemonBackendNotRunning extends Data.TaggedError('DaemonBackendNotRunning')<{
  readonly message: string;
  readonly method: string;
  readonly route: string;
}> {}

/** A 2xx reply whose body is not JSON or not the shape the route documents. */
export class DaemonBadResponse extends Data.TaggedError('DaemonBadResponse')<{
  readonly message: string;
  readonly method: string;
  readonly route: string;
  readonly status: number;
  /** What did not match (`expected {uuid: string}`, `not JSON`, ...). */
  readonly problem: string;
  readonly bodyExcerpt: string;
}> {}

/** A WebSocket send (or a call on a closed client) while there is no open connection. */
export class DaemonNotConnected extends Data.TaggedError('DaemonNotConnected')<{
  readonly message: string;
  readonly url: string;
  /** `connecting`: a (re)connection is under way; `closed`: the client was closed for good. */
  readonly state: 'connecting' | 'closed';
}> {}

/** A realtime send refused because the socket's unsent buffer is over its bound (slow link). */
export class DaemonSocketCongested extends Data.TaggedError('DaemonSocketCongested')<{
  readonly message: string;
  readonly url: string;
  readonly bufferedBytes: number;
}> {}

/** A realtime command that the daemon would drop silently (wrong length, NaN/Infinity, ...). */
export class DaemonCommandInvalid extends Data.TaggedError('DaemonCommandInvalid')<{
  readonly message: string;
  readonly command: string;
  readonly problem: string;
}> {}

/** A request the client refused to send because the daemon could only refuse it (too large, bad name). */
export class DaemonRequestInvalid extends Data.TaggedError('DaemonRequestInvalid')<{
  readonly message: string;
  readonly method: string;
  readonly route: string;
  /** What is wrong (`body of 26300000 bytes exceeds 26214400`, `file name is empty`, ...). */
  readonly problem: string;
}> {}

/**
 * The caller cancelled the call (its `signal` aborted): a call still waiting for a connection was
 * never written; one already written has lost its reply (the daemon may still act on it).
 */
export class DaemonCallCancelled extends Data.TaggedError('DaemonCallCancelled')<{
  readonly message: string;
  readonly method: string;
  readonly route: string;
}> {}

/** Every failure of a `DaemonHttpClient` call. */
export type DaemonHttpError =
  | DaemonCallCancelled
  | DaemonUnreachable
  | DaemonTimeout
  | DaemonRejected
  | DaemonServerError
  | DaemonBackendNotRunning
  | DaemonBadResponse
  | DaemonNotConnected
  | DaemonRequestInvalid;

/** Every failure of a realtime send on a daemon WebSocket. */
export type DaemonSendError = DaemonNotConnected | DaemonSocketCongested | DaemonCommandInvalid;

const HTTP_ERROR_TAGS: ReadonlySet<string> = new Set([
  'DaemonCallCancelled',
  'DaemonUnreachable',
  'DaemonTimeout',
  'DaemonRejected',
  'DaemonServerError',
  'DaemonBackendNotRunning',
  'DaemonBadResponse',
  'DaemonNotConnected',
  'DaemonRequestInvalid',
]);

/** Narrows a caught value to a daemon HTTP failure (anything else is a bug, rethrow it). */
export function isDaemonHttpError(value: unknown): value is DaemonHttpError {
  return typeof value === 'object' && value !== null && HTTP_ERROR_TAGS.has(String((value as { _tag?: unknown })._tag));
}

/** `body.duration: Field required; body.interpolation: Input should be ...` */
export function describeDetail(detail: DaemonDetail): string {
  if (detail === null) return 'no detail';
  if (typeof detail === 'string') return detail;
  return detail.map((issue) => `${issue.loc.join('.')}: ${issue.msg}`).join('; ');
}
