// Daemon lifecycle and fault injection as transcripts: the daemon killed and back on the same
// port, the backend-not-running gate (503, fixtures/daemon/daemon_lifecycle.txt), the error
// state (daemon_start_bug.txt), the REST start/stop/restart jobs, the received-command log, and
// a close that leaves nothing running.
import { describe, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { EMULATOR_TIME_SCALE, useEmulatorProbes } from '../harness/emulator-probes.ts';
import { DAEMON_STATUS_ERROR, DAEMON_STATUS_STOPPED, ERROR_SAMPLES } from './daemon-fixtures.ts';
import { eventually, get, post, refusedStatus, sleep, WsProbe } from './protocol-client.ts';

const { emulatorWith, probe } = useEmulatorProbes();

async function jobDone(emulator: Emulator, jobId: string): Promise<Record<string, unknown>> {
  let job: Record<string, unknown> = {};
  await eventually(async () => {
    job = (await get(emulator.url, `/api/apps/job-status/${jobId}`)).json as Record<string, unknown>;
    return job.status === 'done' || job.status === 'failed';
  });
  return job;
}

describe('daemon killed and back (stop/start on the same port)', () => {
  test('connections drop, the port refuses, then the same port serves again with the robot where it was', async () => {
    const emulator = await emulatorWith();
    const port = emulator.port;
    expect(emulator.url).toBe(`http://127.0.0.1:${port}`);
    await post(emulator.url, '/api/move/set_target', { target_antennas: [0.3, -0.3] });
    const sdk = await probe(`${emulator.wsUrl}/ws/sdk`);
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    await post(emulator.url, '/api/move/goto', { antennas: [1, -1], duration: 100 });
    await updates.nextOfType('move_started');

    await emulator.stop();
    expect(emulator.running).toBe(false);
    expect(await sdk.closed()).toBe(1006);
    expect(await updates.closed()).toBe(1006);
    expect(updates.log.map((entry) => entry.frame.type)).toEqual(['move_started']);
    await expect(get(emulator.url, '/api/daemon/status')).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    await emulator.start();
    expect(emulator.port).toBe(port);
    expect((await get(emulator.url, '/api/daemon/status')).json).toMatchObject({ state: 'running' });
    expect((await get(emulator.url, '/api/move/running')).json).toEqual([]);
    const [right] = (await get(emulator.url, '/api/state/present_antenna_joint_positions')).json as number[];
    expect(right).toBeGreaterThanOrEqual(0.3);
    expect(right).toBeLessThan(1);
    const again = await probe(`${emulator.wsUrl}/ws/sdk`);
    await again.nextOfType('joint_positions');
  });

  test('restart() is stop + start on the same port', async () => {
    const emulator = await emulatorWith();
    const port = emulator.port;
    await emulator.restart();
    expect(emulator.port).toBe(port);
    expect((await get(emulator.url, '/health-check')).status).toBe(405);
    expect((await post(emulator.url, '/health-check')).json).toEqual({ status: 'ok' });
  });

  test('close() stops everything for good', async () => {
    const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE });
    const sdk = await WsProbe.open(`${emulator.wsUrl}/ws/sdk`);
    await post(emulator.url, '/api/move/play/goto_sleep');
    await emulator.close();
    expect(await sdk.closed()).toBe(1006);
    expect(emulator.running).toBe(false);
    await expect(emulator.start()).rejects.toThrow('emulator closed');
  });
});

describe('backend not running (fault injection)', () => {
  test('status "stopped", robot routes 503, daemon routes still answer; clearing the fault restores it', async () => {
    const emulator = await emulatorWith();
    const sdk = await probe(`${emulator.wsUrl}/ws/sdk`);
    emulator.setFault({ kind: 'backend-not-running' });
    const faultAt = performance.now();

    const status = await get(emulator.url, '/api/daemon/status');
    expect(status.text).toBe(DAEMON_STATUS_STOPPED);
    for (const [method, path, body] of [
      ['GET', '/api/state/full', undefined],
      ['GET', '/api/state/present_body_yaw', undefined],
      ['GET', '/api/motors/status', undefined],
      ['POST', '/api/move/goto', { antennas: [0, 0], duration: 1 }],
      ['POST', '/api/move/goto', 'not JSON: decoding the body comes before the gate'],
      ['POST', '/api/move/play/wake_up', undefined],
      ['POST', '/api/move/set_target', { target_antennas: [0, 0] }],
      ['POST', '/api/media/play_sound', { file: 'wake_up.wav' }],
    ] as const) {
      const reply = method === 'GET' ? await get(emulator.url, path) : await post(emulator.url, path, body === undefined ? undefined : body);
      if (typeof body === 'string') expect(reply.status).toBe(422);
      else expect([path, reply.status, reply.text]).toEqual([path, 503, ERROR_SAMPLES.backendNotRunning]);
    }
    expect((await get(emulator.url, '/api/move/running')).json).toEqual([]);
    expect((await get(emulator.url, '/api/media/status')).status).toBe(200);
    expect(await refusedStatus(`${emulator.wsUrl}/api/state/ws/full`)).toBe(503);

    sdk.drain();
    const stoppedStatus = await sdk.nextOfType('daemon_status');
    expect(stoppedStatus).toMatchObject({ state: 'stopped', backend_status: null });
    // A push already on the wire when the fault hit may still land; none after that.
    const lateJoints = sdk.log.filter((entry) => entry.at > faultAt + 50 && entry.frame.type === 'joint_positions');
    expect(lateJoints).toEqual([]);

    emulator.setFault({ kind: 'none' });
    expect((await get(emulator.url, '/api/state/full')).status).toBe(200);
    await sdk.nextOfType('joint_positions');
  });

  test('daemon error state: the start-bug status, routes 503', async () => {
    const emulator = await emulatorWith();
    emulator.setFault({ kind: 'daemon-error' });
    const status = (await get(emulator.url, '/api/daemon/status')).json as Record<string, unknown>;
    expect(status).toEqual({ ...(JSON.parse(DAEMON_STATUS_ERROR) as Record<string, unknown>), mockup_sim_enabled: true });
    expect((await get(emulator.url, '/api/state/full')).status).toBe(503);
    emulator.setFault({ kind: 'daemon-error', error: 'boom' });
    expect((await get(emulator.url, '/api/daemon/status')).json).toMatchObject({ state: 'error', error: 'boom' });
  });

  test('a fault cancels running REST moves (move_cancelled)', async () => {
    const emulator = await emulatorWith();
    const updates = await probe(`${emulator.wsUrl}/api/move/ws/updates`);
    const { uuid } = (await post(emulator.url, '/api/move/goto', { antennas: [1, 1], duration: 100 })).json as { uuid: string };
    await updates.nextOfType('move_started');
    emulator.setFault({ kind: 'backend-not-running' });
    expect(await updates.next()).toEqual({ type: 'move_cancelled', uuid, details: '' });
  });
});

