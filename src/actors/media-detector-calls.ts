// The detector call actors (reference-driver.md §2.4; issue "media": detectors): detect_audio_activity
// and detect_motion read the live link's monitors on demand (detect_motion answers FrameTooOld
// while the camera is frozen); set_monitors changes which background monitors run and their
// thresholds (kept for the next link too). Owns the settings merge and the reply of set_monitors;
// the detectors and their timers live in media-monitors.ts.
import * as Result from 'effect/Result';
import { FrameTooOld } from '../errors.ts';
import { linkFailure, mediaCall, type MediaCallDeps } from './media-call-actor.ts';
import { FIRST_FRAME_WAIT_MS } from './media-frame-calls.ts';

export function detectorCalls(deps: MediaCallDeps) {
  const { live } = deps;
  return {
    detect_audio_activity: mediaCall('detect_audio_activity', async (p, { session }) => {
      if (!live.monitors) return live.require(session);
      return Result.succeed(live.monitors.readAudio(p.duration_ms, p.threshold));
    }),
    detect_motion: mediaCall('detect_motion', async (p, { session }) => {
      if (!live.monitors) return live.require(session);
      const reading = await live.monitors.readMotion(p.threshold, p.source, FIRST_FRAME_WAIT_MS);
      if (Result.isSuccess(reading)) return Result.succeed(reading.success);
      return Result.fail(reading.failure instanceof FrameTooOld ? reading.failure : linkFailure(reading.failure));
    }),
    set_monitors: mediaCall('set_monitors', async (p) => {
      const was = live.settings;
      const settings = {
        audio: p.audio ?? was.audio,
        motion: p.motion ?? was.motion,
        audioThreshold: p.audio_threshold ?? was.audioThreshold,
        motionThreshold: p.motion_threshold ?? was.motionThreshold,
      };
      live.applySettings(settings);
      const { audio, motion, audioThreshold, motionThreshold } = settings;
      return Result.succeed({ status: 'success', audio, motion, audio_threshold: audioThreshold, motion_threshold: motionThreshold, active: live.monitors !== null });
    }),
  };
}
