// Receiver-side loss tracking for NACK-based repair (RFC 4585 §3.1, §6.2.1; RFC 4588): it watches
// the media stream's sequence numbers (originals and repaired ones alike), remembers the holes,
// says which sequence numbers are due for a generic NACK now — first shortly after the hole is
// seen, then retried a few times — and forgets a hole once repaired or given up. Owns that
// schedule and its counters on the caller's clock; it sends nothing, unwraps no RTX and does not
// order packets (the reorder buffer waits NACK_GIVE_UP_MS for the repair, then declares the gap,
// which is when the depacketizer asks for a keyframe instead).
import { sequenceAdd, sequenceDiff } from './sequence-number.ts';

/**
 * Wait after a hole is seen before the first NACK. Wi-Fi reorders packets by a few positions
 * within a millisecond or two; 5 ms lets most such stragglers arrive instead of being asked for,
 * and is small against the 40 ms between tries.
 */
export const NACK_FIRST_DELAY_MS = 5;
/**
 * Between two NACKs for the same packet: longer than a LAN or Wi-Fi round trip (1–30 ms), so a
 * retry only goes out when the retransmission itself was lost, not while it is on its way.
 */
export const NACK_RETRY_INTERVAL_MS = 40;
/** NACKs per missing packet: with 5 % loss on the path, three tries all fail once in 8000. */
export const NACK_MAX_TRIES = 3;
/**
 * How long a hole is waited for: the last try (at 5 + 2 × 40 ms) plus one retry interval for its
 * answer, rounded up. The reorder buffer holds later packets this long, so a frame behind a loss
 * comes out ≤ 150 ms late; after that the loss counts and the depacketizer sends a PLI.
 */
export const NACK_GIVE_UP_MS = 150;
/**
 * Packets the reorder buffer may hold behind a hole while it is being repaired: a 720p IDR is
 * ~100 packets arriving within a few ms, and at 5 Mbit/s 150 ms is ~80 packets, so 512 covers a
 * keyframe burst plus the wait with room to spare (the default 32 would declare the loss before
 * any retransmission could arrive).
 */
export const NACK_REORDER_WINDOW_PACKETS = 512;
/**
 * Most holes tracked at once. A burst longer than this (half a second of 720p) is cheaper to
 * repair with one keyframe than with hundreds of retransmissions; such holes are not asked for.
 */
export const NACK_MAX_MISSING = 256;
/** A jump back further than this is a sender restart, not a late packet (RFC 3550 A.1 MAX_MISORDER). */
const MAX_MISORDER = 100;

export interface NackTrackerOptions {
  readonly firstDelayMs?: number;
  readonly retryIntervalMs?: number;
  readonly maxTries?: number;
  readonly giveUpMs?: number;
  readonly maxMissing?: number;
}

export interface NackTrackerStats {
  /** Sequence numbers put in a NACK, retries included. */
  readonly requested: number;
  /** Holes filled after being seen missing (by a retransmission or a late original). */
  readonly recovered: number;
  /** Holes given up (not filled within the give-up time, or too many at once). */
  readonly givenUp: number;
}

interface Missing {
  readonly sinceMs: number;
  tries: number;
  nextMs: number;
}

export type ReceivedKind = 'new' | 'recovered' | 'duplicate';

export class NackTracker {
  readonly #firstDelayMs: number;
  readonly #retryIntervalMs: number;
  readonly #maxTries: number;
  readonly #giveUpMs: number;
  readonly #maxMissing: number;
  /** Insertion order is sequence order: holes are only ever added above the highest seen. */
  readonly #missing = new Map<number, Missing>();
  #highest: number | undefined;
  #requested = 0;
  #recovered = 0;
  #givenUp = 0;

  constructor(options: NackTrackerOptions = {}) {
    this.#firstDelayMs = options.firstDelayMs ?? NACK_FIRST_DELAY_MS;
    this.#retryIntervalMs = options.retryIntervalMs ?? NACK_RETRY_INTERVAL_MS;
    this.#maxTries = options.maxTries ?? NACK_MAX_TRIES;
    this.#giveUpMs = options.giveUpMs ?? NACK_GIVE_UP_MS;
    this.#maxMissing = options.maxMissing ?? NACK_MAX_MISSING;
  }

  get missingCount(): number {
    return this.#missing.size;
  }

  stats(): NackTrackerStats {
    return { requested: this.#requested, recovered: this.#recovered, givenUp: this.#givenUp };
  }

  /** A media packet with `sequence` arrived (an original, or the packet an RTX carried). */
  received(sequence: number, nowMs: number): ReceivedKind {
    const highest = this.#highest;
    if (highest === undefined) {
      this.#highest = sequence;
      return 'new';
    }
    const distance = sequenceDiff(sequence, highest);
    if (distance > 0) {
      this.#addHoles(highest, distance - 1, nowMs);
      this.#highest = sequence;
      return 'new';
    }
    if (this.#missing.delete(sequence)) {
      this.#recovered++;
      return 'recovered';
    }
    if (distance < -MAX_MISORDER) this.#restart(sequence);
    return 'duplicate';
  }

  /** The sequence numbers to NACK at `nowMs`, oldest first (recorded as asked); gives up stale holes. */
  due(nowMs: number): number[] {
    const out: number[] = [];
    for (const [sequence, hole] of this.#missing) {
      if (nowMs - hole.sinceMs > this.#giveUpMs) {
        this.#missing.delete(sequence);
        this.#givenUp++;
      } else if (hole.tries < this.#maxTries && nowMs >= hole.nextMs) {
        hole.tries++;
        hole.nextMs = nowMs + this.#retryIntervalMs;
        out.push(sequence);
      }
    }
    this.#requested += out.length;
    return out;
  }

  /** The earliest time `due` has work (a NACK or a give-up), or null with no hole. */
  nextDueMs(): number | null {
    let next: number | null = null;
    for (const hole of this.#missing.values()) {
      const giveUpAt = hole.sinceMs + this.#giveUpMs + 1;
      const at = hole.tries < this.#maxTries ? Math.min(hole.nextMs, giveUpAt) : giveUpAt;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  reset(): void {
    this.#missing.clear();
    this.#highest = undefined;
  }

  #addHoles(highest: number, count: number, nowMs: number): void {
    if (count <= 0) return;
    if (count > this.#maxMissing) {
      // Too long to repair packet by packet: everything outstanding is left to a keyframe.
      this.#givenUp += count + this.#missing.size;
      this.#missing.clear();
      return;
    }
    for (let k = 1; k <= count; k++) this.#missing.set(sequenceAdd(highest, k), { sinceMs: nowMs, tries: 0, nextMs: nowMs + this.#firstDelayMs });
    for (const sequence of this.#missing.keys()) {
      if (this.#missing.size <= this.#maxMissing) break;
      this.#missing.delete(sequence);
      this.#givenUp++;
    }
  }

  #restart(sequence: number): void {
    this.#givenUp += this.#missing.size;
    this.#missing.clear();
    this.#highest = sequence;
  }
}
