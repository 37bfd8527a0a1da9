// RTP sequence-number arithmetic (RFC 3550 §5.1, Appendix A.1): 16-bit counters that wrap at
// 65535 → 0. Owns only the modular maths every receiver module uses to compare and step sequence
// numbers; it keeps no state and knows nothing about packets, frames or loss policy.

/** Sequence numbers are 16 bits, so every comparison is modulo 2^16. */
export const SEQUENCE_MODULO = 0x1_0000;
const HALF_RANGE = SEQUENCE_MODULO / 2;

/** Signed distance `a − b` in [−32768, 32767]: positive when `a` is newer than `b`. */
export function sequenceDiff(a: number, b: number): number {
  return ((((a - b) % SEQUENCE_MODULO) + SEQUENCE_MODULO + HALF_RANGE) % SEQUENCE_MODULO) - HALF_RANGE;
}

/** `seq + n` wrapped into [0, 65535]. */
export function sequenceAdd(seq: number, n: number): number {
  return (((seq + n) % SEQUENCE_MODULO) + SEQUENCE_MODULO) % SEQUENCE_MODULO;
}
