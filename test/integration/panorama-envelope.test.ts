// Transcript of `reachy-mini-driver panorama` against a `--sim` driver started with `--envelope
// FILE` narrowing the head yaw to ±30°: the scan reads the advertised range, commands each body
// step b and the head to world yaw b + y, takes the poses inside the envelope (body −40.1° with
// head +45°, body 0 with head 0, body +40.1° with head −45°: world yaws +4.9°, 0, −4.9°) and looks at
// the envelope's edges (±30°, body kept within 60° of the head) for the rest, says once what it
// cut, with the range and how to widen it, and no call is refused. The body
// really turns (observed ±40°) while the camera looks at the commanded world yaw: the emulator's
// world scene markers at 0 and ±30° land at their columns of panorama.jpg.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startCli } from '../harness/cli-process.ts';
import { markerColumn } from '../harness/yaw-markers.ts';
import { YAW_MARKERS } from '../../src/sim/media/world-scene.ts';

const ID = 'pano-envelope-1';
const CMD = `device-connect.default.${ID}.cmd`;
const ENVELOPE = { head_yaw_deg: { min: -30, max: 30 } };
let scene: MeshScene;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pano-envelope-'));
  const file = join(dir, 'envelope.json');
  await writeFile(file, JSON.stringify(ENVELOPE));
  scene = await startMeshScene(['--sim', '--sim-model', 'lite', '--sim-time-scale', '0.05', '--device-id', ID, '--envelope', file, '--discovery-mode', 'd2d']);
  const media = async () => ((await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: 'm', method: 'get_media_status', params: {} }, 1_000).catch(() => ({}))) as Record<string, any>).result?.session_state;
  await waitFor(async () => (await media()) === 'streaming', 15_000, 'the media session to stream');
}, 30_000);
afterAll(async () => {
  await scene?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('head yaw ±30°: body steps ±40° with head steps ∓45° inside it, the range edges for the rest, one warning; no refusal; markers at their columns', async () => {
  const out = join(dir, 'scan');
  const sentAt = scene.all.messages.length;
  const args = ['panorama', ID, '--output', out, '--yaw-steps', '3', '--pitch-steps', '1', '--body-yaw-steps', '9', '--settle-s', '0.3', '--home-settle-s', '0.1', '--json'];
  const result = await startCli([...args, '--messaging-url', scene.server.url, '--discovery-mode', 'd2d']).done;
  expect(result.code, result.stderr).toBe(0);
  const events = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const skipped = events.filter((e) => e.event === 'warning' && /skipped/.test(e.message));
  expect(skipped).toHaveLength(1);
  expect(skipped[0].message).toMatch(/head yaw -30°…30°.*2 poses look at the nearest edge of the head-yaw range instead, 22 of 27 are skipped.*world yaw -30°…30°.*--envelope FILE or the settings file's safety_envelope \(axis head_yaw_deg\), up to the driver's mechanical -45°…45°/);

  const bodies = scene.all.messages.slice(sentAt).map((m) => m.body as Record<string, any>);
  const refusals = [...bodies.map((b) => b?.error?.data?._tag), ...bodies.filter((b) => b?.params?.kind === 'refused').map((b) => b.params.error_tag)].filter(Boolean);
  expect(refusals, 'no call refused by the envelope').not.toContain('OutsideEnvelope');

  const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  expect(m).toMatchObject({ frame_count: 5, success_count: 5, planned_frame_count: 5, head_yaw_limit_deg: [-30, 30] });
  expect(m.world_yaw_coverage).toMatchObject({ sample_count: 5, world_yaw_model: 'body_plus_head_world_frame', head_yaw_range_deg: [-30, 30], range_source: 'advertised', skipped_pose_count: 22 });
  // 9 body steps over ±160.43° (±2.8 rad) are 40.1° apart.
  const round1 = (x: number) => Math.round(x * 10) / 10;
  expect(m.frames.map((f: Record<string, any>) => [round1(f.body_yaw_commanded_deg), f.yaw_deg, round1(f.world_yaw_commanded_deg)])).toEqual([[-30, -45, 30], [-90, 0, -30], [-40.1, 45, 4.9], [0, 0, 0], [40.1, -45, -4.9]]);
  for (const f of m.frames) {
    expect(Math.abs(f.body_yaw_observed_deg - f.body_yaw_commanded_deg), `body at ${f.body_yaw_commanded_deg}°`).toBeLessThan(1);
    expect(Math.abs(f.world_yaw_deg - f.world_yaw_commanded_deg), `head at world ${f.world_yaw_commanded_deg}°`).toBeLessThan(1);
  }

  const { data, info } = await sharp(join(out, 'panorama.jpg')).raw().toBuffer({ resolveWithObject: true });
  const image = { rgb: new Uint8Array(data), width: info.width, height: info.height };
  const { yaw_left_deg: left, px_per_deg: ppd } = m.panorama;
  const visible = YAW_MARKERS.filter((mk) => Math.abs(mk.yawDeg) <= 30);
  expect(visible).toHaveLength(3);
  for (const marker of visible) {
    const expected = (left - marker.yawDeg) * ppd - 0.5;
    const found = markerColumn(image, marker.colour, Math.floor(expected - 8 * ppd), Math.ceil(expected + 8 * ppd));
    expect(found, `${marker.colour.name} marker at ${marker.yawDeg}°`).not.toBeNull();
    expect(Math.abs(found! - expected) / ppd, `${marker.colour.name} marker at ${marker.yawDeg}°`).toBeLessThan(1);
  }
}, 60_000);
