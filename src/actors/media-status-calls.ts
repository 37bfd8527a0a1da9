// The call actors that describe the media side (reference-driver.md §2.3; issue "media"):
// get_media_status (the session machine's state, the live link's codec and stats, the audio
// switches the root holds, the monitor settings) and get_media_stream_access (how to reach the
// robot's audio/video directly: the daemon's media status and, on request, a real signalling
// probe). Owns the reply shapes only; the payload rules live in src/media/stream-access.ts, the
// I/O in the daemon HTTP adapter, the signalling client and the camera-IPC adapter.
import * as Result from 'effect/Result';
import { cameraIpcSocketExists } from '../adapters/camera-ipc.ts';
import { messageOf } from '../errors.ts';
import { PCM_SAMPLE_RATE_HZ } from '../media/detectors/pcm-ring-buffer.ts';
import { probeSignalling } from '../adapters/signalling/signalling-client.ts';
import { streamAccessPayload } from '../media/stream-access.ts';
import { OUTPUT_SAMPLE_RATE_HZ } from './media-audio-calls.ts';
import { mediaCall, type MediaCallDeps } from './media-call-actor.ts';
import type { MediaSessionView } from './media-live-link.ts';

export interface StatusCallDeps extends MediaCallDeps {
  readonly signallingUrl: string;
  readonly signallingHost: string;
  readonly signallingPort: number;
  readonly daemonHost: string;
  readonly daemonApiUrl: string;
  /** `simulated` with --sim, else the daemon host. */
  readonly target: string;
  /** The audio switches as the root machine holds them (it flips them before forwarding start/stop). */
  readonly audioSwitches: () => { readonly audioInput: boolean; readonly audioOutput: boolean };
}

/** Why there is no stream: released, the last failure, or the state (idle: not started yet, at start-up until the mesh serves). */
function notStreamingReason(state: string, lastError: string | null): string {
  if (state === 'released') return 'the daemon media hardware is released';
  if (lastError) return lastError;
  return state === 'idle' ? 'the media session has not started yet (at start-up it starts once the mesh is up)' : `the session is ${state}`;
}

function mediaStatus(deps: StatusCallDeps, session: MediaSessionView): Record<string, unknown> {
  const state = session.state();
  const context = session.context();
  const root = deps.audioSwitches();
  const { link, settings } = deps.live;
  const streaming = state === 'streaming' && link !== null;
  return {
    status: streaming ? 'available' : state === 'released' ? 'released' : 'unavailable',
    session_state: state,
    since: new Date(context.since).toISOString(),
    video_input: streaming,
    audio_input: streaming && root.audioInput,
    audio_output: streaming && root.audioOutput,
    audio_input_started: root.audioInput,
    audio_output_started: root.audioOutput,
    video_codec: link?.videoCodec ?? null,
    input_audio_samplerate: PCM_SAMPLE_RATE_HZ,
    input_channels: 1,
    output_audio_samplerate: OUTPUT_SAMPLE_RATE_HZ,
    output_channels: 1,
    signaling_url: deps.signallingUrl,
    sessions_started: context.sessions,
    monitors: { audio: settings.audio, motion: settings.motion, audio_threshold: settings.audioThreshold, motion_threshold: settings.motionThreshold },
    ...(link ? { stats: link.stats() } : {}),
    ...(streaming ? {} : { reason: notStreamingReason(state, context.lastError) }),
  };
}

async function streamAccess(deps: StatusCallDeps, probeSignaling: boolean): Promise<Record<string, unknown>> {
  const [daemonMedia, probe] = await Promise.all([
    deps
      .daemon()
      .mediaStatus()
      .then((status) => ({ ok: true as const, status: status as unknown as Record<string, unknown> }))
      .catch((error: unknown) => ({ ok: false as const, reason: messageOf(error) })),
    probeSignaling ? probeSignalling(deps.signallingUrl) : Promise.resolve(undefined),
  ]);
  return streamAccessPayload({
    target: deps.target,
    daemonApiUrl: deps.daemonApiUrl,
    daemonHost: deps.daemonHost,
    signallingUrl: deps.signallingUrl,
    signallingHost: deps.signallingHost,
    signallingPort: deps.signallingPort,
    daemonMedia,
    cameraIpcExists: cameraIpcSocketExists(),
    ...(probe ? { probe } : {}),
  });
}

export function statusCalls(deps: StatusCallDeps) {
  return {
    get_media_status: mediaCall('get_media_status', async (_p, { session }) => Result.succeed(mediaStatus(deps, session))),
    get_media_stream_access: mediaCall('get_media_stream_access', async (p) => Result.succeed(await streamAccess(deps, p.probe_signaling))),
  };
}
