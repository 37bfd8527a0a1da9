// Transcript of `reachy-mini-driver panorama --output …` (the real CLI) against a `--sim` driver over
// a test broker: an output folder that cannot be written (a file where a folder should be) is
// refused with exit 2 before the lease is taken, so nothing moves and no frame is lost; a folder
// that stops taking files during the scan is a reported failure (exit 1, `ArtifactsNotWritten`),
// not a crash. A second scan into a previous scan's folder replaces its files (no stale frame or
// strip beside the new ones); a folder holding anything else is refused (exit 2, its files left
// alone). Files are owner-only (0600, folders 0700). The files a scan writes are panorama.test.ts.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startCli } from '../harness/cli-process.ts';

const ID = 'pano-out-1';
const CMD = `device-connect.default.${ID}.cmd`;
/** A scan small enough for CI: head yaws −45/+45 at pitch 0, body fixed, short settle. */
const SMALL = ['--yaw-steps', '2', '--pitch-steps', '1', '--body-yaw-steps', '1', '--settle-s', '0.2', '--home-settle-s', '0.1'];
let scene: MeshScene;
let dir: string;

function panorama(args: readonly string[]) {
  return startCli(['panorama', ID, ...SMALL, ...args, '--messaging-url', scene.server.url, '--discovery-mode', 'd2d']);
}

/** The methods the device was asked for since message `from` of the recording. */
function methodsSince(from: number): string[] {
  return scene.all.messages.slice(from).filter((m) => m.subject === CMD).map((m) => (m.body as { method: string }).method);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pano-out-'));
  scene = await startMeshScene(['--sim', '--sim-model', 'lite', '--sim-time-scale', '0.05', '--device-id', ID, '--discovery-mode', 'd2d']);
  const status = async () => (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: 'media', method: 'get_media_status', params: {} }, 1_000).catch(() => ({}))) as Record<string, any>;
  await waitFor(async () => (await status()).result?.session_state === 'streaming', 15_000, 'the media session to stream');
}, 30_000);
afterAll(async () => {
  await scene?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('--output under a file: exit 2 at once, saying why; the lease is never taken, nothing moves', async () => {
  const file = join(dir, 'a-file');
  await writeFile(file, 'not a folder\n');
  for (const output of [join(file, 'pano'), file]) {
    const sentAt = scene.all.messages.length;
    const result = await panorama(['--output', output]).done;
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(`OutputNotWritable: cannot write to ${output}: `);
    expect(result.stderr).toMatch(/not a folder.*nothing moved \(choose another --output\)/);
    expect(result.stderr).not.toMatch(/fatal|ENOTDIR: not a directory, mkdir/);
    const sent = methodsSince(sentAt);
    expect(sent, 'no lease, no motion').not.toContain('acquire_lease');
    expect(sent.filter((m) => /look_at|set_body|goto|wake/.test(m))).toEqual([]);
  }
}, 30_000);

test('the folder replaced by a file during the scan: exit 1 with ArtifactsNotWritten (stderr and --json), no crash; the lease is released', async () => {
  const out = join(dir, 'vanishing');
  const sentAt = scene.all.messages.length;
  const run = panorama(['--output', out, '--json']);
  await run.line((l) => l.includes('"event":"frame"'), 30_000);
  await rm(out, { recursive: true, force: true });
  await writeFile(out, 'a file where the folder was\n');
  const result = await run.done;
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain(`ArtifactsNotWritten: cannot write to ${out}: `);
  expect(result.stderr).not.toMatch(/fatal|Unhandled/);
  const last = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
  expect(last).toMatchObject({ event: 'error', error: { _tag: 'ArtifactsNotWritten', dir: out } });
  expect(methodsSince(sentAt)).toContain('release_lease');
}, 40_000);

/** Every file under `root`, relative, sorted. */
async function filesUnder(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1)).sort();
}

test('a second scan into the same folder replaces the first one\'s files; a file of the user\'s beside them stays; everything owner-only', async () => {
  const out = join(dir, 'twice');
  const first = await panorama(['--output', out, '--yaw-steps', '3', '--pitch-steps', '2']).done;
  expect(first.code, first.stderr).toBe(0);
  await writeFile(join(out, 'notes.txt'), 'the kitchen, Tuesday\n');
  const second = await panorama(['--output', out]).done;
  expect(second.code, second.stderr).toBe(0);
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  expect(manifest.frame_count).toBe(2);
  const listed = Object.values(manifest.files as Record<string, string>);
  expect(await filesUnder(out)).toEqual([...listed, 'manifest.json', 'notes.txt'].sort());
  expect(listed).not.toContain('panorama_grid.jpg');
  for (const file of [...listed, 'manifest.json']) expect((await stat(join(out, file))).mode & 0o777, file).toBe(0o600);
  for (const folder of [out, join(out, 'strips')]) expect((await stat(folder)).mode & 0o777, folder).toBe(0o700);
}, 60_000);

test('a folder with files but no previous panorama: exit 2 before anything moves; its files are left alone', async () => {
  const out = join(dir, 'someone-elses');
  await mkdir(out);
  await writeFile(join(out, 'frame_000_body_+0_pitch_+0_yaw_+0.jpg'), 'not ours\n');
  const sentAt = scene.all.messages.length;
  const result = await panorama(['--output', out]).done;
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toContain(`OutputNotEmpty: ${out} is not empty and holds no previous panorama (no readable manifest.json); its files are left alone; nothing moved`);
  expect(methodsSince(sentAt)).not.toContain('acquire_lease');
  expect(await filesUnder(out)).toEqual(['frame_000_body_+0_pitch_+0_yaw_+0.jpg']);
}, 30_000);
