// The fake robot's camera: a synthetic I420 test pattern (a bright box sweeping across a colour
// gradient, plus a binary frame-counter strip), rendered as a pure function of (scene, media time,
// frame index) so tests can inject the clock and get the same bytes back. Scenes: `moving`,
// `static` (bit-identical frames) and `static-noisy` (the static scene plus per-frame Gaussian-ish
// sensor noise on luma, to check that noise is not taken for motion). Owns pixels only: no timers,
// no encoding. Layout is the camera's own I420 (reachy-daemon-api.md §9.1: camera → I420 caps).

export type TestPatternScene = 'moving' | 'static' | 'static-noisy';
export const TEST_PATTERN_SCENES: readonly TestPatternScene[] = ['moving', 'static', 'static-noisy'];

/** Studio-swing luma limits (BT.601 limited range, what camera pipelines produce). */
const LUMA_BLACK = 16;
const LUMA_WHITE = 235;
const CHROMA_NEUTRAL = 128;
/** Background luma spans 40..200 so the white box (235) stands out everywhere and noise never clips at 0 or 255. */
export const BACKGROUND_LUMA_MIN = 40;
export const BACKGROUND_LUMA_SPAN = 160;
/** Chroma gradients ±48 around neutral: visibly coloured, far from clipping. */
export const BACKGROUND_CHROMA_SPAN = 96;

/** One sweep of the box across the frame and back takes 4 s: slow enough to follow, fast enough that consecutive frames differ at 30 fps. */
export const BOX_SWEEP_PERIOD_MS = 4_000;
/** Box side as a fraction of the frame height: large enough to survive 320×240 test streams and JPEG thumbnails. */
export const BOX_SIZE_FRACTION = 1 / 5;
/** 16 bits of frame counter: wraps after 65 536 frames (36 min at 30 fps), far beyond any test. */
export const FRAME_COUNTER_BITS = 16;
/** Counter cells are 1/64 of the width (20 px at 1280), at least 4 px so they survive 4:2:0 chroma and block coding. */
export const COUNTER_CELL_FRACTION = 1 / 64;
export const COUNTER_CELL_MIN_PX = 4;
/**
 * Sensor noise σ of `static-noisy`, in luma steps: about what a small camera sensor shows indoors
 * (σ≈5 out of 219), enough to defeat an exact-compare motion detector.
 */
export const SENSOR_NOISE_SIGMA = 5;
/** Distinct per-frame noise windows: offsets into one precomputed noise field (cheap per-frame noise). */
export const NOISE_OFFSETS = 1 << 16;
/** Default noise seed: any constant; fixed so `static-noisy` frames are reproducible. */
export const DEFAULT_NOISE_SEED = 0x5eed_c0de;

export interface BoxRect {
  readonly x: number;
  readonly y: number;
  readonly size: number;
}

export function i420Size(width: number, height: number): number {
  return width * height + 2 * (width / 2) * (height / 2);
}

function assertGeometry(width: number, height: number): void {
  for (const [name, value] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(value) || value < 16 || value % 2 !== 0 || value > 8192) {
      throw new RangeError(`test pattern ${name} must be an even integer in 16..8192, got ${value}`);
    }
  }
}

