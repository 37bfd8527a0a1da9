// What a panorama scan leaves on disk (reference-driver.md §6.2 `save_scan_artifacts`, without its
// 24-frame limit): every frame with its pose in the file name, `manifest.json` with the
// reference's fields plus ours, one contact-sheet strip per pitch, the pitch grid, the strip of
// every frame, and the real panorama (`panorama.jpg`, panorama-projection.ts). Owns decoding,
// encoding (sharp) and what goes in which file; the writes themselves, owner-only like the project's
// other private files (pictures of someone's room), and the folder's checks are
// src/adapters/panorama-output.ts's; the scan itself is panorama-scan.ts's.
import { join } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { makeOutputDir, writeOutputFile } from '../adapters/panorama-output.ts';
import { knownIntrinsics, scaleIntrinsics, type PinholeIntrinsics } from '../media/camera-intrinsics.ts';
import { scanManifest, type PanoramaInfo } from './panorama-manifest.ts';
import type { PanoramaFrame, PanoramaScanResult } from './panorama-scan.ts';
import { PANORAMA_BACKGROUND, projectEquirectangular, type ProjectionFrame } from './panorama-projection.ts';

/** Contact sheets: the reference's quality, background and gap between pitch rows. */
export const SHEET_JPEG_QUALITY = 88;
export const GRID_GAP_PX = 4;
/** The panorama keeps more detail than the contact sheets: it is the product. */
export const PANORAMA_JPEG_QUALITY = 90;
/** JPEG's largest side; a longer strip is scaled down to fit. */
const JPEG_MAX_SIDE = 65_500;
export const RESOLUTION_NOTE = 'max_edge caps the longest side of each captured frame (the camera streams at its default resolution); the panorama keeps the frames\' resolution at their centres.';

interface Raw {
  readonly rgb: Uint8Array;
  readonly width: number;
  readonly height: number;
}

const signed0 = (value: number) => `${value >= 0 ? '+' : '-'}${Math.abs(value).toFixed(0)}`;
/** `+30` → `p30`, `-30` → `m30` (strip file names). */
const pitchTag = (pitch: number) => signed0(pitch).replace('+', 'p').replace('-', 'm');

export function frameFileName(frame: Pick<PanoramaFrame, 'index' | 'bodyYawDeg' | 'pitchDeg' | 'yawDeg'>): string {
  return `frame_${String(frame.index).padStart(3, '0')}_body_${signed0(frame.bodyYawDeg)}_pitch_${signed0(frame.pitchDeg)}_yaw_${signed0(frame.yawDeg)}.jpg`;
}

