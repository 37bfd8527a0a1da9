// Failures a caller can act on, as values with a stable `_tag` (Effect `Data.TaggedError`).
// Owns the error vocabulary and its JSON-RPC mapping (device-connect-protocol.md §2.3: -32601
// unknown method, -32602 invalid params, -32000 handler failure); `error.data` carries `_tag` and
// the fields below. Does not own logging or retry policy. No code matches on messages.
import * as Data from 'effect/Data';
import type { InvalidFrame, PayloadTooLarge } from './media/encoding/frame-errors.ts';
import type { SoundFileRefused } from './adapters/sound-files.ts';
import type { HeadPoseView } from './robot/head-reach.ts';

export class ParseError extends Data.TaggedError('ParseError')<{ readonly message: string }> {}
export class InvalidRequest extends Data.TaggedError('InvalidRequest')<{ readonly message: string }> {}
export class UnknownMethod extends Data.TaggedError('UnknownMethod')<{ readonly message: string; readonly method: string }> {}
export class InvalidParams extends Data.TaggedError('InvalidParams')<{
  readonly message: string;
  /** One entry per offending parameter: its name and what was wrong with it. */
  readonly issues: ReadonlyArray<{ readonly parameter: string; readonly problem: string }>;
}> {}
export class NotAllowedInState extends Data.TaggedError('NotAllowedInState')<{
  readonly message: string;
  readonly function: string;
  readonly state: unknown;
}> {}
export class OutcomeTimeout extends Data.TaggedError('OutcomeTimeout')<{
  readonly message: string;
  readonly function: string;
  readonly timeoutMs: number;
}> {}
export class DaemonUnavailable extends Data.TaggedError('DaemonUnavailable')<{
  readonly message: string;
  readonly connectionState: string;
}> {}
export class RobotAsleep extends Data.TaggedError('RobotAsleep')<{ readonly message: string; readonly powerState: string }> {}
export class InterlockTripped extends Data.TaggedError('InterlockTripped')<{
  readonly message: string;
  readonly reason: string;
  readonly source: string | null;
  readonly trippedBy: string | null;
}> {}
export class LeaseHeld extends Data.TaggedError('LeaseHeld')<{ readonly message: string; readonly holder: string; readonly secondsLeft: number }> {}
/** The daemon refused or failed a command (its own words in `detail`). */
export class CommandRejected extends Data.TaggedError('CommandRejected')<{ readonly message: string; readonly daemonTag: string }> {}
/**
 * A move ended without completing (failed, cancelled, superseded, stopped, timed out); `reached`:
 * where the head stopped when the driver knows (a realtime ramp cut short), in degrees and mm.
 */
export class MotionNotCompleted extends Data.TaggedError('MotionNotCompleted')<{
  readonly message: string;
  readonly outcome: string;
  readonly uuid: string | null;
  readonly reached?: HeadPoseView;
}> {}
/**
 * A move that ended (the daemon reported it done, or a realtime target settled) with the head off
 * its target beyond the tolerance: the daemon drops a head pose its kinematics cannot reach without
 * a word. `reached`: where the head is; `target`: where it was sent (degrees, mm).
 */
export class PoseNotReached extends Data.TaggedError('PoseNotReached')<{
  readonly message: string;
  readonly reached: HeadPoseView;
  readonly target: HeadPoseView;
  readonly tolerance: { readonly deg: number; readonly mm: number };
  readonly uuid: string | null;
}> {}
export class Unsupported extends Data.TaggedError('Unsupported')<{ readonly message: string; readonly function: string }> {}
/** The newest camera picture is older than the call's max_age_ms (a frozen or stalled producer). */
export class FrameTooOld extends Data.TaggedError('FrameTooOld')<{ readonly message: string; readonly age_ms: number; readonly max_age_ms: number }> {}
/** The media session is not streaming (starting, reconnecting, closed, or disabled by --no-media). */
export class MediaUnavailable extends Data.TaggedError('MediaUnavailable')<{
  readonly message: string;
  /** idle | signalling | negotiating | reconnecting | closed | disabled. */
  readonly sessionState: string;
  readonly lastError: string | null;
}> {}
/** The daemon's media hardware is released (release_media_hardware); acquire_media_hardware gives it back. */
export class MediaReleased extends Data.TaggedError('MediaReleased')<{ readonly message: string }> {}
/** No decodable picture yet: no keyframe has arrived since the session (re)started. */
export class NoFrameYet extends Data.TaggedError('NoFrameYet')<{
  readonly message: string;
  /** Milliseconds the link has been up; a keyframe normally arrives within one I-frame period (2 s). */
  readonly sessionAgeMs: number;
}> {}
/** A motion command cancelled by a stop or a newer command before the daemon accepted it. */
export class MotionCancelled extends Data.TaggedError('MotionCancelled')<{ readonly message: string; readonly reason: string }> {}
/** The motors are compliant (gravity compensation): the head follows hands, not commands. */
export class MotorsCompliant extends Data.TaggedError('MotorsCompliant')<{ readonly message: string; readonly motorMode: string }> {}
/** A configuration change that cannot be applied to a running driver (it names the fields). */
export class RestartRequired extends Data.TaggedError('RestartRequired')<{ readonly message: string; readonly fields: ReadonlyArray<string> }> {}
/** A daemon address saved for a driver on its embedded emulator (--sim): it cannot take effect there (it names the settings fields). */
export class SimulatorInUse extends Data.TaggedError('SimulatorInUse')<{ readonly message: string; readonly fields: ReadonlyArray<string> }> {}
/**
 * A settings apply refused: on `axis` the saved bound and the other bound in force (`in_force`,
 * last set by `set_by`) would leave no range (min above max); nothing was changed.
 */
