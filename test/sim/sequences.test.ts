// Daemon-side wake_up / goto_sleep over REST, as transcripts: the real step sequence and its
// duration (scaled by timeScale), the sleep pose reached, motors disabled after goto_sleep and
// NOT re-enabled by wake_up (quirk §11.7), and the stand-down when already awake.
import { describe, expect, test } from 'vitest';
import type { Emulator, EmulatorOptions } from '../../src/sim/emulator.ts';
import { EMULATOR_TIME_SCALE, useEmulatorProbes } from '../harness/emulator-probes.ts';
import { SLEEP_POSE_HEAD_JOINTS } from './daemon-fixtures.ts';
import { numericDiff } from './json-shape.ts';
import { get, post, type WsProbe } from './protocol-client.ts';

/** The emulator's scale unless a test names one, 20× faster than real time: the 5 s "already asleep" sequence takes 250 ms. */
const TIME_SCALE = EMULATOR_TIME_SCALE;

const { emulatorWith, probe } = useEmulatorProbes();

/** An emulator (`options` over timeScale TIME_SCALE) and a probe on its move updates, both closed after the test. */
async function setup(options: EmulatorOptions = {}): Promise<{ emulator: Emulator; updates: WsProbe }> {
  const emulator = await emulatorWith(options);
  const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
  return { emulator, updates };
}

/** Plays a REST sequence and returns its simulated duration, measured from the two events. */
async function play(emulator: Emulator, updates: WsProbe, route: 'wake_up' | 'goto_sleep'): Promise<number> {
  const { uuid } = (await post(emulator.url, `/api/move/play/${route}`)).json as { uuid: string };
  await updates.next((f) => f.type === 'move_started' && f.uuid === uuid);
  const startedAt = updates.log.at(-1)?.at ?? 0;
  await updates.next((f) => f.type === 'move_completed' && f.uuid === uuid, 10_000);
  const completedAt = updates.log.at(-1)?.at ?? 0;
  return (completedAt - startedAt) / 1000 / TIME_SCALE;
}

/** Timer and HTTP slack, in simulated seconds (≈ 40 ms of wall time at 20×). */
const SLACK_S = 0.8;
/**
 * Client-side arrival jitter can also shorten a measurement: the start is when `move_started` reached
 * the probe, so a late start frame on a loaded box shortens it (≈ 15 ms of wall time; 7.5 ms was seen).
 * Still far from the 2 s a sequence missing its settle would take.
 */
const EARLY_S = 0.3;

describe('POST /api/move/play/goto_sleep', () => {
  test('from the init pose: sleep pose in 2 s, settle 2 s (4.0 s), then motors disabled', async () => {
    const { emulator, updates } = await setup();
    const seconds = await play(emulator, updates, 'goto_sleep');
    expect(seconds).toBeGreaterThanOrEqual(4.0 - EARLY_S);
    expect(seconds).toBeLessThan(4.0 + SLACK_S);

    const state = (await get(emulator.url, '/api/state/full?with_head_joints=true')).json as Record<string, unknown>;
    expect(state.control_mode).toBe('disabled');
    expect(numericDiff(state.head_pose, { x: -0.021, y: 0.001, z: -0.044, roll: 0, pitch: 0.4254, yaw: -0.0044 }, 1e-3)).toEqual([]);
    expect(state.antennas_position).toEqual([-3.05, 3.05]);
    expect(numericDiff(state.head_joints, SLEEP_POSE_HEAD_JOINTS, 1e-3)).toEqual([]);
    expect((await get(emulator.url, '/api/motors/status')).json).toEqual({ mode: 'disabled' });
    expect(emulator.snapshot().playedSounds).toEqual(['go_sleep.wav']);
  });

  test('when already asleep: sound, 5.0 s wait, no motion', async () => {
    const { emulator, updates } = await setup();
    await play(emulator, updates, 'goto_sleep');
    const before = emulator.snapshot().headPoseMatrix;
    const seconds = await play(emulator, updates, 'goto_sleep');
    expect(seconds).toBeGreaterThanOrEqual(5.0 - EARLY_S);
    expect(seconds).toBeLessThan(5.0 + SLACK_S);
    expect(emulator.snapshot().headPoseMatrix).toEqual(before);
  });

  test('far from init (> 30 magic units) it first goes to init: 1 + 0.2 + 2 + 2 s', async () => {
    const { emulator, updates } = await setup();
    await post(emulator.url, '/api/move/set_target', { target_head_pose: { z: 0.02, yaw: 0.3 } });
    const seconds = await play(emulator, updates, 'goto_sleep');
    expect(seconds).toBeGreaterThanOrEqual(5.2 - EARLY_S);
    expect(seconds).toBeLessThan(5.2 + SLACK_S);
  });
});