/** mulberry32: a tiny seeded PRNG (uniform in [0, 1)); reproducibility matters here, not quality. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A 32-bit integer hash (for per-frame noise offsets): lowbias32. */
function hash32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export class TestPattern {
  readonly width: number;
  readonly height: number;
  readonly frameBytes: number;
  readonly #background: Uint8Array;
  readonly #seed: number;
  readonly #boxSize: number;
  readonly #cell: number;
  #noise: Int8Array | null = null;

  constructor(width: number, height: number, seed: number = DEFAULT_NOISE_SEED) {
    assertGeometry(width, height);
    this.width = width;
    this.height = height;
    this.frameBytes = i420Size(width, height);
    this.#seed = seed;
    this.#boxSize = Math.max(8, Math.floor((height * BOX_SIZE_FRACTION) / 2) * 2);
    this.#cell = Math.max(COUNTER_CELL_MIN_PX, Math.floor((width * COUNTER_CELL_FRACTION) / 2) * 2);
    this.#background = this.#renderBackground();
  }

  /** Where the box is at `timeMs` in a moving scene (static scenes hold it at the centre). */
  boxAt(scene: TestPatternScene, timeMs: number): BoxRect {
    const size = this.#boxSize;
    const travel = this.width - size;
    const y = Math.floor((this.height - size) / 4) * 2;
    if (scene !== 'moving') return { x: Math.floor(travel / 4) * 2, y, size };
    const phase = (((timeMs % BOX_SWEEP_PERIOD_MS) + BOX_SWEEP_PERIOD_MS) % BOX_SWEEP_PERIOD_MS) / BOX_SWEEP_PERIOD_MS;
    const triangle = phase < 0.5 ? phase * 2 : 2 - phase * 2;
    return { x: Math.floor((travel * triangle) / 2) * 2, y, size };
  }

  /**
   * A new I420 frame. `moving`: box position from `timeMs`, counter from `frameIndex`; `static`:
   * the same bytes every call; `static-noisy`: the static frame plus noise chosen by `frameIndex`.
   */
  render(scene: TestPatternScene, timeMs: number, frameIndex: number): Uint8Array {
    const frame = new Uint8Array(this.#background);
    this.#drawBox(frame, this.boxAt(scene, timeMs));
    this.#drawCounter(frame, scene === 'moving' ? frameIndex : 0);
    if (scene === 'static-noisy') this.#addNoise(frame, frameIndex);
    return frame;
  }

  /** The counter value drawn in an I420 frame of this geometry (reads the strip back; for tests and consumers). */
  readCounter(frame: Uint8Array): number {
    const { width } = this;
    const cell = this.#cell;
    const threshold = (LUMA_BLACK + LUMA_WHITE) / 2;
    let value = 0;
    for (let bit = 0; bit < FRAME_COUNTER_BITS; bit++) {
      const cx = cell * (bit + 1) + cell / 2;
      const cy = cell + cell / 2;
      if ((frame[cy * width + cx] ?? 0) > threshold) value |= 1 << (FRAME_COUNTER_BITS - 1 - bit);
    }
    return value;
  }

  #renderBackground(): Uint8Array {
    const { width, height } = this;
    const frame = new Uint8Array(this.frameBytes);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        // Diagonal luma ramp: every row and every column changes, so shifts are visible.
        frame[y * width + x] = BACKGROUND_LUMA_MIN + Math.round((BACKGROUND_LUMA_SPAN * (x / width + y / height)) / 2);
      }
    }
    const cw = width / 2;
    const ch = height / 2;
    const uOffset = width * height;
    const vOffset = uOffset + cw * ch;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        frame[uOffset + y * cw + x] = CHROMA_NEUTRAL - BACKGROUND_CHROMA_SPAN / 2 + Math.round((BACKGROUND_CHROMA_SPAN * x) / cw);
        frame[vOffset + y * cw + x] = CHROMA_NEUTRAL - BACKGROUND_CHROMA_SPAN / 2 + Math.round((BACKGROUND_CHROMA_SPAN * y) / ch);
      }
    }
    return frame;
  }

  #fillLuma(frame: Uint8Array, x0: number, y0: number, w: number, h: number, value: number): void {
    for (let y = y0; y < y0 + h; y++) frame.fill(value, y * this.width + x0, y * this.width + x0 + w);
  }

  #fillChroma(frame: Uint8Array, x0: number, y0: number, w: number, h: number, value: number): void {
    const cw = this.width / 2;
    const uOffset = this.width * this.height;
    const vOffset = uOffset + cw * (this.height / 2);
    for (let y = y0 / 2; y < (y0 + h) / 2; y++) {
      frame.fill(value, uOffset + y * cw + x0 / 2, uOffset + y * cw + (x0 + w) / 2);
      frame.fill(value, vOffset + y * cw + x0 / 2, vOffset + y * cw + (x0 + w) / 2);
    }
  }

  #drawBox(frame: Uint8Array, box: BoxRect): void {
    this.#fillLuma(frame, box.x, box.y, box.size, box.size, LUMA_WHITE);
    this.#fillChroma(frame, box.x, box.y, box.size, box.size, CHROMA_NEUTRAL);
  }

  #drawCounter(frame: Uint8Array, value: number): void {
    const cell = this.#cell;
    // A black frame around the strip keeps the cells readable on any background.
    this.#fillLuma(frame, 0, 0, cell * (FRAME_COUNTER_BITS + 2), cell * 3, LUMA_BLACK);
    this.#fillChroma(frame, 0, 0, cell * (FRAME_COUNTER_BITS + 2), cell * 3, CHROMA_NEUTRAL);
    for (let bit = 0; bit < FRAME_COUNTER_BITS; bit++) {
      const on = ((value >>> (FRAME_COUNTER_BITS - 1 - bit)) & 1) === 1;
      if (on) this.#fillLuma(frame, cell * (bit + 1), cell, cell, cell, LUMA_WHITE);
    }
  }

  /** Noise field: width×height + NOISE_OFFSETS samples of N(0, σ) (Box–Muller), built on first use. */
  #noiseField(): Int8Array {
    if (this.#noise) return this.#noise;
    const random = mulberry32(this.#seed);
    const field = new Int8Array(this.width * this.height + NOISE_OFFSETS);
    for (let i = 0; i < field.length; i += 2) {
      const u1 = Math.max(random(), Number.MIN_VALUE);
      const u2 = random();
      const radius = SENSOR_NOISE_SIGMA * Math.sqrt(-2 * Math.log(u1));
      field[i] = Math.max(-127, Math.min(127, Math.round(radius * Math.cos(2 * Math.PI * u2))));
      if (i + 1 < field.length) field[i + 1] = Math.max(-127, Math.min(127, Math.round(radius * Math.sin(2 * Math.PI * u2))));
    }
    this.#noise = field;
    return field;
  }

  #addNoise(frame: Uint8Array, frameIndex: number): void {
    const field = this.#noiseField();
    const offset = hash32(frameIndex ^ this.#seed) % NOISE_OFFSETS;
    const lumaBytes = this.width * this.height;
    for (let i = 0; i < lumaBytes; i++) {
      const value = (frame[i] ?? 0) + (field[offset + i] ?? 0);
      frame[i] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
}
