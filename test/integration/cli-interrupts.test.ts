// Transcript of Ctrl-C (SIGINT) sent to the real CLI while it waits, over a test broker: `call` of a
// 6 s body move with `wait: true` on a `--sim` driver, `call` to a device that never answers, and
// `devices`/`functions` asking a registry that never answers. Each exits 130 at once, saying what it
// stopped waiting for, and sends nothing more to the device (Ctrl-C of `call` abandons the wait, it
// does not stop the robot). `events` ending on Ctrl-C and the panorama's Ctrl-C are
// cli-habits.test.ts and panorama.test.ts.
import type { Subscription } from '@nats-io/nats-core';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { startCli, type CliRun } from '../harness/cli-process.ts';

const ID = 'intr-sim-1';
const CMD = `device-connect.default.${ID}.cmd`;
/** A tenant where a device and a registry are subscribed but never answer. */
const QUIET = 'quiet';
/** "At once": well under the waits abandoned here (a 6 s move, 30 s request timeouts), with room for a loaded 2-core box. */
const PROMPT_EXIT_MS = 2_000;
let scene: MeshScene;
const silent: { subject: string; at: number }[] = [];
const subscriptions: Subscription[] = [];
const runs: CliRun[] = [];

beforeAll(async () => {
  scene = await startMeshScene(['--sim', '--no-media', '--device-id', ID, '--discovery-mode', 'd2d']);
  for (const subject of [`device-connect.${QUIET}.discovery`, `device-connect.${QUIET}.silent-1.cmd`]) {
    subscriptions.push(scene.nc.subscribe(subject, { callback: () => void silent.push({ subject, at: Date.now() }) }));
  }
  await scene.nc.flush();
}, 30_000);
afterEach(() => {
  for (const run of runs.splice(0)) run.child.kill('SIGKILL');
});
afterAll(async () => {
  for (const sub of subscriptions) sub.unsubscribe();
  await scene?.stop();
});

function cli(args: readonly string[]): CliRun {
  const run = startCli([...args, '--messaging-url', scene.server.url]);
  runs.push(run);
  return run;
}

/** SIGINT, then the exit code and how long the CLI took to exit (null: still running after 5 s). */
async function interrupt(run: CliRun): Promise<{ code: number | null; stdout: string; stderr: string; exitMs: number | null }> {
  const sentAt = Date.now();
  run.child.kill('SIGINT');
  const late = new Promise<null>((r) => setTimeout(() => r(null), 5_000));
  const result = await Promise.race([run.done, late]);
  if (result === null) return { code: null, stdout: '', stderr: '', exitMs: null };
  return { ...result, exitMs: Date.now() - sentAt };
}

test('call set_body_yaw with wait: Ctrl-C exits 130 at once, the move is not stopped by it (nothing more is sent)', async () => {
  const sentAt = scene.all.messages.length;
  const run = cli(['call', ID, 'set_body_yaw', '{"yaw_deg": 60, "duration_s": 6, "wait": true}', '--discovery-mode', 'd2d']);
  await waitFor(() => scene.all.messages.slice(sentAt).some((m) => m.subject === CMD), 10_000, 'the call to reach the device');
  await new Promise((r) => setTimeout(r, 500));
  const interruptedAt = scene.all.messages.length;
  const result = await interrupt(run);
  expect(result.code, result.stderr).toBe(130);
  expect(result.exitMs).toBeLessThan(PROMPT_EXIT_MS);
  expect(result.stdout).toBe('');
  expect(result.stderr).toContain(`interrupted: stopped waiting for set_body_yaw on ${ID}; if it was sent the device may still carry it out (Ctrl-C sends nothing`);
  await new Promise((r) => setTimeout(r, 300));
  const sentAfter = scene.all.messages.slice(interruptedAt).filter((m) => m.subject === CMD).map((m) => (m.body as { method: string }).method);
  expect(sentAfter, 'no stop_motion or anything else on Ctrl-C').toEqual([]);
}, 30_000);

test('call to a device that never answers: Ctrl-C exits 130 at once instead of waiting out the 30 s timeout', async () => {
  const before = silent.length;
  const run = cli(['call', 'silent-1', 'get_status', '--tenant', QUIET, '--discovery-mode', 'd2d']);
  await waitFor(() => silent.slice(before).some((s) => s.subject.endsWith('silent-1.cmd')), 10_000, 'the call to reach the silent device');
  const result = await interrupt(run);
  expect(result.code, result.stderr).toBe(130);
  expect(result.exitMs).toBeLessThan(PROMPT_EXIT_MS);
  expect(result.stderr).toContain('interrupted: stopped waiting for get_status on silent-1');
}, 30_000);

test.each([
  [['devices'], 'interrupted: stopped waiting for the device list'],
  [['functions', 'silent-1'], 'interrupted: stopped waiting for the functions of silent-1'],
])('%j asking a registry that never answers: Ctrl-C exits 130 at once', async (args, said) => {
  const before = silent.length;
  const run = cli([...args, '--tenant', QUIET, '--discovery-mode', 'infra']);
  await waitFor(() => silent.slice(before).some((s) => s.subject.endsWith('.discovery')), 10_000, 'the registry request');
  const result = await interrupt(run);
  expect(result.code, result.stderr).toBe(130);
  expect(result.exitMs).toBeLessThan(PROMPT_EXIT_MS);
  expect(result.stderr).toContain(said);
}, 30_000);
