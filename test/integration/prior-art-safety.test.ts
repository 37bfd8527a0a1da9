// The prior art's safety controls over NATS against the emulator (issue 12 part 3): the D2D
// emergency stop (`emergencyStop` events from devices in DEVICE_CONNECT_ESTOP_ALLOW trip the
// interlock and stop motion; others are ignored; both audited) and the caller allowlist
// (DEVICE_CONNECT_RPC_ALLOW: state-changing calls from other callers answer CallerNotAllowed and
// are audited, reads pass, stops always pass). The emulator's motion record is the ground truth.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc, type Recorded } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'priorart-1';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const EVENT = `device-connect.default.${DEVICE}.event.`;
const OPERATOR = 'operator';
/** A move long enough (real time) to be running when the e-stop arrives. */
const LONG_GOTO = { yaw: 20, duration_s: 4 };

let scene: MeshScene;
let seq = 0;
beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--discovery-mode', 'd2d', '--estop-allow', 'safety-*,panel-7', '--rpc-allow', `${OPERATOR},safety-*`]);
});
afterAll(async () => {
  await scene?.stop();
});

function call(method: string, params: Record<string, unknown> = {}, meta?: Record<string, unknown>, timeoutMs = 10_000): Promise<Record<string, any>> {
  return rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c-${++seq}`, method, params: meta ? { ...params, _dc_meta: meta } : params }, timeoutMs);
}
/** Another device publishes its emergencyStop event, as the prior art's devices do (a JSON-RPC notification). */
async function emergencyStopFrom(device: string, reason: string): Promise<void> {
  const body = { jsonrpc: '2.0', method: 'emergencyStop', params: { reason, event_id: randomUUID().slice(0, 8), ts: new Date().toISOString() } };
  scene.nc.publish(`device-connect.default.${device}.event.emergencyStop`, JSON.stringify(body));
  await scene.nc.flush();
}
async function safetyEvent(match: (p: Record<string, any>) => boolean): Promise<Record<string, any>> {
  const m = await scene.all.next((r: Recorded) => r.subject === `${EVENT}safety_event` && match((r.body as any).params), 5_000);
  return (m.body as any).params;
}
const status = async () => (await call('get_status')).result.driver_state;
const gotos = () => scene.driver.emulator!.motionRecord.moves.filter((m) => m.kind === 'goto');

test('an emergencyStop event from a device outside DEVICE_CONNECT_ESTOP_ALLOW is ignored and audited', async () => {
  scene.all.drain();
  await emergencyStopFrom('rogue-3', 'prank');
  const audited = await safetyEvent((p) => p.kind === 'd2d_estop_ignored');
  expect(audited).toMatchObject({ function: 'emergencyStop', owner: 'rogue-3', emitter: 'rogue-3', ignored_because: 'not_allowed', reason: 'prank', state: { interlock: 'safe' } });
  expect((await status()).interlock_state).toBe('safe');
});

test('state-changing calls from callers outside DEVICE_CONNECT_RPC_ALLOW answer CallerNotAllowed and are audited; reads and stops pass', async () => {
  scene.all.drain();
  const before = gotos().length;
  const refused = await call('goto_pose', { yaw: 10, duration_s: 0.5, owner: 'intruder' });
  expect(refused.error?.data).toMatchObject({ _tag: 'CallerNotAllowed', caller: 'intruder', function: 'goto_pose', allow: [OPERATOR, 'safety-*'] });
  const audited = await safetyEvent((p) => p.kind === 'refused' && p.error_tag === 'CallerNotAllowed');
  expect(audited).toMatchObject({ function: 'goto_pose', owner: 'intruder' });
  // The asserted source device wins over the owner, both ways.
  const bySource = await call('acquire_lease', { owner: OPERATOR }, { source_device: 'rogue-3' });
  expect(bySource.error?.data?._tag).toBe('CallerNotAllowed');
  expect(bySource.error?.data?.caller).toBe('rogue-3');
  const fromPanel = await call('release_lease', { owner: 'someone' }, { source_device: 'safety-panel' });
  expect(fromPanel.error?.data?._tag).not.toBe('CallerNotAllowed');
  // Reads are not state-changing; stops are never refused.
  expect((await call('get_status', {}, { source_device: 'rogue-3' })).result?.driver_state).toBeDefined();
  expect((await call('stop_motion', { owner: 'intruder' })).result?.status).toBe('stopped');
  expect(gotos().length).toBe(before);
  const estop = await call('emergency_stop', { owner: 'intruder', reason: 'anyone may stop' });
  expect(estop.error).toBeUndefined();
  expect((await status()).interlock_state).toBe('tripped');
  // Resetting is state-changing: the intruder may not, the operator may.
  expect((await call('reset_interlock', { owner: 'intruder', reason: 'x' })).error?.data?._tag).toBe('CallerNotAllowed');
  expect((await call('reset_interlock', { owner: OPERATOR, reason: 'checked' })).error).toBeUndefined();
  expect((await status()).interlock_state).toBe('safe');
});

test('an emergencyStop event from an allowed device trips the interlock, stops the running move, and is audited', async () => {
  const started = await call('goto_pose', { ...LONG_GOTO, owner: OPERATOR });
  expect(started.result?.status).toBe('accepted');
  await waitFor(() => gotos().some((m) => m.outcome === 'running'), 5_000, 'the goto runs on the emulator');
  scene.all.drain();
  await emergencyStopFrom('safety-panel', 'light curtain broken');
  const tripped = await safetyEvent((p) => p.kind === 'interlock_tripped');
  expect(tripped).toMatchObject({ source: 'd2d', owner: 'safety-panel', state: { interlock: 'tripped' } });
  const audited = await safetyEvent((p) => p.kind === 'd2d_estop_tripped');
  expect(audited).toMatchObject({ emitter: 'safety-panel', reason: 'light curtain broken', state: { interlock: 'tripped' } });
  await waitFor(() => gotos().every((m) => m.outcome !== 'running'), 2_000, 'the goto stopped on the emulator');
  // Interrupted (`/api/move/stop` → cancelled, or `/ws/sdk` stop_move → stopped), far from its 4 s end.
  const last = gotos().at(-1)!;
  expect(['cancelled', 'stopped']).toContain(last.outcome);
  expect(last.endedAt! - last.startedAt).toBeLessThan((LONG_GOTO.duration_s * 1000) / 2);
  const driverState = await status();
  expect(driverState).toMatchObject({ interlock_state: 'tripped' });
  expect(driverState.interlock_reason).toContain('light curtain broken');
  // Motion is refused while tripped, as after any trip.
  expect((await call('goto_pose', { yaw: 5, duration_s: 0.5, owner: OPERATOR })).error?.data?._tag).toBe('InterlockTripped');
  expect((await call('reset_interlock', { owner: OPERATOR, reason: 'curtain fixed' })).error).toBeUndefined();
});
