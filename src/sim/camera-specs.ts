// Camera specifications served by `GET /api/camera/specs` (RM:src/reachy_mini/media/camera_constants.py;
// reachy-daemon-api.md §1.6, §9.3): the Lite and Wireless cameras share the full-sensor calibration
// K/D and differ in their resolution lists. Owns only these constants and the by-name lookup with
// the daemon's fallback to `lite` for an empty or unknown name; the shape is the shared wire contract
// (src/protocol/daemon-wire-types.ts). Not which name is reported (sim-daemon.ts).
import type { CameraResolution as Resolution, CameraSpecs } from '../protocol/daemon-wire-types.ts';

export type { CameraSpecs };

const resolution = (width: number, height: number, fps: number, crop: number): Resolution => ({
  name: `R${width}x${height}at${fps}fps`,
  width,
  height,
  fps,
  crop_factor: crop,
});

/** Intrinsics calibrated at 3840×2592 (fx, fy, cx, cy), shared by Lite and Wireless. */
const FULL_SENSOR_K = [
  [2001.8076426486707, 0.0, 1905.876059826701],
  [0.0, 2003.0778885944105, 1328.3239717935594],
  [0.0, 0.0, 1.0],
] as const;
/** OpenCV rational-model distortion, 12 coefficients. */
const FULL_SENSOR_D = [
  -1.4652320301298614, 0.6542714131667414, 0.012147809271745049, -0.002677286460143648,
  0.3035939941825349, -1.4300809080461876, 0.570024082887235, 0.3567299243352951,
  0.003057363348400015, 0.0003357614008682464, -0.009897126394310923, -0.002050919484589521,
] as const;

const LITE_DEFAULT = resolution(1920, 1080, 60, 1.115);
const LITE: CameraSpecs = {
  name: 'lite',
  available_resolutions: [LITE_DEFAULT, resolution(3840, 2592, 30, 1.0), resolution(3840, 2160, 30, 1.109), resolution(3264, 2448, 30, 1.115)],
  default_resolution: LITE_DEFAULT,
  K: FULL_SENSOR_K,
  D: FULL_SENSOR_D,
};

const WIRELESS_DEFAULT = resolution(1280, 720, 30, 1.0);
const WIRELESS: CameraSpecs = {
  name: 'wireless',
  available_resolutions: [
    WIRELESS_DEFAULT, resolution(1920, 1080, 30, 1.115), resolution(1280, 720, 60, 1.0), resolution(3840, 2592, 10, 1.0),
    resolution(3840, 2160, 10, 1.109), resolution(3264, 2448, 10, 1.115), resolution(3072, 1728, 10, 1.0),
  ],
  default_resolution: WIRELESS_DEFAULT,
  K: FULL_SENSOR_K,
  D: FULL_SENSOR_D,
};

/** `get_camera_specs_by_name`: `""` (no camera detected) and unknown names fall back to Lite. */
export function cameraSpecsByName(name: string): CameraSpecs {
  return name === 'wireless' ? WIRELESS : LITE;
}
