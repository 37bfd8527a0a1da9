// `/ws/sdk` transcripts (reachy-daemon-api.md §2; fixtures/daemon/ws1.txt, ws2.txt): pushes at
// the control-loop rate with the daemon's shapes, daemon_status at 1 Hz, commands that are
// fire-and-forget (never answered), targets dropped while a goto plays, task → task_progress,
// recording → recorded_data, and the wireless variant's imu_data.
import { afterEach, describe, expect, test } from 'vitest';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/sim/emulator.ts';
import { DAEMON_STATUS_RUNNING, SDK_PUSH_SAMPLES } from './daemon-fixtures.ts';
import { shapeOf } from './json-shape.ts';
import { eventually, post, sleep, WsProbe, type Frame } from './protocol-client.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connect(options: EmulatorOptions = {}): Promise<{ emulator: Emulator; sdk: WsProbe }> {
  const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE, ...options });
  const sdk = await WsProbe.open(`${emulator.wsUrl}/ws/sdk`);
  cleanups.push(() => emulator.close(), () => sdk.close());
  return { emulator, sdk };
}

const PUSH_TYPES = new Set(['joint_positions', 'head_pose', 'daemon_status', 'imu_data']);
const isPush = (frame: Frame): boolean => PUSH_TYPES.has(String(frame.type));

/** The next joint_positions push whose antennas satisfy `match`. */
const jointsWhere = (sdk: WsProbe, match: (antennas: number[], head: number[]) => boolean): Promise<Frame> =>
  sdk.next((f) => f.type === 'joint_positions' && match(f.antennas_joint_positions as number[], f.head_joint_positions as number[]));

describe('pushes', () => {
  test('joint_positions and head_pose at ~50 Hz, daemon_status at ~1 Hz, in the daemon shapes', async () => {
    const { sdk } = await connect();
    const windowStart = performance.now();
    await sleep(1000);
    const window = sdk.log.filter((entry) => entry.at >= windowStart);
    const count = (type: string): number => window.filter((entry) => entry.frame.type === type).length;
    // 50 per second nominal (100 in 2 s on the real daemon); a loaded CI box may lose a few ticks.
    expect(count('joint_positions')).toBeGreaterThanOrEqual(40);
    expect(count('joint_positions')).toBeLessThanOrEqual(55);
    expect(count('head_pose')).toBe(count('joint_positions'));
    expect(count('daemon_status')).toBeGreaterThanOrEqual(1);
    expect(count('daemon_status')).toBeLessThanOrEqual(2);
    expect(count('imu_data')).toBe(0);

    for (const type of ['joint_positions', 'head_pose'] as const) {
      const frame = window.find((entry) => entry.frame.type === type)?.frame;
      expect(shapeOf(frame)).toEqual(shapeOf(JSON.parse(SDK_PUSH_SAMPLES[type])));
    }
    const status = window.find((entry) => entry.frame.type === 'daemon_status')?.frame;
    expect(JSON.stringify(status)).toBe(DAEMON_STATUS_RUNNING);
  });

  test('a pushed pose is the present state (head_pose rows = the matrix, joints = IK)', async () => {
    const { emulator, sdk } = await connect();
    await post(emulator.url, '/api/move/set_target', { target_head_pose: { pitch: 0.1 }, target_antennas: [0.2, -0.2] });
    const joints = await jointsWhere(sdk, (a) => a[0] === 0.2);
    expect(joints.antennas_joint_positions).toEqual([0.2, -0.2]);
    const pose = await sdk.next((f) => f.type === 'head_pose' && Math.abs(((f.head_pose as number[][])[2]?.[0] ?? 0) + Math.sin(0.1)) < 1e-12);
    expect((pose.head_pose as number[][]).flat()).toEqual(emulator.snapshot().headPoseMatrix);
  });

  test('the wireless variant also pushes imu_data every tick', async () => {
    const { sdk } = await connect({ model: 'wireless' });
    const imu = await sdk.nextOfType('imu_data');
    expect(imu).toEqual({ type: 'imu_data', accelerometer: [0, 0, 9.81], gyroscope: [0, 0, 0], quaternion: [1, 0, 0, 0], temperature: 36 });
  });
});

