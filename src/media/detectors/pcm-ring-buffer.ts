// Fixed-capacity ring of mono float32 PCM at the microphone's 16 kHz, the audio the detectors and
// on-demand measurements read from (reference-driver.md §2.4 detect_audio_activity, §5.3 RMS).
// Owns storage and absolute sample indexing only: no capture, resampling, channel mixing or
// detection (audio-activity.ts). Non-finite samples are stored as 0 so every reader sees finite
// numbers. A writer may fill it lazily (an attached PcmSource is caught up before every read and
// told to discard at every clear: the microphone is decoded only when read; issue 11). Pure data
// structure: no timers, no I/O.

/** The Reachy Mini microphone pipeline's rate (the reference's `push_audio_sample` default, §2.4). */
export const PCM_SAMPLE_RATE_HZ = 16_000;
/**
 * Audio kept: 10 s covers the detector's noise-floor calibration window (6 s, audio-activity.ts)
 * with room for an on-demand read, for 640 KB of float32.
 */
export const PCM_RING_CAPACITY_MS = 10_000;

export interface PcmRingBufferOptions {
  readonly capacityMs?: number;
  readonly sampleRateHz?: number;
}

/** A lazy writer: audio that arrived but is not pushed yet. */
export interface PcmSource {
  /** Pushes everything that arrived so far into the ring. */
  catchUp(): void;
  /** Forgets what arrived and was not pushed (the ring is being cleared). */
  discard(): void;
}

export class PcmRingBuffer {
  readonly sampleRateHz: number;
  /** Capacity in samples. */
  readonly capacity: number;
  #data: Float32Array;
  /** Absolute index of the next sample to be written (= samples ever pushed). */
  #written = 0;
  /** Absolute index at the last `clear()`: nothing before it is held. */
  #clearedAt = 0;
  #source: PcmSource | null = null;

  constructor(options: PcmRingBufferOptions = {}) {
    const rate = options.sampleRateHz ?? PCM_SAMPLE_RATE_HZ;
    const capacityMs = options.capacityMs ?? PCM_RING_CAPACITY_MS;
    if (!Number.isFinite(rate) || rate < 1) throw new RangeError(`sampleRateHz must be a finite number >= 1, got ${rate}`);
    if (!Number.isFinite(capacityMs) || capacityMs <= 0) throw new RangeError(`capacityMs must be a finite number > 0, got ${capacityMs}`);
    this.sampleRateHz = rate;
    this.capacity = Math.max(1, Math.round((capacityMs * rate) / 1000));
    this.#data = new Float32Array(this.capacity);
  }

  /** Attaches the lazy writer every read catches up first (one at a time; null detaches). */
  attachSource(source: PcmSource | null): void {
    this.#source = source;
  }

  /** Samples ever pushed; also the absolute index the next pushed sample will get. */
  get totalWritten(): number {
    this.#source?.catchUp();
    return this.#written;
  }

  /** Samples currently held (at most `capacity`). */
  get length(): number {
    this.#source?.catchUp();
    return Math.min(this.#written - this.#clearedAt, this.capacity);
  }

  /** Absolute index of the oldest sample still held. */
  get oldestIndex(): number {
    return this.totalWritten - this.length;
  }

  /** Number of samples in `ms` milliseconds at this buffer's rate (rounded, never negative). */
  msToSamples(ms: number): number {
    if (!Number.isFinite(ms) || ms <= 0) return 0;
    return Math.round((ms * this.sampleRateHz) / 1000);
  }

  /** Appends samples; when more than `capacity` arrive, only the newest are kept. NaN/±Infinity become 0. */
  push(samples: ArrayLike<number>): void {
    const n = samples.length;
    const skip = Math.max(0, n - this.capacity);
    let pos = (this.#written + skip) % this.capacity;
    for (let i = skip; i < n; i++) {
      const s = samples[i] ?? 0;
      this.#data[pos] = Number.isFinite(s) ? s : 0;
      pos = pos + 1 === this.capacity ? 0 : pos + 1;
    }
    this.#written += n;
  }

  /** A copy of the newest `count` samples (fewer when fewer are held), oldest first. */
  readLastSamples(count: number): Float32Array {
    const n = Math.max(0, Math.min(this.length, Math.floor(Number.isFinite(count) ? count : 0)));
    const out = new Float32Array(n);
    this.copyRange(this.#written - n, out);
    return out;
  }

  /** A copy of the newest `ms` milliseconds (less when less is held), oldest first. */
  readLastMs(ms: number): Float32Array {
    return this.readLastSamples(this.msToSamples(ms));
  }

  /**
   * Copies samples from absolute index `start` into `target` (up to its length). Returns how many
   * were copied: 0 when `start` is no longer (or not yet) held; fewer when the range runs past the newest.
   */
  copyRange(start: number, target: Float32Array): number {
    this.#source?.catchUp();
    if (!Number.isInteger(start) || start < this.oldestIndex || start >= this.#written) return 0;
    const n = Math.min(target.length, this.#written - start);
    let pos = start % this.capacity;
    for (let i = 0; i < n; i++) {
      target[i] = this.#data[pos] ?? 0;
      pos = pos + 1 === this.capacity ? 0 : pos + 1;
    }
    return n;
  }

  /** Forgets every held sample; `totalWritten` keeps counting so absolute indices stay monotonic. */
  clear(): void {
    this.#source?.discard();
    this.#clearedAt = this.#written;
  }
}
