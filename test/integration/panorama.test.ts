// Transcript of `reachy-mini-driver panorama` (the real CLI) against a `--sim` driver over a test
// broker, the emulator's camera in its synthetic 360° room (src/sim/media/world-scene.ts): a scan
// writes every frame with its pose in the name, manifest.json with the reference's fields
// (reference-driver.md §6.2) and the device_connect block, strips, the grid and panorama.jpg, each
// coloured yaw marker at the column of its world yaw; --json; the lease held during the scan only;
// Ctrl-C (exit 130), exit 1 and exit 2; --full-360 under the default envelope taking only the poses
// inside it, no move refused; --body-yaw-steps 1 turning a body left elsewhere to 0 first;
// --wait-timeout 0 asking once. The scan's call order without a broker is panorama-scan.test.ts.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startCli } from '../harness/cli-process.ts';
import { markerColumn } from '../harness/yaw-markers.ts';
import { YAW_MARKERS } from '../../src/sim/media/world-scene.ts';

const ID = 'pano-sim-1';
const CMD = `device-connect.default.${ID}.cmd`;
let scene: MeshScene;
let dir: string;
let seq = 0;
/** The exit-2 run starts with the scene and runs alongside the other tests (it only waits). */
let notFound: ReturnType<typeof startCli>;

async function call(method: string, params: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<Record<string, any>> {
  return (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `t-${++seq}`, method, params }, timeoutMs)) as Record<string, any>;
}

/** A scan small enough for CI: head yaws −45/0/+45 at pitches −30/+30, body fixed, short settle. */
const SMALL = ['--yaw-steps', '3', '--pitch-steps', '2', '--body-yaw-steps', '1', '--settle-s', '0.3', '--home-settle-s', '0.1'];

