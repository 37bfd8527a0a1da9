// How the daemon's refusals of the recorded-move and volume routes reach the caller
// (reachy-daemon-api.md §1.2 recorded moves: 404 unknown dataset/move, 500 when the Hugging Face hub
// cannot be reached and the dataset is not cached; §1.6 volume: 500 when the host has no
// PulseAudio/ALSA volume control). Typed errors that keep the daemon's own words; a daemon that is
// not there stays DaemonUnavailable. Owns no I/O and no decisions about motion.
import { isDaemonHttpError } from '../adapters/daemon-errors.ts';
import { CommandRejected, failureFromDaemon, failureOf, Unsupported, type RpcFailure } from '../errors.ts';

/** What the daemon said (its `detail`, or the first bytes of a plain 500). */
function daemonWords(error: unknown): string {
  const e = error as { detail?: unknown; bodyExcerpt?: unknown; message?: unknown };
  if (typeof e.detail === 'string' && e.detail) return e.detail;
  if (typeof e.bodyExcerpt === 'string' && e.bodyExcerpt) return e.bodyExcerpt;
  return typeof e.message === 'string' ? e.message : String(error);
}

function statusOf(error: unknown): number | null {
  if (!isDaemonHttpError(error) || (error._tag !== 'DaemonRejected' && error._tag !== 'DaemonServerError')) return null;
  return error.status;
}

/** A refusal of list_moves / play_move as the caller's error. */
export function recordedMoveFailure(error: unknown, fn: string, dataset: string, connectionState: string): RpcFailure {
  const status = statusOf(error);
  const words = daemonWords(error);
  if (status === 404) return new CommandRejected({ message: `${fn}: the daemon says: ${words} (dataset ${dataset})`, daemonTag: 'DaemonRejected' });
  if (status !== null && status >= 500) {
    return new Unsupported({
      message: `${fn}: the daemon could not load dataset ${dataset} (it answered ${status}: ${words}); it needs Hugging Face hub access or a cached copy of the dataset. play_expression works without the hub.`,
      function: fn,
    });
  }
  return failureFromDaemon(failureOf(error), connectionState);
}

/** A refusal of get_volume / set_volume as the caller's error. */
export function volumeFailure(error: unknown, fn: string, connectionState: string): RpcFailure {
  const status = statusOf(error);
  if (status !== null && status >= 500) {
    return new Unsupported({ message: `${fn}: this robot's host has no volume control the daemon can use (it answered ${status}: ${daemonWords(error)})`, function: fn });
  }
  return failureFromDaemon(failureOf(error), connectionState);
}