describe('POST /api/move/play/wake_up', () => {
  test('after goto_sleep: back to init in ~2.08 s, but motors stay disabled (quirk §11.7)', async () => {
    const { emulator, updates } = await setup();
    await play(emulator, updates, 'goto_sleep');
    const seconds = await play(emulator, updates, 'wake_up');
    expect(seconds).toBeGreaterThanOrEqual(2.06 - EARLY_S);
    expect(seconds).toBeLessThan(2.1 + SLACK_S);

    const state = (await get(emulator.url, '/api/state/full')).json as Record<string, unknown>;
    expect(numericDiff(state.head_pose, { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 }, 1e-9)).toEqual([]);
    expect(state.antennas_position).toEqual([-0.1745, 0.1745]);
    expect(state.control_mode).toBe('disabled');
    expect(emulator.snapshot().playedSounds).toEqual(['go_sleep.wav', 'wake_up.wav']);
  });

  test('when already awake with motors on: stands down after 0.1 s, no sound', async () => {
    const { emulator, updates } = await setup();
    const seconds = await play(emulator, updates, 'wake_up');
    expect(seconds).toBeGreaterThanOrEqual(0.1 - EARLY_S);
    expect(seconds).toBeLessThan(0.1 + SLACK_S);
    expect(emulator.snapshot().playedSounds).toEqual([]);
  });

  test('from the mockup boot pose (boot: asleep): ~2.30 s and the pose reported at boot is FK of the sleep joints', async () => {
    const { emulator, updates } = await setup({ boot: 'asleep' });
    const boot = (await get(emulator.url, '/api/state/present_head_pose')).json as Record<string, number>;
    expect(numericDiff(boot, { x: -0.0152, y: 0.001, z: -0.0504, roll: 0.0017, pitch: 0.5376, yaw: -0.0052 }, 1e-3)).toEqual([]);
    const seconds = await play(emulator, updates, 'wake_up');
    expect(seconds).toBeGreaterThanOrEqual(2.27 - EARLY_S);
    expect(seconds).toBeLessThan(2.3 + SLACK_S);
  });

  test('the roll emote is visible mid-sequence and the body is recentred', async () => {
    const { emulator, updates } = await setup({ timeScale: 0.2 });
    await post(emulator.url, '/api/move/set_target', { target_body_yaw: 0.4, target_head_pose: { pitch: 0.2 } });
    const { uuid } = (await post(emulator.url, '/api/move/play/wake_up')).json as { uuid: string };
    let maxRoll = 0;
    while (emulator.snapshot().runningMoves.includes(uuid)) {
      maxRoll = Math.max(maxRoll, emulator.snapshot().headPose.roll);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await updates.next((f) => f.type === 'move_completed' && f.uuid === uuid);
    expect(maxRoll).toBeGreaterThan(0.2);
    expect(maxRoll).toBeLessThanOrEqual((20 * Math.PI) / 180 + 1e-9);
    expect(emulator.snapshot().bodyYaw).toBeCloseTo(0, 12);
  });

  test('stopping a running sequence cancels it where it is', async () => {
    const { emulator, updates } = await setup({ timeScale: 0.2 });
    const { uuid } = (await post(emulator.url, '/api/move/play/goto_sleep')).json as { uuid: string };
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await post(emulator.url, '/api/move/stop', { uuid })).status).toBe(200);
    expect(await updates.next((f) => f.uuid === uuid && f.type !== 'move_started')).toEqual({ type: 'move_cancelled', uuid, details: '' });
    const snapshot = emulator.snapshot();
    expect(snapshot.motorMode).toBe('enabled');
    expect(snapshot.antennas[1]).toBeGreaterThan(0.1745);
    expect(snapshot.antennas[1]).toBeLessThan(3.05);
  });
});
