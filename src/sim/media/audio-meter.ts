// The fake robot's speaker: records the PCM a consumer sends (decoded by wrtc in lite mode, by
// @evan/opus in wireless mode) and summarises it — total sample frames ever received, and the RMS
// and dominant frequency (rising zero crossings) of what arrived in the last N ms of wall time.
// Channels are averaged to mono. Owns no decoding and no transport; the clock is injectable.
// Follows reachy-daemon-api.md §9.1 (the robot plays what the consumer sends on the sendrecv audio).

export interface ReceivedAudioSummary {
  /** Sample frames (per channel) received since the meter was created, from every session. */
  readonly samples: number;
  /** RMS of the window's audio as a fraction of full scale (a sine of amplitude A reads A/√2); 0 with no audio. */
  readonly rms: number;
  /** Dominant frequency from rising zero crossings; null for silence or too few crossings. */
  readonly frequencyHz: number | null;
}

/** Default summary window: 25 Opus packets, long enough for a stable RMS and ±2 Hz at 440 Hz. */
export const DEFAULT_AUDIO_WINDOW_MS = 500;
/** History kept for summaries; windows longer than this are clamped to it. */
export const AUDIO_RETENTION_MS = 10_000;
/** Below this RMS (-70 dBFS) the window counts as silence: no frequency is reported. */
export const SILENCE_RMS = 3e-4;
/**
 * Zero-crossing hysteresis as a fraction of the window RMS: a crossing counts only after the signal
 * went below −h and then above +h, so low-level noise around zero does not add crossings.
 */
export const CROSSING_HYSTERESIS = 0.25;
const PCM16_SCALE = 32_768;

interface Chunk {
  readonly atMs: number;
  readonly sampleRate: number;
  readonly mono: Float32Array;
}

export class ReceivedAudioMeter {
  readonly #nowMs: () => number;
  readonly #chunks: Chunk[] = [];
  #samples = 0;

  constructor(nowMs: () => number = () => performance.now()) {
    this.#nowMs = nowMs;
  }

  get samples(): number {
    return this.#samples;
  }

  /** Interleaved signed 16-bit PCM as received now. */
  push(pcm: Int16Array, channels: number, sampleRate: number): void {
    if (channels < 1 || pcm.length < channels) return;
    const frames = Math.floor(pcm.length / channels);
    const mono = new Float32Array(frames);
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += pcm[i * channels + c] ?? 0;
      mono[i] = sum / channels / PCM16_SCALE;
    }
    const now = this.#nowMs();
    this.#chunks.push({ atMs: now, sampleRate, mono });
    this.#samples += frames;
    while (this.#chunks.length > 0 && (this.#chunks[0]?.atMs ?? now) < now - AUDIO_RETENTION_MS) this.#chunks.shift();
  }

  summary(windowMs: number = DEFAULT_AUDIO_WINDOW_MS): ReceivedAudioSummary {
    const since = this.#nowMs() - Math.min(Math.max(windowMs, 0), AUDIO_RETENTION_MS);
    const window = this.#chunks.filter((chunk) => chunk.atMs >= since);
    let count = 0;
    let sumSquares = 0;
    let seconds = 0;
    for (const chunk of window) {
      for (const value of chunk.mono) sumSquares += value * value;
      count += chunk.mono.length;
      seconds += chunk.mono.length / chunk.sampleRate;
    }
    if (count === 0) return { samples: this.#samples, rms: 0, frequencyHz: null };
    const rms = Math.sqrt(sumSquares / count);
    return { samples: this.#samples, rms, frequencyHz: rms < SILENCE_RMS ? null : dominantFrequency(window, rms, seconds) };
  }
}

function dominantFrequency(window: readonly Chunk[], rms: number, seconds: number): number | null {
  const threshold = rms * CROSSING_HYSTERESIS;
  let armed = false;
  let crossings = 0;
  for (const chunk of window) {
    for (const value of chunk.mono) {
      if (value < -threshold) armed = true;
      else if (armed && value > threshold) {
        crossings++;
        armed = false;
      }
    }
  }
  return crossings < 2 ? null : crossings / seconds;
}
