// DaemonSdkSocket against the emulator's `/ws/sdk` (reachy-daemon-api.md §2; reference-driver.md
// §12 bug 12), transcript style: await the next push, assert. Pushes arrive typed and cached with
// a stale flag; commands reach the daemon and show up in the next pushes; a send with no
// connection is a typed error; the socket comes back within 2 s of the daemon returning on the
// same port; a link that stops answering pings is dropped and redialled.
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { DaemonCommandInvalid, DaemonNotConnected } from '../../src/adapters/daemon-errors.ts';
import { backoffCeilingMs } from '../../src/backoff.ts';
import { RECONNECT_INITIAL_DELAY_MS, RECONNECT_MAX_DELAY_MS } from '../../src/adapters/daemon-reconnecting-socket.ts';
import { DaemonSdkSocket, STALE_AFTER_MS, type SdkCommand } from '../../src/adapters/daemon-sdk-socket.ts';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/sim/emulator.ts';
import { eventually, nextEvent, sleep, startDeafWsServer } from './daemon-test-peers.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: EmulatorOptions = {}): Promise<{ emulator: Emulator; sdk: DaemonSdkSocket }> {
  const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE, ...options });
  cleanups.push(() => emulator.close());
  const sdk = new DaemonSdkSocket({ baseUrl: emulator.url });
  cleanups.push(() => sdk.close());
  await nextEvent(sdk, 'open');
  return { emulator, sdk };
}

const sdkFrames = (emulator: Emulator): unknown[] =>
  emulator.received.filter((entry) => entry.transport === 'ws' && entry.path === '/ws/sdk').map((entry) => entry.body);

