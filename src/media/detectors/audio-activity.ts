// Audio activity detection for `detect_audio_activity` and `audio_event` (reference-driver.md §2.4,
// §3, §5.3): RMS over 10 ms frames of the PCM ring, a noise floor calibrated from the quietest
// recent 100 ms blocks, an effective threshold = max(configured, floor × margin), and an
// attack/release state machine with hysteresis that yields an event only when the state changes,
// stamped with the injected clock and a per-detector sequence number (fixes §12 items 8–9).
// Owns the algorithm and the payload shapes; does not own capture, timers, publishing or RPC
// validation — the caller pushes samples, calls `update(nowMs)` and publishes what it returns.
import { type DetectorState, isoTimestamp, round6, sortedPercentile, stateConfidence } from './detector-common.ts';
import { PcmRingBuffer } from './pcm-ring-buffer.ts';

/** Default configured threshold (RMS, full scale 1.0): the reference's `detect_audio_activity` default (§2.4). */
export const AUDIO_DEFAULT_THRESHOLD = 0.05;
/** Default window of the on-demand RMS measurement: the reference's `duration_ms` default (§2.4). */
export const AUDIO_DEFAULT_WINDOW_MS = 120;
/**
 * Analysis frame: the attack/release resolution. 10 ms (160 samples at 16 kHz) holds 4.4 periods
 * of a 440 Hz tone, short enough that a click cannot hold a long window above the threshold.
 */
export const AUDIO_FRAME_MS = 10;
/**
 * Sound must stay above the threshold this long to become activity. 80 ms rejects clicks, taps and
 * servo ticks (any burst shorter than attack − 2 frames = 60 ms can never trigger, whatever its
 * alignment to frames) while a spoken syllable (100–300 ms) still does.
 */
export const AUDIO_ATTACK_MS = 80;
/**
 * Sound must stay below the release threshold this long to end activity. 400 ms outlasts the pauses
 * between words (about 100–300 ms), so one sentence is one activity, not one per word.
 */
export const AUDIO_RELEASE_MS = 400;
/** Release threshold = attack threshold × this (−6 dB): the hysteresis band that stops chatter at the edge. */
export const AUDIO_RELEASE_RATIO = 0.5;
/** Calibration unit: the RMS of each 100 ms block is one noise-floor sample ("the quietest recent windows"). */
export const NOISE_CALIBRATION_BLOCK_MS = 100;
/**
 * Blocks considered for the floor: the last 6 s. Speech always has quiet gaps within 6 s; a steady
 * sound lasting longer than ~90 % of it (a fan, a motor hum) deliberately becomes the background.
 */
export const NOISE_CALIBRATION_WINDOW_MS = 6_000;
/** The floor is this percentile of the block RMS values: the 10th, i.e. the quietest tenth of recent audio. */
export const NOISE_FLOOR_PERCENTILE = 0.1;
/** No activity is reported before this much audio has been calibrated (the floor is unknown until then). */
export const NOISE_CALIBRATION_MIN_MS = 500;
/** Floor lower bound (−80 dBFS): below any real microphone's self-noise; keeps thresholds > 0 on digital silence. */
export const NOISE_FLOOR_MIN = 1e-4;
/** Floor upper bound (−20 dBFS): a "floor" louder than this is sound, not noise; caps the effective threshold at 0.3. */
export const NOISE_FLOOR_MAX = 0.1;
/**
 * Effective threshold ≥ floor × 3 (+9.5 dB). Frame RMS of stationary noise varies by a few percent
 * around the floor, so 3× never triggers on it, and the release threshold (1.5× floor) is still
 * above it, so activity always ends when the sound stops.
 */
export const NOISE_MARGIN = 3;

export type AudioEventKind = 'audio_activity_detected' | 'audio_activity_ended';

/** `audio_event` payload: the reference's fields (§3) plus `ts`, `seq`, `release_threshold`, `noise_floor`. */
export interface AudioEvent {
  readonly kind: AudioEventKind;
  readonly source: 'microphone';
  readonly state: DetectorState;
  /** RMS of the evidence that decided the change: the attack run (detected) or the release run (ended). */
  readonly rms: number;
  /** Effective attack threshold: max(configured, noise_floor × NOISE_MARGIN). */
  readonly threshold: number;
  /** Detected: how long the sound had been above the threshold. Ended: how long the activity lasted. */
  readonly duration_ms: number;
  /** Confidence in `state` (detector-common.ts `stateConfidence`). */
  readonly confidence: number;
  /** ISO-8601 time of the frame that completed the change, from the injected clock. */
  readonly ts: string;
  /** 1, 2, 3… per detector, never reused. */
  readonly seq: number;
  readonly release_threshold: number;
  readonly noise_floor: number;
}

/** What `detect_audio_activity` returns on demand. */
export interface AudioMeasurement {
  /** RMS of the newest `window_ms` of the ring (0 when it is empty). */
  readonly rms: number;
  readonly window_ms: number;
  readonly noise_floor: number;
  /** Effective attack threshold. */
  readonly threshold: number;
  readonly release_threshold: number;
  readonly configured_threshold: number;
  readonly state: DetectorState;
  /** Confidence in `state` given `rms` (the boundary is `release_threshold` while active, `threshold` while inactive). */
  readonly confidence: number;
  /** False until NOISE_CALIBRATION_MIN_MS of audio has been analysed; no activity is reported before. */
  readonly calibrated: boolean;
}

