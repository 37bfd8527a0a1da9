// `/api/volume/*` routes (reachy-daemon-api.md §1.6; openapi.json VolumeRequest/VolumeResponse):
// current and set for the speaker and the microphone, `{volume, platform, device}`; 422 for a
// volume outside 0..100; a plain 500 on a host without volume control (observed; the daemon may
// also answer `{"detail":"Failed to get volume"}`).
// The state lives in recorded-moves.ts (SimVolume).
import { internalServerError, okJson, validationFailed, type HttpReply } from './fastapi-errors.ts';
import type { Route } from './route-types.ts';
import type { SimDaemon } from './sim-daemon.ts';
import type { VolumeDevice } from './recorded-moves.ts';

function current(daemon: SimDaemon, device: VolumeDevice): HttpReply {
  return daemon.volume.available ? okJson(daemon.volume.reply(device)) : internalServerError();
}

function set(daemon: SimDaemon, device: VolumeDevice, body: unknown): HttpReply {
  const volume = (body as { volume?: unknown } | undefined)?.volume;
  if (typeof volume !== 'number' || !Number.isInteger(volume) || volume < 0 || volume > 100) {
    return validationFailed([{ type: 'int_range', loc: ['body', 'volume'], msg: 'Input should be an integer between 0 and 100', input: volume }]);
  }
  if (!daemon.volume.available) return internalServerError();
  daemon.volume.set(device, volume);
  if (device === 'speaker') daemon.playedSounds.push('impatient1.wav');
  return okJson(daemon.volume.reply(device));
}

export const VOLUME_ROUTES: readonly Route[] = [
  { method: 'GET', path: '/api/volume/current', needsBackend: false, body: 'none', handle: (_r, daemon) => current(daemon, 'speaker') },
  { method: 'GET', path: '/api/volume/microphone/current', needsBackend: false, body: 'none', handle: (_r, daemon) => current(daemon, 'microphone') },
  { method: 'POST', path: '/api/volume/set', needsBackend: false, body: 'required', handle: ({ body }, daemon) => set(daemon, 'speaker', body) },
  { method: 'POST', path: '/api/volume/microphone/set', needsBackend: false, body: 'required', handle: ({ body }, daemon) => set(daemon, 'microphone', body) },
];
