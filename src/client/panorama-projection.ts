// The real panorama: an equirectangular image (x = world yaw, decreasing to the right as seen from
// the robot; y = elevation, up at the top) into which every frame is projected through its own
// head orientation (world yaw/pitch/roll, the daemon's head pose is in the world frame,
// reachy-daemon-api.md §5) and pinhole intrinsics (src/media/camera-intrinsics.ts), and blended
// with feathered weights (highest at a frame's centre, zero at its border). Owns the maths on raw
// RGB buffers only: no decoding, no files (panorama-artifacts.ts does those).
import { pixelRayInHead, type PinholeIntrinsics } from '../media/camera-intrinsics.ts';
import { degToRad, rotationFromRpy, type Mat3 } from '../robot/pose-math.ts';

export interface ProjectionFrame {
  /** Packed RGB, width × height × 3. */
  readonly rgb: Uint8Array;
  /** Intrinsics at this picture's size (width, height). */
  readonly intrinsics: PinholeIntrinsics;
  /** Head orientation in the world frame, degrees (positive yaw turns left, positive pitch looks down). */
  readonly yawDeg: number;
  readonly pitchDeg: number;
  readonly rollDeg: number;
}

export interface PanoramaImage {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** World yaw at the left edge of column 0 and elevation at the top edge of row 0, degrees. */
  readonly yawLeftDeg: number;
  readonly elevationTopDeg: number;
  readonly pxPerDeg: number;
  /** Yaw span (degrees) and elevation span covered by the image. */
  readonly yawSpanDeg: number;
  readonly elevationSpanDeg: number;
}

/** Background where no frame projects, the reference contact sheet's grey. */
export const PANORAMA_BACKGROUND: readonly [number, number, number] = [32, 32, 32];
/** Frame border rays sampled per side to find a frame's footprint. */
const FOOTPRINT_SAMPLES = 16;
/** Footprints are widened by this much on each side, so rounding never clips a frame. */
const FOOTPRINT_MARGIN_DEG = 1;
/** Largest output, pixels: 360°×180° at ~11 px/degree; more would only blur larger. */
export const MAX_PANORAMA_PIXELS = 8_000_000;

/** ((x + 180) mod 360) − 180: a yaw in [−180, 180). */
export function wrapDeg(x: number): number {
  return ((((x + 180) % 360) + 360) % 360) - 180;
}

/** World ← head rotation of a head orientation given in degrees. */
export function headRotation(yawDeg: number, pitchDeg: number, rollDeg: number): Mat3 {
  return rotationFromRpy(degToRad(rollDeg), degToRad(pitchDeg), degToRad(yawDeg));
}

/** World (yaw, elevation) in degrees of a frame's pixel (u, v). */
export function pixelToWorld(frame: Pick<ProjectionFrame, 'intrinsics' | 'yawDeg' | 'pitchDeg' | 'rollDeg'>, u: number, v: number): { yawDeg: number; elevationDeg: number } {
  const r = headRotation(frame.yawDeg, frame.pitchDeg, frame.rollDeg);
  const [hx, hy, hz] = pixelRayInHead(frame.intrinsics, u, v);
  const wx = r[0]! * hx + r[1]! * hy + r[2]! * hz;
  const wy = r[3]! * hx + r[4]! * hy + r[5]! * hz;
  const wz = r[6]! * hx + r[7]! * hy + r[8]! * hz;
  return { yawDeg: (Math.atan2(wy, wx) * 180) / Math.PI, elevationDeg: (Math.atan2(wz, Math.hypot(wx, wy)) * 180) / Math.PI };
}

/** Pixel (u, v) of a frame where the world direction (yaw, elevation) lands; null behind the camera. */
export function worldToPixel(frame: Pick<ProjectionFrame, 'intrinsics' | 'yawDeg' | 'pitchDeg' | 'rollDeg'>, yawDeg: number, elevationDeg: number): { u: number; v: number } | null {
  const r = headRotation(frame.yawDeg, frame.pitchDeg, frame.rollDeg);
  const phi = degToRad(yawDeg);
  const eps = degToRad(elevationDeg);
  const dx = Math.cos(eps) * Math.cos(phi);
  const dy = Math.cos(eps) * Math.sin(phi);
  const dz = Math.sin(eps);
  // Head-frame direction: Rᵀ·d; optical z = head x, optical x = −head y, optical y = −head z.
  const hx = r[0]! * dx + r[3]! * dy + r[6]! * dz;
  const hy = r[1]! * dx + r[4]! * dy + r[7]! * dz;
  const hz = r[2]! * dx + r[5]! * dy + r[8]! * dz;
  if (hx <= 1e-9) return null;
  const k = frame.intrinsics;
  return { u: k.cx + (k.fx * -hy) / hx, v: k.cy + (k.fy * -hz) / hx };
}

interface Footprint {
  /** Yaw interval, degrees, as [centre − left, centre + right] around the frame's own yaw (no wrap inside). */
  readonly yawMin: number;
  readonly yawMax: number;
  readonly elevationMin: number;
  readonly elevationMax: number;
}

