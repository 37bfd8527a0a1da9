// Reception statistics of one media stream for its receiver reports (RFC 3550 §6.4.1, Appendix
// A.1 sequence tracking, A.3 loss, A.8 interarrival jitter): extended highest sequence number,
// cumulative and interval loss, jitter, and the LSR/DLSR echo of the sender's last report. A
// packet repaired by retransmission counts as received (as libwebrtc counts it), so the report
// shows the loss left after repair; repaired packets do not feed the jitter (they arrive late by
// design). Owns the arithmetic on the caller's clock; building the packet is rtcp-packets.ts's.
import type { ReportBlock } from './rtcp-packets.ts';
import { sequenceDiff } from './sequence-number.ts';

const SEQUENCE_CYCLE = 0x1_0000;
/** DLSR unit: 1/65536 s (RFC 3550 §6.4.1). */
const DLSR_UNITS_PER_MS = 65_536 / 1000;
/** A jump back further than this starts a new cycle count (RFC 3550 A.1 MAX_MISORDER). */
const MAX_MISORDER = 100;

export class ReceiverStatistics {
  readonly ssrc: number;
  readonly #clockRate: number;
  #base: number | undefined;
  #maxSequence = 0;
  #cycles = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #jitter = 0;
  #lastTransit: number | undefined;
  #lastSr: { readonly ntpMiddle: number; readonly atMs: number } | undefined;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc;
    this.#clockRate = clockRate;
  }

  /** One packet of the stream; `repaired` when it came by retransmission. */
  received(sequence: number, rtpTimestamp: number, arrivalMs: number, repaired: boolean): void {
    this.#received++;
    if (this.#base === undefined) {
      this.#base = sequence;
      this.#maxSequence = sequence;
    } else {
      const distance = sequenceDiff(sequence, this.#maxSequence);
      if (distance > 0) {
        if (sequence < this.#maxSequence) this.#cycles += SEQUENCE_CYCLE;
        this.#maxSequence = sequence;
      } else if (distance < -MAX_MISORDER) {
        // A sender restart: start over from this packet (A.1's re-initialisation, simplified).
        this.#base = sequence;
        this.#maxSequence = sequence;
        this.#cycles = 0;
        this.#received = 1;
        this.#expectedPrior = 0;
        this.#receivedPrior = 0;
      }
    }
    if (repaired) return;
    const transit = (arrivalMs * this.#clockRate) / 1000 - rtpTimestamp;
    const last = this.#lastTransit;
    this.#lastTransit = transit;
    if (last === undefined) return;
    // Timestamps wrap at 2^32: fold the difference back into range before using it.
    let d = Math.abs(transit - last);
    if (d > 2 ** 31) d = Math.abs(d - 2 ** 32);
    this.#jitter += (d - this.#jitter) / 16;
  }

  /** A sender report for this stream arrived at `arrivalMs`. */
  senderReport(ntpMiddle: number, arrivalMs: number): void {
    this.#lastSr = { ntpMiddle, atMs: arrivalMs };
  }

  /** The report block for now, and the interval counters move on; null before the first packet. */
  report(nowMs: number): ReportBlock | null {
    const base = this.#base;
    if (base === undefined) return null;
    const extendedMax = this.#cycles + this.#maxSequence;
    const expected = extendedMax - base + 1;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    const sr = this.#lastSr;
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost: expected - this.#received,
      extendedHighestSequence: extendedMax,
      jitter: this.#jitter,
      lastSr: sr?.ntpMiddle ?? 0,
      delaySinceLastSr: sr === undefined ? 0 : Math.round(Math.max(0, nowMs - sr.atMs) * DLSR_UNITS_PER_MS),
    };
  }
}
