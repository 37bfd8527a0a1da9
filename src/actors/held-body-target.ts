// The body target the daemon holds, as far as the driver's own writes tell it (README "Envelope";
// reachy-daemon-api.md §6 item 2): a realtime target naming only the head lets the body swing toward
// it once the head allows. No read reports it. Bookkeeping only: the executor reports each write and
// its fate (and pins the body at the present yaw while nothing is known); body-follow-check.ts
// predicts. Per daemon link; unknown before the first body write, after a recorded move, wake_up,
// goto_sleep, a motor-mode change, a goto naming the body until it completes, or on another link;
// after a daemon socket closed, the one known or the present yaw; after a body target written whose
// fate is unknown, that one or the one known before.

/** One write that may set the held body target: unknown until it is known to have landed or not. */
export interface HeldBodyChange {
  /** The daemon applied it: the held body target is `value` (radians), unless a later write came since. */
  landed(value: number): void;
  /** The daemon did not apply it (refused, ignored, dropped unsent): what was known before stands. */
  notApplied(): void;
}

/**
 * The body targets the daemon may hold (radians): one when known; after a daemon socket closed, the
 * one known before or, if the daemon restarted, what it holds then (`orPresent`: the present yaw
 * stands for it, as when nothing is known).
 */
export interface HeldBodyYaws {
  readonly values: ReadonlyArray<number>;
  readonly orPresent: boolean;
}

/**
 * Body targets reduced to the lowest and the highest: where the daemon pulls the body for a head
 * pose (within 65° of its yaw) grows with the body target, and how far a head step moves the body is
 * largest at the ends of any range of them, so the checks of the two cover every target between.
 */
function span(values: ReadonlyArray<number>): ReadonlyArray<number> {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return Object.freeze(lo === hi ? [lo] : [lo, hi]);
}

const UNKNOWN: HeldBodyYaws = Object.freeze({ values: Object.freeze([]), orPresent: true });

/** What the driver knows of the body target the daemon holds on one daemon link. */
export class HeldBodyTarget {
  #link: object | null = null;
  #held: HeldBodyYaws = UNKNOWN;
  /** Counts changes begun: a write's fate only counts while no later one began. */
  #version = 0;

  /** The body targets `link`'s daemon may hold (nothing known: none, or the present yaw). */
  on(link: object): HeldBodyYaws {
    return this.#link === link ? this.#held : UNKNOWN;
  }

  /**
   * A write to `link` that may change it begins: until its fate is reported, unknown — or, when it
   * writes body target `value`, that one or what was known before it (a write whose answer never
   * comes stays so).
   */
  begin(link: object, value?: number): HeldBodyChange {
    const prior = this.on(link);
    this.#link = link;
    this.#held = value === undefined ? UNKNOWN : Object.freeze({ values: span([...prior.values, value]), orPresent: prior.orPresent });
    const version = ++this.#version;
    return {
      landed: (value) => {
        if (this.#version === version) this.#held = Object.freeze({ values: Object.freeze([value]), orPresent: false });
      },
      notApplied: () => {
        if (this.#version === version) this.#held = prior;
      },
    };
  }

  /**
   * A daemon socket closed: a write under way is of unknown fate, and the daemon may have restarted
   * (then it holds another target) or not (a network break: it still holds the one known).
   */
  forget(link: object): void {
    const prior = this.on(link);
    this.begin(link);
    this.#held = prior.values.length > 0 ? Object.freeze({ values: prior.values, orPresent: true }) : UNKNOWN;
  }
}
