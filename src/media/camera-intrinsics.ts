// Pinhole intrinsics of the robot's camera at a given picture size, and the camera's geometry in
// the head: what the panorama projection (src/client/panorama-projection.ts) and the emulator's
// world scene (src/sim/media/world-scene.ts) share, so both use the same model by construction.
// Follows reachy-daemon-api.md §9.3 (K calibrated at 3840×2592, per-resolution scaling with the
// crop factor) and §8 (optical z → head x, optical x → head −y, optical y → head −z). Lens
// distortion (D) is not modelled: pictures are treated as ideal pinhole images. Pure maths, no I/O.
import { cameraSpecsByName, type CameraSpecs } from '../sim/camera-specs.ts';

export interface PinholeIntrinsics {
  /** Picture size these intrinsics apply to, in pixels. */
  readonly width: number;
  readonly height: number;
  readonly fx: number;
  readonly fy: number;
  readonly cx: number;
  readonly cy: number;
}

/** The calibration resolution of the Lite/Wireless K (the full sensor, §9.3). */
export const CALIBRATION_SIZE = { width: 3840, height: 2592 } as const;
/**
 * The `generic` camera of the daemon's mockup (§9.3): 1280×720, fx = fy = 640, centred, no
 * distortion. The Lite/Wireless tables come from the daemon's camera constants (camera-specs.ts).
 */
export const GENERIC_INTRINSICS: PinholeIntrinsics = { width: 1280, height: 720, fx: 640, fy: 640, cx: 640, cy: 360 };

function entry(k: CameraSpecs['K'], row: number, col: number): number {
  return k[row]?.[col] ?? Number.NaN;
}

/** K of a camera's default resolution, by the daemon's scaling rule (fx' = fx·(w/3840)·crop, cx' = cx·w/3840). */
export function defaultResolutionIntrinsics(specs: CameraSpecs): PinholeIntrinsics {
  const { width, height, crop_factor: crop } = specs.default_resolution;
  const sx = width / CALIBRATION_SIZE.width;
  const sy = height / CALIBRATION_SIZE.height;
  return { width, height, fx: entry(specs.K, 0, 0) * sx * crop, fy: entry(specs.K, 1, 1) * sy * crop, cx: entry(specs.K, 0, 2) * sx, cy: entry(specs.K, 1, 2) * sy };
}

/** The same optics seen in a picture of another size (the stream or a downscaled capture): each axis scales on its own. */
export function scaleIntrinsics(k: PinholeIntrinsics, width: number, height: number): PinholeIntrinsics {
  const sx = width / k.width;
  const sy = height / k.height;
  return { width, height, fx: k.fx * sx, fy: k.fy * sy, cx: k.cx * sx, cy: k.cy * sy };
}

/** The intrinsics of a daemon `camera_specs_name` (`wireless`, `lite`, `generic`; anything else falls back to Lite, as the daemon does). */
export function knownIntrinsics(specsName: string): PinholeIntrinsics {
  if (specsName === 'generic') return GENERIC_INTRINSICS;
  return defaultResolutionIntrinsics(cameraSpecsByName(specsName));
}

/** Horizontal and vertical field of view in degrees of an ideal pinhole with these intrinsics. */
export function fieldOfViewDeg(k: PinholeIntrinsics): { horizontal: number; vertical: number } {
  const deg = (rad: number) => (rad * 180) / Math.PI;
  return {
    horizontal: deg(Math.atan(k.cx / k.fx) + Math.atan((k.width - k.cx) / k.fx)),
    vertical: deg(Math.atan(k.cy / k.fy) + Math.atan((k.height - k.cy) / k.fy)),
  };
}

/**
 * The head-frame direction (x forward, y left, z up; not normalised) of the pixel centre (u, v):
 * the optical ray ((u−cx)/fx, (v−cy)/fy, 1) turned into the head frame (§8 extrinsics).
 */
export function pixelRayInHead(k: PinholeIntrinsics, u: number, v: number): [number, number, number] {
  return [1, -(u - k.cx) / k.fx, -(v - k.cy) / k.fy];
}
