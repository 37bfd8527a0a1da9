// How one media call becomes an actor the media-session machine spawns (issue "media"): `mediaCall`
// wraps a call's work (params → typed Result) in callback logic that reads the session through the
// ref it was spawned with, answers its parent exactly once with `media.answered` (a throw becomes a
// typed failure, never a crash) and is aborted when stopped. Also the two failure mappings call
// actors share: media-link errors and daemon adapter throws. Owns no call's behaviour (see
// media-*-calls.ts) and no I/O of its own.
import * as Result from 'effect/Result';
import { fromCallback, type CallbackActorLogic } from 'xstate';
import { failureFromDaemon, HandlerFailed, isDaemonUnavailableTag, MediaUnavailable, messageOf, NoFrameYet, type RpcFailure } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import type { MediaCallInput, MediaEvent } from '../machines/media-session.machine.ts';
import type { MediaCallParams, MediaFunctionName } from '../rpc/media-functions.ts';
import type { DaemonHttpClient } from '../adapters/daemon-http.ts';
import { sessionView, type LiveMediaLink, type MediaSessionView } from './media-live-link.ts';

const log = createLogger('media');

/** What every group of call actors is built with (each group adds the settings it reads). */
export interface MediaCallDeps {
  readonly live: LiveMediaLink;
  /** The daemon client of the current link (it changes when the robot runtime retargets). */
  readonly daemon: () => DaemonHttpClient;
}

/** What a call's work may use besides its parameters. */
export interface MediaCallScope {
  /** The session machine that started the call (state and context at any moment). */
  readonly session: MediaSessionView;
  /** Sends an event to the media-session machine (release/acquire hand-over). */
  readonly sendBack: (event: MediaEvent) => void;
  /** Aborted when the call actor is stopped (the runtime is stopping): stop waiting. */
  readonly signal: AbortSignal;
}

/** One call actor per media function: what the runtime must provide to the session machine. */
export type MediaCallActors = { readonly [F in MediaFunctionName]: CallbackActorLogic<MediaEvent, MediaCallInput<F>> };

export type MediaCallWork<F extends MediaFunctionName> = (params: MediaCallParams[F], scope: MediaCallScope) => Promise<Result.Result<unknown, RpcFailure>>;

/** The call actor of function `fn`: runs `work` once and answers `media.answered`. */
export function mediaCall<F extends MediaFunctionName>(fn: F, work: MediaCallWork<F>): CallbackActorLogic<MediaEvent, MediaCallInput<F>> {
  return fromCallback<MediaEvent, MediaCallInput<F>>(({ input, sendBack }) => {
    const abort = new AbortController();
    const { requestId } = input;
    work(input.params, { session: sessionView(input.session), sendBack, signal: abort.signal }).then(
      (result) =>
        sendBack(
          Result.isSuccess(result)
            ? { type: 'media.answered', requestId, ok: true, result: result.success }
            : { type: 'media.answered', requestId, ok: false, error: result.failure },
        ),
      (error: unknown) => {
        log.warn('media call failed', { function: fn, error: messageOf(error) });
        sendBack({ type: 'media.answered', requestId, ok: false, error: asRpcFailure(error) });
      },
    );
    return () => abort.abort();
  });
}

/** Link failures as RPC failures: NoFrameYet stays itself, the rest means "media unavailable". */
export function linkFailure(error: unknown): RpcFailure {
  if (error instanceof NoFrameYet) return error;
  const tag = (error as { _tag?: string })._tag ?? 'HandlerFailed';
  return new MediaUnavailable({ message: `the media link failed: ${messageOf(error)}`, sessionState: tag === 'MediaLinkClosed' ? 'closed' : 'streaming', lastError: messageOf(error) });
}

/** Daemon adapter errors (the driver's daemon mapping) and other throws, as typed failures. */
export function asRpcFailure(error: unknown): RpcFailure {
  const tag = (error as { _tag?: string })._tag;
  if (!tag?.startsWith('Daemon')) return new HandlerFailed({ message: messageOf(error) });
  const message = isDaemonUnavailableTag(tag) ? `the daemon did not answer: ${messageOf(error)}` : messageOf(error);
  return failureFromDaemon({ _tag: tag, message }, 'unknown');
}
