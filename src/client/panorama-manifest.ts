// `manifest.json` of a panorama scan: the reference's fields (reference-driver.md §6.2
// `to_manifest`, `analyze_world_yaw_coverage`) with the world-yaw model corrected to the head's
// world pose, plus what this implementation adds: the panorama's geometry (yaw ↔ column), the
// camera intrinsics used, timing, abort/failure and the lease. Pure: builds a JSON value.
import { fieldOfViewDeg, type PinholeIntrinsics } from '../media/camera-intrinsics.ts';
import type { PanoramaImage } from './panorama-projection.ts';
import { HEAD_PITCH_LIMIT_DEG, HEAD_YAW_LIMIT_DEG, type PanoramaFrame, type PanoramaScanResult } from './panorama-scan.ts';

/** The panorama as written: its geometry, the intrinsics it used and how long the projection took. */
export interface PanoramaInfo {
  readonly image: PanoramaImage;
  readonly intrinsics: PinholeIntrinsics;
  readonly projectionMs: number;
}

/** §6.2: a largest gap at most this wide means the ring is (likely) covered. */
export const FULL_360_GAP_DEG = 25;
/** The head pose is in the world frame (reachy-daemon-api.md §5): a frame's world yaw is the head's yaw. */
export const WORLD_YAW_MODEL = 'head_pose_world_frame';

export const STITCHING_NOTE =
  'panorama.jpg is an equirectangular projection: each frame is placed by its head pose (world yaw and pitch; the head pose is in the world frame) and the camera intrinsics, then feather-blended; lens distortion is not corrected. strips/ and panorama_grid.jpg are contact sheets (frames side by side), as in the reference.';

const round2 = (x: number) => Math.round(x * 100) / 100;

function spread(values: readonly number[]): number {
  return values.length < 2 ? 0 : Math.max(...values) - Math.min(...values);
}

/** §6.2 `analyze_world_yaw_coverage` over the ok frames' world yaws, with our world-yaw model. */
export function worldYawCoverage(frames: readonly PanoramaFrame[]): Record<string, unknown> {
  const yaws = frames.filter((f) => f.ok).map((f) => f.worldYawDeg);
  if (yaws.length < 2) return { sample_count: yaws.length, span_deg: 0, largest_gap_deg: 360, likely_full_360: false, world_yaw_model: WORLD_YAW_MODEL };
  const points = yaws.map((y) => ((y % 360) + 360) % 360).sort((a, b) => a - b);
  const gaps = points.slice(1).map((p, i) => p - points[i]!);
  gaps.push(360 - points.at(-1)! + points[0]!);
  const largest = Math.max(...gaps);
  return { sample_count: yaws.length, span_deg: round2(360 - largest), largest_gap_deg: round2(largest), likely_full_360: largest <= FULL_360_GAP_DEG, world_yaw_model: WORLD_YAW_MODEL };
}

function frameEntry(f: PanoramaFrame): Record<string, unknown> {
  return {
    index: f.index,
    body_yaw_deg: f.bodyYawDeg,
    body_yaw_commanded_deg: f.bodyYawCommandedDeg,
    body_yaw_observed_deg: f.bodyYawObservedDeg,
    body_drift_after_move_deg: f.bodyDriftAfterMoveDeg,
    body_drift_after_look_deg: f.bodyDriftAfterLookDeg,
    world_yaw_deg: f.worldYawDeg,
    pitch_deg: f.pitchDeg,
    yaw_deg: f.yawDeg,
    head_pose_deg: { yaw: f.head.yawDeg, pitch: f.head.pitchDeg, roll: f.head.rollDeg, observed: f.head.observed },
    ok: f.ok,
    look_status: f.look['status'] ?? null,
    capture_status: f.capture['status'] ?? null,
    width: f.capture['width'] ?? null,
    height: f.capture['height'] ?? null,
    byte_size: f.jpeg?.length ?? 0,
    look_ms: Math.round(f.lookMs),
    capture_ms: Math.round(f.captureMs),
    ...(f.look['status'] === 'error' ? { look_error: f.look['tag'] ?? null } : {}),
    ...(f.capture['status'] === 'error' ? { capture_error: f.capture['tag'] ?? null } : {}),
  };
}

function panoramaEntry(p: PanoramaInfo, cameraSpecsName: string): Record<string, unknown> {
  const { image, intrinsics: k } = p;
  const fov = fieldOfViewDeg(k);
  return {
    file: 'panorama.jpg',
    projection: 'equirectangular',
    width: image.width,
    height: image.height,
    px_per_deg: image.pxPerDeg,
    yaw_left_deg: image.yawLeftDeg,
    yaw_right_deg: image.yawLeftDeg - image.yawSpanDeg,
    yaw_span_deg: image.yawSpanDeg,
    elevation_top_deg: image.elevationTopDeg,
    elevation_bottom_deg: image.elevationTopDeg - image.elevationSpanDeg,
    column_of_yaw: 'x = ((yaw_left_deg - yaw) mod 360) * px_per_deg',
    row_of_elevation: 'y = (elevation_top_deg - elevation) * px_per_deg (elevation = -pitch at the image centre)',
    camera: { specs_name: cameraSpecsName || 'lite', width: k.width, height: k.height, fx: k.fx, fy: k.fy, cx: k.cx, cy: k.cy, hfov_deg: round2(fov.horizontal), vfov_deg: round2(fov.vertical), distortion: 'not corrected' },
    projection_ms: Math.round(p.projectionMs),
  };
}

export function scanManifest(scan: PanoramaScanResult, panorama: PanoramaInfo | null): Record<string, unknown> {
  const ok = scan.frames.filter((f) => f.ok);
  const mean = (xs: number[]) => (xs.length === 0 ? null : Math.round(xs.reduce((a, b) => a + b, 0) / xs.length));
  return {
    frame_count: scan.frames.length,
    success_count: ok.length,
    coverage_yaw_deg: spread(ok.map((f) => f.yawDeg)),
    coverage_pitch_deg: spread(ok.map((f) => f.pitchDeg)),
    coverage_body_yaw_deg: spread(ok.map((f) => f.bodyYawDeg)),
    world_yaw_coverage: worldYawCoverage(scan.frames),
    body_drift_warnings: [...scan.bodyDriftWarnings],
    stitching_disclaimer: STITCHING_NOTE,
    head_yaw_limit_deg: [-HEAD_YAW_LIMIT_DEG, HEAD_YAW_LIMIT_DEG],
    head_pitch_limit_deg: [-HEAD_PITCH_LIMIT_DEG, HEAD_PITCH_LIMIT_DEG],
    planned_frame_count: scan.plannedFrames,
    aborted: scan.aborted,
    failure: scan.failure,
    warnings: [...scan.warnings],
    owner: scan.owner,
    encoding: scan.encoding,
    lease_released: scan.leaseReleased,
    started_at: scan.startedAt,
    duration_s: round2(scan.durationS),
    timing: { frames: scan.frames.length, mean_look_ms: mean(scan.frames.map((f) => f.lookMs)), mean_capture_ms: mean(scan.frames.map((f) => f.captureMs)), per_frame_ms: scan.frames.length === 0 ? null : Math.round((scan.durationS * 1000) / scan.frames.length) },
    panorama: panorama ? panoramaEntry(panorama, scan.cameraSpecsName) : null,
    frames: scan.frames.map(frameEntry),
  };
}
