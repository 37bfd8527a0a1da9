// Human approval over NATS against the emulator (issue 14 item 5): a driver started with
// `--require-approval goto_pose --approval-timeout 1` holds the agent's goto_pose until the
// supervisor (on the `.supervisor` subject) approves or denies it. Transcripts, one per test: no
// decision, approval, denial, a stop_motion while it waits, a state change before the approval,
// calls not in the list, and set_safety_policy adding a function to it. The emulator's motion
// record and command log are the ground truth. The stage's own decisions without NATS are
// test/unit/approval-stage.test.ts.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { MeshScene } from '../harness/driver-harness.ts';
import { rpc, type Recorded } from '../harness/mesh-peer.ts';
import { startReadyScene } from '../harness/ready-state.ts';

const DEVICE = 'approval-1';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SUPERVISOR = `device-connect.default.${DEVICE}.supervisor`;
const EVENT = `device-connect.default.${DEVICE}.event.`;
const AGENT = 'agent';
/** Held calls wait for a human: the RPC timeout must outlast the approval timeouts set below. */
const HELD_CALL_TIMEOUT_MS = 20_000;
/** Approval timeout for the scenarios a test decides itself (the flag's 1 s is for the timeout scenario). */
const DECIDING_TIMEOUT_S = 15;
/** After a decision that must not move the robot, watch this long for a move anyway. */
const SETTLE_MS = 400;

let scene: MeshScene;
let seq = 0;
beforeAll(async () => {
  scene = await startReadyScene(DEVICE, ['--sim', '--no-media', '--sim-time-scale', '0.05', '--discovery-mode', 'd2d', '--require-approval', 'goto_pose', '--approval-timeout', '1']);
});
afterAll(async () => {
  await scene?.stop();
});

function call(method: string, params: Record<string, unknown> = {}, timeoutMs = 5_000): Promise<Record<string, any>> {
  return rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `c-${++seq}`, method, params }, timeoutMs);
}
function supervisor(method: string, params: Record<string, unknown> = {}): Promise<Record<string, any>> {
  return rpc(scene.nc, SUPERVISOR, { jsonrpc: '2.0', id: `s-${++seq}`, method, params });
}

/** The next mesh event `name` after everything seen so far (JSON-RPC notification params). */
async function nextEvent(name: string, match: (p: Record<string, any>) => boolean = () => true): Promise<Record<string, any>> {
  const m = await scene.all.next((r: Recorded) => r.subject === `${EVENT}${name}` && match((r.body as any).params), 5_000);
  return (m.body as any).params;
}
function eventsNamed(name: string): Array<Record<string, any>> {
  return scene.all.messages.filter((m) => m.subject === `${EVENT}${name}`).map((m) => (m.body as any).params);
}
function trail(approvalId: string): string[] {
  return eventsNamed('safety_event').filter((p) => p.approval_id === approvalId).map((p) => p.kind);
}

/** The policy in force with the approval part replaced, applied on the supervisor subject. */
async function setApproval(functions: string[], timeout_s: number): Promise<void> {
  const { policy } = (await call('get_safety_policy')).result;
  const reply = await supervisor('set_safety_policy', { policy: { ...policy, approval: { functions, timeout_s } }, reason: 'approval test' });
  expect(reply.result?.status).toBe('applied');
}

const emulator = () => scene.driver.emulator!;
const gotos = () => emulator().motionRecord.moves.filter((m) => m.kind === 'goto');
const motionCommands = () => emulator().received.filter((r) => (r.transport === 'ws' && r.path === '/ws/sdk') || (r.method === 'POST' && r.path.startsWith('/api/move')));

/** Starts the agent's goto_pose (held) and returns its pending reply with the announced request. */
async function heldGoto(params: Record<string, unknown> = { yaw: 20, duration_s: 0.5 }): Promise<{ reply: Promise<Record<string, any>>; requested: Record<string, any> }> {
  scene.all.drain();
  const reply = call('goto_pose', { ...params, owner: AGENT }, HELD_CALL_TIMEOUT_MS);
  const requested = await nextEvent('approval_requested', (p) => p.function === 'goto_pose');
  return { reply, requested };
}

function clearGround(): void {
  emulator().motionRecord.clear();
  emulator().clearReceived();
}

