// Rate limit for keyframe requests (RTCP PLI, RFC 4585 §6.3.1) raised by the depacketizers.
// Owns only the "may we ask again yet?" decision on the caller's clock; it does not send RTCP
// and does not decide why a keyframe is needed. h264-webrtc.md §5.1 item 3 and §5.3: ask while
// waiting for a keyframe, but every forced IDR raises the robot's bitrate for every viewer.

/**
 * Minimum time between two PLIs. The stand-in robot answered a PLI with an IDR in ~0.1 s
 * (h264-webrtc.md §3.4), so 500 ms lets one request be answered before the next, and caps the
 * extra keyframes at two a second if the encoder ignores PLI (§5.3: the wireless robot may).
 */
export const PLI_MIN_INTERVAL_MS = 500;

export class PliLimiter {
  readonly #minIntervalMs: number;
  #lastMs: number | undefined;

  constructor(minIntervalMs: number = PLI_MIN_INTERVAL_MS) {
    this.#minIntervalMs = minIntervalMs;
  }

  /** True when a PLI may be sent at `nowMs` (and records it as sent). */
  request(nowMs: number): boolean {
    if (!Number.isFinite(nowMs)) return false;
    const last = this.#lastMs;
    // A clock that went backwards would otherwise silence requests until it catches up.
    if (last !== undefined && nowMs >= last && nowMs - last < this.#minIntervalMs) return false;
    this.#lastMs = nowMs;
    return true;
  }

  reset(): void {
    this.#lastMs = undefined;
  }
}
