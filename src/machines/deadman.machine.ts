// The dead-man stop (issue 14 item 4; README "Safety"): while motion runs or targets stream and
// `deadman_ms` is set, its commander must keep talking. disarmed ⇄ armed: armed by the root when it
// starts motion (`deadman.arm`) or when the policy turns it on mid-motion; each call of the commander
// (`caller.heard`, from the gate via the root) pushes the deadline back (a named delay: last heard +
// deadman_ms); stop_motion/trips (`deadman.disarm`) and firing disarm it. On firing it tells the root
// (`deadman.expired`), which stops motion if it still runs (internal `motion.stop`, not a trip) and
// answers `deadman.stopped`. Owns the commander, last heard, stream flag, last stop; it never reads
// the motion child (the root does, at expiry and for status) and does no I/O.
import { assign, enqueueActions, setup, type ActorRefFrom } from 'xstate';
import { monotonicMs } from '../monotonic-clock.ts';

export interface DeadmanInput {
  /** The policy's `deadman_ms` at start (null = off). */
  readonly ms: number | null;
}

export interface DeadmanContext {
  /** The dead-man time in force (the root sends every policy change); null = off. */
  readonly ms: number | null;
  /** Who must keep talking: the owner of the command that armed it (null before any). */
  readonly commander: string | null;
  /** Epoch ms the commander was last heard (the arming call counts); 0 before any. For status only. */
  readonly heardAt: number;
  /**
   * `performance.now()` of the same moment: the deadline's clock. Monotonic (a robot without a
   * real-time clock steps its wall clock when NTP syncs) and finer than a millisecond.
   */
  readonly heardMono: number;
  /**
   * The last command was a realtime target: a stream is on until the commander stops it or falls
   * silent (each target settles in a few ticks, so motion reads idle between them).
   */
  readonly stream: boolean;
  /** Epoch ms of the last dead-man stop the root carried out, and why; null before any. */
  readonly lastStopAt: number | null;
  readonly lastStopReason: string | null;
}

export type DeadmanEvent =
  /** The policy in force changed; `commander`: the owner of the motion running now (null = none runs). */
  | { type: 'deadman.policy'; ms: number | null; commander: string | null }
  /** The root started motion for `commander` (its call is the latest word from it). */
  | { type: 'deadman.arm'; commander: string; stream: boolean }
  /** Motion was stopped explicitly (stop_motion, a trip): nothing left to watch. */
  | { type: 'deadman.disarm' }
  /** A call entered the gate from `who` (the rate limiter's caller key). */
  | { type: 'caller.heard'; who: string }
  /** The root stopped motion after `deadman.expired`. */
  | { type: 'deadman.stopped'; reason: string };

/** Sent to the root when the commander has been silent for the dead-man time. */
export interface DeadmanExpired {
  readonly type: 'deadman.expired';
  readonly commander: string;
  readonly silentMs: number;
  readonly ms: number;
  readonly stream: boolean;
}

/** Daemon commands that are realtime targets (motion-executor.ts): a stream of them is watched as one motion. */
const STREAM_OPS: ReadonlySet<unknown> = new Set(['head_target', 'antennas_target', 'body_yaw_target']);

export function isStreamCommand(command: Record<string, unknown>): boolean {
  return STREAM_OPS.has(command.op);
}

const nowMs = () => Date.now();

/**
 * Whether the commander has been silent for the whole dead-man time. Asked when the deadline's timer
 * fires: Node's timers count whole milliseconds from the start of the loop turn that set them, so
 * one may fire up to a millisecond (more on a busy turn) before the time has passed on a finer clock.
 */
export function silentForDeadmanTime(context: Pick<DeadmanContext, 'ms' | 'heardMono'>, nowMono: number): boolean {
  return context.ms !== null && nowMono - context.heardMono >= context.ms;
}

/**
 * Whether `caller.heard` from `who` changes anything: only the commander's word while armed pushes
 * the deadline back (the `fromCommander` guard below is this same test). The gate asks it before
 * sending, so calls the dead-man would ignore (every get_status when nothing moves) cost no event.
 */
export function deadmanListensTo(snapshot: { value: unknown; context: Pick<DeadmanContext, 'commander'> }, who: string): boolean {
  return snapshot.value === 'armed' && snapshot.context.commander === who;
}

/** The stop reason the root gives motion and the safety trail. */
export function deadmanReason(commander: string, silentMs: number): string {
  return `dead-man: ${commander} silent for ${Math.round(silentMs)} ms`;
}

