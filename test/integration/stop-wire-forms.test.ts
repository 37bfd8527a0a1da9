// Stops in the wire forms that are not plain requests, over NATS against the emulator (README
// "Stops in every wire form"): a JSON-RPC notification `emergency_stop` on `.cmd` (the shape
// `nats pub` sends) stops a running goto and trips the interlock as a request would, is audited,
// and gets no reply; so do `stop_motion` with `"id": null` and the supervisor's `trip` as a
// notification; a notification goto is not run (audited StopsOnly, no reply); a broadcast stop
// whose `where` this driver cannot evaluate stops the move and is audited with why. The emulator's
// motion record is the ground truth of what moved.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'stopwire-1';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SUPERVISOR = `device-connect.default.${DEVICE}.supervisor`;
const SAFETY_EVENT = `device-connect.default.${DEVICE}.event.safety_event`;
const OPERATOR = 'operator';
/** A move long enough (real time) to be running when the stop arrives, and to be seen cut short. */
const LONG_GOTO = { yaw: 20, duration_s: 4 };
/** After a stop took effect, a reply would have come within this (a stop answers within 250 ms). */
const REPLY_GRACE_MS = 500;

let scene: MeshScene;
let seq = 0;
beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--discovery-mode', 'd2d']);
});
afterAll(async () => {
  await scene?.stop();
});