function panorama(args: readonly string[]) {
  return startCli(['panorama', ...args, '--messaging-url', scene.server.url, '--discovery-mode', 'd2d']);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pano-'));
  scene = await startMeshScene(['--sim', '--sim-model', 'lite', '--sim-time-scale', '0.05', '--device-id', ID, '--discovery-mode', 'd2d']);
  notFound = panorama(['no-such-robot', '--output', join(dir, 'none'), '--wait-timeout', '2']);
  await waitFor(async () => (await call('get_media_status', {}, 1_000).catch(() => ({}) as Record<string, any>)).result?.session_state === 'streaming', 15_000, 'the media session to stream');
}, 30_000);
afterAll(async () => {
  await scene?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a scan', () => {
  let out: string;
  let result: { code: number | null; stdout: string; stderr: string };
  let leaseDuringScan: Record<string, any>;

  beforeAll(async () => {
    out = join(dir, 'scan');
    const run = panorama([ID, '--output', out, ...SMALL, '--json']);
    await run.line((l) => l.includes('"event":"frame"'), 40_000);
    leaseDuringScan = await call('look_at_world', { yaw: 10, owner: 'bystander' });
    result = await run.done;
  }, 60_000);

  test('exit 0; --json: one line per frame, then the end', () => {
    expect(result.code, result.stderr).toBe(0);
    const warnings = result.stdout.split('\n').filter((l) => l.includes('"event":"warning"'));
    expect(result.stdout.split('\n').filter((l) => l.includes('"ok":false')), `failed frames (warnings: ${warnings.join(' ')})`).toEqual([]);
    const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const frames = events.filter((e) => e.event === 'frame');
    expect(frames.map((e) => e.done)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(frames.every((e) => e.total === 6 && e.ok === true)).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'done', exit_code: 0, success_count: 6, frame_count: 6, aborted: false });
  });

  test('the lease is held for the scan (another owner is refused) and free after it', async () => {
    expect(leaseDuringScan.error?.data?._tag, JSON.stringify(leaseDuringScan)).toBe('LeaseHeld');
    const after = await call('look_at_world', { yaw: 0, owner: 'bystander', wait: true });
    expect(after.result?.status, JSON.stringify(after)).toBe('completed');
    await call('release_lease', { owner: 'bystander' });
  });

  test('files: every frame named by its pose, strips per pitch, the grid, the strip and panorama.jpg', async () => {
    const files = (await readdir(out)).sort();
    expect(files.filter((f) => f.startsWith('frame_'))).toEqual([
      'frame_000_body_+0_pitch_-30_yaw_-45.jpg', 'frame_001_body_+0_pitch_-30_yaw_+0.jpg', 'frame_002_body_+0_pitch_-30_yaw_+45.jpg',
      'frame_003_body_+0_pitch_+30_yaw_-45.jpg', 'frame_004_body_+0_pitch_+30_yaw_+0.jpg', 'frame_005_body_+0_pitch_+30_yaw_+45.jpg',
    ]);
    expect(files).toEqual(expect.arrayContaining(['manifest.json', 'panorama.jpg', 'panorama_grid.jpg', 'panorama_strip.jpg', 'strips']));
    expect((await readdir(join(out, 'strips'))).sort()).toEqual(['strip_pitch_m30.jpg', 'strip_pitch_p30.jpg']);
  });

  test('manifest: the reference fields, the device_connect block, the panorama geometry', async () => {
    const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({
      frame_count: 6, success_count: 6, coverage_yaw_deg: 90, coverage_pitch_deg: 60, coverage_body_yaw_deg: 0,
      world_yaw_coverage: { sample_count: 6, span_deg: 90, largest_gap_deg: 270, likely_full_360: false, world_yaw_model: 'body_plus_head_world_frame', head_yaw_range_deg: [-45, 45], range_source: 'advertised', skipped_pose_count: 0 },
      body_drift_warnings: [], head_yaw_limit_deg: [-45, 45], head_pitch_limit_deg: [-30, 30],
      device_connect: { tenant: 'default', device_id: ID, encoding: 'jpeg', max_edge: 640, quality: 82 },
      aborted: false, lease_released: true, owner: 'panorama',
      panorama: { file: 'panorama.jpg', projection: 'equirectangular', camera: { specs_name: 'lite' } },
    });
    expect(typeof m.stitching_disclaimer).toBe('string');
    expect(m.frames[1]).toMatchObject({ index: 1, body_yaw_deg: 0, body_yaw_commanded_deg: 0, pitch_deg: -30, yaw_deg: 0, ok: true, look_status: 'completed', capture_status: 'success', width: 640, height: 480 });
    expect(m.frames[1].world_yaw_deg).toBeCloseTo(0, 3);
    expect(m.frames[1].head_pose_deg).toMatchObject({ observed: true });
    expect(m.frames[1].head_pose_deg.pitch).toBeCloseTo(-30, 1);
    expect(m.frames[1].byte_size).toBeGreaterThan(1_000);
  });

  test('panorama.jpg: each marker lands at the column of its world yaw (±1°)', async () => {
    const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    const { data, info } = await sharp(join(out, 'panorama.jpg')).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([m.panorama.width, m.panorama.height]);
    const image = { rgb: new Uint8Array(data), width: info.width, height: info.height };
    const { yaw_left_deg: left, px_per_deg: ppd } = m.panorama;
    const visible = YAW_MARKERS.filter((mk) => Math.abs(mk.yawDeg) <= 60);
    expect(visible).toHaveLength(5);
    for (const marker of visible) {
      const expected = (left - marker.yawDeg) * ppd - 0.5;
      const found = markerColumn(image, marker.colour, Math.floor(expected - 8 * ppd), Math.ceil(expected + 8 * ppd));
      expect(found, `${marker.colour.name} marker at ${marker.yawDeg}°`).not.toBeNull();
      expect(Math.abs(found! - expected) / ppd, `${marker.colour.name} marker at ${marker.yawDeg}°`).toBeLessThan(1);
    }
  });
});