const yawMatrix = (yaw: number): number[] => [Math.cos(yaw), -Math.sin(yaw), 0, 0, Math.sin(yaw), Math.cos(yaw), 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

describe('pushes', () => {
  test('joint_positions, head_pose and daemon_status arrive typed and are cached fresh', async () => {
    const { emulator, sdk } = await setup();
    expect(sdk.url).toBe(`${emulator.wsUrl}/ws/sdk`);
    const joints = await nextEvent(sdk, 'joint_positions');
    expect(joints.head_joint_positions).toHaveLength(7);
    expect(joints.antennas_joint_positions).toHaveLength(2);
    const pose = await nextEvent(sdk, 'head_pose');
    expect(pose.head_pose.flat()).toEqual(emulator.snapshot().headPoseMatrix);
    const status = await nextEvent(sdk, 'daemon_status');
    expect(status).toEqual(emulator.daemonStatus());

    const cached = sdk.latest('joint_positions');
    expect(cached?.stale).toBe(false);
    expect(cached?.ageMs).toBeLessThan(STALE_AFTER_MS);
    expect(Math.abs((cached?.receivedAt ?? 0) - Date.now())).toBeLessThan(STALE_AFTER_MS);
    expect(sdk.latest('daemon_status')?.stale).toBe(false);
    expect(sdk.latest('imu_data')).toBeUndefined();
    expect(sdk.invalidFrames).toBe(0);
  });

  test('the wireless robot also pushes imu_data', async () => {
    const { sdk } = await setup({ model: 'wireless' });
    const imu = await nextEvent(sdk, 'imu_data');
    expect(imu).toEqual({ type: 'imu_data', accelerometer: [0, 0, 9.81], gyroscope: [0, 0, 0], quaternion: [1, 0, 0, 0], temperature: 36 });
    expect(sdk.latest('imu_data')?.stale).toBe(false);
  });

  test('when the daemon stops pushing state (backend stopped) the cache turns stale while connected', async () => {
    const { emulator, sdk } = await setup();
    await nextEvent(sdk, 'joint_positions');
    emulator.setFault({ kind: 'backend-not-running' });
    const faultAt = performance.now();
    // daemon_status keeps coming at 1 Hz and says why.
    expect(await nextEvent(sdk, 'daemon_status', (s) => s.state === 'stopped', 2_000)).toMatchObject({ backend_status: null });
    await eventually(() => sdk.latest('joint_positions')?.stale === true, 2_000);
    expect(performance.now() - faultAt).toBeGreaterThanOrEqual(STALE_AFTER_MS - 30);
    expect(sdk.connected).toBe(true);
    expect(sdk.latest('joint_positions')?.ageMs).toBeGreaterThan(STALE_AFTER_MS);
    expect(sdk.latest('head_pose')?.stale).toBe(true);
    expect(sdk.latest('daemon_status')?.stale).toBe(false);

    emulator.setFault({ kind: 'none' });
    await nextEvent(sdk, 'joint_positions');
    expect(sdk.latest('joint_positions')?.stale).toBe(false);
  });
});

describe('what the stall check and the holds may trust', () => {
  test('a control loop that stopped while daemon_status still comes at 1 Hz reads as silent (only state pushes count)', async () => {
    const { emulator, sdk } = await setup();
    await nextEvent(sdk, 'joint_positions');
    emulator.setFault({ kind: 'backend-not-running' });
    // A daemon_status arrives; the state pushes stopped up to a second before it.
    await nextEvent(sdk, 'daemon_status', (status) => status.state === 'stopped', 2_000);
    await nextEvent(sdk, 'daemon_status', () => true, 2_000);
    // Before 2026-12-06 any frame counted: right after a status push the link read as live.
    expect(sdk.silentForMs()).toBeGreaterThan(STALE_AFTER_MS);
    emulator.setFault({ kind: 'none' });
    await nextEvent(sdk, 'joint_positions');
    expect(sdk.silentForMs()).toBeLessThan(STALE_AFTER_MS);
  });

  test('a push from before a reconnect is stale and not from this connection, until the daemon pushes again', async () => {
    const { emulator, sdk } = await setup();
    await nextEvent(sdk, 'joint_positions');
    await nextEvent(sdk, 'head_pose');
    await emulator.stop();
    const reopened = nextEvent(sdk, 'open', () => true, 5_000);
    await emulator.start();
    await reopened;
    for (const type of ['joint_positions', 'head_pose'] as const) {
      expect(sdk.latest(type), type).toMatchObject({ stale: true, thisConnection: false });
    }
    await nextEvent(sdk, 'joint_positions');
    expect(sdk.latest('joint_positions')).toMatchObject({ stale: false, thisConnection: true });
  });
});

describe('commands', () => {
  test('set_antennas, set_target, set_body_yaw and set_full_target reach the daemon and show in the pushes', async () => {
    const { emulator, sdk } = await setup();
    expect(sdk.send({ type: 'set_antennas', antennas: [0.3, -0.3] })).toEqual({ ok: true });
    await nextEvent(sdk, 'joint_positions', (p) => p.antennas_joint_positions[0] === 0.3 && p.antennas_joint_positions[1] === -0.3);

    expect(sdk.send({ type: 'set_target', head: yawMatrix(0.25) }).ok).toBe(true);
    await nextEvent(sdk, 'head_pose', (p) => Math.abs((p.head_pose[1]?.[0] ?? 0) - Math.sin(0.25)) < 1e-9);

    expect(sdk.send({ type: 'set_body_yaw', body_yaw: 0.2 }).ok).toBe(true);
    await nextEvent(sdk, 'joint_positions', (p) => Math.abs((p.head_joint_positions[0] ?? 0) - 0.2) < 1e-9);

    expect(sdk.send({ type: 'set_full_target', antennas: [0.1, -0.1], body_yaw: 0 }).ok).toBe(true);
    await nextEvent(sdk, 'joint_positions', (p) => p.antennas_joint_positions[0] === 0.1 && Math.abs(p.head_joint_positions[0] ?? 1) < 1e-9);

    expect(sdkFrames(emulator)).toEqual([
      { type: 'set_antennas', antennas: [0.3, -0.3] },
      { type: 'set_target', head: yawMatrix(0.25) },
      { type: 'set_body_yaw', body_yaw: 0.2 },
      { type: 'set_full_target', antennas: [0.1, -0.1], body_yaw: 0 },
    ]);
  });

  test('a malformed command is a typed error and never leaves the driver', async () => {
    const { emulator, sdk } = await setup();
    const bad: SdkCommand[] = [
      { type: 'set_antennas', antennas: [Number.NaN, 0] },
      { type: 'set_target', head: [1, 0, 0] },
      { type: 'set_body_yaw', body_yaw: Number.POSITIVE_INFINITY },
      { type: 'set_full_target', head: yawMatrix(0).slice(1) },
    ];
    for (const command of bad) {
      const result = sdk.send(command);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error).toBeInstanceOf(DaemonCommandInvalid);
        expect(result.error).toMatchObject({ command: command.type });
      }
    }
    expect(sdkFrames(emulator)).toEqual([]);
  });

  test('runTask: a task goto (interpolation honoured) resolves with its task_progress', async () => {
    const { emulator, sdk } = await setup();
    const progress = await sdk.runTask({ antennas: [0.6, -0.6], body_yaw: null, head: null, duration: 1, method: 'linear' });
    expect(progress).toMatchObject({ type: 'task_progress', finished: true, error: null });
    expect(emulator.snapshot().antennas).toEqual([0.6, -0.6]);
    expect(sdkFrames(emulator)).toEqual([
      { type: 'task', uuid: progress.uuid, timestamp: expect.any(String), req: { antennas: [0.6, -0.6], body_yaw: null, head: null, duration: 1, method: 'linear' } },
    ]);
  });
});

