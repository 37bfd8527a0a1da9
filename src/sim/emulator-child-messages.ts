// The messages between the driver and its --sim emulator's own process, over Node's IPC channel
// (JSON): the child says when its modules are loaded; the driver then hands over the listening
// sockets (the daemon's with `start`) and the connections it held meanwhile, asks for the deferred
// media producer (answered) and closes (the child's exit is the answer). Owns the message shapes and
// their check on arrival; not either side's behaviour (src/adapters/emulator-process.ts,
// emulator-child.ts).
import type { LogLevel } from '../logging/logger.ts';
import type { RobotVariant } from './sim-daemon.ts';

/** What the emulator's process runs with (the driver's --sim settings). */
export interface EmulatorChildOptions {
  readonly timeScale: number;
  readonly model: RobotVariant;
  readonly withMedia: boolean;
  /** The producer waits for `start-media-producer` (the driver's mesh answers first). */
  readonly deferMediaProducer: boolean;
  readonly logLevel: LogLevel;
}

/**
 * Driver → emulator. `signalling-socket` carries the signalling server's listening socket as the
 * message's handle, `start` the daemon's: the child serves it in the same turn (nothing it accepts
 * is left unanswered); `connection`, one the driver accepted on it before, for the daemon to serve.
 */
export type ToEmulatorChild =
  | { readonly type: 'signalling-socket' }
  | { readonly type: 'start'; readonly options: EmulatorChildOptions }
  | { readonly type: 'connection' }
  | { readonly type: 'start-media-producer' }
  | { readonly type: 'close' };

/** Emulator → driver. */
export type FromEmulatorChild =
  | { readonly type: 'loaded' }
  | { readonly type: 'started' }
  | { readonly type: 'start-failed'; readonly message: string }
  | { readonly type: 'media-producer-started' }
  | { readonly type: 'media-producer-failed'; readonly message: string };

const TO_CHILD = new Set<string>(['signalling-socket', 'start', 'connection', 'start-media-producer', 'close']);
const FROM_CHILD = new Set<string>(['loaded', 'started', 'start-failed', 'media-producer-started', 'media-producer-failed']);

function typed(value: unknown, known: ReadonlySet<string>): boolean {
  return typeof value === 'object' && value !== null && known.has(String((value as { type?: unknown }).type));
}

/** The message, when it is one the emulator's process knows; undefined otherwise. */
export function toEmulatorChild(value: unknown): ToEmulatorChild | undefined {
  return typed(value, TO_CHILD) ? (value as ToEmulatorChild) : undefined;
}

/** The message, when it is one the driver knows; undefined otherwise. */
export function fromEmulatorChild(value: unknown): FromEmulatorChild | undefined {
  return typed(value, FROM_CHILD) ? (value as FromEmulatorChild) : undefined;
}
