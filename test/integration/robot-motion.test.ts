// Transcript of motion through the whole chain — NATS request → gate → machines → daemon adapters
// → the embedded emulator — asserting what the emulator received (issue "robot link and motion"):
// bad input reaches nothing; leases arbitrate owners; emergency_stop cancels a running goto and
// blocks motion until reset; asleep refuses motion; a killed daemon gives DaemonUnavailable and the
// link is back within 2 s of its return; execution_state returns to idle; HTTP mode moves the head.
import { describe, expect, test } from 'vitest';
import type { Emulator } from '../../src/sim/emulator.ts';
import { recorder, type MessageQueue } from '../harness/mesh-peer.ts';
import { EMULATOR_TIME_SCALE } from '../harness/emulator-probes.ts';
import { useBrokerScenes, type EmulatorScene } from '../harness/emulator-scene.ts';
import { waitUntilReady } from '../harness/ready-state.ts';

interface Scene extends EmulatorScene {
  readonly events: MessageQueue;
}
// Emulated moves run 20× faster (EMULATOR_TIME_SCALE): a 1 s goto takes 50 ms, goto_sleep ~250 ms.
const scenes = useBrokerScenes('motion', { timeScale: EMULATOR_TIME_SCALE, callTimeoutMs: 5_000 });

/** A scene whose events are recorded from before its start, ready (daemon link up, robot awake), its received log cleared. */
async function scene(argv: string[] = []): Promise<Scene> {
  const { nc } = scenes.broker();
  const events = recorder(nc, `device-connect.default.${scenes.nextId()}.event.>`);
  await nc.flush();
  const s = { ...(await scenes.start(argv)), events };
  await waitUntilReady(nc, s.id);
  s.emulator.clearReceived();
  return s;
}

const motionCommands = (e: Emulator) => e.received.filter((r) => (r.transport === 'ws' && r.path === '/ws/sdk') || (r.method === 'POST' && r.path.startsWith('/api/move')));

describe('input validation', () => {
  test('out-of-range, NaN-like, string and unknown parameters are refused with -32602 and nothing reaches the daemon', async () => {
    const s = await scene();
    for (const params of [{ yaw: 46 }, { pitch: -30.5 }, { yaw: '10' }, { yaw: null }, { roll: 1, speed: 3 }, { x_mm: 1e309 }]) {
      const reply = await s.call('look_at_world', params as Record<string, unknown>);
      expect(reply.error, JSON.stringify(params)).toMatchObject({ code: -32602, data: { _tag: 'InvalidParams' } });
    }
    const body = await s.call('set_body_yaw', { yaw_deg: 161 });
    expect(body.error.message).toContain('yaw_deg must be a finite number in [-160.428');
    const raw = await scenes.broker().nc.request(`device-connect.default.${s.driver.config.deviceId}.cmd`, '{"jsonrpc":"2.0","id":"nan","method":"antenna_pose","params":{"left":NaN}}', { timeout: 2_000 });
    expect(raw.json<{ error: { code: number } }>().error.code).toBe(-32700);
    expect(motionCommands(s.emulator)).toEqual([]);
  });
});

