// The robot's power/sleep state (reachy-daemon-api.md §7: `wake_up` and `goto_sleep` are daemon
// move sequences with a uuid, ≤ 5 s; `goto_sleep` ends with motors disabled; `wake_up` does not
// enable them): unknown → asleep/awake from the daemon's motor mode, waking/going_to_sleep while a
// sequence we started runs (uuid tracked to move_done or a timeout); `compliant` is gravity
// compensation (gated like asleep). A robot that slept is `awake` only once our `wake_up` completes:
// motors enabled meanwhile leave it asleep (head at the sleep pose; §13 #1430). Owns the state and
// the `movable` tag the root gates on; not the sequences or motor writes (the composer's); no I/O.
// Every state change emits `power.changed`.
import { and, assign, emit, setup } from 'xstate';

/** The real sequences take ≤ 5 s (§7: 2.3 s wake, 4–5 s sleep); 3× that before giving up on one. */
export const SEQUENCE_TIMEOUT_MS = 15_000;

export const POWER_STATES = ['unknown', 'asleep', 'waking', 'awake', 'compliant', 'going_to_sleep'] as const;
export type PowerStateName = (typeof POWER_STATES)[number];
export const MOTOR_MODES = ['enabled', 'disabled', 'gravity_compensation'] as const;
export type MotorMode = (typeof MOTOR_MODES)[number];
export type MoveOutcome = 'completed' | 'failed' | 'cancelled';

/** Tag of the states in which motion commands make sense (only `awake`). */
export const MOVABLE_TAG = 'movable';
/** Tag of the states in which a wake/sleep sequence we started is running. */
export const SEQUENCE_TAG = 'sequence';
export type PowerTag = typeof MOVABLE_TAG | typeof SEQUENCE_TAG;

export interface PowerContext {
  /** The uuid of the running wake/sleep sequence; null outside waking/going_to_sleep. */
  readonly sequenceUuid: string | null;
  /** The last motor mode the daemon reported (recorded in every state), null until the first. */
  readonly motorMode: MotorMode | null;
  /** Epoch ms of the last state change. */
  readonly since: number;
  /**
   * Whether the robot slept and our `wake_up` has not completed since: set on entering `asleep`,
   * cleared on entering `awake`. While set, motors enabled (set_motor_mode, the dashboard) do not
   * make it `awake`: the head is still at the sleep pose, and only the wake-up sequence lifts it.
   */
  readonly needsWake: boolean;
}

export type PowerEvent =
  | { type: 'daemon.motor_mode'; mode: MotorMode }
  | { type: 'power.wake_started'; uuid: string }
  | { type: 'power.sleep_started'; uuid: string }
  /** Same event the motion machine takes (its `details` is optional here). */
  | { type: 'daemon.move_done'; uuid: string; outcome: MoveOutcome; details?: string };

export type PowerEmitted = { type: 'power.changed'; state: PowerStateName; at: number; motorMode: MotorMode | null };