/** The frame's extent in world yaw (unwrapped around its centre yaw) and elevation, from its border rays. */
export function footprint(frame: Pick<ProjectionFrame, 'intrinsics' | 'yawDeg' | 'pitchDeg' | 'rollDeg'>): Footprint {
  const { width, height } = frame.intrinsics;
  const centre = pixelToWorld(frame, width / 2, height / 2).yawDeg;
  let yawMin = Infinity;
  let yawMax = -Infinity;
  let elevationMin = Infinity;
  let elevationMax = -Infinity;
  const visit = (u: number, v: number) => {
    const w = pixelToWorld(frame, u, v);
    const yaw = centre + wrapDeg(w.yawDeg - centre);
    yawMin = Math.min(yawMin, yaw);
    yawMax = Math.max(yawMax, yaw);
    elevationMin = Math.min(elevationMin, w.elevationDeg);
    elevationMax = Math.max(elevationMax, w.elevationDeg);
  };
  for (let i = 0; i <= FOOTPRINT_SAMPLES; i++) {
    const s = i / FOOTPRINT_SAMPLES;
    visit(s * width, 0);
    visit(s * width, height);
    visit(0, s * height);
    visit(width, s * height);
  }
  // A view through the zenith or nadir covers every yaw.
  if (elevationMax > 89 || elevationMin < -89 || yawMax - yawMin > 300) return { yawMin: -180, yawMax: 180, elevationMin: Math.max(-90, elevationMin - FOOTPRINT_MARGIN_DEG), elevationMax: Math.min(90, elevationMax + FOOTPRINT_MARGIN_DEG) };
  return { yawMin: yawMin - FOOTPRINT_MARGIN_DEG, yawMax: yawMax + FOOTPRINT_MARGIN_DEG, elevationMin: Math.max(-90, elevationMin - FOOTPRINT_MARGIN_DEG), elevationMax: Math.min(90, elevationMax + FOOTPRINT_MARGIN_DEG) };
}

/**
 * The covered yaw arc of several footprints on the circle: its left (largest) yaw and its span,
 * found as the complement of the largest uncovered gap (whole degrees).
 */
export function coveredArc(prints: readonly Footprint[]): { yawLeftDeg: number; spanDeg: number } {
  const covered = new Uint8Array(360);
  for (const p of prints) {
    for (let yaw = Math.floor(p.yawMin); yaw < Math.ceil(p.yawMax); yaw++) covered[(((yaw + 180) % 360) + 360) % 360] = 1;
  }
  // The largest circular run of uncovered 1° bins; bin b is yaw [b − 180, b − 179).
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 360; start++) {
    if (covered[start] || !covered[(start + 359) % 360]) continue;
    let length = 0;
    while (length < 360 && !covered[(start + length) % 360]) length++;
    if (length > bestLength) {
      bestLength = length;
      bestStart = start;
    }
  }
  if (bestLength === 0) return { yawLeftDeg: 180, spanDeg: 360 };
  // Going left to right means decreasing yaw: the arc starts just below the gap's lowest bin.
  return { yawLeftDeg: bestStart - 180, spanDeg: 360 - bestLength };
}

/** Pixels per degree that keep the frames' own resolution at their centres (the finest frame wins). */
export function nativePxPerDeg(frames: readonly Pick<ProjectionFrame, 'intrinsics'>[]): number {
  return Math.max(...frames.map((f) => (f.intrinsics.fx * Math.PI) / 180));
}

interface Accumulator {
  readonly sum: Float32Array;
  readonly weight: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly yawLeftDeg: number;
  readonly elevationTopDeg: number;
  readonly pxPerDeg: number;
}

