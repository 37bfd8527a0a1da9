// Regression (found while modelling the stop fence): a stop is answered within
// STOP_CONFIRM_TIMEOUT_MS of its arrival — `stop: "unconfirmed"` if the daemon has not confirmed
// by then (README "Safety"; core contract). A second stop arriving while the first one's sweep
// runs re-entered `stopping` and restarted the confirmation timer, so the first caller waited
// 250 ms from the LAST stop: a stop every 200 ms kept it unanswered for as long as they came.
// Real actor as the child of a recording parent, a sweep the daemon never confirms, fake clock.
import { afterEach, expect, test, vi } from 'vitest';
import { fromPromise } from 'xstate';
import { motionMachine, STOP_CONFIRM_TIMEOUT_MS, type CommandAccepted, type ExecuteInput } from '../../src/machines/motion.machine.ts';
import { MODEL_START_MS } from './model-harness.ts';
import { childOfRecorder } from './test-parent.ts';

afterEach(() => vi.useRealTimers());

test('every stop is answered within STOP_CONFIRM_TIMEOUT_MS, however many stops follow it', async () => {
  vi.useFakeTimers({ now: MODEL_START_MS });
  const logic = motionMachine.provide({
    actors: {
      executeCommand: fromPromise<CommandAccepted, ExecuteInput>(async () => ({ uuid: null, expectedDurationMs: 1 })),
      // The daemon never confirms the stop (a stalled link).
      stopMotion: fromPromise<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(() => new Promise(() => undefined)),
      stopMove: fromPromise<void, { uuid: string }>(async () => undefined),
    },
  });
  const sut = childOfRecorder(logic);
  const answeredAt = new Map<string, number>();
  const sentAt = new Map<string, number>();
  const collect = () => {
    for (const e of sut.toParent()) {
      const id = (e as unknown as { requestId: string }).requestId;
      if (e.type === 'motion.stop_answer' && !answeredAt.has(id)) answeredAt.set(id, Date.now());
    }
  };
  // A stop every 200 ms (an operator, a supervisor and agents all stopping), five in all.
  for (let i = 1; i <= 5; i++) {
    sentAt.set(`stop-${i}`, Date.now());
    sut.actor.send({ type: 'motion.stop', requestId: `stop-${i}`, reply: 'stop', reason: `stop ${i}` });
    for (let t = 0; t < 200; t += 10) {
      await vi.advanceTimersByTimeAsync(10);
      collect();
    }
  }
  for (let t = 0; t < STOP_CONFIRM_TIMEOUT_MS; t += 10) {
    await vi.advanceTimersByTimeAsync(10);
    collect();
  }
  for (const [id, at] of sentAt) {
    expect(answeredAt.has(id), `${id} answered`).toBe(true);
    expect(answeredAt.get(id)! - at, `${id} answered within the bound`).toBeLessThanOrEqual(STOP_CONFIRM_TIMEOUT_MS);
  }
  expect(sut.toParent().every((e) => (e as unknown as { confirmed: boolean }).confirmed === false)).toBe(true);
  sut.actor.stop();
});