export const powerMachine = setup({
  types: {
    context: {} as PowerContext,
    events: {} as PowerEvent,
    emitted: {} as PowerEmitted,
    tags: {} as PowerTag,
  },
  actions: {
    stamp: assign({ since: () => Date.now() }),
    announce: emit(({ context }, params: { state: PowerStateName }) => ({ type: 'power.changed' as const, state: params.state, at: context.since, motorMode: context.motorMode })),
    markAsleep: assign({ needsWake: true }),
    markWoken: assign({ needsWake: false }),
    /** Our goto_sleep completed: its last step disabled the motors (§7), before the next 1 Hz status says so. */
    recordSleepDisabled: assign({ motorMode: 'disabled' as const }),
    recordMotorMode: assign({ motorMode: ({ context, event }) => (event.type === 'daemon.motor_mode' ? event.mode : context.motorMode) }),
    trackSequence: assign({ sequenceUuid: ({ context, event }) => ('uuid' in event ? event.uuid : context.sequenceUuid) }),
    clearSequence: assign({ sequenceUuid: null }),
  },
  guards: {
    modeDisabled: ({ event }) => event.type === 'daemon.motor_mode' && event.mode === 'disabled',
    modeEnabled: ({ event }) => event.type === 'daemon.motor_mode' && event.mode === 'enabled',
    needsWake: ({ context }) => context.needsWake,
    modeCompliant: ({ event }) => event.type === 'daemon.motor_mode' && event.mode === 'gravity_compensation',
    ourSequenceCompleted: ({ context, event }) => event.type === 'daemon.move_done' && event.uuid === context.sequenceUuid && event.outcome === 'completed',
    ourSequenceAborted: ({ context, event }) => event.type === 'daemon.move_done' && event.uuid === context.sequenceUuid && event.outcome !== 'completed',
  },
  delays: {
    sequenceTimeout: SEQUENCE_TIMEOUT_MS,
  },
}).createMachine({
  id: 'power',
  initial: 'unknown',
  context: () => ({ sequenceUuid: null, motorMode: null, since: Date.now(), needsWake: false }),
  on: {
    // Fallback for every state: keep the latest motor mode; states below add the state changes
    // (waking/going_to_sleep only record it: the sequence's own move_done decides there).
    'daemon.motor_mode': { actions: 'recordMotorMode' },
  },
  states: {
    // At boot the daemon enables the motors and wakes the robot itself (§7): enabled is awake then.
    // Here after a sequence that did not complete, a robot that slept stays asleep until wake_up.
    unknown: {
      entry: ['stamp', 'clearSequence', { type: 'announce', params: { state: 'unknown' } }],
      on: {
        'daemon.motor_mode': [
          { guard: 'modeDisabled', target: 'asleep', actions: 'recordMotorMode' },
          { guard: and(['modeEnabled', 'needsWake']), target: 'asleep', actions: 'recordMotorMode' },
          { guard: 'modeEnabled', target: 'awake', actions: 'recordMotorMode' },
          { guard: 'modeCompliant', target: 'compliant', actions: 'recordMotorMode' },
        ],
        'power.wake_started': { target: 'waking', actions: 'trackSequence' },
        'power.sleep_started': { target: 'going_to_sleep', actions: 'trackSequence' },
      },
    },
    // Motors enabled here (set_motor_mode, the dashboard) only record the mode: still asleep.
    asleep: {
      entry: ['stamp', 'clearSequence', 'markAsleep', { type: 'announce', params: { state: 'asleep' } }],
      on: {
        'daemon.motor_mode': [
          { guard: 'modeCompliant', target: 'compliant', actions: 'recordMotorMode' },
        ],
        'power.wake_started': { target: 'waking', actions: 'trackSequence' },
        'power.sleep_started': { target: 'going_to_sleep', actions: 'trackSequence' },
      },
    },
    waking: {
      tags: [SEQUENCE_TAG],
      entry: ['stamp', { type: 'announce', params: { state: 'waking' } }],
      after: { sequenceTimeout: { target: 'unknown' } },
      on: {
        'power.sleep_started': { target: 'going_to_sleep', actions: 'trackSequence' },
        'daemon.move_done': [
          { guard: 'ourSequenceCompleted', target: 'awake' },
          { guard: 'ourSequenceAborted', target: 'unknown' },
        ],
      },
    },
    awake: {
      tags: [MOVABLE_TAG],
      entry: ['stamp', 'clearSequence', 'markWoken', { type: 'announce', params: { state: 'awake' } }],
      on: {
        // Disabled behind our back (another client's goto_sleep, the dashboard): asleep.
        'daemon.motor_mode': [
          { guard: 'modeDisabled', target: 'asleep', actions: 'recordMotorMode' },
          { guard: 'modeCompliant', target: 'compliant', actions: 'recordMotorMode' },
        ],
        'power.wake_started': { target: 'waking', actions: 'trackSequence' },
        'power.sleep_started': { target: 'going_to_sleep', actions: 'trackSequence' },
      },
    },
    // Gravity compensation: the motors are powered but compliant (the head follows hands, and the
    // daemon does not hold targets), so motion is gated here exactly like asleep. Enabled again:
    // awake, unless the robot slept before (then asleep until wake_up).
    compliant: {
      entry: ['stamp', 'clearSequence', { type: 'announce', params: { state: 'compliant' } }],
      on: {
        'daemon.motor_mode': [
          { guard: 'modeDisabled', target: 'asleep', actions: 'recordMotorMode' },
          { guard: and(['modeEnabled', 'needsWake']), target: 'asleep', actions: 'recordMotorMode' },
          { guard: 'modeEnabled', target: 'awake', actions: 'recordMotorMode' },
        ],
        'power.wake_started': { target: 'waking', actions: 'trackSequence' },
        'power.sleep_started': { target: 'going_to_sleep', actions: 'trackSequence' },
      },
    },
    going_to_sleep: {
      tags: [SEQUENCE_TAG],
      entry: ['stamp', { type: 'announce', params: { state: 'going_to_sleep' } }],
      after: { sequenceTimeout: { target: 'unknown' } },
      on: {
        'power.wake_started': { target: 'waking', actions: 'trackSequence' },
        'daemon.move_done': [
          { guard: 'ourSequenceCompleted', target: 'asleep', actions: 'recordSleepDisabled' },
          { guard: 'ourSequenceAborted', target: 'unknown' },
        ],
      },
    },
  },
});

export type PowerMachine = typeof powerMachine;

/** The coarse power state name of a snapshot value. */
export function powerStateName(value: unknown): PowerStateName {
  return typeof value === 'string' && (POWER_STATES as ReadonlyArray<string>).includes(value) ? (value as PowerStateName) : 'unknown';
}
