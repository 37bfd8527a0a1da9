// The daemon calls that move nothing: list_moves (recorded-move dataset listing, reachy-daemon-api.md
// §1.2) and get_volume / set_volume (§1.6 volume routes, speaker and microphone). Each answers once,
// never throws; the daemon's refusals become typed errors (src/actors/recorded-move-errors.ts).
// Owns the reply shapes; playing moves is motion (src/actors/motion-executor.ts).
import type { DaemonLink } from './daemon-link.ts';
import type { VolumeDevice, VolumeReply } from '../adapters/daemon-http.ts';
import { recordedMoveFailure, volumeFailure } from './recorded-move-errors.ts';
import type { ReadAnswer } from './robot-reads.ts';

export const DAEMON_CALLS: ReadonlySet<string> = new Set(['list_moves', 'get_volume', 'set_volume']);

function volumeResult(device: VolumeDevice, reply: VolumeReply): Record<string, unknown> {
  return { status: 'success', device, volume: reply.volume, platform: reply.platform, host_device: reply.device };
}

/** Answers one of DAEMON_CALLS with its decoded params. */
export async function answerDaemonCall(fn: string, params: Record<string, unknown>, link: DaemonLink, connectionState: string): Promise<ReadAnswer> {
  if (fn === 'list_moves') {
    const dataset = String(params.dataset);
    try {
      const moves = await link.http.listRecordedMoves(dataset);
      return { ok: true, result: { status: 'success', dataset, moves } };
    } catch (error) {
      return { ok: false, error: recordedMoveFailure(error, fn, dataset, connectionState) };
    }
  }
  const device = params.device === 'microphone' ? 'microphone' : 'speaker';
  try {
    const reply = fn === 'set_volume' ? await link.http.setVolume(device, Number(params.volume)) : await link.http.volume(device);
    return { ok: true, result: volumeResult(device, reply) };
  } catch (error) {
    return { ok: false, error: volumeFailure(error, fn, connectionState) };
  }
}
