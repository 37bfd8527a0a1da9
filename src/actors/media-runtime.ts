// Composes the robot's media side (issue "media"): `mediaSessionLogic` is the media-session machine
// with its actors provided — the session and released-watcher actors (media-session-actors.ts) and
// one call actor per media RPC (media-*-calls.ts) — over the live-link holder and its monitors;
// `startMediaRuntime` runs it and wires it to the root driver machine: a gated `rpc.media` becomes
// the session's typed `media.call.<function>`; its emitted `media.changed` and `media.result` and
// the monitors' detector events go to the root. Owns that wiring and the stop; no call's behaviour
// and no I/O (adapters are injected or used by the actor modules). Algorithms live in src/media.
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type { DaemonHttpClient } from '../adapters/daemon-http.ts';
import { MediaUnavailable } from '../errors.ts';
import { createLogger } from '../logging/logger.ts';
import type { DriverEvent } from '../machines/driver.machine.ts';
import { mediaCallEvent, mediaSessionMachine, requestIdOfCall, type MediaChanged, type MediaSessionMachine } from '../machines/media-session.machine.ts';
import type { MediaLink, OpenMediaLink } from '../media/media-link.ts';
import type { MediaRpcEvent } from '../rpc/media-functions.ts';
import { audioCalls } from './media-audio-calls.ts';
import type { MediaCallActors } from './media-call-actor.ts';
import { detectorCalls } from './media-detector-calls.ts';
import { frameCalls } from './media-frame-calls.ts';
import { hardwareCalls } from './media-hardware-calls.ts';
import { LiveMediaLink } from './media-live-link.ts';
import { DEFAULT_MONITOR_SETTINGS, type MonitorEvent, type MonitorSettings } from './media-monitors.ts';
import { mediaSessionActor, watchReleasedActor } from './media-session-actors.ts';
import { soundCalls } from './media-sound-calls.ts';
import { statusCalls } from './media-status-calls.ts';

export { AUDIO_CAPTURE_MARGIN_MS, AUDIO_POLL_MS, OUTPUT_SAMPLE_RATE_HZ } from './media-audio-calls.ts';
export { FIRST_FRAME_WAIT_MS } from './media-frame-calls.ts';
export { ACQUIRE_STREAM_WAIT_MS } from './media-hardware-calls.ts';
export { RELEASED_POLL_MS } from './media-session-actors.ts';

const log = createLogger('media');

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
  /** Sends one gated media RPC to the session as its typed call; the root gets `media.result`. */
  handle(event: MediaRpcEvent): void;
  /** The live link, for tests and the status panel (null while not streaming). */
  readonly link: MediaLink | null;
  stop(): Promise<void>;
}

/**
 * The media-session machine with every actor it names, implemented over `live` and the options.
 * Independent of who runs it: call actors read the session through the ref they are spawned with.
 */
export function mediaSessionLogic(options: MediaRuntimeOptions, live: LiveMediaLink) {
  const deps = { ...options, live };
  const calls: MediaCallActors = { ...statusCalls(deps), ...hardwareCalls(deps), ...frameCalls(deps), ...audioCalls(deps), ...soundCalls(deps), ...detectorCalls(deps) };
  return mediaSessionMachine.provide({ actors: { mediaSession: mediaSessionActor(deps), watchReleased: watchReleasedActor(options.daemon), ...calls } });
}

/** One log line per kind of change (a producer that stays away would otherwise log every back-off). */
function changeLogger(live: LiveMediaLink): (e: MediaChanged) => void {
  let lastLogged: string | null = null;
  return (e) => {
    const summary = `${e.state}|${e.lastError ?? ''}`;
    if ((e.state !== 'streaming' && e.state !== 'released' && e.state !== 'reconnecting') || summary === lastLogged) return;
    lastLogged = summary;
    if (e.state === 'reconnecting') log.warn('media session lost; reconnecting', { reason: e.lastError ?? 'unknown' });
    else log.info(`media session ${e.state}`, { codec: live.link?.videoCodec ?? null });
  };
}

export function startMediaRuntime(options: MediaRuntimeOptions): MediaRuntime {
  const onMonitorEvent = (item: MonitorEvent) => {
    const payload = { ...item.event } as Record<string, unknown>;
    options.emitEvent(item.detector === 'audio' ? 'audio_event' : 'motion_event', payload);
    options.toRoot({ type: 'media.detector', detector: item.detector, event: payload });
  };
  const live = new LiveMediaLink({ ...DEFAULT_MONITOR_SETTINGS, ...options.monitors }, onMonitorEvent);
  const session = createActor(mediaSessionLogic(options, live), { systemId: 'media', ...(options.inspect ? { inspect: options.inspect } : {}) });
  const logChange = changeLogger(live);
  const subscriptions = [
    session.on('media.changed', (e) => {
      options.toRoot({ type: 'media.changed', state: e.state, at: e.at, lastError: e.lastError });
      logChange(e);
    }),
    session.on('media.result', (e) => options.toRoot(e)),
  ];
  session.start();
  session.send({ type: 'media.start' });
  let stopped = false;

  return {
    session,
    get link() {
      return live.link;
    },
    handle(event) {
      if (stopped || session.getSnapshot().status !== 'active') return answerStopped(options, event.requestId);
      session.send(mediaCallEvent(event));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const s of subscriptions) s.unsubscribe();
      const pending = Object.keys(session.getSnapshot().children).flatMap((id) => requestIdOfCall(id) ?? []);
      session.send({ type: 'media.stop' });
      session.stop();
      for (const requestId of pending) answerStopped(options, requestId);
      await live.close();
    },
  };
}

/** A call the stopped runtime cannot run (or no longer finish) still gets its one answer. */
function answerStopped(options: MediaRuntimeOptions, requestId: string): void {
  const error = new MediaUnavailable({ message: 'the media runtime stopped (driver shutting down or media reconfigured)', sessionState: 'closed', lastError: null });
  options.toRoot({ type: 'media.result', requestId, ok: false, error });
}
