// Failures of the WebRTC signalling link to the robot (ws://<robot>:8443, reachy-daemon-api.md
// §9.2), as values a caller can act on (Effect `Data.TaggedError`, stable `_tag`, fields instead of
// text to parse). Owns the vocabulary and the human message of each; does not own the mapping to
// JSON-RPC (src/errors.ts) nor any retry policy (the caller decides whether to try again).
import * as Data from 'effect/Data';
import type { PeerInfo } from './protocol.ts';

/** Nothing usable answered at `url`: refused, reset, no route, handshake timeout, not a WebSocket. */
export class SignallingUnreachable extends Data.TaggedError('SignallingUnreachable')<{
  readonly message: string;
  readonly url: string;
  /** The system code (`ECONNREFUSED`, `ENOTFOUND`, ...), `ETIMEDOUT` for the handshake deadline, `HTTP_<status>`, or `unknown`. */
  readonly code: string;
}> {}

/** The server answered `list` but no producer has `meta.name === producerName`. */
export class NoProducer extends Data.TaggedError('NoProducer')<{
  readonly message: string;
  readonly producerName: string;
  /** The first producers the server listed (possibly none; at most the few the message names). */
  readonly producers: readonly PeerInfo[];
  /** How many producers the server listed. */
  readonly producerCount: number;
}> {}

/** The server sent something the protocol does not allow here (malformed frame, wrong message, `error`). */
export class SignallingProtocolError extends Data.TaggedError('SignallingProtocolError')<{
  readonly message: string;
  /** What was wrong, e.g. `not JSON: "garbage"` or the server's own `error.details`. */
  readonly details: string;
  /** Step of the consumer flow it happened in (`welcome`, `list`, `sessionStarted`, `offer`, `session`). */
  readonly stage: string;
}> {}

/** An expected message did not arrive in time (or the caller's answer callback did not resolve). */
export class SignallingTimeout extends Data.TaggedError('SignallingTimeout')<{
  readonly message: string;
  readonly stage: string;
  readonly timeoutMs: number;
}> {}

export type SessionEndReason =
  /** The producer (or the server on its behalf: producer gone) sent `endSession`. */
  | 'remote-ended'
  /** This side closed (`close()`, abort signal). */
  | 'local-closed'
  /** The signalling socket dropped. */
  | 'connection-lost'
  /** The server said `error` about the live session. */
  | 'server-error'
  /** The server sent a frame the protocol does not allow during a session. */
  | 'protocol-error'
  /** `start()` failed (unreachable, no producer, timeout, answer callback failure): `details` says why. */
  | 'setup-failed';

/** The signalling session is over (it will not be resumed: start a new one). */
export class SessionEnded extends Data.TaggedError('SessionEnded')<{
  readonly message: string;
  /** Null when the session ended before `sessionStarted` assigned an id. */
  readonly sessionId: string | null;
  readonly reason: SessionEndReason;
  readonly details: string;
}> {}

export type SignallingFailure = SignallingUnreachable | NoProducer | SignallingProtocolError | SignallingTimeout | SessionEnded;
