// Streaming sample-rate conversion of mono float32 PCM between 8 and 48 kHz: the microphone path
// (Opus 48 kHz → the 16 kHz ring, reachy-daemon-api.md §9.3) and the speaker path (any 8–48 kHz
// → Opus 48 kHz). A rational polyphase resampler with a Kaiser-windowed sinc low-pass whose cutoff
// sits below the lower of the two Nyquist rates, so decimation does not alias and interpolation
// leaves no images. Owns only the maths and the carry-over between calls; no queues, no I/O, no
// channel mixing. Each phase's taps are normalised to a DC gain of exactly 1.

/** Lowest and highest rates accepted: telephone 8 kHz up to Opus's native 48 kHz. */
export const MIN_SAMPLE_RATE_HZ = 8_000;
export const MAX_SAMPLE_RATE_HZ = 48_000;
/**
 * Half the filter length, in zero crossings of the sinc at the cutoff. 24 gives a transition band
 * of ~1.6 kHz at 48 → 16 kHz (passband flat to ~6.4 kHz, stopband from 8 kHz) for 160 taps per
 * output sample, a few ms of CPU per second of audio.
 */
export const RESAMPLER_ZERO_CROSSINGS = 24;
/**
 * Cutoff as a fraction of the lower Nyquist rate. 0.9 puts the −6 dB point at 7.2 kHz for a
 * 16 kHz side, so with the transition band above the stopband starts at the Nyquist rate itself.
 */
export const RESAMPLER_CUTOFF = 0.9;
/** Kaiser window β: ~85 dB stopband attenuation (Kaiser's formula), far below 16-bit noise. */
export const RESAMPLER_KAISER_BETA = 8.6;
/**
 * Phases whose taps are tabulated. Every common rate pair (8/11.025/12/16/22.05/24/32/44.1 kHz →
 * 48 kHz is at most 640 phases; 48 → 16 kHz is 1) fits; odd rates compute their taps per sample.
 */
export const MAX_TABULATED_PHASES = 1_024;

export interface PcmResampler {
  readonly fromHz: number;
  readonly toHz: number;
  /** Converts the next chunk of a continuous stream; a filter's worth of input is held back for the next call. */
  process(input: Float32Array): Float32Array;
  /** Ends the stream: emits what was held back (as if silence followed) and starts afresh. */
  flush(): Float32Array;
  /** Forgets held-back input without emitting it. */
  reset(): void;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast for β ≤ 20). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const quarter = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= quarter / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

export function isSupportedSampleRate(rateHz: number): boolean {
  return Number.isInteger(rateHz) && rateHz >= MIN_SAMPLE_RATE_HZ && rateHz <= MAX_SAMPLE_RATE_HZ;
}

/** Input carried from call to call, with the absolute index of its first sample. */
class History {
  data = new Float32Array(1024);
  length = 0;
  /** Absolute input index of `data[0]`. */
  start = 0;

  append(input: Float32Array): void {
    if (this.length + input.length > this.data.length) {
      const grown = new Float32Array(Math.max(this.data.length * 2, this.length + input.length));
      grown.set(this.data.subarray(0, this.length));
      this.data = grown;
    }
    this.data.set(input, this.length);
    this.length += input.length;
  }

  appendZeros(count: number): void {
    this.append(new Float32Array(count));
  }

  /** Drops samples before absolute index `index`. */
  discardBefore(index: number): void {
    const drop = Math.min(this.length, index - this.start);
    if (drop <= 0) return;
    this.data.copyWithin(0, drop, this.length);
    this.length -= drop;
    this.start += drop;
  }
}

class PolyphaseResampler implements PcmResampler {
  readonly fromHz: number;
  readonly toHz: number;
  /** Output step in input samples is `m / l` (reduced ratio). */
  readonly #l: number;
  readonly #m: number;
  /** Taps each side of the output instant: input samples `i − k + 1 … i + k` feed output time `i + p/l`. */
  readonly #k: number;
  readonly #cutoff: number;
  readonly #halfWidth: number;
  readonly #i0Beta: number;
  readonly #table: Float32Array | null;
  #history = new History();
  /** Integer and phase part of the next output's instant, in input samples. */
  #i = 0;
  #p = 0;
  /** Real input samples seen since the last reset. */
  #inputCount = 0;