describe('connection loss', () => {
  test('send while disconnected → DaemonNotConnected; reconnects within 2 s of the daemon returning on the same port', async () => {
    const { emulator, sdk } = await setup();
    await nextEvent(sdk, 'joint_positions');
    const closed = nextEvent(sdk, 'close');
    await emulator.stop();
    expect((await closed).code).toBe(1006);
    expect(sdk.connected).toBe(false);
    // The last state is still readable, and marked stale: the link is down.
    expect(sdk.latest('joint_positions')?.stale).toBe(true);

    const result = sdk.send({ type: 'set_antennas', antennas: [0.1, 0.1] });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(DaemonNotConnected);
      expect(result.error).toMatchObject({ state: 'connecting', url: sdk.url });
    }
    await expect(sdk.runTask({ antennas: [0, 0], duration: 0.1 })).rejects.toBeInstanceOf(DaemonNotConnected);

    // Stay down long enough for the back-off's ceiling to reach its cap (the delay itself is a random fraction of it), then come back.
    const policy = { baseMs: RECONNECT_INITIAL_DELAY_MS, maxMs: RECONNECT_MAX_DELAY_MS };
    await nextEvent(sdk, 'reconnecting', (info) => backoffCeilingMs(policy, info.attempt) >= RECONNECT_MAX_DELAY_MS && info.delayMs <= RECONNECT_MAX_DELAY_MS, 3_000);
    const reopened = nextEvent(sdk, 'open', () => true, 3_000);
    await emulator.start();
    const backAt = performance.now();
    await reopened;
    expect(performance.now() - backAt).toBeLessThan(2_000);
    await nextEvent(sdk, 'joint_positions');
    expect(sdk.latest('joint_positions')?.stale).toBe(false);
    expect(sdk.send({ type: 'set_antennas', antennas: [0.2, -0.2] })).toEqual({ ok: true });
    await nextEvent(sdk, 'joint_positions', (p) => p.antennas_joint_positions[0] === 0.2);
  });

  test('a link that stops answering pings is terminated and redialled', async () => {
    const deaf = await startDeafWsServer();
    cleanups.push(() => deaf.close());
    const sdk = new DaemonSdkSocket({ baseUrl: deaf.url, pingIntervalMs: 50, pongTimeoutMs: 150 });
    cleanups.push(() => sdk.close());
    await nextEvent(sdk, 'open');
    const openedAt = performance.now();
    const closed = await nextEvent(sdk, 'close');
    expect(closed.reason).toBe('no pong within 150 ms');
    expect(performance.now() - openedAt).toBeLessThan(1_000);
    await nextEvent(sdk, 'open');
    expect(deaf.connections).toBe(2);
  });

  test('an endpoint that accepts the upgrade and drops it at once: the back-off keeps climbing to its cap (it restarted at 100 ms every time)', async () => {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http });
    let accepted = 0;
    wss.on('connection', (socket: WebSocket) => {
      accepted += 1;
      socket.close(1011, 'handler crashed');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    const sdk = new DaemonSdkSocket({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}` });
    cleanups.push(() => sdk.close());
    const attempts: number[] = [];
    sdk.on('reconnecting', (info) => void attempts.push(info.attempt));
    await sleep(3_000);
    // Uncapped, the attempts climb; at ~100 ms a cycle 3 s would be ~25 accepts, at the 1 s cap a handful more than the climb.
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(4);
    expect(accepted).toBeLessThan(15);
  });

  test('waitOpen with an already aborted signal answers false at once (it waited out its whole timeout)', async () => {
    const sdk = new DaemonSdkSocket({ baseUrl: 'http://127.0.0.1:9' });
    cleanups.push(() => sdk.close());
    // A 60 s wait: were it waited out, the test would time out long before.
    expect(await sdk.waitOpen(60_000, AbortSignal.abort())).toBe(false);
  });

  test('close() stops reconnecting: state closed, sends refused as closed', async () => {
    const { emulator, sdk } = await setup();
    await emulator.stop();
    await nextEvent(sdk, 'reconnecting');
    await sdk.close();
    expect(sdk.state).toBe('closed');
    const result = sdk.send({ type: 'set_body_yaw', body_yaw: 0 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatchObject({ _tag: 'DaemonNotConnected', state: 'closed' });
    await emulator.start();
    await sleep(RECONNECT_MAX_DELAY_MS + 200);
    expect(sdk.state).toBe('closed');
    expect(emulator.received.filter((entry) => entry.path === '/ws/sdk')).toEqual([]);
  });
});

describe('state streams read on demand (issue 11)', () => {
  /** A daemon that sends exactly the frames the test writes, as the daemon does (`type` first). */
  async function scriptedDaemon(): Promise<{ sdk: DaemonSdkSocket; send: (...frames: string[]) => Promise<void> }> {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    const connected = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const sdk = new DaemonSdkSocket({ baseUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}` });
    cleanups.push(async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
    cleanups.push(() => sdk.close());
    await nextEvent(sdk, 'open');
    const socket = await connected;
    // A daemon_status is decoded on arrival: once it is seen, every frame sent before it arrived too.
    const send = async (...frames: string[]): Promise<void> => {
      for (const frame of frames) socket.send(frame);
      socket.send(JSON.stringify({ type: 'daemon_status', robot_name: 'r', state: 'running', wireless_version: false, no_media: true, backend_status: null }));
      await nextEvent(sdk, 'daemon_status');
    };
    return { sdk, send };
  }

  const joints = (yaw: number): string => `{"type": "joint_positions", "head_joint_positions": [${yaw}, 0, 0, 0, 0, 0, 0], "antennas_joint_positions": [0, 0]}`;

  test('an unheard stream is decoded when read: the newest frame, its receive time kept', async () => {
    const { sdk, send } = await scriptedDaemon();
    await send(joints(0.1));
    await send(joints(0.2));
    const before = Date.now();
    await sleep(30);
    const cached = sdk.latest('joint_positions');
    expect(cached?.value.head_joint_positions[0]).toBe(0.2);
    expect(cached?.receivedAt).toBeLessThanOrEqual(before);
    expect(cached?.ageMs).toBeGreaterThanOrEqual(25);
    expect(sdk.invalidFrames).toBe(0);
  });

  /** The end of the loop turn a test resumed in: a batch's frames have then reached their listeners. */
  const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  test('a malformed frame is counted when read and the previous push stays; a listener gets the frames typed', async () => {
    const { sdk, send } = await scriptedDaemon();
    await send(joints(0.3));
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.3);
    await send('{"type": "joint_positions", "head_joint_positions": [1, 2], "antennas_joint_positions": [0, 0]}');
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.3);
    expect(sdk.invalidFrames).toBe(1);
    const heard: number[] = [];
    const off = sdk.on('joint_positions', (push) => heard.push(push.head_joint_positions[0] ?? NaN));
    await send(joints(0.4));
    await send('{"type": "joint_positions", "head_joint_positions": null}');
    await endOfTurn();
    off();
    expect(heard).toEqual([0.4]);
    expect(sdk.invalidFrames).toBe(2);
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.4);
  });

  /** ~200 KB, under the frame limit, nested 100,000 deep: JSON.parse takes it, JSON.stringify would throw (RangeError). */
  const deepJoints = `{"type": "joint_positions", "head_joint_positions": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "antennas_joint_positions": [0, 0]}`;

  test('a frame nested too deep to quote is counted and dropped, read on demand, in an idle batch or live; the previous push stays', async () => {
    const { sdk, send } = await scriptedDaemon();
    await send(joints(0.1));
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.1);
    await send(deepJoints);
    // Decoded by `latest` (the executor's hold reads it so): a problem, not a throw to the caller.
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.1);
    expect(sdk.invalidFrames).toBe(1);

    const heard: number[] = [];
    sdk.on('joint_positions', (push) => heard.push(push.head_joint_positions[0] ?? NaN));
    expect(sdk.readsRelaxed).toBe(true);
    // Decoded by the batch flush (a setImmediate: a throw there would end the process).
    await send(deepJoints);
    await endOfTurn();
    expect(sdk.invalidFrames).toBe(2);
    expect(heard).toEqual([]);

    await sdk.readLive();
    expect(sdk.readsRelaxed).toBe(false);
    await send(deepJoints);
    expect(sdk.invalidFrames).toBe(3);
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.1);
    await send(joints(0.2));
    expect(heard).toEqual([0.2]);
    expect(sdk.invalidFrames).toBe(3);
  });

  test('a daemon_status with an extra key nested too deep to write again is dropped: get_status passes the status on whole', async () => {
    const { sdk, send } = await scriptedDaemon();
    const status = (extra: string): string => `{"type": "daemon_status", "robot_name": "mine", "state": "running", "wireless_version": false, "no_media": true, "backend_status": null, "error": null${extra}}`;
    const heard: string[] = [];
    // `send` follows each frame with a status of its own (robot_name "r"), which this test leaves out.
    sdk.on('daemon_status', (push) => push.robot_name === 'mine' && heard.push(push.robot_name));
    await sdk.readLive();
    await send(status(''));
    await send(status(`, "future": ${'['.repeat(100_000)}${']'.repeat(100_000)}`));
    await send(status(`, "future": "${'x'.repeat(20_000)}"`));
    await send(status(', "future": [1, 2]'));
    expect(heard).toEqual(['mine', 'mine']);
    expect(sdk.invalidFrames).toBe(2);
  });

  test('a listener hears the newest frame of a batch read at idle, once, at the end of its turn; read live, every frame', async () => {
    const { sdk, send } = await scriptedDaemon();
    const heard: number[] = [];
    sdk.on('joint_positions', (push) => heard.push(push.head_joint_positions[0] ?? NaN));
    expect(sdk.readsRelaxed).toBe(true);
    // Three ticks and a status written at once wait in the kernel for one drain: the status is
    // heard as it is read, the newest tick at the end of that loop turn, the older two never.
    await send(joints(0.1), joints(0.2), joints(0.3));
    expect(heard).toEqual([]);
    await endOfTurn();
    expect(heard).toEqual([0.3]);
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.3);
    await send(joints(0.4), '{"type": "joint_positions", "head_joint_positions": null}');
    await endOfTurn();
    // The newest of that batch is malformed: counted, nothing heard, the previous push stays.
    expect(heard).toEqual([0.3]);
    expect(sdk.invalidFrames).toBe(1);
    expect(sdk.latest('joint_positions')?.value.head_joint_positions[0]).toBe(0.3);

    await sdk.readLive();
    expect(sdk.readsRelaxed).toBe(false);
    heard.length = 0;
    await send(joints(0.5), joints(0.6));
    expect(heard).toEqual([0.5, 0.6]);
  });
});
