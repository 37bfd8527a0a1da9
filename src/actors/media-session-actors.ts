// The media-session machine's two lifecycle actors (issue "media"): `mediaSession` opens one
// signalling + WebRTC link through the injected `openLink`, attaches it to the live-link holder
// while it streams and reports `media.negotiating`, `media.streaming` and `media.lost` (or
// `media.release` when the producer is missing because the daemon released its media);
// `watchReleased` polls the daemon's media status while released and sends `media.acquire` once
// another program gave the hardware back. Owns no state: timing is the machine's, I/O the adapters'.
import * as Result from 'effect/Result';
import { fromCallback, type CallbackActorLogic } from 'xstate';
import type { DaemonHttpClient } from '../adapters/daemon-http.ts';
import { messageOf } from '../errors.ts';
import type { MediaEvent } from '../machines/media-session.machine.ts';
import type { MediaLink, MediaLinkEndReason, OpenMediaLink } from '../media/media-link.ts';
import type { LiveMediaLink } from './media-live-link.ts';
import { mediaLinkNotice, type MediaLinkNotice } from './media-link-notice.ts';

/**
 * While released, how often the daemon's media status is read: another program (the dashboard, an
 * app using the hardware directly) may acquire the media again without telling the driver.
 */
export const RELEASED_POLL_MS = 2_000;

export interface SessionActorDeps {
  readonly signallingUrl: string;
  readonly openLink: OpenMediaLink;
  readonly daemon: () => DaemonHttpClient;
  readonly live: LiveMediaLink;
}

function endReasonText(reason: MediaLinkEndReason): string {
  return reason.kind === 'closed' ? 'closed' : `${reason.kind}: ${reason.message}`;
}

/** The stable `cause` of a failed attempt: its `_tag`, with a SessionEnded's reason (its message names the session). */
function failureCause(failure: unknown): string {
  const { _tag: tag, reason } = (failure ?? {}) as { _tag?: unknown; reason?: unknown };
  if (typeof tag !== 'string') return 'unexpected-error';
  return typeof reason === 'string' ? `${tag}:${reason}` : tag;
}

async function daemonReportsReleased(daemon: () => DaemonHttpClient): Promise<boolean> {
  try {
    return (await daemon().mediaStatus()).released === true;
  } catch {
    return false;
  }
}

/**
 * One session attempt: open, stream until the link ends, report; `signal` aborts it at any await.
 * The set-up and any teardown are handed to the live-link holder, whose `close()` waits for them.
 */
async function runSession(deps: SessionActorDeps, signal: AbortSignal, sendBack: (event: MediaEvent) => void, own: (link: MediaLink) => void, notice: MediaLinkNotice): Promise<void> {
  const opened = await deps.live.track(deps.openLink({ signallingUrl: deps.signallingUrl, signal, onNegotiating: () => !signal.aborted && sendBack({ type: 'media.negotiating' }) }));
  if (Result.isFailure(opened)) {
    if (signal.aborted) return;
    // No producer: ask the daemon whether its media is released (then wait for acquire).
    if (opened.failure._tag === 'NoProducer' && (await daemonReportsReleased(deps.daemon))) {
      if (!signal.aborted) sendBack({ type: 'media.release' });
      return;
    }
    notice.failed(deps.signallingUrl, opened.failure);
    sendBack({ type: 'media.lost', reason: messageOf(opened.failure), cause: failureCause(opened.failure) });
    return;
  }
  const link = opened.success;
  own(link);
  if (signal.aborted) {
    await deps.live.retire(link);
    return;
  }
  deps.live.attach(link);
  notice.streaming(deps.signallingUrl);
  sendBack({ type: 'media.streaming' });
  const ended = await link.ended;
  deps.live.detach(link);
  if (!signal.aborted) sendBack({ type: 'media.lost', reason: endReasonText(ended), cause: `link-${ended.kind}` });
}

export function mediaSessionActor(deps: SessionActorDeps): CallbackActorLogic<MediaEvent> {
  const notice = mediaLinkNotice();
  return fromCallback<MediaEvent>(({ sendBack }) => {
    const abort = new AbortController();
    let mine: MediaLink | null = null;
    runSession(deps, abort.signal, sendBack, (link) => (mine = link), notice).catch((error: unknown) => {
      if (!abort.signal.aborted) sendBack({ type: 'media.lost', reason: messageOf(error), cause: failureCause(error) });
    });
    return () => {
      abort.abort();
      const link = mine as MediaLink | null;
      if (link) void deps.live.retire(link);
    };
  });
}

export function watchReleasedActor(daemon: () => DaemonHttpClient): CallbackActorLogic<MediaEvent> {
  return fromCallback<MediaEvent>(({ sendBack }) => {
    const timer = setInterval(() => {
      void daemon()
        .mediaStatus()
        .then((status) => {
          if (status.released === false) sendBack({ type: 'media.acquire' });
        })
        .catch(() => undefined);
    }, RELEASED_POLL_MS);
    return () => clearInterval(timer);
  });
}
