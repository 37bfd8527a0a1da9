// Motion detection for `detect_motion` / `motion_event` (reference-driver.md §2.4, §3, §5.3): box-filter
// each frame to a small luma grid, difference it with the previous grid, remove the median Δ (a uniform
// brightness change such as auto-exposure is not motion), count cells whose |Δ| exceeds a noise threshold
// estimated robustly from recent differences, and run attack/release hysteresis on the changed-area
// fraction; events only on state changes, with ts and seq. Replaces the reference's byte-difference
// fraction, which sensor noise drives to ~1.0 (§12 items 8–9). Owns the algorithm and payload shapes;
// not decoding, capture, timers or publishing (the caller feeds decoded frames with their capture time).
import { type DetectorState, isoTimestamp, round6, stateConfidence } from './detector-common.ts';

/** Default changed-area fraction: the reference's `detect_motion` default, now measured on noise-free cells (§2.4). */
export const MOTION_DEFAULT_THRESHOLD = 0.02;
/**
 * Floor on the effective threshold (0.1 % of the grid, ~4 of 3600 cells): with a configured 0 a single
 * outlier cell would trigger, and the release threshold (half of it) must stay reachable.
 */
export const MOTION_MIN_THRESHOLD = 0.001;
/**
 * Grid width after downsampling: 80 columns, so 720p becomes 80×45 with 16×16 px square cells.
 * Averaging 256 pixels divides independent sensor noise by 16 while a hand or a head still covers
 * tens of cells. Other sizes use the same cell rule: side = floor(width / 80) px.
 */
export const MOTION_GRID_WIDTH = 80;
/**
 * A cell changed only if |Δ − global shift| > k·σ̂ with k = 4: for Gaussian noise that is a 6e-5
 * false-positive rate per cell, about 0.2 cells of a 3600-cell frame, far below any threshold.
 */
export const MOTION_NOISE_K = 4;
/**
 * Minimum per-cell threshold in grey levels (0–255): smaller differences are quantisation and
 * compression flicker, not motion. Also the threshold when the noise estimate is 0 (noise-free frames).
 */
export const MOTION_MIN_PIXEL_DELTA = 3;
/**
 * σ̂ is the median of the last 30 per-frame robust estimates (1 s at 30 fps), so a few frames where
 * motion covers most of the image cannot inflate the threshold.
 */
export const MOTION_NOISE_HISTORY_FRAMES = 30;
/**
 * Cap on each per-frame σ̂ (grey levels on the grid). Sensor noise cannot reach it: even σ = 30 per
 * pixel averages to < 3 on 16-px cells. Larger estimates come from a change covering most of the
 * frame (a person stepping up to the camera), which must read as motion, not as noise: capped, the
 * per-cell threshold stays ≤ 32 and the change is counted.
 */
export const MOTION_MAX_NOISE_SIGMA = 8;
/** Median absolute deviation → σ for Gaussian noise (the consistency constant 1/Φ⁻¹(3/4)); not a tunable. */
const MAD_TO_SIGMA = 1.4826;
/**
 * Frames above the threshold before motion is reported: 3 (100 ms at 30 fps), so one glitch frame
 * (an exposure jump, a dropped or duplicated frame, a compression keyframe) cannot trigger.
 */
export const MOTION_ATTACK_FRAMES = 3;
/** Frames below the release threshold before motion ends: 15 (0.5 s at 30 fps) bridges brief pauses in a gesture. */
export const MOTION_RELEASE_FRAMES = 15;
/** Release threshold = attack threshold × 0.5: the hysteresis band that stops chatter at the edge. */
export const MOTION_RELEASE_RATIO = 0.5;

/** BT.601 luma weights (what camera JPEG pipelines use). */
const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

export type PixelFormat = 'gray' | 'rgb' | 'bgr' | 'rgba' | 'bgra';