test('no decision within --approval-timeout 1: the caller gets ApprovalTimeout, the decision is announced and audited, nothing moved', async () => {
  clearGround();
  const { reply, requested } = await heldGoto();
  expect(requested).toMatchObject({ function: 'goto_pose', owner: AGENT, timeout_s: 1, params: { yaw: 20, duration_s: 0.5, owner: AGENT } });
  const answer = await reply;
  expect(answer.error).toMatchObject({ code: -32000, data: { _tag: 'ApprovalTimeout', approval_id: requested.approval_id, timeout_s: 1 } });
  expect(await nextEvent('approval_decided', (p) => p.approval_id === requested.approval_id)).toMatchObject({ decision: 'timeout', function: 'goto_pose', owner: AGENT });
  expect((await supervisor('list_approvals')).result).toEqual({ pending: [], count: 0 });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  expect(gotos()).toEqual([]);
  expect(motionCommands()).toEqual([]);
  expect(trail(requested.approval_id)).toEqual(['approval_requested', 'approval_timeout']);
});

test('a held goto_pose is announced, listed by get_status and list_approvals, and runs only once approved', async () => {
  await setApproval(['goto_pose'], DECIDING_TIMEOUT_S);
  clearGround();
  const { reply, requested } = await heldGoto({ yaw: 20, duration_s: 0.5, wait: true });
  const id = requested.approval_id as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const status = (await call('get_status')).result.driver_state;
  expect(status.pending_approvals).toEqual([expect.objectContaining({ approval_id: id, function: 'goto_pose', owner: AGENT, params: expect.objectContaining({ yaw: 20 }) })]);
  const listed = (await supervisor('list_approvals')).result;
  expect(listed.count).toBe(1);
  expect(listed.pending[0]).toMatchObject({ approval_id: id, function: 'goto_pose', owner: AGENT, requested_at: requested.requested_at, expires_at: requested.expires_at });
  expect(listed.pending[0].expires_in_s).toBeGreaterThan(0);
  expect(listed.pending[0].expires_in_s).toBeLessThanOrEqual(DECIDING_TIMEOUT_S);
  // Waiting: nothing reached the robot.
  expect(gotos()).toEqual([]);
  expect((await supervisor('approve', { approval_id: id, owner: 'operator', reason: 'area clear' })).result).toEqual({ status: 'approved', approval_id: id, function: 'goto_pose' });
  const answer = await reply;
  expect(answer.result).toMatchObject({ status: 'completed', uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  expect(gotos()).toHaveLength(1);
  expect(gotos()[0]).toMatchObject({ uuid: answer.result.uuid, outcome: 'completed' });
  expect(await nextEvent('approval_decided', (p) => p.approval_id === id)).toMatchObject({ decision: 'approved', decided_by: 'operator', reason: 'area clear' });
  expect(trail(id)).toEqual(['approval_requested', 'approval_approved']);
  expect((await call('get_status')).result.driver_state.pending_approvals).toEqual([]);
});

test('deny: the caller gets ApprovalDenied with who and why, nothing reaches the robot, and the id is gone', async () => {
  await setApproval(['goto_pose'], DECIDING_TIMEOUT_S);
  clearGround();
  const { reply, requested } = await heldGoto();
  const id = requested.approval_id as string;
  expect((await supervisor('deny', { approval_id: id, reason: 'someone is standing there', owner: 'operator' })).result).toEqual({ status: 'denied', approval_id: id, function: 'goto_pose' });
  expect((await reply).error).toMatchObject({ code: -32000, data: { _tag: 'ApprovalDenied', approval_id: id, denied_by: 'operator', reason: 'someone is standing there' } });
  const late = await supervisor('approve', { approval_id: id });
  expect(late.error).toMatchObject({ data: { _tag: 'ApprovalNotFound', approval_id: id } });
  expect((await supervisor('deny', { approval_id: 'no-such-approval', reason: 'x' })).error).toMatchObject({ data: { _tag: 'ApprovalNotFound', approval_id: 'no-such-approval' } });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  expect(gotos()).toEqual([]);
  expect(motionCommands()).toEqual([]);
  expect(trail(id)).toEqual(['approval_requested', 'approval_denied']);
});

test('stop guarantee: a stop_motion while a goto waits ends it (ApprovalDenied, reason stopped); an approve after the stop moves nothing', async () => {
  await setApproval(['goto_pose'], DECIDING_TIMEOUT_S);
  clearGround();
  const { reply, requested } = await heldGoto({ yaw: 25, duration_s: 0.5 });
  const id = requested.approval_id as string;
  const stop = await call('stop_motion', { owner: 'bystander' });
  expect(stop.result?.status).toBe('stopped');
  // The held request ended no later than the stop's answer.
  const ended = await Promise.race([reply, new Promise<null>((r) => setTimeout(() => r(null), 0))]);
  expect(ended?.error).toMatchObject({ data: { _tag: 'ApprovalDenied', approval_id: id, denied_by: 'bystander', reason: 'stopped' } });
  const late = await supervisor('approve', { approval_id: id, owner: 'operator' });
  expect(late.error).toMatchObject({ data: { _tag: 'ApprovalNotFound', approval_id: id } });
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  expect(gotos()).toEqual([]);
  expect(motionCommands().filter((r) => r.path !== '/api/move/stop')).toEqual([]);
  expect(await nextEvent('approval_decided', (p) => p.approval_id === id)).toMatchObject({ decision: 'stopped', decided_by: 'bystander' });
  expect(trail(id)).toEqual(['approval_requested', 'approval_denied']);
});

test('approved after the state changed: the gate decides again (the robot went to sleep meanwhile → RobotAsleep, nothing moved)', async () => {
  await setApproval(['goto_pose'], DECIDING_TIMEOUT_S);
  const { reply, requested } = await heldGoto();
  expect((await call('goto_sleep', { owner: AGENT, wait: true }, 10_000)).result?.status).toBe('completed');
  clearGround();
  expect((await supervisor('approve', { approval_id: requested.approval_id })).result?.status).toBe('approved');
  expect((await reply).error).toMatchObject({ data: { _tag: 'RobotAsleep' } });
  expect(gotos()).toEqual([]);
  expect((await call('wake_up', { owner: AGENT, wait: true }, 10_000)).result?.status).toBe('completed');
});

test('functions not in the list are not held, and a call refused anyway is refused at once, not held', async () => {
  await setApproval(['goto_pose'], DECIDING_TIMEOUT_S);
  scene.all.drain();
  const before = eventsNamed('approval_requested').length;
  expect((await call('look_at_world', { yaw: 5, owner: AGENT, wait: true })).result?.status).toBe('completed');
  expect((await call('get_status')).result).toBeDefined();
  // Another owner while the agent holds the lease: LeaseHeld at once, never put before a human.
  expect((await call('goto_pose', { yaw: 5, owner: 'intruder' })).error).toMatchObject({ data: { _tag: 'LeaseHeld', holder: AGENT } });
  expect(eventsNamed('approval_requested')).toHaveLength(before);
  expect((await supervisor('list_approvals')).result.count).toBe(0);
});

test('set_safety_policy adding look_at_world to the list holds the next look_at_world call', async () => {
  await setApproval(['goto_pose', 'look_at_world'], DECIDING_TIMEOUT_S);
  clearGround();
  scene.all.drain();
  const reply = call('look_at_world', { yaw: -5, owner: AGENT }, HELD_CALL_TIMEOUT_MS);
  const requested = await nextEvent('approval_requested', (p) => p.function === 'look_at_world');
  expect(requested).toMatchObject({ owner: AGENT, params: { yaw: -5 }, timeout_s: DECIDING_TIMEOUT_S });
  await supervisor('deny', { approval_id: requested.approval_id, reason: 'not now' });
  expect((await reply).error).toMatchObject({ data: { _tag: 'ApprovalDenied', reason: 'not now', denied_by: 'supervisor' } });
  expect(motionCommands()).toEqual([]);
  // Removed again: the next call runs at once.
  await setApproval(['goto_pose'], DECIDING_TIMEOUT_S);
  expect((await call('look_at_world', { yaw: -5, owner: AGENT })).result?.status).toBe('accepted');
});

test('a reset_interlock held for approval is ended by a later trip: approving it cannot clear the new trip', async () => {
  await setApproval(['goto_pose', 'reset_interlock'], DECIDING_TIMEOUT_S);
  scene.all.drain();
  // → trip #1 (supervisor); → reset_interlock (agent): held.
  expect((await supervisor('trip', { reason: 'trip #1: cable snag', owner: 'operator' })).result).toBeDefined();
  const reply = call('reset_interlock', { owner: AGENT, reason: 'snag cleared' }, HELD_CALL_TIMEOUT_MS);
  const requested = await nextEvent('approval_requested', (p) => p.function === 'reset_interlock');
  const id = requested.approval_id as string;
  // → the supervisor resets and trips again: the held reset ends with trip #2.
  expect((await supervisor('reset_interlock', { owner: 'operator', reason: 'checked' })).result?.interlock_state).toBe('safe');
  await supervisor('trip', { reason: 'trip #2: person in reach', owner: 'operator' });
  expect((await reply).error).toMatchObject({ data: { _tag: 'ApprovalDenied', approval_id: id, reason: 'stopped' } });
  // ← approving the old request finds nothing; the interlock stays tripped.
  expect((await supervisor('approve', { approval_id: id, owner: 'operator' })).error).toMatchObject({ data: { _tag: 'ApprovalNotFound', approval_id: id } });
  expect((await call('get_status')).result?.driver_state?.interlock_state).toBe('tripped');
  // Before 2026-12-06 the approval ran the reset: the interlock read safe after trip #2.
  expect((await supervisor('reset_interlock', { owner: 'operator', reason: 'checked' })).result?.interlock_state).toBe('safe');
  await setApproval(['goto_pose'], DECIDING_TIMEOUT_S);
});
