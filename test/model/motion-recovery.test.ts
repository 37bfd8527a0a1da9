// A daemon link that comes back while a cancelled command is unresolved and a newer command runs
// (motion.machine.ts `stopAfterRecovery`): moves the daemon started while its updates went unheard
// cannot be told from the live command's, so motion is stopped and the sweep stops them all. Before
// 2026-12-06 `link.recovered` was heard only in idle and error: the late move of the first command ran
// to its end. Real actor, fake executors, fake clock.
import { afterEach, expect, test, vi } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { motionMachine, type CommandAccepted, type ExecuteInput } from '../../src/machines/motion.machine.ts';
import { MODEL_START_MS } from './model-harness.ts';

afterEach(() => vi.useRealTimers());

test('link.recovered with an unresolved cancelled command while a newer goto moves: stopped, the sweep runs', async () => {
  vi.useFakeTimers({ now: MODEL_START_MS });
  const sweeps: Array<ReadonlyArray<string>> = [];
  let first = true;
  const logic = motionMachine.provide({
    actors: {
      // The first command's request never answers (its fate is unknown); the second is accepted.
      executeCommand: fromPromise<CommandAccepted, ExecuteInput>(async ({ signal }) => {
        if (first) {
          first = false;
          return await new Promise<CommandAccepted>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled'))));
        }
        return { uuid: 'move-b', expectedDurationMs: 5_000 };
      }),
      stopMotion: fromPromise<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(async ({ input }) => (sweeps.push(input.uuids), [])),
      stopMove: fromPromise<void, { uuid: string }>(async () => undefined),
    },
  });
  const actor = createActor(logic).start();
  const goto = (requestId: string) => ({ type: 'motion.command' as const, requestId, kind: 'goto_target', owner: 'alice', power: 'awake' as const, command: { op: 'goto' }, target: {}, wait: false });
  actor.send(goto('req-a'));
  await vi.advanceTimersByTimeAsync(0);
  actor.send(goto('req-b'));
  await vi.advanceTimersByTimeAsync(0);
  // A's sender ends without an answer: its move may still start (an unresolved orphan).
  actor.send({ type: 'sender.settled', requestId: 'req-a', uuid: null, outcome: 'unknown', stoppedLate: false });
  expect(actor.getSnapshot().value).toBe('moving');
  actor.send({ type: 'link.recovered', interlockTripped: false });
  await vi.advanceTimersByTimeAsync(0);
  expect(sweeps).toHaveLength(1);
  expect(actor.getSnapshot().value).toBe('idle');
  actor.stop();
});
