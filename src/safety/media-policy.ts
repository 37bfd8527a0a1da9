// The camera and microphone policy (issue 13 part 3): `allow` (every capture function runs as
// before), `supervisor` (capture and audio-input functions are refused until `set_media_enabled`
// on the supervisor subject enables them, and again after it disables them) or `deny` (always
// refused). The decision and its typed refusal (MediaDenied / MediaNotEnabled) come from
// `mediaPolicyRefusal`; the state lives in the root machine's context like the safety policy.
// Pure. Threat model "Information disclosure": it gates what this driver serves, not the daemon.
import { MediaDenied, MediaNotEnabled } from '../errors.ts';

export const MEDIA_POLICY_MODES = ['allow', 'supervisor', 'deny'] as const;
export type MediaPolicyMode = (typeof MEDIA_POLICY_MODES)[number];

export function isMediaPolicyMode(value: string): value is MediaPolicyMode {
  return (MEDIA_POLICY_MODES as ReadonlyArray<string>).includes(value);
}

/**
 * Functions that see or hear: a camera picture, the microphone's samples, detectors that read them,
 * background monitors, and the WebRTC stream access (which hands out the camera and microphone).
 */
export const MEDIA_CAPTURE_FUNCTIONS: ReadonlySet<string> = new Set([
  'capture_video_frame',
  'capture_audio_sample',
  'start_audio_input',
  'detect_audio_activity',
  'detect_motion',
  'set_monitors',
  'get_media_stream_access',
]);

/** The policy in force and, under `supervisor`, whether media is enabled now (and who last said so). */
export interface MediaPolicyState {
  readonly mode: MediaPolicyMode;
  readonly enabled: boolean;
  readonly changedBy: string | null;
  readonly changedAt: number | null;
  readonly reason: string | null;
}

export function initialMediaPolicy(mode: MediaPolicyMode = 'allow'): MediaPolicyState {
  return { mode, enabled: mode === 'allow', changedBy: null, changedAt: null, reason: null };
}

/** THE media decision: null when `fn` may run under the policy, else the refusal saying why. */
export function mediaPolicyRefusal(state: MediaPolicyState, fn: string): MediaDenied | MediaNotEnabled | null {
  if (!MEDIA_CAPTURE_FUNCTIONS.has(fn) || state.mode === 'allow') return null;
  if (state.mode === 'deny') return new MediaDenied({ message: `${fn}: camera and microphone are denied on this driver (--media-policy deny)`, function: fn, media_policy: 'deny' });
  if (state.enabled) return null;
  const why = state.changedBy ? `disabled by ${state.changedBy}${state.reason ? ` (${state.reason})` : ''}` : 'not enabled yet';
  return new MediaNotEnabled({ message: `${fn}: camera and microphone are ${why}; the supervisor enables them with set_media_enabled (--media-policy supervisor)`, function: fn, media_policy: 'supervisor' });
}

/** `driver_state.media_policy` of get_status. */
export function mediaPolicyStatus(state: MediaPolicyState): Record<string, unknown> {
  return {
    policy: state.mode,
    state: mediaPolicyRefusal(state, 'capture_video_frame') === null ? 'enabled' : state.mode === 'deny' ? 'denied' : 'disabled',
    changed_by: state.changedBy,
    changed_at: state.changedAt === null ? null : new Date(state.changedAt).toISOString(),
    reason: state.reason,
  };
}