/** A decoded frame: row-major, interleaved 8-bit channels, no row padding. */
export interface VideoFrame {
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
  readonly data: Uint8Array | Uint8ClampedArray;
}

/** Box-filtered luma on a coarse grid (grey levels 0–255). */
export interface LumaGrid {
  readonly width: number;
  readonly height: number;
  /** Cell side in source pixels. */
  readonly cell: number;
  readonly data: Float64Array;
}

export type MotionEventKind = 'motion_detected' | 'motion_ended';

/** `motion_event` payload: the reference's fields (§3) plus `ts`, `seq`, `release_threshold`, `pixel_threshold`. */
export interface MotionEvent {
  readonly kind: MotionEventKind;
  readonly source: string;
  readonly state: DetectorState;
  /** Mean changed-area fraction over the evidence: the attack run (detected) or the release run (ended). */
  readonly magnitude: number;
  /** Effective attack threshold (area fraction). */
  readonly threshold: number;
  /** Confidence in `state` (detector-common.ts `stateConfidence`). */
  readonly confidence: number;
  /** ISO-8601 capture time of the frame that completed the change, from the injected clock. */
  readonly ts: string;
  /** 1, 2, 3… per detector, never reused. */
  readonly seq: number;
  readonly release_threshold: number;
  /** Per-cell |Δ| a cell had to exceed (grey levels). */
  readonly pixel_threshold: number;
}

/** What `detect_motion` returns on demand. */
export interface MotionMeasurement {
  /** Changed-area fraction of the latest frame (0 for a first frame or after a resolution change). */
  readonly magnitude: number;
  readonly threshold: number;
  readonly release_threshold: number;
  readonly configured_threshold: number;
  /** Per-cell threshold in grey levels: max(MOTION_MIN_PIXEL_DELTA, MOTION_NOISE_K × noise_sigma). */
  readonly pixel_threshold: number;
  /** Robust estimate of the frame-to-frame noise σ on the grid (grey levels). */
  readonly noise_sigma: number;
  /** Median Δ of the latest frame (global brightness change, e.g. auto-exposure), removed before counting. */
  readonly global_shift: number;
  readonly state: DetectorState;
  /** Confidence in `state` given `magnitude`. */
  readonly confidence: number;
  readonly source: string;
  readonly grid_width: number;
  readonly grid_height: number;
  /** Frames accepted / rejected as malformed (bad size, short data, unknown format). */
  readonly frames: number;
  readonly rejected_frames: number;
}

export interface MotionOptions {
  /** Configured changed-area fraction, [0, 1]. */
  readonly threshold?: number;
  readonly attackFrames?: number;
  readonly releaseFrames?: number;
  /** The `source` label of events (the reference's free `source` param); "camera" by default. */
  readonly source?: string;
  readonly gridWidth?: number;
}

const CHANNELS: Record<PixelFormat, { stride: number; r: number; g: number; b: number }> = {
  gray: { stride: 1, r: 0, g: 0, b: 0 },
  rgb: { stride: 3, r: 0, g: 1, b: 2 },
  bgr: { stride: 3, r: 2, g: 1, b: 0 },
  rgba: { stride: 4, r: 0, g: 1, b: 2 },
  bgra: { stride: 4, r: 2, g: 1, b: 0 },
};

