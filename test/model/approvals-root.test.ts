// The root and its approvals child together (src/machines/driver.machine.ts, approvals.machine.ts):
// the real root with its real children and fake daemon I/O, on a fake clock. Every kind of stop —
// stop_motion, emergency_stop, the supervisor's trip, a daemon-error trip, the dead-man — ends every held
// motion request BEFORE the stop is answered (the daemon's sweep is held unanswered here) and
// leaves held non-motion calls waiting; an approve arriving after the stop finds nothing
// (ApprovalNotFound). The supervisor's list, approve and deny are answered as `rpc.outcome`, and
// get_status shows the pending list.
import { beforeEach, afterEach, describe, expect, test, vi } from 'vitest';
import { createActor } from 'xstate';
import type { DriverEvent, DriverInput } from '../../src/machines/driver.machine.ts';
import { MODEL_START_MS } from './model-harness.ts';
import { rootWithTestChildren, TEST_MESH_INPUT } from './root-children.ts';

const INPUT: DriverInput = { deviceId: 'reachy-mini-test', leasePolicy: 'enforced', leaseTtlS: 300, privilegedRpc: 'allowed', mediaEnabled: false, mesh: TEST_MESH_INPUT };

const GOTO: DriverEvent = { type: 'approval.request', approvalId: 'a-goto', function: 'goto_pose', params: { yaw: 20 }, owner: 'alice', caller: null, motion: true, timeoutS: 10 };
const SOUND: DriverEvent = { type: 'approval.request', approvalId: 'a-sound', function: 'play_audio_file', params: { file: 'a.wav' }, owner: 'bob', caller: null, motion: false, timeoutS: 10 };

function createSut() {
  // The daemon's stop sweep never answers: the stop stays unanswered while the test looks.
  const logic = rootWithTestChildren(() => new Promise(() => undefined));
  const actor = createActor(logic, { input: INPUT });
  const heard: Array<{ type: string; [key: string]: any }> = [];
  actor.on('*', (e) => void heard.push(e as never));
  actor.start();
  return { actor, heard, pending: () => actor.getSnapshot().context.children.approvals.getSnapshot().context.pending.map((p) => p.approvalId) };
}
type Sut = ReturnType<typeof createSut>;

let sut: Sut;
beforeEach(async () => {
  vi.useFakeTimers({ now: MODEL_START_MS });
  sut = createSut();
  sut.actor.send({ type: 'link.start' });
  sut.actor.send({ type: 'daemon.motor_mode', mode: 'enabled' });
  await vi.advanceTimersByTimeAsync(0);
});
afterEach(() => {
  sut.actor.stop();
  vi.useRealTimers();
});

const STOPS: ReadonlyArray<readonly [string, DriverEvent, string, string | null]> = [
  ['stop_motion', { type: 'rpc.stop_motion', requestId: 'stop', owner: 'carol' }, 'carol', 'stop'],
  ['emergency_stop', { type: 'rpc.emergency_stop', requestId: 'stop', reason: 'panic', owner: 'carol' }, 'carol', 'stop'],
  ['supervisor trip', { type: 'supervisor.trip', requestId: 'stop', reason: 'operator', owner: 'sup' }, 'sup', 'stop'],
  ['daemon error trip', { type: 'daemon.status', status: { state: 'error' }, daemonState: 'error', error: 'motor overload', motorMode: null, at: MODEL_START_MS }, 'daemon', null],
  // As the dead-man child reports a silent commander of a realtime stream (its stop needs no running move).
  ['dead-man stop', { type: 'deadman.expired', commander: 'alice', silentMs: 400, ms: 300, stream: true }, 'deadman', null],
];

