// --sim's daemon emulator in its own process (src/adapters/emulator-process.ts), as the CLI runs it:
// a driver held up for longer than the stall limit still finds its daemon live afterwards (the
// emulator kept pushing into the socket, as a robot's daemon does), so the next realtime call is
// accepted; an emulator that dies is said once and leaves the robot unreachable, not moved; the
// emulator's process ends with the driver — stopped, or killed outright. Transcripts
// over a real broker; the CLI run is the real `src/cli.ts run --sim` process.
import { afterEach, expect, test } from 'vitest';
import { LIVE_QUIET_MS } from '../../src/adapters/daemon-sdk-socket.ts';
import { SDK_STALL_MS } from '../../src/actors/motion-executor.ts';
import { startOperatorScene, errorData, type OperatorScene } from '../harness/operator-scene.ts';
import { startNatsServer } from '../harness/nats-server.ts';
import { startCli } from '../harness/cli-process.ts';
import { childrenRunning, waitGone } from '../harness/process-tree.ts';
import { captureLogs } from '../harness/log-capture.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The driver's event loop held up this long: well past SDK_STALL_MS, as a slow first import or a loaded host does. */
const HELD_UP_MS = 400;

/** Holds this process's event loop (the driver's) without yielding. */
function holdUp(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: no timer, socket read or push of this process runs
  }
}

/** The pids of `pid`'s children running the emulator's entry. */
const emulatorChildren = (pid: number): number[] => childrenRunning(pid, 'emulator-child');

async function scene(id: string): Promise<OperatorScene> {
  const s = await startOperatorScene({ deviceId: id, argv: ['--sim', '--no-media'], overrides: { simInProcess: false } });
  cleanups.push(() => s.stop());
  return s;
}

test('a driver held up past the stall limit still moves the robot on the next realtime call', async () => {
  expect(HELD_UP_MS).toBeGreaterThan(2 * SDK_STALL_MS);
  const s = await scene('sim-process-held-up');
  expect(s.driver.emulator).toBeUndefined();
  for (const yaw of [10, -10, 10]) {
    // Past LIVE_QUIET_MS the link reads /ws/sdk relaxed, as between an agent's calls.
    await sleep(LIVE_QUIET_MS + 300);
    const pending = s.call('look_at_world', { yaw, owner: 'newcomer' });
    await s.nc.flush();
    holdUp(HELD_UP_MS);
    const reply = await pending;
    expect(errorData(reply), JSON.stringify(reply.error)).toEqual({});
    expect(reply.result?.status).toBe('accepted');
  }
});

test('the emulator process ends when the driver stops', async () => {
  const s = await scene('sim-process-stop');
  const children = emulatorChildren(process.pid);
  expect(children).toHaveLength(1);
  const [child] = children;
  await s.stop();
  cleanups.length = 0;
  expect(await waitGone(child as number, 5_000)).toBe(true);
});

test('an emulator process that dies is said once, and the robot is then unreachable, never moved', async () => {
  const logs = captureLogs('info');
  cleanups.push(async () => logs.restore());
  const s = await scene('sim-process-died');
  const [child] = emulatorChildren(process.pid);
  process.kill(child as number, 'SIGKILL');
  await expect.poll(async () => (await s.status()).connection_state, { timeout: 10_000 }).not.toBe('connected');
  const reply = await s.call('look_at_world', { yaw: 10, owner: 'newcomer' });
  expect(errorData(reply)._tag).toBe('DaemonUnavailable');
  // The link keeps retrying meanwhile; the emulator's end is said once, with the fix.
  await sleep(1_500);
  const said = logs.matching('ERROR', 'the --sim emulator process ended');
  expect(said).toHaveLength(1);
  expect(said[0]).toContain('fix="restart the driver');
});

test('the emulator process ends when the driver is killed outright', async () => {
  const broker = await startNatsServer();
  cleanups.push(() => broker.stop());
  const cli = startCli(['run', '--sim', '--no-media', '--device-id', 'sim-process-killed', '--messaging-url', broker.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_AUDIT_LOG: 'none' });
  cleanups.push(async () => cli.child.kill('SIGKILL'));
  await cli.line((line) => line.startsWith('reachy-mini-driver sim-process-killed'), 15_000);
  // Forked as the daemon link starts, shortly after the mesh answers.
  await expect.poll(() => emulatorChildren(cli.child.pid as number).length, { timeout: 10_000 }).toBe(1);
  const [child] = emulatorChildren(cli.child.pid as number);
  cli.child.kill('SIGKILL');
  expect(await waitGone(child as number, 5_000)).toBe(true);
  const { stderr } = await cli.done;
  expect(stderr).not.toMatch(/ERROR/);
});
