// Simulated time of the emulator and the registry of every timer it arms. Motion time (move
// durations, the waits inside wake_up/goto_sleep, reachy-daemon-api.md §7) runs `1/timeScale`
// times faster than the wall clock so tests can play a 4 s goto_sleep in 200 ms; transport
// rates (the 50 Hz /ws/sdk push, `/api/state/ws/full?frequency=`) stay in wall time. Owns no
// robot state. `cancelAll()` clears every pending timer, so a closed emulator leaves no handle.

export interface SimClockOptions {
  /** Wall seconds per simulated second (1 = real time, 0.05 = twenty times faster). */
  readonly timeScale: number;
  /** Monotonic wall time in ms; tests may inject a manual source to sample moves exactly. */
  readonly wallNowMs?: () => number;
}

/** Rejection reason of sleeps cut short by `cancelAll()` (emulator stopped or closed). */
export class ClockStopped extends Error {
  constructor() {
    super('emulator clock stopped');
    this.name = 'ClockStopped';
  }
}

interface PendingTimer {
  readonly handle: NodeJS.Timeout;
  readonly onCancel: () => void;
}

export class SimClock {
  readonly timeScale: number;
  readonly #wallNowMs: () => number;
  readonly #originMs: number;
  readonly #timers = new Set<PendingTimer>();
  readonly #intervals = new Set<NodeJS.Timeout>();

  constructor(options: SimClockOptions) {
    if (!(options.timeScale > 0) || !Number.isFinite(options.timeScale)) {
      throw new RangeError(`timeScale must be a finite number > 0, got ${String(options.timeScale)}`);
    }
    this.timeScale = options.timeScale;
    this.#wallNowMs = options.wallNowMs ?? (() => performance.now());
    this.#originMs = this.#wallNowMs();
  }

  /** Simulated seconds since the clock was created. */
  now(): number {
    return (this.#wallNowMs() - this.#originMs) / 1000 / this.timeScale;
  }

  /** The wall clock in ms (`performance.now()` unless injected): the time base of the motion record. */
  wallNowMs(): number {
    return this.#wallNowMs();
  }

  /** Wall milliseconds that `simSeconds` of motion take. */
  wallMs(simSeconds: number): number {
    return Math.max(0, simSeconds) * this.timeScale * 1000;
  }

  /** Runs `fn` after `simSeconds` of simulated time; returns a cancel function. */
  after(simSeconds: number, fn: () => void): () => void {
    return this.afterWall(this.wallMs(simSeconds), fn);
  }

  /** Runs `fn` after `wallMs` of wall time (transport pacing); returns a cancel function. */
  afterWall(wallMs: number, fn: () => void): () => void {
    const entry: PendingTimer = {
      handle: setTimeout(() => {
        this.#timers.delete(entry);
        fn();
      }, wallMs),
      onCancel: () => undefined,
    };
    this.#timers.add(entry);
    return () => {
      clearTimeout(entry.handle);
      this.#timers.delete(entry);
    };
  }

  /** Waits `simSeconds`; rejects with the signal's reason on abort, ClockStopped on cancelAll. */
  sleep(simSeconds: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(entry.handle);
        this.#timers.delete(entry);
        reject(signal?.reason);
      };
      const entry: PendingTimer = {
        handle: setTimeout(() => {
          this.#timers.delete(entry);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, this.wallMs(simSeconds)),
        onCancel: () => {
          signal?.removeEventListener('abort', onAbort);
          reject(new ClockStopped());
        },
      };
      this.#timers.add(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs `fn` every `wallMs` of wall time (transport rates); returns a cancel function. */
  every(wallMs: number, fn: () => void): () => void {
    const handle = setInterval(fn, wallMs);
    this.#intervals.add(handle);
    return () => {
      clearInterval(handle);
      this.#intervals.delete(handle);
    };
  }

  /** Clears every timer and interval; pending sleeps reject with ClockStopped. */
  cancelAll(): void {
    for (const entry of [...this.#timers]) {
      clearTimeout(entry.handle);
      this.#timers.delete(entry);
      entry.onCancel();
    }
    for (const handle of this.#intervals) clearInterval(handle);
    this.#intervals.clear();
  }

  /** Number of armed timers and intervals (tests assert 0 after close). */
  get pendingCount(): number {
    return this.#timers.size + this.#intervals.size;
  }
}
