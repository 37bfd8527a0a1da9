// Puts RTP packets back in sequence order within a small window and turns what is missing into
// explicit gaps (RFC 3550 §6.4.1 loss, Appendix A.1 misorder/dropout rules). Owns only ordering:
// packets come out strictly consecutive, separated by `gap` or `resync` outputs; late and
// duplicate packets are dropped (the first packet seen fixes the start). It knows nothing about
// payloads or frames and keeps no clock of its own: waits use the caller's arrival times.

import { sequenceAdd, sequenceDiff } from './sequence-number.ts';

/**
 * Packets held while an earlier one is missing. Wi-Fi reordering moves packets by a few
 * positions; 32 covers that while bounding memory and how long a real loss stays undeclared in
 * the middle of a keyframe burst (a 720p IDR is ~100 packets).
 */
export const REORDER_WINDOW_PACKETS = 32;
/**
 * Longest a missing packet is waited for, measured on later arrivals. 50 ms is one and a half
 * frame intervals at 30 fps: a packet later than that would only hold back a live picture.
 */
export const REORDER_MAX_WAIT_MS = 50;
/**
 * A packet this far behind is not a straggler but a sender restart; two consecutive such packets
 * resync the stream (RFC 3550 Appendix A.1 MAX_MISORDER).
 */
export const MAX_MISORDER = 100;

export type ReorderOutput<T> =
  | { readonly kind: 'packet'; readonly sequence: number; readonly item: T }
  /** Sequence numbers firstMissing..lastMissing (inclusive, modulo 2^16) were given up. */
  | { readonly kind: 'gap'; readonly firstMissing: number; readonly lastMissing: number; readonly lost: number }
  /** The sender jumped backwards (restart); order starts over at `sequence`. */
  | { readonly kind: 'resync'; readonly sequence: number }
  /** Older than what was already delivered or given up, or a duplicate: dropped. */
  | { readonly kind: 'late'; readonly sequence: number };

export interface ReorderOptions {
  readonly windowPackets?: number;
  readonly maxWaitMs?: number;
}

interface Held<T> {
  readonly item: T;
  readonly arrivalMs: number;
}

export class ReorderBuffer<T> {
  readonly #windowPackets: number;
  readonly #maxWaitMs: number;
  readonly #held = new Map<number, Held<T>>();
  #expected: number | undefined;
  #probation: number | undefined;

  constructor(options: ReorderOptions = {}) {
    this.#windowPackets = Math.max(1, options.windowPackets ?? REORDER_WINDOW_PACKETS);
    this.#maxWaitMs = options.maxWaitMs ?? REORDER_MAX_WAIT_MS;
  }

  /** Packets currently held back waiting for an earlier one. */
  get heldCount(): number {
    return this.#held.size;
  }

  reset(): void {
    this.#held.clear();
    this.#expected = undefined;
    this.#probation = undefined;
  }

  push(sequence: number, item: T, arrivalMs: number): ReorderOutput<T>[] {
    const out: ReorderOutput<T>[] = [];
    const expected = this.#expected;
    if (expected === undefined) {
      this.#deliver(sequence, item, out);
      return out;
    }
    const distance = sequenceDiff(sequence, expected);
    if (distance === 0) {
      this.#probation = undefined;
      this.#deliver(sequence, item, out);
      this.#drain(out);
    } else if (distance < 0) {
      this.#late(sequence, item, distance, out);
    } else if (distance < this.#windowPackets) {
      this.#probation = undefined;
      if (this.#held.has(sequence)) out.push({ kind: 'late', sequence });
      else this.#held.set(sequence, { item, arrivalMs });
    } else {
      // Too far ahead to wait for: everything before it is lost.
      this.#probation = undefined;
      this.#flushHeld(out);
      this.#skipTo(sequence, out);
      this.#deliver(sequence, item, out);
      this.#drain(out);
    }
    this.#giveUpIfStale(arrivalMs, out);
    return out;
  }

  #late(sequence: number, item: T, distance: number, out: ReorderOutput<T>[]): void {
    if (-distance <= MAX_MISORDER) {
      out.push({ kind: 'late', sequence });
      return;
    }
    if (this.#probation === sequence) {
      this.#probation = undefined;
      this.#held.clear();
      out.push({ kind: 'resync', sequence });
      this.#deliver(sequence, item, out);
      return;
    }
    this.#probation = sequenceAdd(sequence, 1);
    out.push({ kind: 'late', sequence });
  }

  #deliver(sequence: number, item: T, out: ReorderOutput<T>[]): void {
    out.push({ kind: 'packet', sequence, item });
    this.#expected = sequenceAdd(sequence, 1);
  }

  #drain(out: ReorderOutput<T>[]): void {
    for (;;) {
      const expected = this.#expected;
      if (expected === undefined) return;
      const next = this.#held.get(expected);
      if (next === undefined) return;
      this.#held.delete(expected);
      this.#deliver(expected, next.item, out);
    }
  }

  #skipTo(sequence: number, out: ReorderOutput<T>[]): void {
    const expected = this.#expected;
    if (expected === undefined) return;
    const lost = sequenceDiff(sequence, expected);
    if (lost > 0) out.push({ kind: 'gap', firstMissing: expected, lastMissing: sequenceAdd(sequence, -1), lost });
    this.#expected = sequence;
  }

  #oldestHeld(): number | undefined {
    const expected = this.#expected;
    if (expected === undefined) return undefined;
    let best: number | undefined;
    let bestDistance = Infinity;
    for (const sequence of this.#held.keys()) {
      const distance = sequenceDiff(sequence, expected);
      if (distance < bestDistance) {
        bestDistance = distance;
        best = sequence;
      }
    }
    return best;
  }

  /** Gives up every hole in front of held packets, delivering them all in order. */
  #flushHeld(out: ReorderOutput<T>[]): void {
    for (let next = this.#oldestHeld(); next !== undefined; next = this.#oldestHeld()) {
      this.#skipTo(next, out);
      this.#drain(out);
    }
  }

  #giveUpIfStale(nowMs: number, out: ReorderOutput<T>[]): void {
    while (this.#held.size > 0) {
      let oldestArrival = Infinity;
      for (const held of this.#held.values()) oldestArrival = Math.min(oldestArrival, held.arrivalMs);
      // The count is bounded by the window on entry (only sequences less than a window ahead are
      // held), so age is the one remaining reason to stop waiting.
      if (!(nowMs - oldestArrival > this.#maxWaitMs)) return;
      const next = this.#oldestHeld();
      if (next === undefined) return;
      this.#skipTo(next, out);
      this.#drain(out);
    }
  }
}
