// Motion execution (reference-driver.md §12 bugs 1–3: execution_state must return to idle, a failed
// send is an error, "accepted" only after the daemon accepted): idle → commanded (the command is
// being sent) → moving (a daemon move uuid is tracked until move_completed/failed/cancelled, or a
// realtime target settles) → idle; error with last_error; stopping. A new command supersedes the
// running one (the daemon would otherwise run both and let them fight, daemon-api §7). Owns the
// states and timing; sending, stopping and cancelling are actors provided by the composer.
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import { failureOf } from '../errors.ts';

/** The Python SDK waits duration + 1 s for a move to report completion (daemon-api §2). */
export const MOVE_COMPLETION_MARGIN_MS = 1_000;

export type ExecutionStateName = 'idle' | 'commanded' | 'moving' | 'stopping' | 'error';

/** What the composer's executor returns once the daemon accepted a command. */
export interface CommandAccepted {
  /** Daemon move uuid to track (goto, wake_up, goto_sleep), or null for a realtime target. */
  readonly uuid: string | null;
  /** How long the move should take; realtime targets settle after this. */
  readonly expectedDurationMs: number;
}

export interface MotionCommandEvent {
  readonly type: 'motion.command';
  readonly requestId: string;
  readonly kind: string;
  /** Plain JSON the executor understands (never live handles). */
  readonly command: Record<string, unknown>;
  readonly target: Record<string, unknown>;
}

export type MotionEvent =
  | MotionCommandEvent
  | { type: 'motion.stop'; requestId: string; reason: string }
  | { type: 'daemon.move_done'; uuid: string; outcome: 'completed' | 'failed' | 'cancelled'; details: string };

export type MotionOutcome = 'completed' | 'failed' | 'cancelled' | 'superseded' | 'timeout' | 'stopped';

export type MotionEmitted =
  | { type: 'motion.changed'; state: ExecutionStateName; requestId: string | null; kind: string | null; target: Record<string, unknown>; lastError: string; at: number }
  | { type: 'motion.accepted'; requestId: string; uuid: string | null; kind: string }
  | { type: 'motion.finished'; requestId: string; uuid: string | null; outcome: MotionOutcome; details: string }
  | { type: 'motion.failed'; requestId: string; error: { _tag: string; message: string } }
  | { type: 'motion.stopped'; requestId: string; stopped: ReadonlyArray<string> };

export interface MotionContext {
  readonly requestId: string | null;
  readonly kind: string | null;
  readonly command: Record<string, unknown> | null;
  readonly target: Record<string, unknown>;
  readonly uuid: string | null;
  /** The daemon move the pending command replaces (stopped by the executor before sending). */
  readonly supersedes: string | null;
  readonly expectedDurationMs: number;
  readonly lastError: string;
  readonly since: number;
  readonly stopRequestId: string | null;
}

