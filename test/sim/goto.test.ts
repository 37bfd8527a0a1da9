// REST motion on the emulator, as transcripts: goto returns a uuid at once and moves the state
// over time with move_started / move_completed on /api/move/ws/updates; stop cancels
// (move_cancelled, robot left mid-way) and an unknown uuid is a 500; set_target is ignored while
// a goto plays; REST goto is always min-jerk (quirk §11.1) while /ws/sdk tasks honour `method`.
import { describe, expect, test } from 'vitest';
import type { Emulator } from '../../src/sim/emulator.ts';
import { useEmulatorProbes } from '../harness/emulator-probes.ts';
import { eventually, get, post } from './protocol-client.ts';

const { emulatorWith, probe } = useEmulatorProbes();

const antennas = async (emulator: Emulator): Promise<[number, number]> =>
  (await get(emulator.url, '/api/state/present_antenna_joint_positions')).json as [number, number];

describe('POST /api/move/goto', () => {
  test('returns a uuid at once, moves the state over time, then reports completion', async () => {
    const emulator = await emulatorWith({ timeScale: 0.25 });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);

    const reply = await post(emulator.url, '/api/move/goto', {
      head_pose: { yaw: 0.4, pitch: 0.1 }, antennas: [1, -1], body_yaw: 0.3, duration: 1,
    });
    expect(reply.status).toBe(200);
    const { uuid } = reply.json as { uuid: string };
    expect(await updates.next()).toEqual({ type: 'move_started', uuid, details: '' });
    expect((await get(emulator.url, '/api/move/running')).json).toEqual([{ uuid }]);

    const samples: number[] = [];
    await eventually(async () => {
      samples.push((await antennas(emulator))[0]);
      return ((await get(emulator.url, '/api/move/running')).json as unknown[]).length === 0;
    }, 3000, 15);
    expect(samples.some((a) => a > -0.17 && a < 0.99)).toBe(true);
    expect(samples).toEqual([...samples].sort((a, b) => a - b));

    expect(await updates.next()).toEqual({ type: 'move_completed', uuid, details: '' });
    const state = (await get(emulator.url, '/api/state/full?with_head_joints=true')).json as Record<string, unknown>;
    expect(state.antennas_position).toEqual([1, -1]);
    expect(state.body_yaw).toBeCloseTo(0.3, 12);
    expect(state.head_pose).toMatchObject({ yaw: expect.closeTo(0.4, 12), pitch: expect.closeTo(0.1, 12) });
    expect((state.head_joints as number[])[0]).toBeCloseTo(0.3, 12);
  });

  test('omitted channels keep their present value (body yaw is not recentred)', async () => {
    const emulator = await emulatorWith({ timeScale: 0.02 });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    await post(emulator.url, '/api/move/goto', { body_yaw: 0.5, duration: 0.5 });
    await updates.nextOfType('move_completed');
    await post(emulator.url, '/api/move/goto', { head_pose: { pitch: 0.1 }, duration: 0.5 });
    await updates.nextOfType('move_completed');
    expect((await get(emulator.url, '/api/state/present_body_yaw')).json).toBeCloseTo(0.5, 12);
    expect(await antennas(emulator)).toEqual([-0.1745, 0.1745]);
  });

  test('duration 0 starts and completes at once without moving', async () => {
    const emulator = await emulatorWith({ timeScale: 1 });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    const { uuid } = (await post(emulator.url, '/api/move/goto', { antennas: [1, 1], duration: 0 })).json as { uuid: string };
    expect(await updates.next()).toEqual({ type: 'move_started', uuid, details: '' });
    expect(await updates.next()).toEqual({ type: 'move_completed', uuid, details: '' });
    expect(await antennas(emulator)).toEqual([-0.1745, 0.1745]);
  });

  test('overlapping gotos are not serialised: both run, both are listed', async () => {
    const emulator = await emulatorWith({ timeScale: 0.1 });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    const first = ((await post(emulator.url, '/api/move/goto', { antennas: [1, -1], duration: 2 })).json as { uuid: string }).uuid;
    const second = ((await post(emulator.url, '/api/move/goto', { antennas: [-1, 1], duration: 1 })).json as { uuid: string }).uuid;
    expect((await get(emulator.url, '/api/move/running')).json).toEqual([{ uuid: first }, { uuid: second }]);
    expect(await updates.next((f) => f.type === 'move_completed')).toMatchObject({ uuid: second });
    expect(await updates.next((f) => f.type === 'move_completed')).toMatchObject({ uuid: first });
    expect(await antennas(emulator)).toEqual([1, -1]);
  });
});