export class PolicyConflict extends Data.TaggedError('PolicyConflict')<{
  readonly message: string;
  readonly axis: string;
  readonly saved: { readonly min: number; readonly max: number };
  readonly in_force: { readonly min: number; readonly max: number };
  readonly set_by: string;
}> {}
/** A daemon change refused: the robot being left is reachable and has not confirmed that it stopped (`reason`). */
export class StopUnconfirmed extends Data.TaggedError('StopUnconfirmed')<{ readonly message: string; readonly daemon: string; readonly reason: string }> {}
/** A caller sent more calls of a class than its rate limit allows; `retry_after_ms` says when one fits again. */
export class RateLimited extends Data.TaggedError('RateLimited')<{ readonly message: string; readonly rateClass: string; readonly limitPerSecond: number; readonly retry_after_ms: number }> {}
/** A motion call outside the operator's envelope (the safety policy); `envelope` is the policy's, `violations` the axes outside it. */
export class OutsideEnvelope extends Data.TaggedError('OutsideEnvelope')<{
  readonly message: string;
  readonly envelope: Readonly<Record<string, { readonly min: number; readonly max: number }>>;
  readonly violations: ReadonlyArray<{ readonly axis: string; readonly value: number; readonly min: number; readonly max: number }>;
}> {}
/** A motion faster than the policy's speed limit; `shortest_duration_s` is the shortest duration allowed for it (gotos). */
export class TooFast extends Data.TaggedError('TooFast')<{
  readonly message: string;
  readonly axis: string;
  readonly peak_speed: number;
  readonly limit: number;
  readonly unit: string;
  readonly shortest_duration_s: number | null;
}> {}
/**
 * A recorded move (play_move) refused while the policy in force is narrower than the defaults: the
 * daemon plays the dataset's poses at their recorded speed, which the driver cannot check;
 * `narrowed` names the narrowed policy fields (`envelope.head_pitch_deg`, `speed.body_deg_per_s`).
 */
export class UncheckedMove extends Data.TaggedError('UncheckedMove')<{ readonly message: string; readonly function: string; readonly narrowed: ReadonlyArray<string> }> {}
/** A held request the supervisor denied. */
export class ApprovalDenied extends Data.TaggedError('ApprovalDenied')<{ readonly message: string; readonly approval_id: string; readonly denied_by: string; readonly reason: string }> {}
/** A held request nobody decided within the policy's approval timeout. */
export class ApprovalTimeout extends Data.TaggedError('ApprovalTimeout')<{ readonly message: string; readonly approval_id: string; readonly timeout_s: number }> {}
/** approve/deny named an approval that is not pending (never requested, already decided, expired or ended by a stop). */
export class ApprovalNotFound extends Data.TaggedError('ApprovalNotFound')<{ readonly message: string; readonly approval_id: string }> {}
/** A state-changing call from a caller outside DEVICE_CONNECT_RPC_ALLOW (src/safety/caller-allow.ts); stops are never refused. */
export class CallerNotAllowed extends Data.TaggedError('CallerNotAllowed')<{ readonly message: string; readonly caller: string | null; readonly function: string; readonly allow: ReadonlyArray<string> }> {}
/** A signed call whose signature, key, JWT or signed fields do not check out (src/safety/caller-identity.ts). */
export class SignatureInvalid extends Data.TaggedError('SignatureInvalid')<{ readonly message: string; readonly key: string | null; readonly problem: string }> {}
/** A validly signed call from a key (or a JWT issuer) that is not in --trusted-callers. */
export class CallerNotTrusted extends Data.TaggedError('CallerNotTrusted')<{ readonly message: string; readonly key: string; readonly issuer: string | null }> {}
/** A signed call seen before (same key and request id), with a timestamp outside the replay window, or signed before this driver started. */
export class ReplayRejected extends Data.TaggedError('ReplayRejected')<{ readonly message: string; readonly key: string; readonly request_id: string; readonly reason: 'seen' | 'stale' | 'future' | 'before_start'; readonly window_ms: number }> {}
/** An unsigned call that must be signed: a state-changing call under --require-signed-callers, or one naming a verified (nkey) identity. */
export class SignatureRequired extends Data.TaggedError('SignatureRequired')<{ readonly message: string; readonly function: string; readonly reason: 'required' | 'names_verified_caller' }> {}
/** A camera/microphone function under --media-policy deny (never allowed on this driver). */
export class MediaDenied extends Data.TaggedError('MediaDenied')<{ readonly message: string; readonly function: string; readonly media_policy: string }> {}
/** A camera/microphone function under --media-policy supervisor while the supervisor has not enabled media (or disabled it). */
export class MediaNotEnabled extends Data.TaggedError('MediaNotEnabled')<{ readonly message: string; readonly function: string; readonly media_policy: string }> {}
/**
 * A call that came with nobody to answer it the usual way (a JSON-RPC notification; a broadcast whose
 * addressing this driver cannot evaluate) runs only when it is a stop: src/safety/stop-only-calls.ts.
 */
