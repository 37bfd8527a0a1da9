// The robot's power/sleep state (reachy-daemon-api.md §7: `wake_up` and `goto_sleep` are daemon
// move sequences with a uuid, ≤ 5 s measured; `goto_sleep` ends with motors disabled; `wake_up`
// does not enable them): unknown → asleep/awake from the daemon's motor mode, waking and
// going_to_sleep while a sequence we started runs (its uuid tracked until move_done or a timeout).
// `compliant` is gravity compensation (motors on but compliant: gated like asleep).
// Owns the derived state and the `movable` tag the root gates motion on; it does not start the
// sequences or enable motors (the composer does, via the motion machine and adapters), and does
// no I/O. Every state change emits `power.changed`.
import { assign, emit, setup } from 'xstate';

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
    recordMotorMode: assign({ motorMode: ({ context, event }) => (event.type === 'daemon.motor_mode' ? event.mode : context.motorMode) }),
    trackSequence: assign({ sequenceUuid: ({ context, event }) => ('uuid' in event ? event.uuid : context.sequenceUuid) }),
    clearSequence: assign({ sequenceUuid: null }),
  },
  guards: {
    modeDisabled: ({ event }) => event.type === 'daemon.motor_mode' && event.mode === 'disabled',
    modeEnabled: ({ event }) => event.type === 'daemon.motor_mode' && event.mode === 'enabled',
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
  context: () => ({ sequenceUuid: null, motorMode: null, since: Date.now() }),
  on: {
    // Fallback for every state: keep the latest motor mode; states below add the state changes
    // (waking/going_to_sleep only record it: the sequence's own move_done decides there).
    'daemon.motor_mode': { actions: 'recordMotorMode' },
  },
  states: {
    unknown: {
      entry: ['stamp', 'clearSequence', { type: 'announce', params: { state: 'unknown' } }],
      on: {
        'daemon.motor_mode': [
          { guard: 'modeDisabled', target: 'asleep', actions: 'recordMotorMode' },
          { guard: 'modeEnabled', target: 'awake', actions: 'recordMotorMode' },
          { guard: 'modeCompliant', target: 'compliant', actions: 'recordMotorMode' },
        ],
        'power.wake_started': { target: 'waking', actions: 'trackSequence' },
        'power.sleep_started': { target: 'going_to_sleep', actions: 'trackSequence' },
      },
    },
    asleep: {
      entry: ['stamp', 'clearSequence', { type: 'announce', params: { state: 'asleep' } }],
      on: {
        'daemon.motor_mode': [
          { guard: 'modeEnabled', target: 'awake', actions: 'recordMotorMode' },
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
      entry: ['stamp', 'clearSequence', { type: 'announce', params: { state: 'awake' } }],
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
    // daemon does not hold targets), so motion is gated here exactly like asleep.
    compliant: {
      entry: ['stamp', 'clearSequence', { type: 'announce', params: { state: 'compliant' } }],
      on: {
        'daemon.motor_mode': [
          { guard: 'modeDisabled', target: 'asleep', actions: 'recordMotorMode' },
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
          { guard: 'ourSequenceCompleted', target: 'asleep' },
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