async function decode(jpeg: Buffer): Promise<Raw> {
  const { data, info } = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

function encode(image: Raw, quality: number): Promise<Buffer> {
  return sharp(Buffer.from(image.rgb.buffer, image.rgb.byteOffset, image.rgb.length), { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

/** Frames side by side at the tallest height (narrower when the strip would exceed JPEG's size), left = larger world yaw, as seen from the robot. */
async function strip(frames: readonly { frame: PanoramaFrame; raw: Raw }[]): Promise<Raw> {
  const ordered = [...frames].sort((a, b) => b.frame.worldYawDeg - a.frame.worldYawDeg || a.frame.pitchDeg - b.frame.pitchDeg);
  let height = Math.max(...ordered.map((f) => f.raw.height));
  const widthAt = (h: number) => ordered.reduce((sum, f) => sum + Math.max(1, Math.floor((f.raw.width * h) / f.raw.height)), 0);
  if (widthAt(height) > JPEG_MAX_SIDE) height = Math.max(1, Math.floor((height * JPEG_MAX_SIDE) / widthAt(height)));
  const parts: OverlayOptions[] = [];
  let left = 0;
  for (const { raw } of ordered) {
    const width = Math.max(1, Math.floor((raw.width * height) / raw.height));
    const input = raw.height === height ? Buffer.from(raw.rgb) : await sharp(Buffer.from(raw.rgb), { raw: { width: raw.width, height: raw.height, channels: 3 } }).resize(width, height, { kernel: 'lanczos3' }).raw().toBuffer();
    parts.push({ input, raw: { width, height, channels: 3 }, left, top: 0 });
    left += width;
  }
  return await composeRaw(left, height, parts);
}

async function composeRaw(width: number, height: number, parts: OverlayOptions[]): Promise<Raw> {
  const [r, g, b] = PANORAMA_BACKGROUND;
  const data = await sharp({ create: { width, height, channels: 3, background: { r, g, b } } }).composite(parts).removeAlpha().raw().toBuffer();
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
}

/** One strip per pitch stacked with a 4 px gap, the lowest pitch (looking up) on top, rows right-padded. */
async function grid(rows: readonly Raw[]): Promise<Raw> {
  const width = Math.max(...rows.map((r) => r.width));
  const height = rows.reduce((sum, r) => sum + r.height, 0) + GRID_GAP_PX * (rows.length - 1);
  let top = 0;
  const parts = rows.map((row) => {
    const part = { input: Buffer.from(row.rgb), raw: { width: row.width, height: row.height, channels: 3 as const }, left: 0, top };
    top += row.height + GRID_GAP_PX;
    return part;
  });
  return await composeRaw(width, height, parts);
}

/** The camera as the projection sees one frame: the model's intrinsics scaled to the frame's size. */
export function frameIntrinsics(cameraSpecsName: string, width: number, height: number): PinholeIntrinsics {
  return scaleIntrinsics(knownIntrinsics(cameraSpecsName), width, height);
}

export interface SavedArtifacts {
  /** Written files by key: frame_<i>, manifest, strip_pitch_<±N>, grid, strip, panorama. */
  readonly paths: Record<string, string>;
  readonly manifest: Record<string, unknown>;
}

export interface SaveOptions {
  /** Merged into the manifest (the CLI's `device_connect` block). */
  readonly extraManifest?: Record<string, unknown>;
}

/** Writes every artifact of a scan into `dir` (created owner-only if missing); the manifest is written last, with what was written. */
export async function saveScanArtifacts(scan: PanoramaScanResult, dir: string, options: SaveOptions = {}): Promise<SavedArtifacts> {
  makeOutputDir(dir);
  const paths: Record<string, string> = {};
  for (const frame of scan.frames) {
    if (!frame.jpeg) continue;
    const path = join(dir, frameFileName(frame));
    writeOutputFile(path, frame.jpeg);
    paths[`frame_${frame.index}`] = path;
  }
  const ok = await Promise.all(scan.frames.filter((f) => f.ok && f.jpeg).map(async (frame) => ({ frame, raw: await decode(frame.jpeg!) })));
  let panorama: PanoramaInfo | null = null;
  if (ok.length > 0) {
    const pitches = [...new Set(ok.map((f) => f.frame.pitchDeg))].sort((a, b) => a - b);
    makeOutputDir(join(dir, 'strips'));
    const rows: Raw[] = [];
    for (const pitch of pitches) {
      const row = await strip(ok.filter((f) => f.frame.pitchDeg === pitch));
      rows.push(row);
      const path = join(dir, 'strips', `strip_pitch_${pitchTag(pitch)}.jpg`);
      writeOutputFile(path, await encode(row, SHEET_JPEG_QUALITY));
      paths[`strip_pitch_${signed0(pitch)}`] = path;
    }
    if (pitches.length > 1) {
      paths['grid'] = join(dir, 'panorama_grid.jpg');
      writeOutputFile(paths['grid'], await encode(await grid(rows), SHEET_JPEG_QUALITY));
    }
    paths['strip'] = join(dir, 'panorama_strip.jpg');
    writeOutputFile(paths['strip'], await encode(await strip(ok), SHEET_JPEG_QUALITY));
    panorama = await writePanorama(scan, ok, join(dir, 'panorama.jpg'));
    paths['panorama'] = join(dir, 'panorama.jpg');
  }
  const manifest = { ...scanManifest(scan, panorama), ...options.extraManifest, files: Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, v.slice(dir.length + 1)])) };
  paths['manifest'] = join(dir, 'manifest.json');
  writeOutputFile(paths['manifest'], JSON.stringify(manifest, null, 2) + '\n');
  return { paths, manifest };
}

async function writePanorama(scan: PanoramaScanResult, ok: readonly { frame: PanoramaFrame; raw: Raw }[], path: string): Promise<PanoramaInfo> {
  const start = performance.now();
  const frames: ProjectionFrame[] = ok.map(({ frame, raw }) => ({
    rgb: raw.rgb,
    intrinsics: frameIntrinsics(scan.cameraSpecsName, raw.width, raw.height),
    yawDeg: frame.head.yawDeg,
    pitchDeg: frame.head.pitchDeg,
    rollDeg: frame.head.rollDeg,
  }));
  const image = projectEquirectangular(frames);
  writeOutputFile(path, await encode(image, PANORAMA_JPEG_QUALITY));
  return { image, intrinsics: frames[0]!.intrinsics, projectionMs: performance.now() - start };
}
