// Per-caller rate limits over NATS against the emulator (issue "safety policy", item 3): one caller
// sends 1,000 look_at_world requests in one second; at most the class's limit (plus its one-second
// burst) is accepted and reaches the robot, the rest answer RateLimited with retry_after_ms, one
// audit record covers the burst, and stop_motion is never limited.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';

const DEVICE = 'rate-1';
const SUBJECT = `device-connect.default.${DEVICE}.cmd`;
const MOTION_PER_S = 20;
/** 1,000 requests in 20 waves of 50, 50 ms apart: the 1,000 requests per second. */
const WAVES = 20;
const PER_WAVE = 50;
const WAVE_GAP_MS = 50;

/**
 * This test is about rate limits: speed limits high enough that its ±10° yaw jumps go out as single
 * targets (no ramp steps among the targets counted below); the speed limits are speed-limits.test.ts's.
 */
const PERMISSIVE_SPEED = ['--max-head-speed', '2000', '--max-body-speed', '1000', '--max-antenna-speed', '5000'];

let scene: MeshScene;
beforeAll(async () => {
  scene = await startMeshScene(['--sim', '--no-media', '--sim-time-scale', '0.05', '--device-id', DEVICE, '--discovery-mode', 'd2d', '--rate-limit', `motion=${MOTION_PER_S}/s`, ...PERMISSIVE_SPEED]);
  const connected = async () => ((await rpc(scene.nc, SUBJECT, { jsonrpc: '2.0', id: 's', method: 'get_status' }).catch(() => ({}))) as any).result?.driver_state?.connection_state === 'connected';
  await waitFor(connected, 10_000, 'the driver connected to its emulator');
});
afterAll(async () => {
  await scene?.stop();
});

test('1,000 look_at_world requests in a second: the limit holds, the robot sees only the accepted ones, one audit record per burst, stops always pass', async () => {
  const emulator = scene.driver.emulator!;
  emulator.clearReceived();
  const started = performance.now();
  const replies: Array<Promise<Record<string, any>>> = [];
  const stops: Array<Promise<Record<string, any>>> = [];
  for (let wave = 0; wave < WAVES; wave++) {
    for (let i = 0; i < PER_WAVE; i++) {
      const yaw = ((wave * PER_WAVE + i) % 20) - 10;
      replies.push(rpc(scene.nc, SUBJECT, { jsonrpc: '2.0', id: `${wave}-${i}`, method: 'look_at_world', params: { yaw, owner: 'spammer' } }, 15_000) as Promise<Record<string, any>>);
    }
    if (wave % 5 === 4) stops.push(rpc(scene.nc, SUBJECT, { jsonrpc: '2.0', id: `stop-${wave}`, method: 'stop_motion', params: { owner: 'spammer' } }, 15_000) as Promise<Record<string, any>>);
    await new Promise((r) => setTimeout(r, WAVE_GAP_MS));
  }
  const answered = await Promise.all(replies);
  const elapsedS = (performance.now() - started) / 1000;
  const accepted = answered.filter((r) => r.result?.status === 'accepted').length;
  const limited = answered.filter((r) => r.error?.data?._tag === 'RateLimited');
  // Other refusals (a stop in progress; on a loaded machine, a target refused because the in-process
  // emulator's 50 Hz pushes stalled past SDK_STALL_MS) are allowed; nothing else.
  expect(answered.every((r) => r.result?.status === 'accepted' || ['RateLimited', 'NotAllowedInState', 'MotionCancelled', 'DaemonUnavailable'].includes(r.error?.data?._tag))).toBe(true);
  expect(accepted).toBeGreaterThan(0);
  expect(accepted).toBeLessThanOrEqual(Math.ceil(MOTION_PER_S + MOTION_PER_S * elapsedS) + 1);
  expect(limited.length).toBeGreaterThan(1_000 - accepted - 200);
  for (const r of limited) {
    expect(r.error.code).toBe(-32000);
    expect(r.error.data.retry_after_ms).toBeGreaterThan(0);
    expect(r.error.data.retry_after_ms).toBeLessThanOrEqual(1_000 / MOTION_PER_S);
    expect(r.error.data).toMatchObject({ rateClass: 'motion', limitPerSecond: MOTION_PER_S });
  }
  // Stops are never limited.
  for (const s of await Promise.all(stops)) expect(s.result?.status).toBe('stopped');
  // The robot received at most the accepted targets.
  await new Promise((r) => setTimeout(r, 200));
  // Head targets: set_target, and the first one, which also pins the body target the driver does not
  // know yet (set_full_target without antennas; a stop's hold names them).
  const headTarget = (body: { type?: string; antennas?: unknown } | undefined): boolean => body?.type === 'set_target' || (body?.type === 'set_full_target' && body.antennas === undefined);
  const targets = emulator.received.filter((e) => e.transport === 'ws' && headTarget(e.body as { type?: string } | undefined));
  expect(targets.length).toBeLessThanOrEqual(accepted);
  // One audit record for the whole burst (refusals never a second apart).
  const audited = scene.all.messages.filter((m) => m.subject.endsWith('.event.safety_event') && (m.body as any).params?.error_tag === 'RateLimited');
  expect(audited).toHaveLength(1);
  expect((audited[0]!.body as any).params).toMatchObject({ kind: 'refused', function: 'look_at_world', owner: 'spammer' });
});
