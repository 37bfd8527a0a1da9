// The dead-man stop over NATS against the emulator (issue "safety policy", item 4): with
// `--deadman 300`, an agent that streams look_at_world targets or starts a long goto_pose and then
// falls silent has its motion stopped (stream held, goto cut short) within the dead-man time plus
// one tick and the driver's stop path, with a `safety_event` `deadman_stop`, get_status saying so
// and the interlock still safe; another agent's calls do not keep it alive, the commander's own do.
// Off by default; set_safety_policy turns it on and off live. The emulator's motion record (its own
// clock, the test process's performance.now()) is the ground truth; the exact bound on virtual time
// is test/simulation/deadman.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { MoveRecordEntry } from '../../src/sim/motion-record.ts';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { linkAndPower } from '../harness/ready-state.ts';

const DEADMAN_MS = 300;
/** The daemon's control loop runs at 50 Hz: one tick. */
const TICK_MS = 20;
/**
 * The driver's own stop path after the dead-man fires — the root, the motion child, one loopback
 * HTTP /api/move/stop (or one /ws/sdk frame) — measured at a few ms idle; on the shared 2-core box
 * timers fire late and the stop-guarantee suite saw a loaded round trip take up to ~350 ms. Only a
 * scheduling allowance: the exact bound is asserted on virtual time (test/simulation/deadman.test.ts).
 */
const STOP_PATH_ALLOWANCE_MS = 250;
/** A stream of targets: one every 80 ms (12.5/s, under the default 20/s motion rate limit). */
const STREAM_GAP_MS = 80;
const STREAM_TARGETS = 15;
/** A heartbeat well inside the dead-man time. */
const HEARTBEAT_MS = 80;
/** The long goto of the issue: 30° of yaw over 5 s, far inside the default speed limits. */
const LONG_GOTO = { yaw: 30, duration_s: 5 };
/** After a stop, the robot must not move for this long. */
const STILL_FOR_MS = 400;
const TEST_TIMEOUT_MS = 30_000;

type Reply = Record<string, any>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Robot {
  readonly scene: MeshScene;
  /** A call from `who`: as a device (`_dc_meta.source_device`) when `asDevice`, else with `owner` when the function takes one. */
  call(method: string, params?: Record<string, unknown>, as?: { device: string }): Promise<Reply>;
  supervise(method: string, params: Record<string, unknown>): Promise<Reply>;
  safetyEvents(kind: string): Array<Record<string, any>>;
  /** The emulator's clock (the motion record's). */
  now(): number;
  moves(): readonly MoveRecordEntry[];
}

async function robot(device: string, argv: string[]): Promise<Robot> {
  const scene = await startMeshScene(['--sim', '--no-media', '--device-id', device, '--discovery-mode', 'd2d', ...argv]);
  const cmd = `device-connect.default.${device}.cmd`;
  const call = (method: string, params: Record<string, unknown> = {}, as?: { device: string }) =>
    rpc(scene.nc, cmd, { jsonrpc: '2.0', id: method, method, params: as ? { ...params, _dc_meta: { source_device: as.device } } : params }, 10_000) as Promise<Reply>;
  const probe = () => rpc(scene.nc, cmd, { jsonrpc: '2.0', id: 'probe', method: 'get_status' }, 1_000).catch((): Reply => ({})) as Promise<Reply>;
  await waitFor(async () => linkAndPower((await probe()).result) === 'connected/awake', 20_000, 'the driver registered, connected to its emulator, robot awake');
  const emulator = scene.driver.emulator!;
  return {
    scene,
    call,
    supervise: (method, params) => rpc(scene.nc, `device-connect.default.${device}.supervisor`, { jsonrpc: '2.0', id: method, method, params }) as Promise<Reply>,
    safetyEvents: (kind) => scene.all.messages.filter((m) => m.subject.endsWith('.event.safety_event')).map((m) => (m.body as Reply).params).filter((p) => p.kind === kind),
    now: () => emulator.motionRecord.nowMs(),
    moves: () => emulator.motionRecord.moves,
  };
}

/** The emulator's head pose, rounded (µm / µrad): equal means the robot did not move. */
function pose(r: Robot): string {
  const p = r.scene.driver.emulator!.snapshot().headPose as unknown as Record<string, number>;
  return JSON.stringify(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Math.round(v * 1e6)])));
}

async function waitForStop(r: Robot, owner: string, seen: number): Promise<Record<string, any>> {
  await waitFor(() => r.safetyEvents('deadman_stop').filter((e) => e.owner === owner).length > seen, 5_000, `a deadman_stop safety_event for ${owner}`);
  return r.safetyEvents('deadman_stop').filter((e) => e.owner === owner).at(-1)!;
}

async function status(r: Robot): Promise<Reply> {
  return (await r.call('get_status')).result.driver_state;
}