describe.each(STOPS)('%s', (_name, stop, by, stopRequestId) => {
  test('ends every held motion request before the stop is answered, keeps the rest, and a later approve finds nothing', async () => {
    sut.actor.send(GOTO);
    sut.actor.send(SOUND);
    await vi.advanceTimersByTimeAsync(0);
    expect(sut.pending()).toEqual(['a-goto', 'a-sound']);
    const mark = sut.heard.length;
    sut.actor.send(stop);
    await vi.advanceTimersByTimeAsync(0);
    const after = sut.heard.slice(mark);
    expect(after.filter((e) => e.type === 'approval.decided').map((e) => [e.approval.approvalId, e.decision, e.by])).toEqual([['a-goto', 'stopped', by]]);
    // The stop itself is not answered yet (its sweep is held): the request ended first.
    if (stopRequestId) expect(after.some((e) => e.type === 'rpc.outcome' && e.requestId === stopRequestId)).toBe(false);
    expect(sut.pending()).toEqual(['a-sound']);
    sut.actor.send({ type: 'supervisor.approve', requestId: 'late', approvalId: 'a-goto', owner: 'op', reason: 'ok' });
    await vi.advanceTimersByTimeAsync(0);
    expect(sut.heard.find((e) => e.type === 'rpc.outcome' && e.requestId === 'late')).toMatchObject({ ok: false, error: { _tag: 'ApprovalNotFound', approval_id: 'a-goto' } });
  });
});

test('list_approvals, get_status, approve and deny are answered as rpc.outcome; decisions are emitted', async () => {
  // Timers before any approval (the daemon link's stable-connection timer).
  const timersBefore = vi.getTimerCount();
  sut.actor.send(GOTO);
  sut.actor.send(SOUND);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(sut.heard.filter((e) => e.type === 'approval.requested').map((e) => e.approval.approvalId)).toEqual(['a-goto', 'a-sound']);
  sut.actor.send({ type: 'supervisor.list_approvals', requestId: 'list' });
  sut.actor.send({ type: 'rpc.get_status', requestId: 'status' });
  await vi.advanceTimersByTimeAsync(0);
  const list = sut.heard.find((e) => e.type === 'rpc.outcome' && e.requestId === 'list')!;
  expect(list.result).toEqual({
    count: 2,
    pending: [
      { approval_id: 'a-goto', function: 'goto_pose', params: { yaw: 20 }, owner: 'alice', caller: null, requested_at: new Date(MODEL_START_MS).toISOString(), expires_at: new Date(MODEL_START_MS + 10_000).toISOString(), expires_in_s: 9 },
      { approval_id: 'a-sound', function: 'play_audio_file', params: { file: 'a.wav' }, owner: 'bob', caller: null, requested_at: new Date(MODEL_START_MS).toISOString(), expires_at: new Date(MODEL_START_MS + 10_000).toISOString(), expires_in_s: 9 },
    ],
  });
  expect(sut.heard.find((e) => e.type === 'rpc.outcome' && e.requestId === 'status')!.result.driver_state.pending_approvals).toEqual(list.result.pending);
  sut.actor.send({ type: 'supervisor.approve', requestId: 'ok', approvalId: 'a-goto', owner: 'op', reason: 'clear' });
  sut.actor.send({ type: 'supervisor.deny', requestId: 'no', approvalId: 'a-sound', owner: 'op', reason: 'loud' });
  await vi.advanceTimersByTimeAsync(0);
  expect(sut.heard.filter((e) => e.type === 'approval.decided').map((e) => [e.approval.approvalId, e.decision, e.by, e.reason])).toEqual([
    ['a-goto', 'approved', 'op', 'clear'],
    ['a-sound', 'denied', 'op', 'loud'],
  ]);
  expect(sut.heard.find((e) => e.type === 'rpc.outcome' && e.requestId === 'ok')).toMatchObject({ ok: true, result: { status: 'approved', approval_id: 'a-goto' } });
  expect(sut.heard.find((e) => e.type === 'rpc.outcome' && e.requestId === 'no')).toMatchObject({ ok: true, result: { status: 'denied', approval_id: 'a-sound' } });
  expect(sut.pending()).toEqual([]);
  expect(vi.getTimerCount(), 'no approval timer left').toBe(timersBefore);
});
