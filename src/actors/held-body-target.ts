// The body target the daemon holds, as far as the driver's own writes tell it (README "Safety
// envelope"; reachy-daemon-api.md §6 item 2): the daemon's IK turns the body toward the body target
// it holds when a realtime target names only the head, so after the head pulled the body short of
// it a head turn back lets the body swing there. No read reports it. Bookkeeping only: the motion
// executor (motion-executor.ts) reports each write and its fate; the predictions are
// body-follow-check.ts's. Per daemon link; unknown after a write of unknown fate, a recorded move,
// wake_up or goto_sleep, a goto naming the body until it completes, a daemon socket closing, or on
// another link — then the present yaw stands for it.

/** One write that may set the held body target: unknown until it is known to have landed or not. */
export interface HeldBodyChange {
  /** The daemon applied it: the held body target is `value` (radians), unless a later write came since. */
  landed(value: number): void;
  /** The daemon did not apply it (refused, ignored, dropped unsent): what was known before stands. */
  notApplied(): void;
}

/** What the driver knows of the body target the daemon holds on one daemon link. */
export class HeldBodyTarget {
  #link: object | null = null;
  #value: number | null = null;
  /** Counts changes begun: a write's fate only counts while no later one began. */
  #version = 0;

  /** The body target `link`'s daemon holds (radians), or undefined when the driver does not know it. */
  on(link: object): number | undefined {
    return this.#link === link && this.#value !== null ? this.#value : undefined;
  }

  /** A write to `link` that may change it begins: unknown until its fate is reported. */
  begin(link: object): HeldBodyChange {
    const prior = this.#link === link ? this.#value : null;
    this.#link = link;
    this.#value = null;
    const version = ++this.#version;
    return {
      landed: (value) => {
        if (this.#version === version) this.#value = value;
      },
      notApplied: () => {
        if (this.#version === version) this.#value = prior;
      },
    };
  }

  /** Nothing is known any more (a daemon socket closed: the daemon may have restarted, a frame may be lost). */
  forget(link: object): void {
    this.begin(link);
  }
}
