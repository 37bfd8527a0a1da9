// Composes the robot's media side (issue "media"): the media-session machine with its session actor
// provided here (signalling + WebRTC link through the injected `openLink`), the background monitors,
// and the execution of media RPCs the root driver machine forwards after gating them (`rpc.media`
// → `media.result`). Owns the live link (binary data stays here, never in machine context), the
// release/acquire hand-over with the daemon and the sound-file path. Algorithms, encodings and wire
// formats live in src/media; daemon HTTP in src/adapters/daemon-http.ts.
import { Result } from 'effect';
import { createActor, fromCallback, waitFor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { DaemonHttpClient } from '../adapters/daemon-http.ts';
import { failureFromDaemon, HandlerFailed, isDaemonUnavailableTag, MediaUnavailable, messageOf, NoFrameYet, Unsupported, type RpcFailure } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import type { DriverEvent } from '../machines/driver.machine.ts';
import { mediaSessionMachine, mediaStateName, type MediaSessionMachine } from '../machines/media-session.machine.ts';
import { PCM_SAMPLE_RATE_HZ } from '../media/detectors/pcm-ring-buffer.ts';
import { encodeVideoFrame, type FrameEncoding } from '../media/encoding/frame-encoding.ts';
import type { MediaLink, MediaLinkEndReason, OpenMediaLink } from '../media/media-link.ts';
import { decodePcm, encodePcm, rms, type CaptureEncoding, type PushDtype } from '../media/pcm-payload.ts';
import { probeSignalling } from '../adapters/signalling/signalling-client.ts';
import { readSoundFile, resolveSoundFile } from '../adapters/sound-files.ts';
import { cameraIpcSocketExists } from '../adapters/camera-ipc.ts';
import { streamAccessPayload } from '../media/stream-access.ts';
import type { MediaRpcEvent } from '../rpc/media-functions.ts';
import { DEFAULT_MONITOR_SETTINGS, LinkMonitors, type MonitorEvent, type MonitorSettings } from './media-monitors.ts';

const log = createLogger('media');

/** A capture right after (re)connecting waits for the first keyframe: one I-frame period (2 s) plus margin. */
export const FIRST_FRAME_WAIT_MS = 3_000;
/** acquire_media_hardware waits this long for the session to stream again before answering. */
export const ACQUIRE_STREAM_WAIT_MS = 8_000;
/** capture_audio_sample waits for missing audio at most its duration plus this margin (network jitter). */
export const AUDIO_CAPTURE_MARGIN_MS = 1_000;
/** Polling step while waiting for microphone audio (two Opus frames). */
export const AUDIO_POLL_MS = 40;
/**
 * While released, how often the daemon's media status is read: another program (the dashboard, an
 * app using the hardware directly) may acquire the media again without telling the driver.
 */
export const RELEASED_POLL_MS = 2_000;
/** Opus is sent at 48 kHz, mono content (the robot's playback path, reachy-daemon-api.md §9.3). */
export const OUTPUT_SAMPLE_RATE_HZ = 48_000;

export interface MediaRuntimeOptions {
  readonly signallingUrl: string;
  readonly signallingHost: string;
  readonly signallingPort: number;
  readonly openLink: OpenMediaLink;
  /** The daemon client of the current link (it changes when the robot runtime retargets). */
  readonly daemon: () => DaemonHttpClient;
  readonly daemonHost: string;
  readonly daemonApiUrl: string;
  /** `simulated` with --sim, else the daemon host (copied into frames and stream access). */
  readonly target: string;
  readonly soundsDir: string | undefined;
  readonly allowOversizeRaw: boolean;
  readonly monitors: MonitorSettings;
  /** The audio switches as the root machine holds them (it flips them before forwarding start/stop). */
  readonly audioSwitches: () => { readonly audioInput: boolean; readonly audioOutput: boolean };
  readonly toRoot: (event: DriverEvent) => void;
  readonly emitEvent: (name: 'audio_event' | 'motion_event', payload: Record<string, unknown>) => void;
  readonly inspect?: Observer<InspectionEvent>;
}

export interface MediaRuntime {
  readonly session: Actor<MediaSessionMachine>;
  /** Runs one gated media RPC and answers the root with `media.result`. */
  handle(event: MediaRpcEvent): void;
  /** The live link, for tests and the status panel (null while not streaming). */
  readonly link: MediaLink | null;
  stop(): Promise<void>;
}

function endReasonText(reason: MediaLinkEndReason): string {
  return reason.kind === 'closed' ? 'closed' : `${reason.kind}: ${reason.message}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function startMediaRuntime(options: MediaRuntimeOptions): MediaRuntime {
  let link: MediaLink | null = null;
  let monitors: LinkMonitors | null = null;
  let settings: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, ...options.monitors };
  const inspect = options.inspect ? { inspect: options.inspect } : {};

  const onMonitorEvent = (item: MonitorEvent) => {
    const payload = { ...item.event } as Record<string, unknown>;
    options.emitEvent(item.detector === 'audio' ? 'audio_event' : 'motion_event', payload);
    options.toRoot({ type: 'media.detector', detector: item.detector, event: payload });
  };

  const attach = (next: MediaLink) => {
    link = next;
    monitors = new LinkMonitors(next, settings, onMonitorEvent);
  };
  const detach = (gone: MediaLink) => {
    if (link !== gone) return;
    monitors?.close();
    monitors = null;
    link = null;
  };

  const session = createActor(
    mediaSessionMachine.provide({
      actors: {
        mediaSession: fromCallback(({ sendBack }) => {
          const abort = new AbortController();
          let mine: MediaLink | null = null;
          void options
            .openLink({ signallingUrl: options.signallingUrl, signal: abort.signal, onNegotiating: () => !abort.signal.aborted && sendBack({ type: 'media.negotiating' }) })
            .then(async (opened) => {
              if (Result.isFailure(opened)) {
                if (abort.signal.aborted) return;
                const reason = messageOf(opened.failure);
                // No producer: ask the daemon whether its media is released (then wait for acquire).
                if (opened.failure._tag === 'NoProducer' && (await daemonReportsReleased())) {
                  if (!abort.signal.aborted) session.send({ type: 'media.release' });
                  return;
                }
                sendBack({ type: 'media.lost', reason });
                return;
              }
              mine = opened.success;
              if (abort.signal.aborted) {
                await mine.close();
                return;
              }
              attach(mine);
              sendBack({ type: 'media.streaming' });
              const ended = await mine.ended;
              detach(mine);
              if (!abort.signal.aborted) sendBack({ type: 'media.lost', reason: endReasonText(ended) });
            })
            .catch((error: unknown) => {
              if (!abort.signal.aborted) sendBack({ type: 'media.lost', reason: messageOf(error) });
            });
          return () => {
            abort.abort();
            if (mine) {
              detach(mine);
              void mine.close();
            }
          };
        }),
      },
    }),
    { systemId: 'media', ...inspect },
  );
  let releasedPoll: NodeJS.Timeout | undefined;
  let lastLogged: string | null = null;
  const subscription = session.on('media.changed', (e) => {
    options.toRoot({ type: 'media.changed', state: e.state, at: e.at, lastError: e.lastError });
    // One log line per kind of change (a producer that stays away would otherwise log every back-off).
    const summary = `${e.state}|${e.lastError ?? ''}`;
    if ((e.state === 'streaming' || e.state === 'released' || e.state === 'reconnecting') && summary !== lastLogged) {
      lastLogged = summary;
      if (e.state === 'reconnecting') log.warn('media session lost; reconnecting', { reason: e.lastError ?? 'unknown' });
      else log.info(`media session ${e.state}`, { codec: link?.videoCodec ?? null });
    }
    clearInterval(releasedPoll);
    releasedPoll = undefined;
    if (e.state === 'released') {
      releasedPoll = setInterval(() => {
        void options
          .daemon()
          .mediaStatus()
          .then((status) => {
            if (status.released === false && sessionState() === 'released') session.send({ type: 'media.acquire' });
          })
          .catch(() => undefined);
      }, RELEASED_POLL_MS);
    }
  });
  session.start();
  session.send({ type: 'media.start' });

  async function daemonReportsReleased(): Promise<boolean> {
    try {
      return (await options.daemon().mediaStatus()).released === true;
    } catch {
      return false;
    }
  }

  const sessionState = () => mediaStateName(session.getSnapshot().value);

  /** The live link, or the typed reason there is none (the machine gated the call; this covers races). */
  function liveLink(): Result.Result<MediaLink, RpcFailure> {
    if (link) return Result.succeed(link);
    const context = session.getSnapshot().context;
    return Result.fail(new MediaUnavailable({ message: `the media session is ${sessionState()}`, sessionState: sessionState(), lastError: context.lastError }));
  }

  /** Resolves true once the session machine streams (the link is attached before it says so). */
  async function waitForStreaming(timeoutMs: number): Promise<boolean> {
    try {
      await waitFor(session, (snapshot) => mediaStateName(snapshot.value) === 'streaming', { timeout: timeoutMs });
      return link !== null;
    } catch {
      return false;
    }
  }

  function mediaStatus(): Record<string, unknown> {
    const state = sessionState();
    const context = session.getSnapshot().context;
    const root = options.audioSwitches();
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
      signaling_url: options.signallingUrl,
      sessions_started: context.sessions,
      monitors: { audio: settings.audio, motion: settings.motion, audio_threshold: settings.audioThreshold, motion_threshold: settings.motionThreshold },
      ...(link ? { stats: link.stats() } : {}),
      ...(streaming ? {} : { reason: state === 'released' ? 'the daemon media hardware is released' : (context.lastError ?? `the session is ${state}`) }),
    };
  }

  async function run(event: MediaRpcEvent): Promise<Result.Result<unknown, RpcFailure>> {
    const p = event.params as Record<string, unknown>;
    switch (event.function) {
      case 'get_media_status':
        return Result.succeed(mediaStatus());
      case 'get_media_stream_access': {
        const [daemonMedia, probe] = await Promise.all([
          options
            .daemon()
            .mediaStatus()
            .then((status) => ({ ok: true as const, status: status as unknown as Record<string, unknown> }))
            .catch((error: unknown) => ({ ok: false as const, reason: messageOf(error) })),
          (p['probe_signaling'] as boolean) ? probeSignalling(options.signallingUrl) : Promise.resolve(undefined),
        ]);
        return Result.succeed(
          streamAccessPayload({
            target: options.target,
            daemonApiUrl: options.daemonApiUrl,
            daemonHost: options.daemonHost,
            signallingUrl: options.signallingUrl,
            signallingHost: options.signallingHost,
            signallingPort: options.signallingPort,
            daemonMedia,
            cameraIpcExists: cameraIpcSocketExists(),
            ...(probe ? { probe } : {}),
          }),
        );
      }
      case 'release_media_hardware': {
        const reply = await options.daemon().mediaRelease();
        session.send({ type: 'media.release' });
        return Result.succeed({ status: 'success', released: true, session_state: sessionState(), daemon: reply });
      }
      case 'acquire_media_hardware': {
        const reply = await options.daemon().mediaAcquire();
        session.send({ type: 'media.acquire' });
        const streaming = await waitForStreaming(ACQUIRE_STREAM_WAIT_MS);
        return Result.succeed({ status: 'success', released: false, streaming, session_state: sessionState(), daemon: reply });
      }
      case 'push_video_frame':
        return Result.fail(new Unsupported({ message: 'the Reachy Mini has no display: video frames cannot be shown on the robot', function: 'push_video_frame' }));
      case 'start_audio_input':
      case 'stop_audio_input': {
        const started = event.function === 'start_audio_input';
        if (!started) link?.audioIn.clear();
        return Result.succeed({ status: started ? 'started' : 'stopped', audio_input: started, sample_rate: PCM_SAMPLE_RATE_HZ, channels: 1, session_state: sessionState() });
      }
      case 'start_audio_output':
      case 'stop_audio_output': {
        const started = event.function === 'start_audio_output';
        if (!started) link?.clearAudioOut();
        return Result.succeed({ status: started ? 'started' : 'stopped', audio_output: started, sample_rate: OUTPUT_SAMPLE_RATE_HZ, channels: 1, session_state: sessionState() });
      }
      case 'capture_video_frame': {
        const live = liveLink();
        if (Result.isFailure(live)) return live;
        const frame = await live.success.latestFrame({ waitMs: FIRST_FRAME_WAIT_MS });
        if (Result.isFailure(frame)) return Result.fail(linkFailure(frame.failure));
        const picture = frame.success;
        const encoded = await encodeVideoFrame(
          picture,
          {
            encoding: p['encoding'] as FrameEncoding,
            maxEdge: p['max_edge'] as number | undefined,
            quality: p['quality'] as number | undefined,
            allowOversizeRaw: p['allow_oversize_raw'] as boolean,
            capturedAt: picture.receivedAt,
            ageMs: Math.max(0, Date.now() - picture.receivedAt),
            target: options.target,
          },
          { allowOversizeRaw: options.allowOversizeRaw },
        );
        return encoded;
      }
      case 'capture_audio_sample': {
        const live = liveLink();
        if (Result.isFailure(live)) return live;
        const ring = live.success.audioIn;
        const durationMs = p['duration_ms'] as number;
        const wanted = ring.msToSamples(durationMs);
        const deadline = Date.now() + durationMs + AUDIO_CAPTURE_MARGIN_MS;
        while (ring.length < wanted && Date.now() < deadline && link === live.success) await sleep(AUDIO_POLL_MS);
        const samples = ring.readLastSamples(Math.min(wanted, ring.length));
        if (samples.length === 0) return Result.fail(new MediaUnavailable({ message: 'no microphone audio has arrived on the media session', sessionState: sessionState(), lastError: null }));
        const encoding = p['encoding'] as CaptureEncoding;
        const bytes = encodePcm(samples, encoding);
        return Result.succeed({
          status: 'success',
          kind: 'audio_sample',
          encoding,
          dtype: encoding === 'float32' ? 'float32' : 'int16',
          sample_rate: ring.sampleRateHz,
          channels: 1,
          frames: samples.length,
          shape: [samples.length, 1],
          duration_ms: Math.round((samples.length * 1000) / ring.sampleRateHz),
          requested_duration_ms: durationMs,
          rms: rms(samples),
          captured_at: new Date().toISOString(),
          data_b64: bytes.toString('base64'),
        });
      }
      case 'push_audio_sample': {
        const live = liveLink();
        if (Result.isFailure(live)) return live;
        const pcm = decodePcm(p['data_b64'] as string, p['dtype'] as PushDtype, p['channels'] as number);
        if (Result.isFailure(pcm)) return pcm;
        const rate = p['sample_rate'] as number;
        const sent = live.success.sendAudio(pcm.success, rate);
        if (Result.isFailure(sent)) return Result.fail(linkFailure(sent.failure));
        return Result.succeed({
          status: 'accepted',
          sample_rate: rate,
          channels: p['channels'],
          dtype: p['dtype'],
          frames: pcm.success.length,
          duration_ms: Math.round((pcm.success.length * 1000) / rate),
          queued_ms: sent.success.queuedMs,
        });
      }
      case 'play_audio_file': {
        if (!options.soundsDir) {
          return Result.fail(new Unsupported({ message: 'no sounds directory is configured on this driver (--sounds-dir)', function: 'play_audio_file' }));
        }
        const resolved = await resolveSoundFile(options.soundsDir, p['sound_file'] as string);
        if (Result.isFailure(resolved)) return resolved;
        const bytes = await readSoundFile(resolved.success);
        if (Result.isFailure(bytes)) return bytes;
        const uploaded = await options.daemon().uploadSound(resolved.success.name, bytes.success);
        await options.daemon().playSound(uploaded.path);
        return Result.succeed({ status: 'accepted', sound_file: p['sound_file'], name: resolved.success.name, bytes: bytes.success.length, daemon_path: uploaded.path });
      }
      case 'detect_audio_activity': {
        if (!monitors) return liveLink();
        return Result.succeed(monitors.readAudio(p['duration_ms'] as number, p['threshold'] as number));
      }
      case 'detect_motion': {
        if (!monitors) return liveLink();
        const reading = await monitors.readMotion(p['threshold'] as number, p['source'] as string, FIRST_FRAME_WAIT_MS);
        return Result.isFailure(reading) ? Result.fail(linkFailure(reading.failure)) : Result.succeed(reading.success);
      }
      case 'set_monitors': {
        settings = {
          audio: (p['audio'] as boolean | undefined) ?? settings.audio,
          motion: (p['motion'] as boolean | undefined) ?? settings.motion,
          audioThreshold: (p['audio_threshold'] as number | undefined) ?? settings.audioThreshold,
          motionThreshold: (p['motion_threshold'] as number | undefined) ?? settings.motionThreshold,
        };
        monitors?.apply(settings);
        return Result.succeed({ status: 'success', audio: settings.audio, motion: settings.motion, audio_threshold: settings.audioThreshold, motion_threshold: settings.motionThreshold, active: monitors !== null });
      }
    }
  }

  return {
    session,
    get link() {
      return link;
    },
    handle(event) {
      run(event).then(
        (result) =>
          options.toRoot(
            Result.isSuccess(result)
              ? { type: 'media.result', requestId: event.requestId, ok: true, result: result.success }
              : { type: 'media.result', requestId: event.requestId, ok: false, error: result.failure },
          ),
        (error: unknown) => {
          log.warn('media call failed', { function: event.function, error: messageOf(error) });
          options.toRoot({ type: 'media.result', requestId: event.requestId, ok: false, error: asRpcFailure(error) });
        },
      );
    },
    async stop() {
      subscription.unsubscribe();
      clearInterval(releasedPoll);
      const live = link;
      session.send({ type: 'media.stop' });
      session.stop();
      if (live) {
        detach(live);
        await live.close();
      }
    },
  };
}

/** Link failures as RPC failures: NoFrameYet stays itself, the rest means "media unavailable". */
function linkFailure(error: unknown): RpcFailure {
  if (error instanceof NoFrameYet) return error;
  const tag = (error as { _tag?: string })._tag ?? 'HandlerFailed';
  return new MediaUnavailable({ message: `the media link failed: ${messageOf(error)}`, sessionState: tag === 'MediaLinkClosed' ? 'closed' : 'streaming', lastError: messageOf(error) });
}

/** Daemon adapter errors (the driver's daemon mapping) and other throws, as typed failures. */
function asRpcFailure(error: unknown): RpcFailure {
  const tag = (error as { _tag?: string })._tag;
  if (!tag?.startsWith('Daemon')) return new HandlerFailed({ message: messageOf(error) });
  const message = isDaemonUnavailableTag(tag) ? `the daemon did not answer: ${messageOf(error)}` : messageOf(error);
  return failureFromDaemon({ _tag: tag, message }, 'unknown');
}