export class StopsOnly extends Data.TaggedError('StopsOnly')<{ readonly message: string; readonly function: string; readonly delivery: string }> {}
export class HandlerFailed extends Data.TaggedError('HandlerFailed')<{ readonly message: string }> {}

export type RpcFailure =
  | ParseError
  | InvalidRequest
  | UnknownMethod
  | InvalidParams
  | NotAllowedInState
  | OutcomeTimeout
  | DaemonUnavailable
  | RobotAsleep
  | InterlockTripped
  | LeaseHeld
  | CommandRejected
  | MotionNotCompleted
  | PoseNotReached
  | Unsupported
  | FrameTooOld
  | MediaUnavailable
  | MediaReleased
  | NoFrameYet
  | PayloadTooLarge
  | InvalidFrame
  | SoundFileRefused
  | MotionCancelled
  | MotorsCompliant
  | RestartRequired
  | RateLimited
  | OutsideEnvelope
  | TooFast
  | UncheckedMove
  | ApprovalDenied
  | ApprovalTimeout
  | ApprovalNotFound
  | CallerNotAllowed
  | SignatureInvalid
  | CallerNotTrusted
  | ReplayRejected
  | SignatureRequired
  | MediaDenied
  | MediaNotEnabled
  | StopsOnly
  | HandlerFailed;

/** Daemon adapter error tags that mean "the daemon is not there" rather than "it said no". */
const DAEMON_UNAVAILABLE_TAGS: ReadonlySet<string> = new Set(['DaemonUnreachable', 'DaemonTimeout', 'DaemonBackendNotRunning', 'DaemonNotConnected', 'DaemonUnavailable']);

export function isDaemonUnavailableTag(tag: string): boolean {
  return DAEMON_UNAVAILABLE_TAGS.has(tag);
}

/** A daemon adapter failure as the caller's error: DaemonUnavailable when it is not there, else CommandRejected. */
export function failureFromDaemon(error: { readonly _tag: string; readonly message: string }, connectionState: string): RpcFailure {
  if (isDaemonUnavailableTag(error._tag)) return new DaemonUnavailable({ message: error.message, connectionState });
  return new CommandRejected({ message: error.message, daemonTag: error._tag });
}

/** The message of anything thrown or rejected (tagged errors, Errors, strings). */
export function messageOf(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error && typeof (error as { message: unknown }).message === 'string') return (error as { message: string }).message;
  return String(error);
}

/** `{ _tag, message }` of a failure as it crosses an actor boundary; untagged ones are HandlerFailed. */
export function failureOf(error: unknown): { _tag: string; message: string } {
  const tag = error && typeof error === 'object' && '_tag' in error && typeof (error as { _tag: unknown })._tag === 'string' ? (error as { _tag: string })._tag : 'HandlerFailed';
  return { _tag: tag, message: messageOf(error) };
}

/** JSON-RPC 2.0 codes used on the wire (§2.3); everything raised by a handler is -32000. */
export const JSONRPC_CODE = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  handlerFailed: -32000,
} as const;

export interface JsonRpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data: Record<string, unknown>;
}

/** Every field of the error except the message goes into `data`, so callers never parse text. */
export function toJsonRpcError(error: RpcFailure, method?: string): JsonRpcErrorObject {
  const { message, ...fields } = { ...error, message: error.message };
  const data: Record<string, unknown> = { ...fields, _tag: error._tag };
  switch (error._tag) {
    case 'ParseError':
      return { code: JSONRPC_CODE.parseError, message, data };
    case 'InvalidRequest':
      return { code: JSONRPC_CODE.invalidRequest, message, data };
    case 'UnknownMethod':
      return { code: JSONRPC_CODE.methodNotFound, message, data };
    case 'InvalidParams':
      return { code: JSONRPC_CODE.invalidParams, message, data };
    default:
      // Same prefix as the Python runtime (`Error invoking <m>: …`) so agent-facing text matches.
      return { code: JSONRPC_CODE.handlerFailed, message: method ? `Error invoking ${method}: ${message}` : message, data };
  }
}