describe('commands (fire-and-forget: no reply, ever)', () => {
  test('set_antennas, set_target, set_body_yaw and set_full_target show up in the next pushes', async () => {
    const { emulator, sdk } = await connect();
    sdk.send({ type: 'set_antennas', antennas: [0.3, -0.3] });
    await jointsWhere(sdk, (a) => a[0] === 0.3 && a[1] === -0.3);

    const yaw = 0.25;
    sdk.send({ type: 'set_target', head: [Math.cos(yaw), -Math.sin(yaw), 0, 0, Math.sin(yaw), Math.cos(yaw), 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] });
    await eventually(() => Math.abs(emulator.snapshot().headPose.yaw - yaw) < 1e-12);

    sdk.send({ type: 'set_body_yaw', body_yaw: 0.2 });
    await jointsWhere(sdk, (_a, head) => Math.abs((head[0] ?? 0) - 0.2) < 1e-12);

    sdk.send({ type: 'set_full_target', antennas: [0, 0], body_yaw: 0 });
    await jointsWhere(sdk, (a, head) => a[0] === 0 && head[0] === 0);
    expect(sdk.log.filter((entry) => !isPush(entry.frame))).toEqual([]);
  });

  test('targets are dropped while a REST goto plays', async () => {
    const { emulator, sdk } = await connect({ timeScale: 0.2 });
    const updates = await WsProbe.open(`${emulator.wsUrl}/api/move/ws/updates`);
    cleanups.push(() => updates.close());
    await post(emulator.url, '/api/move/goto', { antennas: [1, -1], duration: 1 });
    sdk.send({ type: 'set_antennas', antennas: [-2, 2] });
    await updates.nextOfType('move_completed');
    await sleep(60);
    expect(emulator.snapshot().antennas).toEqual([1, -1]);
    expect(sdk.log.some((entry) => (entry.frame.antennas_joint_positions as number[] | undefined)?.[0] === -2)).toBe(false);
  });

  test('task goto → one task_progress broadcast, in the sample shape', async () => {
    const { sdk } = await connect();
    const uuid = '21979fae-33d0-4c39-8af0-5086aef4e338';
    sdk.send({ type: 'task', uuid, timestamp: new Date().toISOString(), req: { head: null, antennas: [0.5, 0.5], duration: 0.5, method: 'minjerk', body_yaw: null } });
    const progress = await sdk.nextOfType('task_progress');
    expect(progress).toMatchObject({ type: 'task_progress', uuid, finished: true, error: null });
    expect(String(progress.timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    expect(shapeOf(progress)).toEqual(shapeOf(JSON.parse(SDK_PUSH_SAMPLES.task_progress)));
    await jointsWhere(sdk, (a) => a[0] === 0.5);
  });

  test('recording: start, append, stop → recorded_data with the appended records', async () => {
    const { sdk } = await connect();
    sdk.send({ type: 'append_record', record: { ignored: true } });
    sdk.send({ type: 'start_recording' });
    sdk.send({ type: 'append_record', record: { time: 1.0, antennas: [0.1, 0.2] } });
    sdk.send({ type: 'stop_recording' });
    expect(JSON.stringify(await sdk.nextOfType('recorded_data'))).toBe(SDK_PUSH_SAMPLES.recorded_data.replace('1.0', '1'));
  });

  test('motor commands: set_torque off → disabled, set_motor_mode enabled, set_gravity_compensation', async () => {
    const { emulator, sdk } = await connect();
    sdk.send({ type: 'set_torque', on: false });
    await eventually(() => emulator.snapshot().motorMode === 'disabled');
    sdk.send({ type: 'set_motor_mode', mode: 'enabled' });
    await eventually(() => emulator.snapshot().motorMode === 'enabled');
    sdk.send({ type: 'set_gravity_compensation', enabled: true });
    await eventually(() => emulator.snapshot().motorMode === 'gravity_compensation');
    sdk.send({ type: 'set_torque', on: true, ids: ['left_antenna'] });
    sdk.send({ type: 'set_torque', on: true });
    await eventually(() => emulator.snapshot().motorMode === 'enabled');
    sdk.drain();
    expect((await sdk.nextOfType('daemon_status')).backend_status).toEqual({ motor_control_mode: 'enabled', error: null });
  });

  test('goto_sleep and wake_up commands run the daemon sequences', async () => {
    const { emulator, sdk } = await connect();
    sdk.send({ type: 'goto_sleep' });
    await eventually(() => emulator.snapshot().motorMode === 'disabled');
    expect(emulator.snapshot().antennas).toEqual([-3.05, 3.05]);
    sdk.send({ type: 'wake_up' });
    await eventually(() => emulator.snapshot().antennas[1] === 0.1745 && !emulator.snapshot().isMoveRunning);
  });

  test('JSON-RPC, unknown types, malformed frames and getters are dropped without a reply', async () => {
    const { emulator, sdk } = await connect();
    sdk.send({ jsonrpc: '2.0', id: 1, method: 'apps.status' });
    sdk.send({ type: 'nope' });
    sdk.send('not json');
    sdk.send({ type: 'set_antennas', antennas: [1, 2, 3] });
    sdk.send({ type: 'get_state' });
    sdk.send({ type: 'get_version' });
    sdk.send({ type: 'set_motor_mode', mode: 'bogus' });
    await sleep(100);
    expect(sdk.log.filter((entry) => !isPush(entry.frame))).toEqual([]);
    expect(emulator.snapshot().antennas).toEqual([-0.1745, 0.1745]);
    expect(emulator.snapshot().motorMode).toBe('enabled');
    expect(emulator.received.filter((r) => r.transport === 'ws').map((r) => r.body)).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'apps.status' }, { type: 'nope' }, 'not json', { type: 'set_antennas', antennas: [1, 2, 3] },
      { type: 'get_state' }, { type: 'get_version' }, { type: 'set_motor_mode', mode: 'bogus' },
    ]);
  });
});
