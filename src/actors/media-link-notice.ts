// What the driver says when the robot's media session cannot be opened: the WebRTC signalling
// server (ws://<robot>:8443) does not resolve, refuses, times out, has no `reachymini` producer,
// or the negotiation fails — once at warn with the URL, the cause, the retry cadence and what to
// do, then rate-limited; one info line once media streams again. Owns the wording; the
// media-session machine owns the back-off. Issue 10 item 2 ("signalling server unreachable").
import { createLogger } from '../logging/logger.ts';
import { failureNotice, type FailureNotice } from '../logging/failure-notice.ts';
import { causeOf, describeCause } from '../adapters/network-cause.ts';
import { MEDIA_RECONNECT_BASE_MS, MEDIA_RECONNECT_MAX_MS } from '../machines/media-session.machine.ts';

const log = createLogger('media');

const OFF_ADVICE = 'camera, microphone and speaker functions answer MediaUnavailable meanwhile; --no-media turns media off';

function tagOf(failure: unknown): string {
  const tag = (failure as { _tag?: unknown } | null)?._tag;
  return typeof tag === 'string' ? tag : 'unknown';
}

export interface MediaLinkNotice {
  failed(signallingUrl: string, failure: unknown): void;
  streaming(signallingUrl: string): void;
}

export function mediaLinkNotice(notice: FailureNotice = failureNotice(log)): MediaLinkNotice {
  return {
    failed(signallingUrl, failure) {
      const tag = tagOf(failure);
      const { cause, code, detail } = causeOf(failure);
      const cadence = `retrying every ${MEDIA_RECONNECT_BASE_MS} ms → ${MEDIA_RECONNECT_MAX_MS / 1000} s`;
      const what =
        tag === 'SignallingUnreachable'
          ? `cannot reach the robot's WebRTC signalling server at ${signallingUrl}: ${describeCause(cause)} — is the daemon running with media, and is --signalling-port right?`
          : tag === 'NoProducer'
            ? `the signalling server at ${signallingUrl} has no robot media producer (reachymini) — the daemon's media pipeline is not running`
            : `the media session with ${signallingUrl} failed (${tag}): ${detail}`;
      notice.failed(`${tag}|${cause}`, `${what}; ${cadence}; ${OFF_ADVICE}`, { signalling: signallingUrl, failure: tag, cause, code, error: detail });
    },
    streaming(signallingUrl) {
      notice.recovered('media session streaming', { signalling: signallingUrl });
    },
  };
}