describe('with --deadman 300', () => {
  let r: Robot;
  beforeAll(async () => {
    r = await robot('deadman-on', ['--deadman', String(DEADMAN_MS)]);
  });
  afterAll(async () => {
    await r?.scene.stop();
  });

  test('a silent stream of look_at_world targets is ended (a hold at the current pose) within the dead-man time plus one tick', async () => {
    const emulator = r.scene.driver.emulator!;
    let lastSentAt = 0;
    for (let i = 0; i < STREAM_TARGETS; i++) {
      lastSentAt = r.now();
      const reply = await r.call('look_at_world', { yaw: (i % 5) * 4 - 8, pitch: 5, owner: 'streamer' });
      expect(reply.result?.status, JSON.stringify(reply)).toBe('accepted');
      await sleep(STREAM_GAP_MS);
    }
    // Silence: the stream stays on until the dead-man ends it.
    const event = await waitForStop(r, 'streamer', 0);
    expect(event).toMatchObject({ kind: 'deadman_stop', owner: 'streamer', function: null, deadman_ms: DEADMAN_MS, state: { interlock: 'safe' } });
    expect(event.reason).toMatch(/^dead-man: streamer silent for \d+ ms$/);
    expect(event.silent_ms).toBeGreaterThanOrEqual(DEADMAN_MS);
    // On the emulator's clock: the last target the agent sent, then the stop's hold.
    const targets = emulator.motionRecord.targets;
    const lastTarget = targets.filter((t) => t.kind === 'set_target').at(-1)!;
    const hold = targets.find((t) => t.kind === 'set_full_target' && t.receivedAt > lastTarget.receivedAt);
    expect(hold, 'the stop held the current pose').toBeDefined();
    expect(hold!.receivedAt - lastSentAt, 'not before the dead-man time').toBeGreaterThanOrEqual(DEADMAN_MS);
    expect(hold!.receivedAt - lastTarget.receivedAt).toBeLessThanOrEqual(DEADMAN_MS + TICK_MS + STOP_PATH_ALLOWANCE_MS);
    // Then nothing: no target, no move, the pose does not change.
    const still = pose(r);
    const [targetsBefore, movesBefore] = [targets.length, r.moves().length];
    await sleep(STILL_FOR_MS);
    expect(pose(r)).toBe(still);
    expect([emulator.motionRecord.targets.length, r.moves().length]).toEqual([targetsBefore, movesBefore]);
    const s = await status(r);
    expect(s.deadman).toMatchObject({ ms: DEADMAN_MS, armed: false, commander: 'streamer', last_stop_reason: event.reason });
    expect(Date.parse(s.deadman.last_stop_at)).toBeGreaterThan(0);
    expect([s.interlock_state, s.execution_state]).toEqual(['safe', 'idle']);
    expect((await r.call('release_lease', { owner: 'streamer' })).result?.status).toBe('released');
  }, TEST_TIMEOUT_MS);

  test('a long goto_pose whose agent falls silent is cut short; a bystander polling does not keep it alive; the interlock stays safe', async () => {
    const lastSentAt = r.now();
    const started = await r.call('goto_pose', { ...LONG_GOTO, owner: 'mover' });
    expect(started.result?.status, JSON.stringify(started)).toBe('accepted');
    const uuid = started.result.uuid as string;
    expect((await status(r)).deadman).toMatchObject({ ms: DEADMAN_MS, armed: true, commander: 'mover' });
    // Another agent talks all along: it is not the commander.
    let polling = true;
    const bystander = (async () => {
      while (polling) {
        await r.call('get_status', {}, { device: 'bystander' });
        await sleep(HEARTBEAT_MS / 2);
      }
    })();
    const event = await waitForStop(r, 'mover', 0);
    polling = false;
    await bystander;
    expect(event).toMatchObject({ kind: 'deadman_stop', owner: 'mover', state: { interlock: 'safe' } });
    await waitFor(() => r.moves().find((m) => m.uuid === uuid)?.endedAt != null, 2_000, 'the goto ended');
    const move = r.moves().find((m) => m.uuid === uuid)!;
    expect(['cancelled', 'stopped']).toContain(move.outcome);
    expect(move.endedAt! - lastSentAt, 'not before the dead-man time').toBeGreaterThanOrEqual(DEADMAN_MS);
    expect(move.endedAt! - move.receivedAt).toBeLessThanOrEqual(DEADMAN_MS + TICK_MS + STOP_PATH_ALLOWANCE_MS);
    expect(move.endedAt!).toBeLessThan(move.startedAt + LONG_GOTO.duration_s * 1000);
    const s = await status(r);
    expect(s.interlock_state).toBe('safe');
    expect(s.deadman).toMatchObject({ armed: false, commander: 'mover', last_stop_reason: event.reason });
    // Not a trip: the same agent may move again at once; a move that completes before the dead-man time is not reported.
    const again = await r.call('goto_pose', { yaw: 0, duration_s: 0.2, wait: true, owner: 'mover' });
    expect(again.result?.status, JSON.stringify(again)).toBe('completed');
    await sleep(DEADMAN_MS + STOP_PATH_ALLOWANCE_MS);
    expect(r.safetyEvents('deadman_stop').filter((e) => e.owner === 'mover')).toHaveLength(1);
    expect((await r.call('release_lease', { owner: 'mover' })).result?.status).toBe('released');
  }, TEST_TIMEOUT_MS);

  test('an agent that keeps talking is not stopped: get_status as a device, or lease renewals', async () => {
    for (const [agent, heartbeat] of [
      ['poller', () => r.call('get_status', {}, { device: 'poller' })],
      ['renewer', () => r.call('acquire_lease', { owner: 'renewer', ttl_s: 5 })],
    ] as const) {
      const asAgent = agent === 'poller' ? { device: agent } : undefined;
      const started = await r.call('goto_pose', { yaw: agent === 'poller' ? -25 : 25, duration_s: 2, owner: agent }, asAgent);
      expect(started.result?.status, JSON.stringify(started)).toBe('accepted');
      const uuid = started.result.uuid as string;
      while (r.moves().find((m) => m.uuid === uuid)?.endedAt == null) {
        await heartbeat();
        await sleep(HEARTBEAT_MS);
      }
      expect(r.moves().find((m) => m.uuid === uuid)!.outcome).toBe('completed');
      expect(r.safetyEvents('deadman_stop').filter((e) => e.owner === agent)).toEqual([]);
      expect((await r.call('release_lease', { owner: agent }, asAgent)).result?.status).toBe('released');
    }
  }, TEST_TIMEOUT_MS);
});

