// Composes the robot's media side: `mediaSessionLogic` is the media-session machine with its actors
// provided (session and released-watcher actors from media-session-actors.ts, one call actor per
// media RPC from media-*-calls.ts) over the live-link holder and its monitors; the root spawns it as
// its `media` child (respawned on `media.restart`). `prepareMediaRuntime` gives that logic over an
// options holder and, attached to the child, forwards its results and detector events to the root,
// logs changes and answers the calls a stop or restart cuts off; `startMediaRuntime` runs it alone.
// No call's behaviour and no I/O here (adapters are injected or used by the actor modules).
import { createActor, type ActorRefFrom, type Subscription } from 'xstate';
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
}

export type MediaSessionRef = ActorRefFrom<MediaSessionMachine>;

export interface MediaRuntime {
  /** The session actor in force (the root's `media` child, or the standalone actor). */
  readonly session: MediaSessionRef;
  /** Sends one gated media RPC to the session as its typed call; the root gets `media.result`. */
  handle(event: MediaRpcEvent): void;
  /** The live link, for tests and the status panel (null while not streaming). */
  readonly link: MediaLink | null;
  /** Stops the session; resolves once the link's teardown (endSession, PeerConnection, decoders) and any set-up it aborted have finished. */
  stop(): Promise<void>;
}

/** The runtime over the root's `media` child. */
export interface AttachedMedia extends MediaRuntime {
  /**
   * Restarts the session with the options now in the holder: `respawn` (the root's `media.restart`)
   * replaces the child; calls the old one was running are answered MediaUnavailable, once.
   */
  restart(respawn: () => void): void;
}

/** The media side before the root exists: the logic the root spawns, then the runtime over its child. */
export interface PreparedMedia {
  readonly logic: MediaSessionMachine;
  /**
   * Wires the session `session()` reads (at each use) to the root through `toRoot`, and starts it
   * once `startWhen` settles (at once by default); until then it stays `idle`, answering calls.
   */
  attach(session: () => MediaSessionRef, startWhen?: Promise<unknown>): AttachedMedia;
}

/**
 * The media-session machine with every actor it names, implemented over `live` and the options.
 * Independent of who runs it: call actors read the session through the ref they are spawned with.
 * `options` may be a view whose fields follow a holder (`optionsView`): they are read at each use.
 */
export function mediaSessionLogic(options: MediaRuntimeOptions, live: LiveMediaLink): MediaSessionMachine {
  const deps = Object.create(options, { live: { value: live } }) as MediaRuntimeOptions & { live: LiveMediaLink };
  const calls: MediaCallActors = { ...statusCalls(deps), ...hardwareCalls(deps), ...frameCalls(deps), ...audioCalls(deps), ...soundCalls(deps), ...detectorCalls(deps) };
  return mediaSessionMachine.provide({ actors: { mediaSession: mediaSessionActor(deps), watchReleased: watchReleasedActor(() => deps.daemon()), ...calls } });
}

/** An options object whose every field is read from `current()` when it is used. */
function optionsView(current: () => MediaRuntimeOptions): MediaRuntimeOptions {
  return new Proxy({} as MediaRuntimeOptions, { get: (_target, key) => current()[key as keyof MediaRuntimeOptions] });
}

/**
 * One log line per kind of change (a producer that stays away would otherwise log every back-off).
 * The kind is the failure's stable cause, never its text: that names a fresh session id each attempt.
 */
function changeLogger(live: LiveMediaLink): (e: MediaChanged) => void {
  let lastLogged: string | null = null;
  return (e) => {
    const summary = `${e.state}|${e.lastCause ?? ''}`;
    if ((e.state !== 'streaming' && e.state !== 'released' && e.state !== 'reconnecting') || summary === lastLogged) return;
    lastLogged = summary;
    if (e.state === 'reconnecting') log.warn('media session lost; reconnecting', { reason: e.lastError ?? 'unknown' });
    else log.info(`media session ${e.state}`, { codec: live.link?.videoCodec ?? null });
  };
}

/** The media side over an options holder the driver updates before it restarts the session. */
export function prepareMediaRuntime(options: () => MediaRuntimeOptions): PreparedMedia {
  const view = optionsView(options);
  const onMonitorEvent = (item: MonitorEvent) => {
    const payload = { ...item.event } as Record<string, unknown>;
    view.emitEvent(item.detector === 'audio' ? 'audio_event' : 'motion_event', payload);
    view.toRoot({ type: 'media.detector', detector: item.detector, event: payload });
  };
  const live = new LiveMediaLink({ ...DEFAULT_MONITOR_SETTINGS, ...view.monitors }, onMonitorEvent);
  return { logic: mediaSessionLogic(view, live), attach: (session, startWhen) => attachSession(view, live, session, startWhen) };
}

/** The running side of `prepareMediaRuntime`: forwards the session's answers, answers what it cuts off. */
function attachSession(options: MediaRuntimeOptions, live: LiveMediaLink, session: () => MediaSessionRef, startWhen?: Promise<unknown>): AttachedMedia {
  const logChange = changeLogger(live);
  let subscriptions: Subscription[] = [];
  let stopped = false;
  /** Listens to the session in force and, with `start`, starts it. */
  const follow = (start = true) => {
    const current = session();
    subscriptions = [current.on('media.changed', logChange), current.on('media.result', (e) => options.toRoot(e))];
    if (start) current.send({ type: 'media.start' });
  };
  /** Stops listening to the session in force; the requests of its running calls. */
  const leave = (): string[] => {
    for (const s of subscriptions) s.unsubscribe();
    subscriptions = [];
    return Object.keys(session().getSnapshot().children).flatMap((id) => requestIdOfCall(id) ?? []);
  };
  follow(startWhen === undefined);
  // The first start, unless a stop came first (a restart meanwhile already started its session: idle only here).
  const startFirst = () => {
    if (!stopped && session().getSnapshot().value === 'idle') session().send({ type: 'media.start' });
  };
  if (startWhen) void startWhen.then(startFirst, startFirst);
  return {
    get session() {
      return session();
    },
    get link() {
      return live.link;
    },
    handle(event) {
      if (stopped || session().getSnapshot().status !== 'active') return answerStopped(options, event.requestId);
      session().send(mediaCallEvent(event));
    },
    restart(respawn) {
      if (stopped) return;
      const pending = leave();
      respawn();
      for (const requestId of pending) answerStopped(options, requestId);
      live.applySettings({ ...DEFAULT_MONITOR_SETTINGS, ...options.monitors });
      follow();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const pending = leave();
      session().send({ type: 'media.stop' });
      for (const requestId of pending) answerStopped(options, requestId);
      await live.close();
    },
  };
}

/** The media side on its own (no root driver machine): the session runs as its own actor. */
export function startMediaRuntime(options: MediaRuntimeOptions): MediaRuntime {
  const prepared = prepareMediaRuntime(() => options);
  const actor = createActor(prepared.logic, { systemId: 'media' });
  actor.start();
  const runtime = prepared.attach(() => actor);
  return {
    get session() {
      return runtime.session;
    },
    get link() {
      return runtime.link;
    },
    handle: (event) => runtime.handle(event),
    async stop() {
      await runtime.stop();
      actor.stop();
    },
  };
}

/** A call the stopped runtime cannot run (or no longer finish) still gets its one answer. */
function answerStopped(options: MediaRuntimeOptions, requestId: string): void {
  const error = new MediaUnavailable({ message: 'the media runtime stopped (driver shutting down or media reconfigured)', sessionState: 'closed', lastError: null });
  options.toRoot({ type: 'media.result', requestId, ok: false, error });
}
