// The camera call actors (reference-driver.md §2.3; issue "media"): capture_video_frame takes the
// live link's newest picture (waiting for the first keyframe after a reconnect) and encodes it as
// asked; push_video_frame is refused with Unsupported (the robot has no display). Owns the capture
// wait and the mapping of call parameters to encoder options; encoding and the RPC payload budget
// live in src/media/encoding, the picture comes from the media link adapter.
import * as Result from 'effect/Result';
import { Unsupported } from '../errors.ts';
import { frameTooOld } from '../media/frame-freshness.ts';
import { encodeVideoFrame } from '../media/encoding/frame-encoding.ts';
import { linkFailure, mediaCall, type MediaCallDeps } from './media-call-actor.ts';

/** A capture right after (re)connecting waits for the first keyframe: one I-frame period (2 s) plus margin. */
export const FIRST_FRAME_WAIT_MS = 3_000;

export interface FrameCallDeps extends MediaCallDeps {
  /** `simulated` with --sim, else the daemon host (copied into frames). */
  readonly target: string;
  /** The operator allows raw frames over the RPC budget (development only). */
  readonly allowOversizeRaw: boolean;
}

export function frameCalls(deps: FrameCallDeps) {
  return {
    capture_video_frame: mediaCall('capture_video_frame', async (p, { session }) => {
      const live = deps.live.require(session);
      if (Result.isFailure(live)) return live;
      const frame = await live.success.latestFrame({ waitMs: FIRST_FRAME_WAIT_MS });
      if (Result.isFailure(frame)) return Result.fail(linkFailure(frame.failure));
      const picture = frame.success;
      const stale = frameTooOld(picture.receivedAt, Date.now(), p.max_age_ms);
      if (stale) return Result.fail(stale);
      const request = {
        encoding: p.encoding,
        maxEdge: p.max_edge,
        quality: p.quality,
        allowOversizeRaw: p.allow_oversize_raw,
        capturedAt: picture.receivedAt,
        ageMs: Math.max(0, Date.now() - picture.receivedAt),
        target: deps.target,
      };
      return encodeVideoFrame(picture, request, { allowOversizeRaw: deps.allowOversizeRaw });
    }),
    push_video_frame: mediaCall('push_video_frame', async () =>
      Result.fail(new Unsupported({ message: 'the Reachy Mini has no display: video frames cannot be shown on the robot', function: 'push_video_frame' })),
    ),
  };
}
