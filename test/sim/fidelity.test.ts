// Fidelity of the emulator against the real daemon's captured replies (fixtures/daemon): every
// sampled GET route answers with the same status, content and JSON shape, the sampled errors are
// byte-identical, and state values sit within the real FK's noise of the captured ones.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import {
  AFTER_GOTO_HEAD_JOINTS, DAEMON_STATUS_RUNNING, ERROR_SAMPLES, GET_SAMPLES, INIT_HEAD_JOINTS,
} from './daemon-fixtures.ts';
import { numericDiff, shapeOf } from './json-shape.ts';
import { eventually, get, post } from './protocol-client.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';

/** Real FK output differs from the exact pose by up to ~3e-4 (diagonal 1.00025, §10.3). */
const FK_NOISE = 5e-4;

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
});
afterAll(async () => {
  await emulator.close();
});

describe('every GET route sampled on the real daemon', () => {
  test.each(GET_SAMPLES.map((sample) => [sample.path, sample] as const))('GET %s', async (_path, sample) => {
    const reply = await get(emulator.url, sample.path);
    expect(reply.status).toBe(sample.status);
    if (sample.status === 500) {
      expect(reply.text).toBe(sample.body);
      expect(reply.contentType).toMatch(/^text\/plain/);
      return;
    }
    expect(reply.contentType).toBe('application/json');
    const expected = JSON.parse(sample.body) as unknown;
    expect(shapeOf(reply.json)).toEqual(shapeOf(expected));
    expect(numericDiff(reply.json, expected, FK_NOISE)).toEqual([]);
  });

  test('GET /api/daemon/status is the boot DaemonStatus, key for key and in order', async () => {
    const reply = await get(emulator.url, '/api/daemon/status');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe(DAEMON_STATUS_RUNNING);
  });

  test('FullState timestamps are UTC ISO-8601 with microseconds and Z', async () => {
    const reply = await get(emulator.url, '/api/state/full');
    expect((reply.json as { timestamp: string }).timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  test('head joints at init match the daemon IK to 1e-6', async () => {
    const reply = await get(emulator.url, '/api/state/full?with_head_joints=true');
    expect(numericDiff((reply.json as { head_joints: number[] }).head_joints, INIT_HEAD_JOINTS, 1e-6)).toEqual([]);
  });
});

describe('sampled error replies are byte-identical', () => {
  test('POST /api/move/goto without duration → 422 missing', async () => {
    const reply = await post(emulator.url, '/api/move/goto', { antennas: [0, 0] });
    expect(reply.status).toBe(422);
    expect(reply.text).toBe(ERROR_SAMPLES.gotoMissingDuration);
  });

  test('POST /api/move/goto with interpolation "cubic" → 422 enum', async () => {
    const reply = await post(emulator.url, '/api/move/goto', { antennas: [0, 0], duration: 1, interpolation: 'cubic' });
    expect(reply.status).toBe(422);
    expect(reply.text).toBe(ERROR_SAMPLES.gotoBadInterpolation);
  });

  test('POST /api/move/set_target with 3 antennas → 422 too_long', async () => {
    const reply = await post(emulator.url, '/api/move/set_target', { target_antennas: [0, 0, 0] });
    expect(reply.status).toBe(422);
    expect(reply.text).toBe(ERROR_SAMPLES.setTargetThreeAntennas);
  });

  test('POST /api/motors/set_mode/bogus → 422 path enum', async () => {
    const reply = await post(emulator.url, '/api/motors/set_mode/bogus');
    expect(reply.status).toBe(422);
    expect(reply.text).toBe(ERROR_SAMPLES.setModeBogus);
  });

  test('POST /api/move/stop with an unknown uuid → 500 plain text', async () => {
    const reply = await post(emulator.url, '/api/move/stop', { uuid: '00000000-0000-0000-0000-000000000000' });
    expect(reply.status).toBe(500);
    expect(reply.text).toBe(ERROR_SAMPLES.internalServerError);
  });

  test('POST /api/daemon/stop without goto_sleep → 422 missing query', async () => {
    const reply = await post(emulator.url, '/api/daemon/stop');
    expect(reply.status).toBe(422);
    expect(reply.text).toBe(ERROR_SAMPLES.stopMissingGotoSleep);
  });

  test('GET /api/apps/job-status/unknown → 404', async () => {
    const reply = await get(emulator.url, '/api/apps/job-status/unknown');
    expect(reply.status).toBe(404);
    expect(reply.text).toBe(ERROR_SAMPLES.jobNotFound);
  });

  test('unknown route → 404 {"detail":"Not Found"}; known path, wrong method → 405', async () => {
    const unknown = await get(emulator.url, '/api/does/not/exist');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ detail: 'Not Found' });
    const wrongMethod = await get(emulator.url, '/api/move/goto');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json).toEqual({ detail: 'Method Not Allowed' });
  });

  test('a body that is not JSON → 422 json_invalid; no body → 422 missing body', async () => {
    const invalid = await post(emulator.url, '/api/move/goto', 'not json');
    expect(invalid.status).toBe(422);
    expect(invalid.json).toMatchObject({ detail: [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error' }] });
    const missing = await post(emulator.url, '/api/move/set_target');
    expect(missing.status).toBe(422);
    expect(missing.json).toEqual({ detail: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }] });
  });
});

describe('sampled successful replies', () => {
  test('set_mode replies quote the Python enum repr and the mode shows in status', async () => {
    const reply = await post(emulator.url, '/api/motors/set_mode/gravity_compensation');
    expect(reply.json).toEqual({ status: 'motors changed to MotorControlMode.GravityCompensation mode' });
    const status = await get(emulator.url, '/api/daemon/status');
    expect(status.json).toMatchObject({ backend_status: { motor_control_mode: 'gravity_compensation', error: null } });
    expect((await post(emulator.url, '/api/motors/set_mode/enabled')).json).toEqual({ status: 'motors changed to MotorControlMode.Enabled mode' });
    expect((await post(emulator.url, '/api/motors/set_mode/disabled')).json).toEqual({ status: 'motors changed to MotorControlMode.Disabled mode' });
    expect((await get(emulator.url, '/api/motors/status')).json).toEqual({ mode: 'disabled' });
    await post(emulator.url, '/api/motors/set_mode/enabled');
  });

  test('media: play_sound ok without media, release/acquire ok and idempotent', async () => {
    expect((await post(emulator.url, '/api/media/play_sound', { file: 'wake_up.wav' })).json).toEqual({ status: 'ok' });
    expect((await post(emulator.url, '/api/media/release')).json).toEqual({ status: 'ok' });
    expect((await post(emulator.url, '/api/media/release')).json).toEqual({ status: 'ok' });
    expect((await get(emulator.url, '/api/media/status')).json).toEqual({ available: false, released: false, no_media: true });
    expect((await post(emulator.url, '/api/media/acquire')).json).toEqual({ status: 'ok' });
    expect(emulator.snapshot().playedSounds).toContain('wake_up.wav');
  });

  test('the move1.txt goto ends at the sampled joints (within FK noise)', async () => {
    const goto = await post(emulator.url, '/api/move/goto', {
      head_pose: { x: 0, y: 0, z: 0.01, roll: 0, pitch: 0.2, yaw: 0.3 }, antennas: [0.5, -0.5], body_yaw: 0.2, duration: 1.0, interpolation: 'minjerk',
    });
    expect(goto.status).toBe(200);
    expect(goto.json).toEqual({ uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) });
    await eventually(async () => ((await get(emulator.url, '/api/move/running')).json as unknown[]).length === 0);
    const state = await get(emulator.url, '/api/state/full?with_head_joints=true');
    expect(numericDiff(state.json, {
      control_mode: 'enabled', head_pose: { x: 0, y: 0, z: 0.01, roll: 0, pitch: 0.2, yaw: 0.3 }, head_joints: AFTER_GOTO_HEAD_JOINTS,
      body_yaw: 0.2, antennas_position: [0.5, -0.5], passive_joints: null, doa: null,
    }, FK_NOISE)).toEqual([]);
  });

  test('wireless variant: wireless_version true and the wireless camera only with media', async () => {
    const wireless = await startEmulator({ model: 'wireless', withMedia: true, timeScale: EMULATOR_TIME_SCALE });
    try {
      const status = (await get(wireless.url, '/api/daemon/status')).json as Record<string, unknown>;
      expect(status).toMatchObject({ wireless_version: true, no_media: false, camera_specs_name: 'wireless' });
      const specs = (await get(wireless.url, '/api/camera/specs')).json as { name: string; default_resolution: { name: string } };
      expect(specs.name).toBe('wireless');
      expect(specs.default_resolution.name).toBe('R1280x720at30fps');
      expect((await get(wireless.url, '/api/media/status')).json).toEqual({ available: true, released: false, no_media: false });
      await post(wireless.url, '/api/media/release');
      expect((await get(wireless.url, '/api/media/status')).json).toEqual({ available: false, released: true, no_media: false });
      expect((await get(wireless.url, '/api/daemon/status')).json).toMatchObject({ media_released: true });
      await post(wireless.url, '/api/media/acquire');
      expect((await get(wireless.url, '/api/media/status')).json).toEqual({ available: true, released: false, no_media: false });
    } finally {
      await wireless.close();
    }
  });
});