describe('by default (no --deadman)', () => {
  let r: Robot;
  beforeAll(async () => {
    r = await robot('deadman-off', []);
  });
  afterAll(async () => {
    await r?.scene.stop();
  });

  test('off: a silent agent’s goto runs to its end; set_safety_policy turns the dead-man on and off live', async () => {
    expect((await status(r)).deadman).toEqual({ ms: null, armed: false, commander: null, last_heard_at: null, last_stop_at: null, last_stop_reason: null });
    const quiet = await r.call('goto_pose', { yaw: 20, duration_s: 1, owner: 'quiet' });
    const uuid = quiet.result.uuid as string;
    await waitFor(() => r.moves().find((m) => m.uuid === uuid)?.endedAt != null, 5_000, 'the goto ended');
    expect(r.moves().find((m) => m.uuid === uuid)!.outcome).toBe('completed');
    expect(r.safetyEvents('deadman_stop')).toEqual([]);

    const policy = (await r.call('get_safety_policy')).result.policy;
    const on = await r.supervise('set_safety_policy', { policy: { ...policy, deadman_ms: DEADMAN_MS }, reason: 'test: dead-man on', owner: 'ops' });
    expect(on.result?.status, JSON.stringify(on)).toBe('applied');
    const lastSentAt = r.now();
    const long = await r.call('goto_pose', { yaw: -20, duration_s: 3, owner: 'quiet' });
    const event = await waitForStop(r, 'quiet', 0);
    const move = r.moves().find((m) => m.uuid === long.result.uuid)!;
    await waitFor(() => r.moves().find((m) => m.uuid === long.result.uuid)?.endedAt != null, 2_000, 'the goto ended');
    expect(['cancelled', 'stopped']).toContain(r.moves().find((m) => m.uuid === long.result.uuid)!.outcome);
    expect(r.moves().find((m) => m.uuid === long.result.uuid)!.endedAt! - lastSentAt).toBeGreaterThanOrEqual(DEADMAN_MS);
    expect(move.receivedAt).toBeGreaterThanOrEqual(lastSentAt);
    expect(event.deadman_ms).toBe(DEADMAN_MS);

    // The dead-man's stop holds motion until the daemon confirms it (NotAllowedInState "stopping");
    // the emulator's record can show the move ended before the driver hears the confirmation.
    await waitFor(async () => (await status(r)).execution_state === 'idle', 5_000, 'the driver heard the stop confirmed');
    const off = await r.supervise('set_safety_policy', { policy: { ...policy, deadman_ms: null }, reason: 'test: dead-man off', owner: 'ops' });
    expect(off.result?.status).toBe('applied');
    const free = await r.call('goto_pose', { yaw: 10, duration_s: 1, owner: 'quiet' });
    expect(free.result?.uuid, JSON.stringify(free)).toBeTypeOf('string');
    await waitFor(() => r.moves().find((m) => m.uuid === free.result.uuid)?.endedAt != null, 5_000, 'the goto ended');
    expect(r.moves().find((m) => m.uuid === free.result.uuid)!.outcome).toBe('completed');
    expect(r.safetyEvents('deadman_stop')).toHaveLength(1);
    expect((await status(r)).deadman).toMatchObject({ ms: null, armed: false });
  }, TEST_TIMEOUT_MS);
});