describe('REST daemon jobs', () => {
  test('stop?goto_sleep=false → job done → backend 503; start?wake_up=true → running and awake', async () => {
    const emulator = await emulatorWith();
    const stop = await post(emulator.url, '/api/daemon/stop?goto_sleep=false');
    const stopJob = await jobDone(emulator, (stop.json as { job_id: string }).job_id);
    expect(stopJob).toEqual({ command: 'daemon-stop', status: 'done', logs: ["Job 'daemon-stop' completed successfully"] });
    expect((await get(emulator.url, '/api/daemon/status')).text).toBe(DAEMON_STATUS_STOPPED);
    expect((await get(emulator.url, '/api/state/full')).text).toBe(ERROR_SAMPLES.backendNotRunning);

    const start = await post(emulator.url, '/api/daemon/start?wake_up=true');
    const startJob = await jobDone(emulator, (start.json as { job_id: string }).job_id);
    expect(startJob).toMatchObject({ command: 'daemon-start', status: 'done' });
    expect((await get(emulator.url, '/api/daemon/status')).json).toMatchObject({ state: 'running', backend_status: { motor_control_mode: 'enabled' } });
    expect((await get(emulator.url, '/api/state/present_antenna_joint_positions')).json).toEqual([-0.1745, 0.1745]);
  });

  test('stop?goto_sleep=true sleeps first; a second job meanwhile → 409 "Daemon is busy."', async () => {
    const emulator = await emulatorWith();
    const stop = await post(emulator.url, '/api/daemon/stop?goto_sleep=true');
    const busy = await post(emulator.url, '/api/daemon/start?wake_up=false');
    expect([busy.status, busy.json]).toEqual([409, { detail: 'Daemon is busy.' }]);
    expect((await get(emulator.url, '/api/daemon/status')).json).toMatchObject({ state: 'stopping' });
    await jobDone(emulator, (stop.json as { job_id: string }).job_id);
    const snapshot = emulator.snapshot();
    expect([snapshot.daemonState, snapshot.motorMode, snapshot.antennas]).toEqual(['stopped', 'disabled', [-3.05, 3.05]]);
  });

  test('restart → a fresh mockup backend at the sleep joints, not woken up', async () => {
    const emulator = await emulatorWith();
    const restart = await post(emulator.url, '/api/daemon/restart');
    expect(await jobDone(emulator, (restart.json as { job_id: string }).job_id)).toMatchObject({ command: 'daemon-restart', status: 'done' });
    const state = (await get(emulator.url, '/api/state/full')).json as { antennas_position: number[]; head_pose: { pitch: number } };
    expect(state.antennas_position).toEqual([-3.05, 3.05]);
    expect(state.head_pose.pitch).toBeCloseTo(0.538, 2);
  });
});

describe('received-command log', () => {
  test('records method, path, query, body and time of every HTTP request and WS frame', async () => {
    const emulator = await emulatorWith();
    const before = Date.now();
    await post(emulator.url, '/api/move/goto', { antennas: [0, 0], duration: 0.1 });
    await get(emulator.url, '/api/state/full?with_head_joints=true');
    await post(emulator.url, '/api/move/goto', 'not json');
    const sdk = await probe(`${emulator.wsUrl}/ws/sdk`);
    sdk.send({ type: 'set_antennas', antennas: [0.1, 0.1] });
    await eventually(() => emulator.received.length === 4);

    expect(emulator.received.map(({ ts: _ts, ...rest }) => rest)).toEqual([
      { transport: 'http', method: 'POST', path: '/api/move/goto', query: {}, body: { antennas: [0, 0], duration: 0.1 } },
      { transport: 'http', method: 'GET', path: '/api/state/full', query: { with_head_joints: 'true' }, body: undefined },
      { transport: 'http', method: 'POST', path: '/api/move/goto', query: {}, body: 'not json' },
      { transport: 'ws', method: 'WS', path: '/ws/sdk', query: {}, body: { type: 'set_antennas', antennas: [0.1, 0.1] } },
    ]);
    for (const entry of emulator.received) {
      expect(entry.ts).toBeGreaterThanOrEqual(before);
      expect(entry.ts).toBeLessThanOrEqual(Date.now());
    }
    emulator.clearReceived();
    expect(emulator.received).toEqual([]);
    await sleep(10);
    expect(emulator.received).toEqual([]);
  });
});