function isDimension(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/**
 * Box-filters a frame to a luma grid of `gridWidth` columns (square cells; the right and bottom
 * remainders narrower than a cell are ignored). Null for a malformed frame.
 */
export function downsampleLuma(frame: VideoFrame, gridWidth: number = MOTION_GRID_WIDTH): LumaGrid | null {
  const { width: w, height: h, data } = frame;
  const layout = Object.hasOwn(CHANNELS, frame.format) ? CHANNELS[frame.format] : undefined;
  if (layout === undefined || !isDimension(w) || !isDimension(h) || !isDimension(gridWidth)) return null;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray) || data.length < w * h * layout.stride) return null;
  const cell = Math.max(1, Math.min(Math.floor(w / gridWidth), h));
  const gw = Math.floor(w / cell);
  const gh = Math.floor(h / cell);
  const acc = new Float64Array(gw * gh);
  const { stride, r, g, b } = layout;
  const gray = frame.format === 'gray';
  for (let y = 0; y < gh * cell; y++) {
    const base = Math.floor(y / cell) * gw;
    let i = y * w * stride;
    for (let cx = 0; cx < gw; cx++) {
      let sum = 0;
      if (gray) {
        for (let k = 0; k < cell; k++, i++) sum += data[i]!;
      } else {
        for (let k = 0; k < cell; k++, i += stride) sum += LUMA_R * data[i + r]! + LUMA_G * data[i + g]! + LUMA_B * data[i + b]!;
      }
      acc[base + cx]! += sum;
    }
  }
  const area = cell * cell;
  for (let j = 0; j < acc.length; j++) acc[j]! /= area;
  return { width: gw, height: gh, cell, data: acc };
}

function median(values: Float64Array): number {
  if (values.length === 0) return 0;
  const sorted = values.slice().sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  return value;
}

export class MotionDetector {
  readonly configuredThreshold: number;
  readonly attackFrames: number;
  readonly releaseFrames: number;
  readonly source: string;
  readonly gridWidth: number;
  #previous: LumaGrid | null = null;
  #previousKey = '';
  readonly #noiseHistory = new Float64Array(MOTION_NOISE_HISTORY_FRAMES);
  #noiseCount = 0;
  #noisePos = 0;
  #sigma = 0;
  #shift = 0;
  #magnitude = 0;
  #state: DetectorState = 'inactive';
  #run = 0;
  #runSum = 0;
  #seq = 0;
  #lastEventMs = -Infinity;
  #frames = 0;
  #rejected = 0;

