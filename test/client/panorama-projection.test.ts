// The panorama's projection maths (src/client/panorama-projection.ts) against the emulator's world
// scene (src/sim/media/world-scene.ts): pixel ↔ world round trips, the covered arc across ±180°,
// and frames of the synthetic room rendered at known head poses, projected and blended, put each
// coloured yaw marker at the column of its world yaw and the horizon at the row of elevation 0.
import { describe, expect, test } from 'vitest';
import { knownIntrinsics, scaleIntrinsics, fieldOfViewDeg } from '../../src/media/camera-intrinsics.ts';
import { columnOfYaw, coveredArc, footprint, pixelToWorld, projectEquirectangular, rowOfElevation, worldToPixel, wrapDeg, type ProjectionFrame } from '../../src/client/panorama-projection.ts';
import { WorldScene, YAW_MARKERS } from '../../src/sim/media/world-scene.ts';
import { headRotation } from '../../src/client/panorama-projection.ts';
import { columnMatches, i420ToRgb, markerColumn } from '../harness/yaw-markers.ts';

const K = scaleIntrinsics(knownIntrinsics('wireless'), 320, 180);

function frameAt(scene: WorldScene, yawDeg: number, pitchDeg: number): ProjectionFrame {
  const image = i420ToRgb(scene.render(headRotation(yawDeg, pitchDeg, 0)), scene.width, scene.height);
  return { rgb: image.rgb, intrinsics: scene.intrinsics, yawDeg, pitchDeg, rollDeg: 0 };
}

describe('pose maths', () => {
  test('wrapDeg keeps yaws in [-180, 180)', () => {
    expect([wrapDeg(190), wrapDeg(-190), wrapDeg(180), wrapDeg(0), wrapDeg(725)]).toEqual([-170, 170, -180, 0, 5]);
  });

  test('the principal point looks along the head: yaw = head yaw, elevation = −pitch', () => {
    const w = pixelToWorld({ intrinsics: K, yawDeg: 30, pitchDeg: 10, rollDeg: 0 }, K.cx, K.cy);
    expect(w.yawDeg).toBeCloseTo(30, 6);
    expect(w.elevationDeg).toBeCloseTo(-10, 6);
  });

  test('world → pixel → world is the identity inside the frame; behind the camera is null', () => {
    const frame = { intrinsics: K, yawDeg: -25, pitchDeg: 15, rollDeg: 5 };
    for (const [u, v] of [[10, 10], [160, 90], [300, 170]] as const) {
      const w = pixelToWorld(frame, u, v);
      const p = worldToPixel(frame, w.yawDeg, w.elevationDeg)!;
      expect(p.u).toBeCloseTo(u, 6);
      expect(p.v).toBeCloseTo(v, 6);
    }
    expect(worldToPixel(frame, 155, 0)).toBeNull();
  });

  test('the wireless camera sees 87.6° × 65.8°; a frame at yaw 0 spans about ±44°', () => {
    const fov = fieldOfViewDeg(K);
    expect(fov.horizontal).toBeCloseTo(87.6, 1);
    expect(fov.vertical).toBeCloseTo(65.8, 1);
    const print = footprint({ intrinsics: K, yawDeg: 0, pitchDeg: 0, rollDeg: 0 });
    expect(print.yawMax).toBeGreaterThan(43.8);
    expect(print.yawMax).toBeLessThan(47);
    expect(print.yawMin).toBeLessThan(-43.5);
  });

  test('the covered arc is the complement of the largest gap, across the ±180° seam too', () => {
    const print = (yawMin: number, yawMax: number) => ({ yawMin, yawMax, elevationMin: -10, elevationMax: 10 });
    expect(coveredArc([print(-50, 50)])).toEqual({ yawLeftDeg: 50, spanDeg: 100 });
    expect(coveredArc([print(150, 210)])).toEqual({ yawLeftDeg: -150, spanDeg: 60 });
    expect(coveredArc([print(-180, 180)])).toEqual({ yawLeftDeg: 180, spanDeg: 360 });
  });
});

describe('projection of the synthetic room', () => {
  const scene = new WorldScene(K);
  const frames = [frameAt(scene, -40, 0), frameAt(scene, 0, 0), frameAt(scene, 40, 0), frameAt(scene, -20, -20), frameAt(scene, 20, 20)];
  const pano = projectEquirectangular(frames);

  test('the image spans what the frames cover, at their native resolution', () => {
    expect(pano.yawSpanDeg).toBeGreaterThan(165);
    expect(pano.yawSpanDeg).toBeLessThan(180);
    expect(pano.pxPerDeg).toBeCloseTo((K.fx * Math.PI) / 180, 6);
    expect(pano.width).toBe(Math.round(pano.yawSpanDeg * pano.pxPerDeg));
  });

  test('every marker within the covered arc lands at the column of its world yaw (±0.75°)', () => {
    const visible = YAW_MARKERS.filter((m) => Math.abs(m.yawDeg) <= 75);
    expect(visible.map((m) => m.yawDeg)).toEqual([-60, -30, 0, 30, 60]);
    for (const marker of visible) {
      const expected = columnOfYaw(pano, marker.yawDeg);
      const window = 10 * pano.pxPerDeg;
      const found = markerColumn(pano, marker.colour, Math.floor(expected - window), Math.ceil(expected + window));
      expect(found, `${marker.colour.name} at ${marker.yawDeg}°`).not.toBeNull();
      expect(Math.abs(found! - expected) / pano.pxPerDeg, `${marker.colour.name} at ${marker.yawDeg}°`).toBeLessThan(0.75);
    }
  });

  test('the horizon is the brightest row, at elevation 0 (±0.75°)', () => {
    const x = Math.round(columnOfYaw(pano, 10));
    let best = 0;
    let bestRow = -1;
    for (let y = 0; y < pano.height; y++) {
      const i = (y * pano.width + x) * 3;
      const luma = pano.rgb[i]! + pano.rgb[i + 1]! + pano.rgb[i + 2]!;
      if (luma > best) [best, bestRow] = [luma, y];
    }
    expect(Math.abs(bestRow - rowOfElevation(pano, 0)) / pano.pxPerDeg).toBeLessThan(0.75);
  });

  test('a marker is one straight vertical bar: blending overlapping frames does not double it', () => {
    const red = YAW_MARKERS.find((m) => m.yawDeg === 0)!.colour;
    const counts = columnMatches(pano, red);
    const lit = counts.map((c, x) => (c > 0 ? x : -1)).filter((x) => x >= 0);
    expect(Math.max(...lit) - Math.min(...lit)).toBeLessThan(5 * pano.pxPerDeg);
  });
});