describe('motion', () => {
  test('look_at_world moves the head and execution_state returns to idle', async () => {
    const s = await scene();
    const reply = await s.call('look_at_world', { yaw: 20, pitch: 10, owner: 'alice' });
    expect(reply.result).toMatchObject({ status: 'accepted', uuid: null, target: { kind: 'look_at_world', yaw: 20 } });
    await expect.poll(() => (s.emulator.snapshot().headPose.yaw * 180) / Math.PI, { timeout: 2_000 }).toBeCloseTo(20, 0);
    await expect.poll(async () => (await s.call('get_status')).result.driver_state.execution_state, { timeout: 2_000 }).toBe('idle');
    const status = (await s.call('get_status')).result.driver_state;
    expect(status.command_owner).toBe('alice');
    expect(status.current_pose.head_joints_deg).toHaveLength(7);
    expect(Date.parse(status.current_pose.read_at)).toBeGreaterThan(Date.now() - 1_000);
    expect(status.availability).toBe('idle');
  });

  test('goto_pose with wait answers when the move completed, with its uuid', async () => {
    const s = await scene();
    const reply = await s.call('goto_pose', { yaw: -15, antennas_left: 30, duration_s: 1, wait: true });
    expect(reply.result).toMatchObject({ status: 'completed', uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect((s.emulator.snapshot().headPose.yaw * 180) / Math.PI).toBeCloseTo(-15, 0);
    expect((await s.call('get_status')).result.driver_state.execution_state).toBe('idle');
  });

  test('a lease held by one owner refuses another owner with LeaseHeld, and expires', async () => {
    const s = await scene(['--lease-ttl', '1']);
    expect((await s.call('antenna_pose', { left: 10, owner: 'alice', wait: true })).result.status).toBe('completed');
    // A realtime target (ramped at the antenna speed limit when far) is answered once written: wait for it to complete and reach the emulator before clearing.
    await expect.poll(() => motionCommands(s.emulator).length, { timeout: 2_000 }).toBeGreaterThan(0);
    s.emulator.clearReceived();
    const refused = await s.call('antenna_pose', { left: -10, owner: 'bob' });
    expect(refused.error).toMatchObject({ code: -32000, data: { _tag: 'LeaseHeld', holder: 'alice' } });
    expect(refused.error.data.secondsLeft).toBeGreaterThan(0);
    expect(motionCommands(s.emulator)).toEqual([]);
    const safety = await s.events.next((m) => m.subject.endsWith('.event.safety_event') && (m.body as any).params.kind === 'refused');
    expect((safety.body as any).params).toMatchObject({ kind: 'refused', function: 'antenna_pose', owner: 'bob' });
    // The caller-asserted source device wins over `owner`.
    const viaDevice = await s.call('antenna_pose', { left: 5, owner: 'bob', _dc_meta: { source_device: 'alice' } });
    expect(viaDevice.result.status).toBe('accepted');
    await new Promise((r) => setTimeout(r, 1_300));
    expect((await s.call('antenna_pose', { left: -10, owner: 'bob' })).result.status).toBe('accepted');
  });

  test('emergency_stop cancels a running goto, blocks motion until reset_interlock', async () => {
    const s = await scene();
    const moving = await s.call('goto_pose', { yaw: 40, duration_s: 20 });
    expect(moving.result.status).toBe('accepted');
    const uuid = moving.result.uuid as string;
    await expect.poll(() => s.emulator.snapshot().runningMoves.length).toBe(1);
    const stopAt = Date.now();
    const stop = await s.call('emergency_stop', { reason: 'person too close', owner: 'operator' });
    expect(stop.result).toMatchObject({ status: 'tripped' });
    await expect.poll(() => s.emulator.snapshot().runningMoves.length, { timeout: 1_000, interval: 5 }).toBe(0);
    // One control tick is 20 ms; allow the HTTP round trips of a loaded CI box.
    expect(Date.now() - stopAt).toBeLessThan(500);
    expect(s.emulator.received.some((r) => r.path === '/api/move/stop' && (r.body as { uuid?: string })?.uuid === uuid)).toBe(true);
    s.emulator.clearReceived();
    const refused = await s.call('look_at_world', { yaw: 5 });
    expect(refused.error.data).toMatchObject({ _tag: 'InterlockTripped', reason: 'person too close' });
    expect(motionCommands(s.emulator)).toEqual([]);
    expect((await s.call('stop_motion')).result.status).toBe('stopped');
    expect((await s.call('reset_interlock', { reason: 'area clear' })).result.status).toBe('safe');
    expect((await s.call('look_at_world', { yaw: 5 })).result.status).toBe('accepted');
    const kinds = s.events.messages.filter((m) => m.subject.endsWith('safety_event')).map((m) => (m.body as any).params.kind);
    expect(kinds).toEqual(expect.arrayContaining(['interlock_tripped', 'refused', 'interlock_reset']));
  });

  test('asleep refuses motion with RobotAsleep until wake_up', async () => {
    const s = await scene();
    const slept = await s.call('goto_sleep', { wait: true }, 10_000);
    expect(slept.result.status).toBe('completed');
    await expect.poll(async () => (await s.call('get_status')).result.driver_state.power_state).toBe('asleep');
    expect(s.emulator.snapshot().motorMode).toBe('disabled');
    s.emulator.clearReceived();
    const refused = await s.call('antenna_pose', { left: 20 });
    expect(refused.error.data).toMatchObject({ _tag: 'RobotAsleep', powerState: 'asleep' });
    expect(refused.error.message).toContain('call wake_up first');
    expect(motionCommands(s.emulator)).toEqual([]);
    const woke = await s.call('wake_up', { wait: true }, 10_000);
    expect(woke.result.status).toBe('completed');
    await expect.poll(async () => (await s.call('get_status')).result.driver_state.power_state).toBe('awake');
    expect(s.emulator.snapshot().motorMode).toBe('enabled');
    expect((await s.call('antenna_pose', { left: 20 })).result.status).toBe('accepted');
  });

  test('daemon killed mid-move: DaemonUnavailable, then reconnected within 2 s of its return', async () => {
    const s = await scene();
    expect((await s.call('goto_pose', { yaw: 30, duration_s: 20 })).result.status).toBe('accepted');
    await s.emulator.stop();
    await expect.poll(async () => (await s.call('get_status')).result.driver_state.connection_state, { timeout: 3_000 }).not.toBe('connected');
    const refused = await s.call('look_at_world', { yaw: 1 });
    expect(refused.error.data._tag).toBe('DaemonUnavailable');
    const status = (await s.call('get_status')).result.driver_state;
    expect(status.interlock_state).toBe('safe');
    const back = Date.now();
    await s.emulator.start();
    await expect.poll(async () => (await s.call('get_status')).result.driver_state.connection_state, { timeout: 2_000, interval: 50 }).toBe('connected');
    expect(Date.now() - back).toBeLessThan(2_000);
    await expect.poll(async () => (await s.call('look_at_world', { yaw: 1 })).result?.status, { timeout: 2_000 }).toBe('accepted');
  });

  test('HTTP transport mode moves the head through /api/move/set_target', async () => {
    const s = await scene(['--transport-mode', 'http']);
    expect((await s.call('look_at_world', { yaw: -25 })).result.status).toBe('accepted');
    await expect.poll(() => (s.emulator.snapshot().headPose.yaw * 180) / Math.PI, { timeout: 2_000 }).toBeCloseTo(-25, 0);
    expect(s.emulator.received.some((r) => r.method === 'POST' && r.path === '/api/move/set_target')).toBe(true);
    expect(s.emulator.received.some((r) => r.transport === 'ws' && r.path === '/ws/sdk')).toBe(false);
    expect((await s.call('antenna_pose', { left: 15, right: -15 })).result.status).toBe('accepted');
  });

  test('get_joints and get_body_yaw read the pushed state with timestamps', async () => {
    const s = await scene();
    await s.call('set_body_yaw', { yaw_deg: 30, duration_s: 0.5, wait: true });
    // A 0.5 s move takes 25 ms here, about one 50 Hz push: let the next push land.
    await expect.poll(async () => (await s.call('get_joints')).result.body_yaw_deg).toBeCloseTo(30, 0);
    const joints = (await s.call('get_joints')).result;
    expect(joints).toMatchObject({ status: 'success', stale: false });
    expect(joints.head_degrees).toHaveLength(7);
    const yaw = (await s.call('get_body_yaw')).result;
    expect(yaw.yaw_deg).toBeCloseTo(30, 0);
    expect(Date.parse(yaw.read_at)).toBeGreaterThan(Date.now() - 2_000);
  });
});