function call(method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<Record<string, any>> {
  return rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c-${++seq}`, method, params }, timeoutMs);
}
const gotos = () => scene.driver.emulator!.motionRecord.moves.filter((m) => m.kind === 'goto');
const status = async () => (await call('get_status')).result.driver_state;

/** Publishes `body` on `subject` with a reply inbox of its own; `replies()` is what came back on it. */
async function publishWatched(subject: string, body: unknown): Promise<{ replies: () => number }> {
  const inbox = `_INBOX.stopwire.${++seq}`;
  let replies = 0;
  scene.nc.subscribe(inbox, { callback: () => void (replies += 1) });
  await scene.nc.flush();
  scene.nc.publish(subject, JSON.stringify(body), { reply: inbox });
  await scene.nc.flush();
  return { replies: () => replies };
}

/** Safety events published since `from` (an index into the recorder) that match. */
function safetyEvents(from: number, match: (p: Record<string, any>) => boolean): Array<Record<string, any>> {
  return scene.all.messages.slice(from).filter((m) => m.subject === SAFETY_EVENT).map((m) => (m.body as any).params).filter(match);
}

/** Starts the long goto and waits for it to run on the emulator; returns its record. */
async function runningGoto() {
  const started = await call('goto_pose', { ...LONG_GOTO, owner: OPERATOR });
  expect(started.result?.status).toBe('accepted');
  await waitFor(() => gotos().at(-1)?.outcome === 'running', 5_000, 'the goto runs on the emulator');
  return gotos().at(-1)!;
}

/** The goto ended early (interrupted, far from its 4 s end), as a stop ends it. */
async function expectStoppedEarly(goto: ReturnType<typeof gotos>[number]): Promise<void> {
  await waitFor(() => goto.outcome !== 'running', 2_000, 'the goto stopped on the emulator');
  expect(['cancelled', 'stopped']).toContain(goto.outcome);
  expect(goto.endedAt! - goto.startedAt).toBeLessThan((LONG_GOTO.duration_s * 1000) / 2);
}

async function resetInterlock(): Promise<void> {
  expect((await call('reset_interlock', { owner: OPERATOR, reason: 'test over' })).error).toBeUndefined();
}

test('a notification emergency_stop on .cmd (no id) stops the running goto, trips the interlock, is audited and gets no reply', async () => {
  const goto = await runningGoto();
  const from = scene.all.messages.length;
  const sent = await publishWatched(CMD, { jsonrpc: '2.0', method: 'emergency_stop', params: { reason: 'panic' } });
  await expectStoppedEarly(goto);
  const driverState = await status();
  expect(driverState.interlock_state).toBe('tripped');
  expect(driverState.interlock_reason).toContain('panic');
  await expect.poll(() => safetyEvents(from, (p) => p.function === 'emergency_stop' && p.kind === 'accepted'), { timeout: 2_000 }).toHaveLength(1);
  // Accepted by the gate (recorded as it passes, before the trip), then the trip with the state after it.
  expect(safetyEvents(from, (p) => p.kind === 'accepted')[0]).toMatchObject({ function: 'emergency_stop', delivery: 'notification', params: { reason: 'panic' } });
  expect(safetyEvents(from, (p) => p.kind === 'interlock_tripped')).toMatchObject([{ reason: expect.stringContaining('panic'), state: { interlock: 'tripped' } }]);
  // Motion is refused as after any e-stop.
  expect((await call('goto_pose', { yaw: 5, duration_s: 0.5, owner: OPERATOR })).error?.data?._tag).toBe('InterlockTripped');
  await new Promise((resolve) => setTimeout(resolve, REPLY_GRACE_MS));
  expect(sent.replies()).toBe(0);
  await resetInterlock();
});

test('stop_motion with "id": null stops the running goto, is audited and gets no reply', async () => {
  const goto = await runningGoto();
  const from = scene.all.messages.length;
  const sent = await publishWatched(CMD, { jsonrpc: '2.0', id: null, method: 'stop_motion', params: { owner: OPERATOR } });
  await expectStoppedEarly(goto);
  await expect.poll(() => safetyEvents(from, (p) => p.kind === 'accepted' && p.function === 'stop_motion'), { timeout: 2_000 }).toHaveLength(1);
  expect(safetyEvents(from, (p) => p.kind === 'accepted')[0]).toMatchObject({ delivery: 'notification', owner: OPERATOR });
  expect((await status()).interlock_state).toBe('safe');
  await new Promise((resolve) => setTimeout(resolve, REPLY_GRACE_MS));
  expect(sent.replies()).toBe(0);
});

test('the supervisor trip as a notification stops the running goto and trips the interlock, audited, unanswered', async () => {
  const goto = await runningGoto();
  const from = scene.all.messages.length;
  const sent = await publishWatched(SUPERVISOR, { jsonrpc: '2.0', method: 'trip', params: { reason: 'panel pressed' } });
  await expectStoppedEarly(goto);
  expect((await status()).interlock_state).toBe('tripped');
  await expect.poll(() => safetyEvents(from, (p) => p.kind === 'accepted' && p.function === 'trip'), { timeout: 2_000 }).toHaveLength(1);
  expect(safetyEvents(from, (p) => p.kind === 'accepted')[0]).toMatchObject({ delivery: 'notification' });
  expect(safetyEvents(from, (p) => p.kind === 'interlock_tripped')).toMatchObject([{ reason: expect.stringContaining('panel pressed'), state: { interlock: 'tripped' } }]);
  await new Promise((resolve) => setTimeout(resolve, REPLY_GRACE_MS));
  expect(sent.replies()).toBe(0);
  await resetInterlock();
});

test('a notification goto is not run: refused StopsOnly in the audit, no reply', async () => {
  const before = gotos().length;
  const from = scene.all.messages.length;
  const sent = await publishWatched(CMD, { jsonrpc: '2.0', method: 'goto_pose', params: { yaw: 10, duration_s: 0.5, owner: OPERATOR } });
  await expect.poll(() => safetyEvents(from, (p) => p.kind === 'refused'), { timeout: 2_000 }).toHaveLength(1);
  const refused = safetyEvents(from, (p) => p.kind === 'refused')[0]!;
  expect(refused).toMatchObject({ function: 'goto_pose', owner: OPERATOR, error_tag: 'StopsOnly', delivery: 'notification' });
  expect(refused.reason).toContain('"id"');
  await new Promise((resolve) => setTimeout(resolve, REPLY_GRACE_MS));
  expect(gotos().length).toBe(before);
  expect(sent.replies()).toBe(0);
});

test('a broadcast emergency_stop with a where this driver cannot evaluate stops the running goto and is audited with why', async () => {
  const goto = await runningGoto();
  const from = scene.all.messages.length;
  const correlationId = 'br-5709e0000001';
  scene.nc.publish('device-connect.default.broadcast', JSON.stringify({ correlation_id: correlationId, function: 'emergency_stop', params: { reason: 'fleet stop' }, where: "location=='lab'" }));
  await expectStoppedEarly(goto);
  expect((await status()).interlock_state).toBe('tripped');
  // Answered on its async reply subject like any broadcast it runs.
  const reply = await scene.all.next((m) => m.subject === `device-connect.default.${DEVICE}.event.async_reply.${correlationId}`, 2_000);
  expect(reply.body).toMatchObject({ correlation_id: correlationId, device_id: DEVICE, success: true });
  await expect.poll(() => safetyEvents(from, (p) => p.kind === 'accepted' && p.function === 'emergency_stop'), { timeout: 2_000 }).toHaveLength(1);
  expect(safetyEvents(from, (p) => p.kind === 'accepted')[0]).toMatchObject({ delivery: 'broadcast', addressing: "unevaluated where location=='lab' — stopped anyway" });
  await resetInterlock();
});