  constructor(options: MotionOptions = {}) {
    const threshold = options.threshold ?? MOTION_DEFAULT_THRESHOLD;
    if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);
    this.configuredThreshold = threshold;
    this.attackFrames = positiveInteger('attackFrames', options.attackFrames ?? MOTION_ATTACK_FRAMES);
    this.releaseFrames = positiveInteger('releaseFrames', options.releaseFrames ?? MOTION_RELEASE_FRAMES);
    this.gridWidth = positiveInteger('gridWidth', options.gridWidth ?? MOTION_GRID_WIDTH);
    this.source = options.source ?? 'camera';
  }

  get state(): DetectorState {
    return this.#state;
  }

  /** Effective attack threshold: max(configured, MOTION_MIN_THRESHOLD). */
  get threshold(): number {
    return Math.max(this.configuredThreshold, MOTION_MIN_THRESHOLD);
  }

  get releaseThreshold(): number {
    return this.threshold * MOTION_RELEASE_RATIO;
  }

  /** Per-cell threshold in grey levels. */
  get pixelThreshold(): number {
    return Math.max(MOTION_MIN_PIXEL_DELTA, MOTION_NOISE_K * this.#sigma);
  }

  /**
   * Feeds one decoded frame captured at `nowMs` and returns the state change it completes, or null.
   * A first frame, or one whose size or format differs from the previous, only sets the baseline
   * (magnitude 0, no event). Malformed frames are counted and ignored (the baseline is kept).
   */
  update(frame: VideoFrame, nowMs: number): MotionEvent | null {
    const grid = downsampleLuma(frame, this.gridWidth);
    if (grid === null) {
      this.#rejected++;
      return null;
    }
    this.#frames++;
    const key = `${frame.width}x${frame.height}:${frame.format}`;
    const previous = this.#previous;
    this.#previous = grid;
    if (previous === null || key !== this.#previousKey) {
      this.#previousKey = key;
      this.#noiseCount = 0;
      this.#noisePos = 0;
      this.#sigma = 0;
      this.#shift = 0;
      this.#magnitude = 0;
      this.#run = 0;
      this.#runSum = 0;
      return null;
    }
    const n = grid.data.length;
    const delta = new Float64Array(n);
    for (let i = 0; i < n; i++) delta[i] = grid.data[i]! - previous.data[i]!;
    const shift = median(delta);
    for (let i = 0; i < n; i++) delta[i] = Math.abs(delta[i]! - shift);
    this.#noiseHistory[this.#noisePos] = Math.min(MOTION_MAX_NOISE_SIGMA, median(delta) * MAD_TO_SIGMA);
    this.#noisePos = (this.#noisePos + 1) % MOTION_NOISE_HISTORY_FRAMES;
    this.#noiseCount = Math.min(MOTION_NOISE_HISTORY_FRAMES, this.#noiseCount + 1);
    this.#sigma = median(this.#noiseHistory.subarray(0, this.#noiseCount));
    this.#shift = shift;
    const pixelThreshold = this.pixelThreshold;
    let changed = 0;
    for (let i = 0; i < n; i++) if (delta[i]! > pixelThreshold) changed++;
    const magnitude = changed / n;
    this.#magnitude = magnitude;

    const active = this.#state === 'active';
    const onEvidence = active ? magnitude < this.releaseThreshold : magnitude >= this.threshold;
    if (!onEvidence) {
      this.#run = 0;
      this.#runSum = 0;
      return null;
    }
    this.#run++;
    this.#runSum += magnitude;
    if (this.#run >= (active ? this.releaseFrames : this.attackFrames)) {
      return this.#transition(active ? 'inactive' : 'active', this.#runSum / this.#run, nowMs);
    }
    return null;
  }

  /** The current measurement for `detect_motion`. */
  measure(): MotionMeasurement {
    const grid = this.#previous;
    const boundary = this.#state === 'active' ? this.releaseThreshold : this.threshold;
    return {
      magnitude: round6(this.#magnitude),
      threshold: round6(this.threshold),
      release_threshold: round6(this.releaseThreshold),
      configured_threshold: this.configuredThreshold,
      pixel_threshold: round6(this.pixelThreshold),
      noise_sigma: round6(this.#sigma),
      global_shift: round6(this.#shift),
      state: this.#state,
      confidence: stateConfidence(this.#state, this.#magnitude, boundary),
      source: this.source,
      grid_width: grid?.width ?? 0,
      grid_height: grid?.height ?? 0,
      frames: this.#frames,
      rejected_frames: this.#rejected,
    };
  }

  /**
   * Stops tracking (camera stopped, detection disabled): forgets the baseline so the next frame is a
   * first frame, and returns `motion_ended` if motion was in progress.
   */
  reset(nowMs: number): MotionEvent | null {
    this.#previous = null;
    this.#previousKey = '';
    this.#run = 0;
    this.#runSum = 0;
    const magnitude = this.#magnitude;
    this.#magnitude = 0;
    if (this.#state !== 'active') return null;
    return this.#transition('inactive', magnitude, nowMs);
  }

  #transition(state: DetectorState, magnitude: number, nowMs: number): MotionEvent {
    this.#state = state;
    this.#run = 0;
    this.#runSum = 0;
    const at = Number.isFinite(nowMs) ? Math.max(this.#lastEventMs, nowMs) : Math.max(this.#lastEventMs, 0);
    this.#lastEventMs = at;
    const threshold = this.threshold;
    const release = this.releaseThreshold;
    return {
      kind: state === 'active' ? 'motion_detected' : 'motion_ended',
      source: this.source,
      state,
      magnitude: round6(magnitude),
      threshold: round6(threshold),
      confidence: stateConfidence(state, magnitude, state === 'active' ? release : threshold),
      ts: isoTimestamp(at),
      seq: ++this.#seq,
      release_threshold: round6(release),
      pixel_threshold: round6(this.pixelThreshold),
    };
  }
}
