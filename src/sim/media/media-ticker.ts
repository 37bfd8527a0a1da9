// A drift-free periodic timer for the media producers: tick n is due at start + n·period, and a
// late wake-up reports how many ticks it skipped instead of firing them all, so video drops frames
// rather than queueing them when the event loop is behind (the robot's encoder does the same) and
// audio can decide how much to catch up. Owns the timer only; what a tick does is the caller's.

export interface TickInfo {
  /** Index of this tick since start() (skipped ticks count). */
  readonly index: number;
  /** Ticks that fell due since the previous one and were not run. */
  readonly skipped: number;
  /** Media time of this tick: index × period, in ms since start(). */
  readonly mediaTimeMs: number;
}

export class MediaTicker {
  readonly periodMs: number;
  readonly #onTick: (tick: TickInfo) => void;
  readonly #nowMs: () => number;
  #timer: NodeJS.Timeout | null = null;
  #startMs = 0;
  #last = -1;

  constructor(periodMs: number, onTick: (tick: TickInfo) => void, nowMs: () => number = () => performance.now()) {
    if (!(periodMs > 0) || !Number.isFinite(periodMs)) throw new RangeError(`tick period must be a positive number of ms, got ${periodMs}`);
    this.periodMs = periodMs;
    this.#onTick = onTick;
    this.#nowMs = nowMs;
  }

  get running(): boolean {
    return this.#timer !== null;
  }

  /** Starts ticking now (tick 0 runs at once); no-op when running. */
  start(): void {
    if (this.#timer) return;
    this.#startMs = this.#nowMs();
    this.#last = -1;
    this.#timer = setTimeout(() => this.#fire(), 0);
  }

  /** Stops; a tick in progress finishes, no further tick runs. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #fire(): void {
    if (!this.#timer) return;
    const now = this.#nowMs();
    const index = Math.max(this.#last + 1, Math.floor((now - this.#startMs) / this.periodMs));
    const skipped = index - this.#last - 1;
    this.#last = index;
    try {
      this.#onTick({ index, skipped, mediaTimeMs: index * this.periodMs });
    } finally {
      if (this.#timer) {
        const next = this.#startMs + (index + 1) * this.periodMs;
        this.#timer = setTimeout(() => this.#fire(), Math.max(0, next - this.#nowMs()));
      }
    }
  }
}