describe('REST goto interpolation (quirk §11.1) vs /ws/sdk tasks', () => {
  /** A manual wall clock makes the sample instant exact: min-jerk(0.25) = 0.103515625. */
  const MIN_JERK_AT_QUARTER = 10 * 0.25 ** 3 - 15 * 0.25 ** 4 + 6 * 0.25 ** 5;

  test('REST goto asked for linear plays min-jerk; a /ws/sdk task asked for linear plays linear', async () => {
    let nowMs = 0;
    const emulator = await emulatorWith({ timeScale: 1, wallNowMs: () => nowMs });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    await post(emulator.url, '/api/move/set_target', { target_antennas: [0, 0] });

    await post(emulator.url, '/api/move/goto', { antennas: [1, 1], duration: 0.2, interpolation: 'linear' });
    nowMs += 50;
    expect((await antennas(emulator))[0]).toBeCloseTo(MIN_JERK_AT_QUARTER, 12);
    await updates.nextOfType('move_completed');
    expect(await antennas(emulator)).toEqual([1, 1]);

    const sdk = await probe(`${emulator.wsUrl}/ws/sdk`);
    await post(emulator.url, '/api/move/set_target', { target_antennas: [0, 0] });
    const uuid = '21979fae-33d0-4c39-8af0-5086aef4e338';
    sdk.send({ type: 'task', uuid, timestamp: new Date().toISOString(), req: { head: null, antennas: [1, 1], duration: 0.2, method: 'linear', body_yaw: null } });
    await eventually(() => emulator.snapshot().isMoveRunning);
    nowMs += 50;
    expect((await antennas(emulator))[0]).toBeCloseTo(0.25, 12);
    expect(await sdk.nextOfType('task_progress')).toMatchObject({ uuid, finished: true, error: null });
  });

  test('honourRestInterpolation: true plays the requested law over REST', async () => {
    let nowMs = 0;
    const emulator = await emulatorWith({ timeScale: 1, wallNowMs: () => nowMs, honourRestInterpolation: true });
    await post(emulator.url, '/api/move/set_target', { target_antennas: [0, 0] });
    await post(emulator.url, '/api/move/goto', { antennas: [1, 1], duration: 0.2, interpolation: 'linear' });
    nowMs += 50;
    expect((await antennas(emulator))[0]).toBeCloseTo(0.25, 12);
  });
});

describe('POST /api/move/stop', () => {
  test('cancels a running goto: message, move_cancelled, robot left where it was', async () => {
    const emulator = await emulatorWith({ timeScale: 0.1 });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    const { uuid } = (await post(emulator.url, '/api/move/goto', { antennas: [2, -2], duration: 5 })).json as { uuid: string };
    await updates.nextOfType('move_started');
    await eventually(async () => (await antennas(emulator))[0] > 0.1);

    const stop = await post(emulator.url, '/api/move/stop', { uuid });
    expect(stop.status).toBe(200);
    expect(stop.json).toEqual({ message: `Stopped move with UUID: ${uuid}` });
    expect(await updates.next()).toEqual({ type: 'move_cancelled', uuid, details: '' });
    expect((await get(emulator.url, '/api/move/running')).json).toEqual([]);

    const [stoppedAt] = await antennas(emulator);
    expect(stoppedAt).toBeGreaterThan(0.1);
    expect(stoppedAt).toBeLessThan(2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await antennas(emulator))[0]).toBe(stoppedAt);
  });

  test('unknown or finished uuid → 500 plain text; malformed uuid → 422 uuid_parsing', async () => {
    const emulator = await emulatorWith({ timeScale: 0.01 });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    const { uuid } = (await post(emulator.url, '/api/move/goto', { antennas: [0, 0], duration: 0.5 })).json as { uuid: string };
    await updates.nextOfType('move_completed');

    const finished = await post(emulator.url, '/api/move/stop', { uuid });
    expect([finished.status, finished.text]).toEqual([500, 'Internal Server Error']);
    const unknown = await post(emulator.url, '/api/move/stop', { uuid: '00000000-0000-0000-0000-000000000000' });
    expect([unknown.status, unknown.text]).toEqual([500, 'Internal Server Error']);
    const malformed = await post(emulator.url, '/api/move/stop', { uuid: 'not-a-uuid' });
    expect(malformed.status).toBe(422);
    expect(malformed.json).toMatchObject({ detail: [{ type: 'uuid_parsing', loc: ['body', 'uuid'], input: 'not-a-uuid' }] });
  });
});

describe('POST /api/move/set_target', () => {
  test('ignored while a goto plays, applied at once afterwards', async () => {
    const emulator = await emulatorWith({ timeScale: 0.1 });
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    await post(emulator.url, '/api/move/goto', { antennas: [0.5, -0.5], duration: 1 });

    const during = await post(emulator.url, '/api/move/set_target', { target_antennas: [0, 0] });
    expect([during.status, during.json]).toEqual([200, { status: 'ignored', reason: 'move_running' }]);
    await updates.nextOfType('move_completed');
    expect(await antennas(emulator)).toEqual([0.5, -0.5]);

    const after = await post(emulator.url, '/api/move/set_target', {
      target_head_pose: { pitch: -0.1 }, target_antennas: [0, 0], target_body_yaw: 0,
    });
    expect(after.json).toEqual({ status: 'ok' });
    expect(await antennas(emulator)).toEqual([0, 0]);
    expect((await get(emulator.url, '/api/state/present_head_pose')).json).toMatchObject({ pitch: expect.closeTo(-0.1, 12) });
  });

  test('a matrix pose is accepted ({"m"} wins) and `{}` means identity', async () => {
    const emulator = await emulatorWith({ timeScale: 0.1 });
    const c = Math.cos(Math.PI / 6);
    await post(emulator.url, '/api/move/set_target', { target_head_pose: { m: [c, -0.5, 0, 0, 0.5, c, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] } });
    expect((await get(emulator.url, '/api/state/present_head_pose')).json).toMatchObject({ yaw: expect.closeTo(Math.PI / 6, 9) });
    await post(emulator.url, '/api/move/set_target', { target_head_pose: {} });
    expect((await get(emulator.url, '/api/state/present_head_pose')).json).toEqual({ x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 });
  });
});