export const motionMachine = setup({
  types: {
    context: {} as MotionContext,
    events: {} as MotionEvent,
    emitted: {} as MotionEmitted,
  },
  actors: {
    executeCommand: (() => {
      throw new Error('motion machine: the "executeCommand" actor must be provided');
    }) as unknown as import('xstate').PromiseActorLogic<CommandAccepted, { command: Record<string, unknown>; supersedes: string | null }>,
    stopMotion: (() => {
      throw new Error('motion machine: the "stopMotion" actor must be provided');
    }) as unknown as import('xstate').PromiseActorLogic<ReadonlyArray<string>, { uuid: string | null }>,
  },
  actions: {
    announce: emit(({ context }, params: { state: ExecutionStateName }) => ({
      type: 'motion.changed' as const,
      state: params.state,
      requestId: context.requestId,
      kind: context.kind,
      target: context.target,
      lastError: context.lastError,
      at: context.since,
    })),
    stamp: assign({ since: () => Date.now() }),
    /** The running request (if any) ends because a new command replaces it. */
    supersede: enqueueActions(({ context, enqueue }) => {
      if (context.requestId) enqueue.emit({ type: 'motion.finished', requestId: context.requestId, uuid: context.uuid, outcome: 'superseded', details: 'a newer command replaced it' });
    }),
    take: assign(({ context, event }) => {
      const e = event as MotionCommandEvent;
      // The running move (or the one the replaced command was itself replacing) is to be stopped.
      return { requestId: e.requestId, kind: e.kind, command: e.command, target: e.target, lastError: '', uuid: null, supersedes: context.uuid ?? context.supersedes };
    }),
    /** A command while stopping is refused on its own request; the stop carries on. */
    refuseWhileStopping: emit(({ event }) => ({
      type: 'motion.failed' as const,
      requestId: (event as MotionCommandEvent).requestId,
      error: { _tag: 'NotAllowedInState', message: 'motion is stopping; send the command again once it has stopped' },
    })),
    /** A second stop while one runs: answered at once, the running stop covers it. */
    answerExtraStop: emit(({ event }) => ({ type: 'motion.stopped' as const, requestId: (event as { requestId: string }).requestId, stopped: [] as ReadonlyArray<string> })),
    accepted: enqueueActions(({ context, enqueue }, params: { output: CommandAccepted }) => {
      enqueue.assign({ uuid: params.output.uuid, supersedes: null, expectedDurationMs: params.output.expectedDurationMs });
      enqueue.emit({ type: 'motion.accepted', requestId: context.requestId ?? '', uuid: params.output.uuid, kind: context.kind ?? '' });
    }),
    sendFailed: enqueueActions(({ context, enqueue }, params: { error: unknown }) => {
      const failure = failureOf(params.error);
      // The request ends here (one terminal event per request): nothing to supersede or stop later.
      enqueue.emit({ type: 'motion.failed', requestId: context.requestId ?? '', error: failure });
      enqueue.assign({ lastError: failure.message, uuid: null, requestId: null, command: null });
    }),
    stopFailed: enqueueActions(({ context, enqueue }, params: { error: unknown }) => {
      const failure = failureOf(params.error);
      // Answer the stop request; the move it meant to stop may still run, so its uuid stays tracked.
      enqueue.emit({ type: 'motion.failed', requestId: context.stopRequestId ?? '', error: failure });
      enqueue.assign({ lastError: failure.message, stopRequestId: null });
    }),
    finish: enqueueActions(({ context, enqueue }, params: { outcome: MotionOutcome; details: string }) => {
      enqueue.emit({ type: 'motion.finished', requestId: context.requestId ?? '', uuid: context.uuid, outcome: params.outcome, details: params.details });
      enqueue.assign({ requestId: null, uuid: null, command: null, lastError: params.outcome === 'completed' || params.outcome === 'cancelled' || params.outcome === 'stopped' ? '' : params.details });
    }),
    beginStop: assign(({ event }) => ({ stopRequestId: (event as { requestId: string }).requestId })),
    stopped: enqueueActions(({ context, enqueue }, params: { stopped: ReadonlyArray<string> }) => {
      if (context.requestId) enqueue.emit({ type: 'motion.finished', requestId: context.requestId, uuid: context.uuid, outcome: 'stopped', details: 'stopped by stop_motion or the interlock' });
      enqueue.emit({ type: 'motion.stopped', requestId: context.stopRequestId ?? '', stopped: params.stopped });
      enqueue.assign({ requestId: null, uuid: null, supersedes: null, command: null, stopRequestId: null });
    }),
  },
  guards: {
    isTracked: ({ context }) => context.uuid !== null,
    matchesMove: ({ context, event }) => event.type === 'daemon.move_done' && event.uuid === context.uuid,
    moveFailed: ({ event }) => event.type === 'daemon.move_done' && event.outcome === 'failed',
  },
  delays: {
    // Tracked moves: their duration plus the SDK's margin; realtime targets settle after theirs.
    moveDeadline: ({ context }) => context.expectedDurationMs + (context.uuid !== null ? MOVE_COMPLETION_MARGIN_MS : 0),
  },
}).createMachine({
  id: 'motion',
  initial: 'idle',
  context: () => ({ requestId: null, kind: null, command: null, target: {}, uuid: null, supersedes: null, expectedDurationMs: 0, lastError: '', since: Date.now(), stopRequestId: null }),
  on: {
    'motion.command': { target: '.commanded', actions: ['supersede', 'take'] },
    'motion.stop': { target: '.stopping', actions: 'beginStop' },
  },
  states: {
    idle: {
      entry: ['stamp', { type: 'announce', params: { state: 'idle' } }],
    },
    commanded: {
      entry: ['stamp', { type: 'announce', params: { state: 'commanded' } }],
      invoke: {
        id: 'executeCommand',
        src: 'executeCommand',
        input: ({ context }) => ({ command: context.command ?? {}, supersedes: context.supersedes }),
        onDone: { target: 'moving', actions: { type: 'accepted', params: ({ event }) => ({ output: event.output }) } },
        onError: { target: 'error', actions: { type: 'sendFailed', params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) } },
      },
    },
    moving: {
      entry: ['stamp', { type: 'announce', params: { state: 'moving' } }],
      on: {
        'daemon.move_done': [
          { guard: and(['matchesMove', 'moveFailed']), target: 'error', actions: { type: 'finish', params: ({ event }) => ({ outcome: 'failed', details: event.details || 'the daemon reported the move failed' }) } },
          { guard: 'matchesMove', target: 'idle', actions: { type: 'finish', params: ({ event }) => ({ outcome: event.outcome, details: event.details }) } },
        ],
      },
      after: {
        moveDeadline: [
          { guard: 'isTracked', target: 'error', actions: { type: 'finish', params: { outcome: 'timeout', details: 'the daemon did not report the move finished in time' } } },
          { target: 'idle', actions: { type: 'finish', params: { outcome: 'completed', details: 'realtime target sent and settled' } } },
        ],
      },
    },
    stopping: {
      entry: ['stamp', { type: 'announce', params: { state: 'stopping' } }],
      on: {
        'motion.command': { actions: 'refuseWhileStopping' },
        'motion.stop': { actions: 'answerExtraStop' },
      },
      invoke: {
        id: 'stopMotion',
        src: 'stopMotion',
        input: ({ context }) => ({ uuid: context.uuid }),
        onDone: { target: 'idle', actions: { type: 'stopped', params: ({ event }) => ({ stopped: event.output }) } },
        onError: { target: 'error', actions: { type: 'stopFailed', params: ({ event }: { event: { error: unknown } }) => ({ error: event.error }) } },
      },
    },
    error: {
      entry: ['stamp', { type: 'announce', params: { state: 'error' } }],
    },
  },
});

export type MotionMachine = typeof motionMachine;