  constructor(fromHz: number, toHz: number) {
    this.fromHz = fromHz;
    this.toHz = toHz;
    const g = gcd(fromHz, toHz);
    this.#l = toHz / g;
    this.#m = fromHz / g;
    // Cycles per input sample at the −6 dB point: below the lower Nyquist of the two rates.
    this.#cutoff = 0.5 * Math.min(1, toHz / fromHz) * RESAMPLER_CUTOFF;
    this.#halfWidth = RESAMPLER_ZERO_CROSSINGS / (2 * this.#cutoff);
    this.#k = Math.ceil(this.#halfWidth);
    this.#i0Beta = besselI0(RESAMPLER_KAISER_BETA);
    if (this.#l <= MAX_TABULATED_PHASES) {
      const taps = 2 * this.#k;
      this.#table = new Float32Array(this.#l * taps);
      for (let p = 0; p < this.#l; p++) this.#table.set(this.#phaseTaps(p), p * taps);
    } else {
      this.#table = null;
    }
    this.reset();
  }

  reset(): void {
    this.#history = new History();
    // Silence before the first sample, so the first outputs have a full filter.
    this.#history.start = -this.#k;
    this.#history.appendZeros(this.#k);
    this.#i = 0;
    this.#p = 0;
    this.#inputCount = 0;
  }

  process(input: Float32Array): Float32Array {
    this.#history.append(input);
    this.#inputCount += input.length;
    return this.#drain(Number.POSITIVE_INFINITY);
  }

  flush(): Float32Array {
    this.#history.appendZeros(this.#k + 1);
    // Outputs whose instant lies inside the real input: ceil(inputCount · l / m) in all.
    const out = this.#drain(this.#inputCount);
    this.reset();
    return out;
  }

  /** Taps for phase `p` (output instant `i + p/l`), for input offsets j = −k+1 … k, normalised to sum 1. */
  #phaseTaps(p: number): Float32Array {
    const taps = new Float32Array(2 * this.#k);
    const frac = p / this.#l;
    let sum = 0;
    for (let n = 0; n < taps.length; n++) {
      const j = n - this.#k + 1;
      const t = frac - j;
      const ratio = t / this.#halfWidth;
      if (Math.abs(ratio) >= 1) continue;
      const x = 2 * this.#cutoff * t;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const window = besselI0(RESAMPLER_KAISER_BETA * Math.sqrt(1 - ratio * ratio)) / this.#i0Beta;
      const value = sinc * window;
      taps[n] = value;
      sum += value;
    }
    for (let n = 0; n < taps.length; n++) taps[n] = (taps[n] as number) / sum;
    return taps;
  }

  /** Emits every output whose filter window is inside the history and whose instant is before `limit`. */
  #drain(limit: number): Float32Array {
    const history = this.#history;
    const k = this.#k;
    const lastAvailable = history.start + history.length - 1;
    const lastI = Math.min(lastAvailable - k, limit - 1);
    if (lastI < this.#i) return new Float32Array(0);
    const bound = Math.ceil(((lastI - this.#i + 1) * this.#l) / this.#m) + 1;
    const out = new Float32Array(bound);
    const taps = 2 * k;
    const table = this.#table;
    const data = history.data;
    const stepInt = Math.floor(this.#m / this.#l);
    const stepFrac = this.#m % this.#l;
    let i = this.#i;
    let p = this.#p;
    let produced = 0;
    while (i <= lastI && produced < bound) {
      const coefficients = table === null ? this.#phaseTaps(p) : table.subarray(p * taps, (p + 1) * taps);
      // Input offset j = n − k + 1, so sample index i + j sits at data[i − start − k + 1 + n].
      const base = i - history.start - k + 1;
      let acc = 0;
      for (let n = 0; n < taps; n++) acc += (data[base + n] as number) * (coefficients[n] as number);
      out[produced++] = acc;
      i += stepInt;
      p += stepFrac;
      if (p >= this.#l) {
        p -= this.#l;
        i += 1;
      }
    }
    this.#i = i;
    this.#p = p;
    history.discardBefore(i - k + 1);
    return produced === bound ? out : out.subarray(0, produced);
  }
}

/** Passes audio through unchanged when both rates are equal. */
class IdentityResampler implements PcmResampler {
  readonly fromHz: number;
  readonly toHz: number;

  constructor(rateHz: number) {
    this.fromHz = rateHz;
    this.toHz = rateHz;
  }

  process(input: Float32Array): Float32Array {
    return input.slice();
  }

  flush(): Float32Array {
    return new Float32Array(0);
  }

  reset(): void {}
}

/** A streaming resampler from `fromHz` to `toHz`; throws RangeError outside 8–48 kHz or for non-integers. */
export function createPcmResampler(fromHz: number, toHz: number): PcmResampler {
  for (const rate of [fromHz, toHz]) {
    if (!isSupportedSampleRate(rate)) throw new RangeError(`sample rate must be an integer from ${MIN_SAMPLE_RATE_HZ} to ${MAX_SAMPLE_RATE_HZ} Hz, got ${rate}`);
  }
  return fromHz === toHz ? new IdentityResampler(fromHz) : new PolyphaseResampler(fromHz, toHz);
}

/** One-shot conversion of a whole clip (process + flush). */
export function resamplePcm(input: Float32Array, fromHz: number, toHz: number): Float32Array {
  const resampler = createPcmResampler(fromHz, toHz);
  const head = resampler.process(input);
  const tail = resampler.flush();
  if (tail.length === 0) return head;
  const out = new Float32Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
