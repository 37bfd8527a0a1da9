// The get_status answer kept between calls (src/machines/status-memo.ts), on the real root with its
// real children and a fake clock: what did not change is reused (the same frozen driver_state, its
// JSON encoded once) and what moves with the time alone — the daemon status's age, a lease running
// out with no event, pending approvals' time left — is always the call's own. Every answer is also
// compared with the status built afresh, field for field and byte for byte.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { createActor } from 'xstate';
import { driverStatus, viewOf, type DriverEvent, type DriverInput } from '../../src/machines/driver.machine.ts';
import { statusResult } from '../../src/machines/driver-policy.ts';
import { resultJson } from '../../src/protocol/result-json.ts';
import { lagWithoutTimers, MODEL_START_MS } from './model-harness.ts';
import { rootWithTestChildren, TEST_MESH_INPUT } from './root-children.ts';

const INPUT: DriverInput = { deviceId: 'reachy-mini-test', leasePolicy: 'enforced', leaseTtlS: 300, privilegedRpc: 'allowed', mediaEnabled: false, mesh: TEST_MESH_INPUT };
const DAEMON_RUNNING: DriverEvent = { type: 'daemon.status', status: { state: 'running' }, daemonState: 'running', error: null, motorMode: 'enabled', at: MODEL_START_MS };

function createRoot() {
  return createActor(rootWithTestChildren(), { input: INPUT }).start();
}

let root: ReturnType<typeof createRoot>;
beforeEach(async () => {
  vi.useFakeTimers({ now: MODEL_START_MS });
  root = createRoot();
  root.send({ type: 'link.start' });
  root.send(DAEMON_RUNNING);
  await vi.advanceTimersByTimeAsync(0);
});
afterEach(() => {
  root.stop();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

type Status = { daemon: Record<string, unknown>; driver_state: Record<string, any> };

/** The status as the root answers it now, checked against the one built afresh at this instant. */
function status(): Status {
  const context = root.getSnapshot().context;
  const kept = driverStatus(context);
  const fresh = statusResult(viewOf(context), context, Date.now());
  expect(kept).toEqual(fresh);
  expect(resultJson(kept)).toBe(JSON.stringify(fresh));
  return kept as Status;
}

/** Moves the clock without running any timer: only what reads the time can see it. */
/** Time passes with no timer run (a lagging loop): the wall clock and the lease's monotonic clock. */
const clockForward = (ms: number) => lagWithoutTimers(ms);

test('with nothing changed the next answer reuses driver_state; only the daemon status age moves', () => {
  const first = status();
  clockForward(1_500);
  const second = status();
  expect(second.driver_state).toBe(first.driver_state);
  expect(Object.isFrozen(second.driver_state)).toBe(true);
  expect(first.daemon['age_s']).toBe(0);
  expect(second.daemon['age_s']).toBe(1.5);
});

test('an event that changes a child gives a new driver_state at once', async () => {
  const before = status();
  root.send({ type: 'rpc.emergency_stop', requestId: 'estop', reason: 'panic', owner: 'bob' });
  await vi.advanceTimersByTimeAsync(0);
  const after = status();
  expect(after.driver_state).not.toBe(before.driver_state);
  expect(before.driver_state['interlock_state']).toBe('safe');
  expect(after.driver_state).toMatchObject({ interlock_state: 'tripped', interlock_reason: 'panic' });
});

test('a new daemon status replaces the daemon block, its age counted from the new reading', async () => {
  status();
  clockForward(2_000);
  root.send({ ...DAEMON_RUNNING, status: { state: 'running', version: '1.2' }, at: Date.now() } as DriverEvent);
  await vi.advanceTimersByTimeAsync(0);
  const after = status();
  expect(after.daemon).toMatchObject({ status: { state: 'running', version: '1.2' }, age_s: 0 });
});

test('a lease that runs out by the clock alone, its timer not yet run, is gone from the next answer', async () => {
  root.send({ type: 'rpc.acquire_lease', requestId: 'acq', owner: 'alice', ttlS: 10 });
  await vi.advanceTimersByTimeAsync(0);
  expect(status().driver_state).toMatchObject({ command_owner: 'alice', lease_active: true });
  clockForward(10_001);
  expect(status().driver_state).toMatchObject({ command_owner: null, lease_active: false, lease_expires_at: 0 });
});

test('pending approvals are never kept: their time left is that of each call', async () => {
  root.send({ type: 'approval.request', approvalId: 'a-sound', function: 'play_audio_file', params: { file: 'a.wav' }, owner: 'bob', caller: null, motion: false, timeoutS: 10 });
  await vi.advanceTimersByTimeAsync(0);
  expect(status().driver_state['pending_approvals']).toMatchObject([{ approval_id: 'a-sound', expires_in_s: 10 }]);
  clockForward(4_000);
  expect(status().driver_state['pending_approvals']).toMatchObject([{ approval_id: 'a-sound', expires_in_s: 6 }]);
});
