// The emulator camera's `world` scene: a synthetic 360° room around the robot, seen through an
// ideal pinhole camera (src/media/camera-intrinsics.ts) oriented by the head's present world pose,
// so a panorama of the emulator can be checked against known geometry. The room: a grey gradient
// (brighter up), faint grid lines every 10° of yaw and elevation, a white horizon line, and
// coloured vertical bars (the yaw markers) at every 30° of world yaw. Owns pixels only (I420, the
// camera's layout, reachy-daemon-api.md §9.1); not timers, encoding or where the pose comes from.
import { pixelRayInHead, type PinholeIntrinsics } from '../../media/camera-intrinsics.ts';
import type { Mat3 } from '../../robot/pose-math.ts';
import { i420Size, type TestPatternScene } from './test-pattern.ts';

/** The camera scenes: the test patterns, and `world` (this room, seen from the head's pose). */
export type CameraScene = TestPatternScene | 'world';

/** What the `world` scene needs: the room renderer and the head's present orientation (world ← head). */
export interface WorldCamera {
  readonly scene: WorldScene;
  readonly headRotation: () => Mat3;
}

export interface MarkerColour {
  readonly name: string;
  /** sRGB, for detectors in tests. */
  readonly rgb: readonly [number, number, number];
}

/** Saturated, well-separated hues: they survive 4:2:0 chroma, H.264/VP8 and JPEG. */
export const MARKER_COLOURS: readonly MarkerColour[] = [
  { name: 'red', rgb: [230, 30, 30] },
  { name: 'green', rgb: [30, 200, 40] },
  { name: 'blue', rgb: [40, 60, 230] },
  { name: 'yellow', rgb: [235, 220, 30] },
  { name: 'magenta', rgb: [220, 40, 220] },
  { name: 'cyan', rgb: [30, 210, 220] },
];
/** One marker every 30° of world yaw: six colours repeat every 180°, so the ±90° a head can see holds each once. */
export const MARKER_SPACING_DEG = 30;
/** Bar half width: 3° wide bars are ~35 px at 720p and ~17 px in a 640 px capture. */
export const MARKER_HALF_WIDTH_DEG = 1.5;
/** Bars span this elevation either side of the horizon (the rest is floor and ceiling). */
export const MARKER_HALF_HEIGHT_DEG = 60;
/** Horizon line half thickness. */
export const HORIZON_HALF_DEG = 0.4;
/** Grid lines every 10°, 0.25° thick: visible seams would show a misplaced frame. */
export const GRID_SPACING_DEG = 10;
const GRID_HALF_DEG = 0.25;

export interface YawMarker {
  readonly yawDeg: number;
  readonly colour: MarkerColour;
}

/** Every marker of the room: world yaws −150…180 in 30° steps; yaw 0 is red, +30 green, +60 blue, … */
export const YAW_MARKERS: readonly YawMarker[] = Array.from({ length: 360 / MARKER_SPACING_DEG }, (_, i) => {
  const yawDeg = -150 + i * MARKER_SPACING_DEG;
  const index = (((Math.round(yawDeg / MARKER_SPACING_DEG) % MARKER_COLOURS.length) + MARKER_COLOURS.length) % MARKER_COLOURS.length);
  return { yawDeg, colour: MARKER_COLOURS[index]! };
});

function yuv(rgb: readonly [number, number, number]): [number, number, number] {
  const [r, g, b] = rgb;
  // BT.601 limited range, what the camera pipeline produces.
  return [16 + (65.738 * r + 129.057 * g + 25.064 * b) / 256, 128 + (-37.945 * r - 74.494 * g + 112.439 * b) / 256, 128 + (112.439 * r - 94.154 * g - 18.285 * b) / 256];
}

const MARKER_YUV = YAW_MARKERS.map((m) => yuv(m.colour.rgb));
const RAD = 180 / Math.PI;

function nearLine(valueDeg: number, spacing: number, half: number): boolean {
  const r = ((valueDeg % spacing) + spacing) % spacing;
  return r < half || spacing - r < half;
}

/** The room's colour (Y, U, V) in the world direction (yaw left-positive, elevation up-positive), in degrees. */
export function sceneColour(yawDeg: number, elevationDeg: number, out: [number, number, number]): void {
  if (Math.abs(elevationDeg) <= MARKER_HALF_HEIGHT_DEG) {
    const k = Math.round(yawDeg / MARKER_SPACING_DEG);
    if (Math.abs(yawDeg - k * MARKER_SPACING_DEG) <= MARKER_HALF_WIDTH_DEG) {
      const index = (((k + 5) % YAW_MARKERS.length) + YAW_MARKERS.length) % YAW_MARKERS.length;
      const c = MARKER_YUV[index]!;
      out[0] = c[0];
      out[1] = c[1];
      out[2] = c[2];
      return;
    }
  }
  out[1] = 128;
  out[2] = 128;
  if (Math.abs(elevationDeg) <= HORIZON_HALF_DEG) {
    out[0] = 235;
    return;
  }
  let y = 70 + elevationDeg * 0.6;
  if (nearLine(yawDeg, GRID_SPACING_DEG, GRID_HALF_DEG) || nearLine(elevationDeg, GRID_SPACING_DEG, GRID_HALF_DEG)) y += 35;
  out[0] = y;
}