export const deadmanMachine = setup({
  types: {
    context: {} as DeadmanContext,
    events: {} as DeadmanEvent,
    input: {} as DeadmanInput,
  },
  actions: {
    heard: assign(() => ({ heardAt: nowMs(), heardMono: monotonicMs() })),
    arm: assign(({ event }) => {
      const e = event as { commander: string; stream?: boolean };
      return { commander: e.commander, heardAt: nowMs(), heardMono: monotonicMs(), stream: e.stream ?? false };
    }),
    setMs: assign(({ event }) => ({ ms: (event as Extract<DeadmanEvent, { type: 'deadman.policy' }>).ms })),
    /** The deadline passed: the root decides (motion may have ended meanwhile) and answers `deadman.stopped`. */
    expire: enqueueActions(({ context, self, enqueue }) => {
      // No parent when the machine is walked alone (model tests' graph traversal).
      if (context.commander === null || context.ms === null || !(self as { _parent?: unknown })._parent) return;
      const expired: DeadmanExpired = { type: 'deadman.expired', commander: context.commander, silentMs: monotonicMs() - context.heardMono, ms: context.ms, stream: context.stream };
      enqueue.sendParent(expired);
    }),
    recordStop: assign(({ event }) => ({ lastStopAt: nowMs(), lastStopReason: (event as Extract<DeadmanEvent, { type: 'deadman.stopped' }>).reason })),
  },
  guards: {
    enabled: ({ context }) => context.ms !== null,
    /** The deadline's timer fired once the time has really passed (else it is set again for the rest). */
    silentLongEnough: ({ context }) => silentForDeadmanTime(context, monotonicMs()),
    fromCommander: ({ context, event }) => event.type === 'caller.heard' && deadmanListensTo({ value: 'armed', context }, event.who),
    turnedOff: ({ event }) => event.type === 'deadman.policy' && event.ms === null,
    /** Turned on (or changed) while motion runs: armed from now, for the motion's owner. */
    onWhileMoving: ({ event }) => event.type === 'deadman.policy' && event.ms !== null && event.commander !== null,
  },
  delays: {
    /** The commander's deadline: last heard + the dead-man time (0 when already past). */
    deadmanDue: ({ context }) => Math.max(0, context.heardMono + (context.ms ?? 0) - monotonicMs()),
  },
}).createMachine({
  id: 'deadman',
  context: ({ input }) => ({ ms: input.ms, commander: null, heardAt: 0, heardMono: 0, stream: false, lastStopAt: null, lastStopReason: null }),
  initial: 'disarmed',
  on: {
    'deadman.stopped': { actions: 'recordStop' },
  },
  states: {
    disarmed: {
      on: {
        'deadman.arm': { guard: 'enabled', target: 'armed', actions: 'arm' },
        'deadman.policy': [
          { guard: 'onWhileMoving', target: 'armed', actions: ['setMs', 'arm'] },
          { actions: 'setMs' },
        ],
      },
    },
    armed: {
      after: {
        deadmanDue: [
          { guard: 'silentLongEnough', target: 'disarmed', actions: 'expire' },
          // Fired early (timer granularity): armed again, for what is left of the time.
          { target: 'armed', reenter: true },
        ],
      },
      on: {
        // Every word from the commander, and every new command, pushes the deadline back.
        'caller.heard': { guard: 'fromCommander', target: 'armed', reenter: true, actions: 'heard' },
        'deadman.arm': { target: 'armed', reenter: true, actions: 'arm' },
        'deadman.disarm': { target: 'disarmed' },
        'deadman.policy': [
          { guard: 'turnedOff', target: 'disarmed', actions: 'setMs' },
          // A new time applies to the deadline at once (from the last word heard, not from now).
          { target: 'armed', reenter: true, actions: 'setMs' },
        ],
      },
    },
  },
});

export type DeadmanMachine = typeof deadmanMachine;
export type DeadmanActorRef = ActorRefFrom<DeadmanMachine>;

/**
 * `driver_state.deadman` of get_status: the policy's time; armed only while motion really runs; the
 * commander and when it was last heard (the last one armed, kept after it disarms); the last stop.
 */
export function deadmanStatus(snapshot: { value: unknown; context: DeadmanContext }, ms: number | null, motionRunning: boolean): Record<string, unknown> {
  const c = snapshot.context;
  const armed = ms !== null && snapshot.value === 'armed' && motionRunning;
  const iso = (at: number | null) => (at === null || at === 0 ? null : new Date(at).toISOString());
  return { ms, armed, commander: c.commander, last_heard_at: iso(c.heardAt), last_stop_at: iso(c.lastStopAt), last_stop_reason: c.lastStopReason };
}

/** Motion runs (a command is being sent or a move is under way). */
export function motionRunning(motionState: unknown): boolean {
  return motionState === 'commanded' || motionState === 'moving';
}

/** What an expired dead-man stops: motion that runs, or a stream whose last target has settled (idle). */
export function deadmanMayStop(expired: Pick<DeadmanExpired, 'stream'>, motionState: unknown): boolean {
  return motionRunning(motionState) || (expired.stream && motionState === 'idle');
}

/** The owner of the motion running now, or null when none runs (motion child's snapshot). */
export function runningCommander(motion: { value: unknown; context: { active: { owner: string } | null } }): string | null {
  return motionRunning(motion.value) ? (motion.context.active?.owner ?? null) : null;
}
