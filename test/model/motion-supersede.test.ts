// Regression (found by the motion model test): a command that replaces a tracked daemon move must
// hand that move's uuid to its executor (`supersedes`), which stops it before sending the new one
// (motion.machine.ts `ExecuteInput.supersedes`; README "Safety": a superseding command raises the
// fence). The replaced move's uuid was lost because the active command was forgotten before the
// new one read it. Real actor, fake executor resolving at once, fake clock.
import { afterEach, expect, test, vi } from 'vitest';
import { createActor, fromPromise } from 'xstate';
import { motionMachine, type CommandAccepted, type ExecuteInput } from '../../src/machines/motion.machine.ts';
import { MODEL_START_MS } from './model-harness.ts';

afterEach(() => vi.useRealTimers());

test('a command replacing a running tracked goto tells its executor to stop that goto first', async () => {
  vi.useFakeTimers({ now: MODEL_START_MS });
  const inputs: ExecuteInput[] = [];
  const accepted: CommandAccepted[] = [{ uuid: 'move-1', expectedDurationMs: 2_000 }, { uuid: 'move-2', expectedDurationMs: 2_000 }];
  const logic = motionMachine.provide({
    actors: {
      executeCommand: fromPromise<CommandAccepted, ExecuteInput>(async ({ input }) => accepted[inputs.push(input) - 1]!),
      stopMotion: fromPromise<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(async () => []),
      stopMove: fromPromise<void, { uuid: string }>(async () => undefined),
    },
  });
  const actor = createActor(logic).start();
  const goto = (requestId: string) => ({ type: 'motion.command' as const, requestId, kind: 'goto_target', owner: 'alice', power: 'awake' as const, command: { op: 'goto' }, target: {}, wait: false });
  actor.send(goto('req-1'));
  await vi.advanceTimersByTimeAsync(0);
  expect(actor.getSnapshot().value).toBe('moving');
  actor.send(goto('req-2'));
  await vi.advanceTimersByTimeAsync(0);
  expect(inputs.map((i) => [i.requestId, i.supersedes])).toEqual([
    ['req-1', []],
    ['req-2', ['move-1']],
  ]);
  // Once the new command was accepted, nothing is left to supersede.
  expect(actor.getSnapshot().context.supersedes).toEqual([]);
  actor.stop();
});