/**
 * Pixels per side of a block sharing one world direction: 4 keeps a 720p re-render near 10 ms
 * (the camera re-renders on every frame while the head moves, at up to 30 fps on a shared CI core);
 * markers stay ~9 blocks wide and their edges within 0.2° of the truth.
 */
export const BLOCK_PX = 4;

/** Renders the room for a head orientation; re-renders only when the orientation changes. */
export class WorldScene {
  readonly width: number;
  readonly height: number;
  readonly intrinsics: PinholeIntrinsics;
  readonly #bw: number;
  readonly #bh: number;
  /** Head-frame unit ray (x, y, z) of each block's centre. */
  readonly #rays: Float32Array;
  #lastKey = '';
  #last: Uint8Array | null = null;

  constructor(intrinsics: PinholeIntrinsics) {
    if (intrinsics.width % 2 !== 0 || intrinsics.height % 2 !== 0) throw new RangeError('world scene needs an even picture size');
    this.width = intrinsics.width;
    this.height = intrinsics.height;
    this.intrinsics = intrinsics;
    this.#bw = Math.ceil(this.width / BLOCK_PX);
    this.#bh = Math.ceil(this.height / BLOCK_PX);
    this.#rays = new Float32Array(this.#bw * this.#bh * 3);
    for (let by = 0; by < this.#bh; by++) {
      for (let bx = 0; bx < this.#bw; bx++) {
        const cx = Math.min(this.width, (bx + 1) * BLOCK_PX);
        const cy = Math.min(this.height, (by + 1) * BLOCK_PX);
        // Pixel centres are at integer + 0.5: the block's centre is the middle of its pixel span.
        const [x, y, z] = pixelRayInHead(intrinsics, (bx * BLOCK_PX + cx) / 2, (by * BLOCK_PX + cy) / 2);
        const n = Math.sqrt(x * x + y * y + z * z);
        const i = (by * this.#bw + bx) * 3;
        this.#rays[i] = x / n;
        this.#rays[i + 1] = y / n;
        this.#rays[i + 2] = z / n;
      }
    }
  }

  /** A new I420 frame of the room seen with head rotation `r` (world ← head, row-major 3×3). */
  render(r: Mat3): Uint8Array {
    const key = r.map((v) => v.toFixed(5)).join(',');
    if (this.#last && key === this.#lastKey) return new Uint8Array(this.#last);
    const frame = this.#draw(r);
    this.#last = frame;
    this.#lastKey = key;
    return new Uint8Array(frame);
  }

  #draw(r: Mat3): Uint8Array {
    const { width, height } = this;
    const frame = new Uint8Array(i420Size(width, height));
    const cw = width / 2;
    const ch = height / 2;
    const uOffset = width * height;
    const vOffset = uOffset + cw * ch;
    const [r0 = 1, r1 = 0, r2 = 0, r3 = 0, r4 = 1, r5 = 0, r6 = 0, r7 = 0, r8 = 1] = r;
    const rays = this.#rays;
    const colour: [number, number, number] = [0, 0, 0];
    const half = BLOCK_PX / 2;
    for (let by = 0; by < this.#bh; by++) {
      const y0 = by * BLOCK_PX;
      const y1 = Math.min(height, y0 + BLOCK_PX);
      for (let bx = 0; bx < this.#bw; bx++) {
        const i = (by * this.#bw + bx) * 3;
        const hx = rays[i]!;
        const hy = rays[i + 1]!;
        const hz = rays[i + 2]!;
        const wx = r0 * hx + r1 * hy + r2 * hz;
        const wy = r3 * hx + r4 * hy + r5 * hz;
        const wz = r6 * hx + r7 * hy + r8 * hz;
        sceneColour(Math.atan2(wy, wx) * RAD, Math.asin(wz > 1 ? 1 : wz < -1 ? -1 : wz) * RAD, colour);
        const x0 = bx * BLOCK_PX;
        const x1 = Math.min(width, x0 + BLOCK_PX);
        const luma = colour[0] | 0;
        for (let y = y0; y < y1; y++) for (let x = y * width + x0, end = y * width + x1; x < end; x++) frame[x] = luma;
        const u = colour[1] | 0;
        const v = colour[2] | 0;
        const cx0 = bx * half;
        const cx1 = Math.min(cw, cx0 + half);
        for (let y = by * half, yEnd = Math.min(ch, (by + 1) * half); y < yEnd; y++) {
          for (let x = cx0; x < cx1; x++) {
            frame[uOffset + y * cw + x] = u;
            frame[vOffset + y * cw + x] = v;
          }
        }
      }
    }
    return frame;
  }
}
