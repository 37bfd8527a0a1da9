// Transcript of the real CLI piped into `head -1` (bash, as a person types it) against a `--sim`
// driver over a test broker: once `head` has its line and exits, the CLI's next write fails with
// EPIPE. `events | head -1` then ends quietly with exit 0; `panorama --json | head -1` ends like
// an interrupted scan (exit 130): stop_motion, the lease released, the partial scan written. Neither
// prints a stack trace. Ctrl-C itself is test/integration/panorama.test.ts.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { CLI_PATH } from '../harness/cli-process.ts';

const ID = 'pipe-sim-1';
const CMD = `device-connect.default.${ID}.cmd`;
let scene: MeshScene;
let dir: string;
let seq = 0;

async function call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
  return (await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `p-${++seq}`, method, params }, 5_000)) as Record<string, any>;
}

/** `reachy-mini-driver <args> | head -1` in bash; stderr ends with `exit <the CLI's exit code>`. */
function pipedToHead(args: readonly string[]): Promise<{ stdout: string; stderr: string; cliExit: number }> {
  const script = '"$0" "$@" | head -1; echo "exit ${PIPESTATUS[0]}" >&2';
  const argv = ['-c', script, process.execPath, CLI_PATH, ...args, '--messaging-url', scene.server.url, '--discovery-mode', 'd2d'];
  const child = spawn('bash', argv, { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', () => resolve({ stdout, stderr, cliExit: Number(/exit (\d+)\s*$/.exec(stderr)?.[1] ?? NaN) })));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-'));
  scene = await startMeshScene(['--sim', '--sim-model', 'lite', '--sim-time-scale', '0.05', '--device-id', ID, '--discovery-mode', 'd2d']);
  await waitFor(async () => (await call('get_media_status').catch(() => ({}) as Record<string, any>)).result?.session_state === 'streaming', 15_000, 'the media session to stream');
}, 30_000);
afterAll(async () => {
  await scene?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('events | head -1: one event line, then exit 0 with no stack trace', async () => {
  const piped = pipedToHead(['events', ID]);
  let finished = false;
  void piped.then(() => (finished = true));
  // Every accepted move is a safety_event: keep the device talking until the pipeline ends.
  for (let yaw = 0; !finished && yaw < 200; yaw += 1) {
    await call('look_at_world', { yaw: yaw % 2 === 0 ? 5 : -5, owner: 'pipe-test' });
    await new Promise((r) => setTimeout(r, 100));
  }
  await call('release_lease', { owner: 'pipe-test' });
  const result = await piped;
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  expect(JSON.parse(result.stdout)).toMatchObject({ deviceId: ID });
  expect(result.stderr).not.toMatch(/EPIPE|Unhandled|at .*\.ts:\d+/);
  expect(result.cliExit, result.stderr).toBe(0);
}, 40_000);

test('panorama --json | head -1: the scan stops as if interrupted (exit 130): stop_motion, lease released, partial scan written', async () => {
  const out = join(dir, 'piped');
  const sentAt = scene.all.messages.length;
  const result = await pipedToHead(['panorama', ID, '--output', out, '--yaw-steps', '5', '--pitch-steps', '3', '--body-yaw-steps', '1', '--settle-s', '0.2', '--json']);
  expect(JSON.parse(result.stdout)).toEqual({ event: 'start', total: 15 });
  expect(result.stderr).not.toMatch(/EPIPE|Unhandled|fatal|at .*\.ts:\d+/);
  expect(result.cliExit, result.stderr).toBe(130);
  const sent = scene.all.messages.slice(sentAt).filter((m) => m.subject === CMD).map((m) => (m.body as { method: string }).method);
  expect(sent).toContain('stop_motion');
  expect(sent).toContain('release_lease');
  const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  expect(m).toMatchObject({ aborted: true, lease_released: true, planned_frame_count: 15 });
  expect(m.frame_count).toBeLessThan(15);
  expect((await call('acquire_lease', { owner: 'bystander', ttl_s: 1 })).result, 'the lease is free').toBeDefined();
  await call('release_lease', { owner: 'bystander' });
}, 40_000);
