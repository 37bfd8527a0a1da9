// The media runtime's one piece of shared mutable state (issue "media"): the live media link the
// session actor attached (binary data stays here, never in machine context), its background
// monitors and their settings, and the link set-ups and teardowns still under way. The session
// actor attaches, detaches and retires links and hands over its set-ups; `close()` (the runtime
// stopping) waits for all of them. Call actors read the link, the monitors and the settings. Owns
// neither the session's state (the media-session machine does) nor any I/O: links are opened by
// the session actor through the injected adapter.
import * as Result from 'effect/Result';
import { waitFor } from 'xstate';
import { MediaUnavailable } from '../errors.ts';
import { mediaStateName, type MediaContext, type MediaSessionRef, type MediaStateName } from '../machines/media-session.machine.ts';
import type { MediaLink } from '../media/media-link.ts';
import { LinkMonitors, type MonitorEvent, type MonitorSettings } from './media-monitors.ts';

/** What call actors read of the session machine (its snapshot stays the single truth). */
export interface MediaSessionView {
  readonly state: () => MediaStateName;
  readonly context: () => MediaContext;
  /** Resolves true once the machine streams, false after `timeoutMs`. */
  readonly waitForStreaming: (timeoutMs: number) => Promise<boolean>;
}

export function sessionView(ref: MediaSessionRef): MediaSessionView {
  return {
    state: () => mediaStateName(ref.getSnapshot().value),
    context: () => ref.getSnapshot().context,
    waitForStreaming: (timeoutMs) =>
      waitFor(ref, (s) => mediaStateName(s.value) === 'streaming', { timeout: timeoutMs }).then(
        () => true,
        () => false,
      ),
  };
}

export class LiveMediaLink {
  #link: MediaLink | null = null;
  #monitors: LinkMonitors | null = null;
  #settings: MonitorSettings;
  readonly #onMonitorEvent: (event: MonitorEvent) => void;
  /** Set-ups and teardowns under way (settled, never rejecting, copies): `close()` waits for them. */
  readonly #underWay = new Set<Promise<void>>();

  constructor(settings: MonitorSettings, onMonitorEvent: (event: MonitorEvent) => void) {
    this.#settings = settings;
    this.#onMonitorEvent = onMonitorEvent;
  }

  /** The streaming link (null while not streaming). */
  get link(): MediaLink | null {
    return this.#link;
  }

  /** The monitors of the streaming link (null while not streaming). */
  get monitors(): LinkMonitors | null {
    return this.#monitors;
  }

  get settings(): MonitorSettings {
    return this.#settings;
  }

  attach(link: MediaLink): void {
    this.#link = link;
    this.#monitors = new LinkMonitors(link, this.#settings, this.#onMonitorEvent);
  }

  /** Forgets `gone` (and closes its monitors) if it is still the live link. */
  detach(gone: MediaLink): void {
    if (this.#link !== gone) return;
    this.#monitors?.close();
    this.#monitors = null;
    this.#link = null;
  }

  /** New monitor settings, applied at once to the live link's monitors and kept for the next link. */
  applySettings(settings: MonitorSettings): void {
    this.#settings = settings;
    this.#monitors?.apply(settings);
  }

  /** The live link, or the typed reason there is none (the root gated the call; this covers races). */
  require(session: MediaSessionView): Result.Result<MediaLink, MediaUnavailable> {
    if (this.#link) return Result.succeed(this.#link);
    const state = session.state();
    return Result.fail(new MediaUnavailable({ message: `the media session is ${state}`, sessionState: state, lastError: session.context().lastError }));
  }

  /** Keeps `work` (a link set-up, a link's teardown) until it settles: `close()` waits for it. Answers `work`. */
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#underWay.add(settled);
    void settled.then(() => this.#underWay.delete(settled));
    return work;
  }

  /** Detaches `link` (if it is the live one) and closes it; `close()` waits for that teardown. */
  retire(link: MediaLink): Promise<void> {
    this.detach(link);
    return this.track(link.close());
  }

  /**
   * The runtime is stopping: retires the live link, if any, and resolves once every teardown and
   * set-up under way has finished (a process that exits after this leaves no half-closed session).
   */
  async close(): Promise<void> {
    if (this.#link) void this.retire(this.#link);
    while (this.#underWay.size > 0) await Promise.all(this.#underWay);
  }
}
