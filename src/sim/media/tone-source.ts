// The fake robot's microphone: a switchable sine tone (or silence) as signed 16-bit PCM, with the
// phase carried across reads and across frequency changes so the waveform never clicks. Pure and
// clock-free: the caller decides how many sample frames to read and when. Owns neither Opus
// encoding nor timing (the engines do). The robot's capture path is 48 kHz S16LE
// (reachy-daemon-api.md §9.3).

export interface Tone {
  readonly frequencyHz: number;
  /** Peak amplitude as a fraction of full scale, 0..1. The RMS of the tone is amplitude/√2. */
  readonly amplitude: number;
}

/** The default microphone signal: A4 at -10.5 dBFS peak, clearly audible and far from clipping. */
export const DEFAULT_TONE: Tone = { frequencyHz: 440, amplitude: 0.3 };
/** Full scale of signed 16-bit PCM. */
export const PCM16_FULL_SCALE = 32_767;

export function assertTone(tone: Tone | null, sampleRate: number): void {
  if (tone === null) return;
  if (!Number.isFinite(tone.frequencyHz) || tone.frequencyHz <= 0 || tone.frequencyHz >= sampleRate / 2) {
    throw new RangeError(`tone frequency must be in (0, ${sampleRate / 2}) Hz, got ${tone.frequencyHz}`);
  }
  if (!Number.isFinite(tone.amplitude) || tone.amplitude < 0 || tone.amplitude > 1) {
    throw new RangeError(`tone amplitude must be in [0, 1], got ${tone.amplitude}`);
  }
}

export class ToneSource {
  readonly sampleRate: number;
  #tone: Tone | null;
  /** Phase in cycles, kept in [0, 1). */
  #phase = 0;

  constructor(sampleRate: number, tone: Tone | null = DEFAULT_TONE) {
    if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`sample rate must be a positive integer, got ${sampleRate}`);
    assertTone(tone, sampleRate);
    this.sampleRate = sampleRate;
    this.#tone = tone;
  }

  get tone(): Tone | null {
    return this.#tone;
  }

  /** Switches the signal from the next read on; `null` is silence. */
  setTone(tone: Tone | null): void {
    assertTone(tone, this.sampleRate);
    this.#tone = tone === null ? null : { frequencyHz: tone.frequencyHz, amplitude: tone.amplitude };
  }

  /** The next `frames` sample frames, interleaved over `channels` identical channels. */
  read(frames: number, channels: number): Int16Array {
    const out = new Int16Array(frames * channels);
    const tone = this.#tone;
    if (tone === null || tone.amplitude === 0) return out;
    const step = tone.frequencyHz / this.sampleRate;
    const peak = tone.amplitude * PCM16_FULL_SCALE;
    let phase = this.#phase;
    for (let i = 0; i < frames; i++) {
      const value = Math.round(peak * Math.sin(2 * Math.PI * phase));
      for (let c = 0; c < channels; c++) out[i * channels + c] = value;
      phase += step;
      if (phase >= 1) phase -= 1;
    }
    this.#phase = phase;
    return out;
  }
}
