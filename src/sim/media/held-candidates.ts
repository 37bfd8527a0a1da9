// ICE candidates the emulator's producer peers (h264-peer.ts, vp8-peer.ts) hold until the consumer's
// answer is applied: the consumer's (both peers), and the H.264 peer's own before they are sent.
// Those arriving before are held, in order and up to a bound, and handed on once it is; later ones
// pass straight through. An empty candidate (end of candidates) is dropped: neither PeerConnection
// needs it. Owns the queue only; adding a candidate to a PeerConnection, or sending one, is the peer's.
import type { IcePayload } from '../../media/signalling/protocol.ts';

/** Candidates held until the answer is applied; a consumer sends a few dozen at most, a producer a few. */
export const MAX_HELD_CANDIDATES = 64;

export class HeldCandidates {
  readonly #add: (ice: IcePayload) => void;
  readonly #held: IcePayload[] = [];
  #released = false;

  /** `add` hands one candidate on (after `release()` only). */
  constructor(add: (ice: IcePayload) => void) {
    this.#add = add;
  }

  /** True once `release()` ran (the answer is applied). */
  get released(): boolean {
    return this.#released;
  }

  /** Hands `ice` on, or holds it until `release()` (beyond the bound it is dropped). */
  offer(ice: IcePayload): void {
    if (ice.candidate.length === 0) return;
    if (!this.#released) {
      if (this.#held.length < MAX_HELD_CANDIDATES) this.#held.push(ice);
      return;
    }
    this.#add(ice);
  }

  /** The answer is applied: hands on what was held, and every later candidate at once. */
  release(): void {
    this.#released = true;
    for (const ice of this.#held.splice(0)) this.#add(ice);
  }

  /** Forgets what is held (the peer closed). */
  clear(): void {
    this.#held.length = 0;
  }
}