test('--full-360 under the default envelope (head yaw ±45°): the 4 poses inside it plus the range edges, one warning naming the range, the coverage and the limit; no move refused', async () => {
  const out = join(dir, 'full');
  const sentAt = scene.all.messages.length;
  const result = await panorama([ID, '--output', out, '--full-360', '--pitch-steps', '1', '--settle-s', '0.3', '--home-settle-s', '0.1', '--json']).done;
  expect(result.code, result.stderr).toBe(0);
  const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const skipped = events.filter((e) => e.event === 'warning' && /skipped/.test(e.message));
  expect(skipped).toHaveLength(1);
  expect(skipped[0].message).toMatch(/head yaw -45°…45°.*2 poses look at the nearest edge of the head-yaw range instead, 18 of 24 are skipped.*world yaw -45°…45°.*already the driver's mechanical head-yaw range/);
  const frames = events.filter((e) => e.event === 'frame');
  expect(frames.map((f) => [Math.round(f.world_yaw_deg), f.ok])).toEqual([[45, true], [-45, true], [-17, true], [13, true], [-13, true], [17, true]]);
  // Every refusal on the wire (error replies and refused safety events) by its tag: a TooFast body move may be retried, never an OutsideEnvelope.
  const bodies = scene.all.messages.slice(sentAt).map((m) => m.body as Record<string, any>);
  const refusals = [...bodies.map((b) => b?.error?.data?._tag), ...bodies.filter((b) => b?.params?.kind === 'refused').map((b) => b.params.error_tag)].filter(Boolean);
  expect(refusals, 'no call refused by the envelope').not.toContain('OutsideEnvelope');
  const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  expect(m.world_yaw_coverage).toMatchObject({ sample_count: 6, likely_full_360: false, world_yaw_model: 'body_plus_head_world_frame', head_yaw_range_deg: [-45, 45], skipped_pose_count: 18 });
  expect(m.skipped_poses).toHaveLength(18);
  expect(m.planned_frame_count).toBe(6);
}, 60_000);

test('Ctrl-C: the robot is stopped, the lease released, the partial scan written (exit 130)', async () => {
  const out = join(dir, 'interrupted');
  const run = panorama([ID, '--output', out, '--yaw-steps', '5', '--pitch-steps', '3', '--body-yaw-steps', '1', '--settle-s', '0.2', '--json']);
  await run.line((l) => l.includes('"done":2'), 40_000);
  const sentAt = scene.all.messages.length;
  run.child.kill('SIGINT');
  const result = await run.done;
  expect(result.code, result.stderr).toBe(130);
  const sent = scene.all.messages.slice(sentAt).filter((m) => m.subject === CMD).map((m) => (m.body as { method: string; params: Record<string, unknown> }));
  expect(sent.some((b) => b.method === 'stop_motion' && b.params['owner'] === 'panorama')).toBe(true);
  expect(sent.some((b) => b.method === 'release_lease' && b.params['owner'] === 'panorama')).toBe(true);
  const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  expect(m).toMatchObject({ aborted: true, planned_frame_count: 15, lease_released: true });
  expect(m.frame_count).toBeGreaterThanOrEqual(2);
  expect(m.frame_count).toBeLessThan(15);
  const targets = scene.driver.emulator!.motionRecord.targets.length;
  await new Promise((r) => setTimeout(r, 500));
  expect(scene.driver.emulator!.motionRecord.targets.length, 'nothing moves after the stop').toBe(targets);
  expect((await call('acquire_lease', { owner: 'bystander', ttl_s: 1 })).result?.status).toBeDefined();
  await call('release_lease', { owner: 'bystander' });
}, 60_000);

test('--body-yaw-steps 1 with the body left at +65°: the scan turns the body to 0 first; the frames look around world yaw 0', async () => {
  const out = join(dir, 'body-zero');
  const turned = await call('set_body_yaw', { yaw_deg: 65, duration_s: 2, owner: 'bystander', wait: true });
  expect(turned.result?.status, JSON.stringify(turned)).toBe('completed');
  await call('release_lease', { owner: 'bystander' });
  const result = await panorama([ID, '--output', out, ...SMALL]).done;
  expect(result.code, result.stderr).toBe(0);
  const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  expect(m.frames.map((f: { body_yaw_deg: number }) => Math.round(f.body_yaw_deg))).toEqual([0, 0, 0, 0, 0, 0]);
  expect(m.frames.map((f: { world_yaw_deg: number }) => Math.round(f.world_yaw_deg))).toEqual([-45, 0, 45, -45, 0, 45]);
  expect(Math.round((await call('get_body_yaw')).result?.yaw_deg)).toBe(0);
}, 30_000);

test('--wait-timeout 0 still asks once: the running device is found and scanned (exit 0)', async () => {
  const result = await panorama([ID, '--output', join(dir, 'no-wait'), '--wait-timeout', '0', '--yaw-steps', '2', '--pitch-steps', '1', '--body-yaw-steps', '1', '--settle-s', '0.2']).done;
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toContain('2/2 frames ok');
}, 30_000);

test('exit 1: nothing written when the lease is someone else\'s; the manifest says why', async () => {
  const out = join(dir, 'refused');
  expect((await call('acquire_lease', { owner: 'operator', ttl_s: 30 })).result).toBeDefined();
  try {
    const result = await panorama([ID, '--output', out, ...SMALL]).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/lease/i);
    const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({ frame_count: 0, success_count: 0, panorama: null });
    expect(m.failure).toMatch(/LeaseHeld|lease/);
  } finally {
    await call('release_lease', { owner: 'operator' });
  }
}, 20_000);

test('exit 2: the device does not appear within --wait-timeout; nothing is written', async () => {
  const result = await notFound.done;
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('no-such-robot not found in tenant default within 2 s');
  await expect(readdir(join(dir, 'none'))).rejects.toThrow();
}, 20_000);