export interface AudioActivityOptions {
  /** Configured threshold (RMS, [0, 1]); the noise floor can only raise it. */
  readonly threshold?: number;
  /** Window of `measure()` (ms). */
  readonly windowMs?: number;
  readonly attackMs?: number;
  readonly releaseMs?: number;
  /** Ring to read; share the media pipeline's. A new one (16 kHz, 10 s) by default. */
  readonly buffer?: PcmRingBuffer;
}

const CALIBRATION_BLOCK_FRAMES = NOISE_CALIBRATION_BLOCK_MS / AUDIO_FRAME_MS;
const CALIBRATION_HISTORY_BLOCKS = NOISE_CALIBRATION_WINDOW_MS / NOISE_CALIBRATION_BLOCK_MS;
const CALIBRATION_MIN_BLOCKS = NOISE_CALIBRATION_MIN_MS / NOISE_CALIBRATION_BLOCK_MS;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a finite number > 0, got ${value}`);
  return value;
}

function rmsOf(samples: Float32Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] ?? 0;
    sum += s * s;
  }
  return Math.sqrt(sum / samples.length);
}

export class AudioActivityDetector {
  readonly buffer: PcmRingBuffer;
  readonly configuredThreshold: number;
  readonly windowMs: number;
  readonly attackFrames: number;
  readonly releaseFrames: number;
  readonly #frame: Float32Array;
  readonly #frameMs: number;
  /** Absolute ring index of the next unanalysed sample. */
  #next: number;
  #frames = 0;
  #state: DetectorState = 'inactive';
  #seq = 0;
  #lastEventMs = -Infinity;
  #floor = NOISE_FLOOR_MIN;
  // Calibration: the current block and the ring of recent block RMS values.
  #blockSumSq = 0;
  #blockSamples = 0;
  #blockFrames = 0;
  readonly #history = new Float64Array(CALIBRATION_HISTORY_BLOCKS);
  #historyCount = 0;
  #historyPos = 0;
  // The current attack (while inactive) or release (while active) run.
  #run = 0;
  #runSumSq = 0;
  #runSamples = 0;
  /** Frame index at which the current activity's attack run began. */
  #activeSince = 0;
  #droppedSamples = 0;

  constructor(options: AudioActivityOptions = {}) {
    const threshold = options.threshold ?? AUDIO_DEFAULT_THRESHOLD;
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);
    this.configuredThreshold = threshold;
    this.windowMs = positive('windowMs', options.windowMs ?? AUDIO_DEFAULT_WINDOW_MS);
    this.buffer = options.buffer ?? new PcmRingBuffer();
    const frameSamples = Math.max(1, this.buffer.msToSamples(AUDIO_FRAME_MS));
    this.#frame = new Float32Array(frameSamples);
    this.#frameMs = (frameSamples * 1000) / this.buffer.sampleRateHz;
    this.attackFrames = Math.max(1, Math.ceil(positive('attackMs', options.attackMs ?? AUDIO_ATTACK_MS) / this.#frameMs));
    this.releaseFrames = Math.max(1, Math.ceil(positive('releaseMs', options.releaseMs ?? AUDIO_RELEASE_MS) / this.#frameMs));
    this.#next = this.buffer.totalWritten;
  }

  get state(): DetectorState {
    return this.#state;
  }

  get noiseFloor(): number {
    return this.#floor;
  }

  /** Effective attack threshold: max(configured, floor × NOISE_MARGIN). */
  get threshold(): number {
    return Math.max(this.configuredThreshold, this.#floor * NOISE_MARGIN);
  }

  get releaseThreshold(): number {
    return this.threshold * AUDIO_RELEASE_RATIO;
  }

  get calibrated(): boolean {
    return this.#historyCount >= CALIBRATION_MIN_BLOCKS;
  }

  /** Samples that were overwritten in the ring before they could be analysed (update called too rarely). */
  get droppedSamples(): number {
    return this.#droppedSamples;
  }

  /** Convenience: append samples to the ring (mono float32, full scale ±1). */
  push(samples: ArrayLike<number>): void {
    this.buffer.push(samples);
  }

  /**
   * Analyses the audio pushed since the last call, frame by frame, and returns the first state
   * change found (or null). `nowMs` is the capture time of the newest pushed sample; an event's `ts`
   * is that of the frame that completed it. When a change is returned, later frames stay pending:
   * call again (until null) to drain a large push.
   */
  update(nowMs: number): AudioEvent | null {
    const buffer = this.buffer;
    const frameSamples = this.#frame.length;
    while (this.#next + frameSamples <= buffer.totalWritten) {
      if (this.#next < buffer.oldestIndex) {
        // Overrun or clear: the gap is a discontinuity, so runs restart (the state is kept).
        this.#droppedSamples += buffer.oldestIndex - this.#next;
        this.#next = buffer.oldestIndex;
        this.#resetRun();
        continue;
      }
      buffer.copyRange(this.#next, this.#frame);
      this.#next += frameSamples;
      const event = this.#analyseFrame(nowMs - ((buffer.totalWritten - this.#next) * 1000) / buffer.sampleRateHz);
      if (event !== null) return event;
    }
    return null;
  }

  /** The current measurement for `detect_audio_activity`: RMS over `windowMs` (default: the detector's window). */
  measure(windowMs: number = this.windowMs): AudioMeasurement {
    const window = Number.isFinite(windowMs) && windowMs > 0 ? windowMs : this.windowMs;
    const samples = this.buffer.readLastMs(window);
    const rms = rmsOf(samples);
    const boundary = this.#state === 'active' ? this.releaseThreshold : this.threshold;
    return {
      rms: round6(rms),
      window_ms: round6((samples.length * 1000) / this.buffer.sampleRateHz),
      noise_floor: round6(this.#floor),
      threshold: round6(this.threshold),
      release_threshold: round6(this.releaseThreshold),
      configured_threshold: this.configuredThreshold,
      state: this.#state,
      confidence: stateConfidence(this.#state, rms, boundary),
      calibrated: this.calibrated,
    };
  }

  /**
   * Stops tracking (microphone stopped, detection disabled): skips pending audio and returns
   * `audio_activity_ended` if activity was in progress. The noise floor is kept.
   */
  reset(nowMs: number): AudioEvent | null {
    this.#next = this.buffer.totalWritten;
    this.#resetRun();
    if (this.#state !== 'active') return null;
    const rms = rmsOf(this.buffer.readLastMs(this.windowMs));
    return this.#transition('inactive', rms, (this.#frames - this.#activeSince) * this.#frameMs, nowMs);
  }

  #analyseFrame(frameEndMs: number): AudioEvent | null {
    const frame = this.#frame;
    let sumSq = 0;
    for (let i = 0; i < frame.length; i++) {
      const s = frame[i] ?? 0;
      sumSq += s * s;
    }
    const frameRms = Math.sqrt(sumSq / frame.length);
    const frameIndex = this.#frames++;
    this.#calibrate(sumSq, frame.length);
    if (!this.calibrated) {
      this.#resetRun();
      return null;
    }
    const active = this.#state === 'active';
    const onEvidence = active ? frameRms < this.releaseThreshold : frameRms >= this.threshold;
    if (!onEvidence) {
      this.#resetRun();
      return null;
    }
    this.#run++;
    this.#runSumSq += sumSq;
    this.#runSamples += frame.length;
    if (!active && this.#run >= this.attackFrames) {
      this.#activeSince = frameIndex - this.#run + 1;
      const runMs = this.#run * this.#frameMs;
      return this.#transition('active', Math.sqrt(this.#runSumSq / this.#runSamples), runMs, frameEndMs);
    }
    if (active && this.#run >= this.releaseFrames) {
      const durationMs = (frameIndex - this.#run + 1 - this.#activeSince) * this.#frameMs;
      return this.#transition('inactive', Math.sqrt(this.#runSumSq / this.#runSamples), durationMs, frameEndMs);
    }
    return null;
  }

  #calibrate(sumSq: number, samples: number): void {
    this.#blockSumSq += sumSq;
    this.#blockSamples += samples;
    if (++this.#blockFrames < CALIBRATION_BLOCK_FRAMES) return;
    this.#history[this.#historyPos] = Math.sqrt(this.#blockSumSq / this.#blockSamples);
    this.#historyPos = (this.#historyPos + 1) % CALIBRATION_HISTORY_BLOCKS;
    this.#historyCount = Math.min(CALIBRATION_HISTORY_BLOCKS, this.#historyCount + 1);
    this.#blockSumSq = 0;
    this.#blockSamples = 0;
    this.#blockFrames = 0;
    const sorted = this.#history.slice(0, this.#historyCount).sort();
    const floor = sortedPercentile(sorted, NOISE_FLOOR_PERCENTILE);
    this.#floor = Math.min(NOISE_FLOOR_MAX, Math.max(NOISE_FLOOR_MIN, floor));
  }

  #resetRun(): void {
    this.#run = 0;
    this.#runSumSq = 0;
    this.#runSamples = 0;
  }

  #transition(state: DetectorState, rms: number, durationMs: number, atMs: number): AudioEvent {
    this.#state = state;
    this.#resetRun();
    const at = Number.isFinite(atMs) ? Math.max(this.#lastEventMs, atMs) : Math.max(this.#lastEventMs, 0);
    this.#lastEventMs = at;
    const threshold = this.threshold;
    const release = this.releaseThreshold;
    return {
      kind: state === 'active' ? 'audio_activity_detected' : 'audio_activity_ended',
      source: 'microphone',
      state,
      rms: round6(rms),
      threshold: round6(threshold),
      duration_ms: Math.max(0, Math.round(durationMs)),
      confidence: stateConfidence(state, rms, state === 'active' ? release : threshold),
      ts: isoTimestamp(at),
      seq: ++this.#seq,
      release_threshold: round6(release),
      noise_floor: round6(this.#floor),
    };
  }
}
