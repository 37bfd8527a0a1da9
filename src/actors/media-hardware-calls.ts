// The call actors of the release/acquire hand-over with the daemon (reachy-daemon-api.md §9;
// issue "media"): release_media_hardware asks the daemon to release its camera and audio, then
// tells the session machine (`media.release`); acquire_media_hardware gives them back, tells the
// machine (`media.acquire`) and waits for it to stream again before answering. Owns the two reply
// shapes and the acquire wait; the session's states belong to the machine, HTTP to the adapter.
import * as Result from 'effect/Result';
import { mediaCall, type MediaCallDeps } from './media-call-actor.ts';

/** acquire_media_hardware waits this long for the session to stream again before answering. */
export const ACQUIRE_STREAM_WAIT_MS = 8_000;

export function hardwareCalls(deps: MediaCallDeps) {
  return {
    release_media_hardware: mediaCall('release_media_hardware', async (_p, { session, sendBack }) => {
      const reply = await deps.daemon().mediaRelease();
      sendBack({ type: 'media.release' });
      return Result.succeed({ status: 'success', released: true, session_state: session.state(), daemon: reply });
    }),
    acquire_media_hardware: mediaCall('acquire_media_hardware', async (_p, { session, sendBack }) => {
      const reply = await deps.daemon().mediaAcquire();
      sendBack({ type: 'media.acquire' });
      // The session actor attaches the link before it reports streaming.
      const streaming = (await session.waitForStreaming(ACQUIRE_STREAM_WAIT_MS)) && deps.live.link !== null;
      return Result.succeed({ status: 'success', released: false, streaming, session_state: session.state(), daemon: reply });
    }),
  };
}