/** Adds one frame: for each panorama pixel of its footprint, the bilinear sample at its projection, weighted by distance to the frame's border. */
function accumulate(acc: Accumulator, frame: ProjectionFrame, print: Footprint): void {
  const { width: fw, height: fh, fx, fy, cx, cy } = frame.intrinsics;
  const r = headRotation(frame.yawDeg, frame.pitchDeg, frame.rollDeg);
  const [r0, r1, r2, r3, r4, r5, r6, r7, r8] = r as [number, number, number, number, number, number, number, number, number];
  const feather = Math.min(fw, fh) / 2;
  const rows0 = Math.max(0, Math.floor((acc.elevationTopDeg - print.elevationMax) * acc.pxPerDeg));
  const rows1 = Math.min(acc.height, Math.ceil((acc.elevationTopDeg - print.elevationMin) * acc.pxPerDeg));
  // Columns: the footprint's yaw interval relative to the left edge, possibly wrapping past 360°.
  const start = (((acc.yawLeftDeg - print.yawMax) % 360) + 360) % 360;
  const spanCols = Math.ceil((print.yawMax - print.yawMin) * acc.pxPerDeg);
  const fullCols = Math.round(360 * acc.pxPerDeg);
  const col0 = Math.floor(start * acc.pxPerDeg);
  const rgb = frame.rgb;
  for (let y = rows0; y < rows1; y++) {
    const eps = degToRad(acc.elevationTopDeg - (y + 0.5) / acc.pxPerDeg);
    const ce = Math.cos(eps);
    const dz = Math.sin(eps);
    for (let c = 0; c <= spanCols; c++) {
      let x = col0 + c;
      if (x < 0) x += fullCols;
      if (x >= fullCols) x -= fullCols;
      if (x < 0 || x >= acc.width) continue;
      const phi = degToRad(acc.yawLeftDeg - (x + 0.5) / acc.pxPerDeg);
      const dx = ce * Math.cos(phi);
      const dy = ce * Math.sin(phi);
      const hx = r0 * dx + r3 * dy + r6 * dz;
      if (hx <= 1e-9) continue;
      const hy = r1 * dx + r4 * dy + r7 * dz;
      const hz = r2 * dx + r5 * dy + r8 * dz;
      // Pixel coordinates with centres at integers (u = 0 is the first pixel's centre).
      const u = cx + (fx * -hy) / hx - 0.5;
      const v = cy + (fy * -hz) / hx - 0.5;
      if (u < 0 || v < 0 || u > fw - 1 || v > fh - 1) continue;
      const w = Math.min(u + 0.5, fw - 0.5 - u, v + 0.5, fh - 0.5 - v) / feather;
      if (w <= 0) continue;
      const u0 = Math.min(fw - 2, Math.floor(u));
      const v0 = Math.min(fh - 2, Math.floor(v));
      const au = u - u0;
      const av = v - v0;
      const i00 = (v0 * fw + u0) * 3;
      const i10 = i00 + 3;
      const i01 = i00 + fw * 3;
      const i11 = i01 + 3;
      const o = (y * acc.width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = rgb[i00 + ch]! + (rgb[i10 + ch]! - rgb[i00 + ch]!) * au;
        const bottom = rgb[i01 + ch]! + (rgb[i11 + ch]! - rgb[i01 + ch]!) * au;
        acc.sum[o + ch]! += w * (top + (bottom - top) * av);
      }
      acc.weight[y * acc.width + x]! += w;
    }
  }
}

/**
 * Projects and blends frames into one equirectangular image cropped to what they cover.
 * `pxPerDeg` defaults to the frames' native resolution (capped by MAX_PANORAMA_PIXELS).
 */
export function projectEquirectangular(frames: readonly ProjectionFrame[], options: { readonly pxPerDeg?: number } = {}): PanoramaImage {
  if (frames.length === 0) throw new RangeError('a panorama needs at least one frame');
  const prints = frames.map((f) => footprint(f));
  const arc = coveredArc(prints);
  const elevationTopDeg = Math.min(90, Math.ceil(Math.max(...prints.map((p) => p.elevationMax))));
  const elevationBottomDeg = Math.max(-90, Math.floor(Math.min(...prints.map((p) => p.elevationMin))));
  const elevationSpanDeg = elevationTopDeg - elevationBottomDeg;
  let pxPerDeg = options.pxPerDeg ?? nativePxPerDeg(frames);
  const area = arc.spanDeg * elevationSpanDeg * pxPerDeg * pxPerDeg;
  if (area > MAX_PANORAMA_PIXELS) pxPerDeg *= Math.sqrt(MAX_PANORAMA_PIXELS / area);
  const width = Math.max(1, Math.round(arc.spanDeg * pxPerDeg));
  const height = Math.max(1, Math.round(elevationSpanDeg * pxPerDeg));
  const acc: Accumulator = { sum: new Float32Array(width * height * 3), weight: new Float32Array(width * height), width, height, yawLeftDeg: arc.yawLeftDeg, elevationTopDeg, pxPerDeg };
  frames.forEach((frame, i) => accumulate(acc, frame, prints[i]!));
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const w = acc.weight[p]!;
    for (let ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = w > 0 ? Math.round(acc.sum[p * 3 + ch]! / w) : PANORAMA_BACKGROUND[ch]!;
  }
  return { rgb, width, height, yawLeftDeg: arc.yawLeftDeg, elevationTopDeg, pxPerDeg, yawSpanDeg: arc.spanDeg, elevationSpanDeg };
}

/** Column (pixel centre coordinate, may be fractional) of world yaw `yawDeg` in a panorama. */
export function columnOfYaw(image: Pick<PanoramaImage, 'yawLeftDeg' | 'pxPerDeg'>, yawDeg: number): number {
  return (((((image.yawLeftDeg - yawDeg) % 360) + 360) % 360) * image.pxPerDeg) - 0.5;
}

/** Row (pixel centre coordinate) of elevation `elevationDeg` in a panorama. */
export function rowOfElevation(image: Pick<PanoramaImage, 'elevationTopDeg' | 'pxPerDeg'>, elevationDeg: number): number {
  return (image.elevationTopDeg - elevationDeg) * image.pxPerDeg - 0.5;
}
