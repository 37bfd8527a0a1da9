// The microphone and speaker call actors (reference-driver.md §2.3; issue "media"): start/stop of
// audio input and output (the root machine holds the switches and flips them before forwarding;
// stopping drops the buffered or queued audio here, starting input begins with an empty ring),
// capture_audio_sample (the last duration_ms of the microphone ring, waiting for missing audio) and
// push_audio_sample (PCM to the speaker stream).
// Owns the capture wait and the reply shapes; PCM codecs live in src/media/pcm-payload.ts, Opus and
// pacing in the media link adapter.
import * as Result from 'effect/Result';
import { MediaUnavailable } from '../errors.ts';
import { PCM_SAMPLE_RATE_HZ } from '../media/detectors/pcm-ring-buffer.ts';
import type { MediaLink } from '../media/media-link.ts';
import { decodePcm, encodePcm, rms, type CaptureEncoding } from '../media/pcm-payload.ts';
import { linkFailure, mediaCall, type MediaCallDeps, type MediaCallScope } from './media-call-actor.ts';

/** capture_audio_sample waits for missing audio at most its duration plus this margin (network jitter). */
export const AUDIO_CAPTURE_MARGIN_MS = 1_000;
/** Polling step while waiting for microphone audio (two Opus frames). */
export const AUDIO_POLL_MS = 40;
/** Opus is sent at 48 kHz, mono content (the robot's playback path, reachy-daemon-api.md §9.3). */
export const OUTPUT_SAMPLE_RATE_HZ = 48_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The last `durationMs` of microphone audio, waiting (while `link` stays live) for what is missing. */
async function recentAudio(deps: MediaCallDeps, link: MediaLink, durationMs: number, signal: AbortSignal): Promise<Float32Array> {
  const ring = link.audioIn;
  const wanted = ring.msToSamples(durationMs);
  const deadline = Date.now() + durationMs + AUDIO_CAPTURE_MARGIN_MS;
  while (ring.length < wanted && Date.now() < deadline && deps.live.link === link && !signal.aborted) await sleep(AUDIO_POLL_MS);
  return ring.readLastSamples(Math.min(wanted, ring.length));
}

function audioSample(samples: Float32Array, sampleRateHz: number, encoding: CaptureEncoding, requestedMs: number): Record<string, unknown> {
  return {
    status: 'success',
    kind: 'audio_sample',
    encoding,
    dtype: encoding === 'float32' ? 'float32' : 'int16',
    sample_rate: sampleRateHz,
    channels: 1,
    frames: samples.length,
    shape: [samples.length, 1],
    duration_ms: Math.round((samples.length * 1000) / sampleRateHz),
    requested_duration_ms: requestedMs,
    rms: rms(samples),
    captured_at: new Date().toISOString(),
    data_b64: encodePcm(samples, encoding).toString('base64'),
  };
}

function switchCalls(deps: MediaCallDeps) {
  const input = (started: boolean) => async (_p: unknown, { session }: MediaCallScope) => {
    // Stopping drops what was heard; starting too, so nothing heard while input was stopped is served.
    deps.live.link?.audioIn.clear();
    return Result.succeed({ status: started ? 'started' : 'stopped', audio_input: started, sample_rate: PCM_SAMPLE_RATE_HZ, channels: 1, session_state: session.state() });
  };
  const output = (started: boolean) => async (_p: unknown, { session }: MediaCallScope) => {
    if (!started) deps.live.link?.clearAudioOut();
    return Result.succeed({ status: started ? 'started' : 'stopped', audio_output: started, sample_rate: OUTPUT_SAMPLE_RATE_HZ, channels: 1, session_state: session.state() });
  };
  return {
    start_audio_input: mediaCall('start_audio_input', input(true)),
    stop_audio_input: mediaCall('stop_audio_input', input(false)),
    start_audio_output: mediaCall('start_audio_output', output(true)),
    stop_audio_output: mediaCall('stop_audio_output', output(false)),
  };
}

export function audioCalls(deps: MediaCallDeps) {
  return {
    ...switchCalls(deps),
    capture_audio_sample: mediaCall('capture_audio_sample', async (p, { session, signal }) => {
      const live = deps.live.require(session);
      if (Result.isFailure(live)) return live;
      const samples = await recentAudio(deps, live.success, p.duration_ms, signal);
      if (samples.length === 0) return Result.fail(new MediaUnavailable({ message: 'no microphone audio has arrived on the media session', sessionState: session.state(), lastError: null }));
      return Result.succeed(audioSample(samples, live.success.audioIn.sampleRateHz, p.encoding, p.duration_ms));
    }),
    push_audio_sample: mediaCall('push_audio_sample', async (p, { session }) => {
      const live = deps.live.require(session);
      if (Result.isFailure(live)) return live;
      const pcm = decodePcm(p.data_b64, p.dtype, p.channels);
      if (Result.isFailure(pcm)) return pcm;
      const sent = live.success.sendAudio(pcm.success, p.sample_rate);
      if (Result.isFailure(sent)) return Result.fail(linkFailure(sent.failure));
      const frames = pcm.success.length;
      const durationMs = Math.round((frames * 1000) / p.sample_rate);
      return Result.succeed({ status: 'accepted', sample_rate: p.sample_rate, channels: p.channels, dtype: p.dtype, frames, duration_ms: durationMs, queued_ms: sent.success.queuedMs });
    }),
  };
}
