// Media, camera and volume routes (RM:.../routers/media.py, camera.py, volume.py;
// reachy-daemon-api.md §1.6; fixtures/daemon/get1.txt, move2.txt): media status and idempotent
// release/acquire, play_sound (`ok` even without media, 503 without backend — checked inside the
// handler, after body validation, as the daemon does), camera specs by the status' camera name,
// The volume routes are routes-volume.ts.
// The sound file routes (upload, list, delete) are routes-sounds.ts.
// Release/acquire also detach/attach the emulator's WebRTC producer (through SimDaemon's
// `onMediaReleasedChange`; the producer itself is src/sim/media/).
import { cameraSpecsByName } from './camera-specs.ts';
import { backendNotRunning, internalServerError, okJson, validationFailed, type HttpReply } from './fastapi-errors.ts';
import type { Route } from './route-types.ts';
import { checkStringField } from './request-validation.ts';
import { SOUND_ROUTES } from './routes-sounds.ts';

const OK = (): HttpReply => okJson({ status: 'ok' });

export const MEDIA_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/media/status',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => okJson(daemon.mediaStatus()),
  },
  {
    method: 'POST',
    path: '/api/media/release',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => {
      daemon.setMediaReleased(true);
      return OK();
    },
  },
  {
    method: 'POST',
    path: '/api/media/acquire',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => {
      daemon.setMediaReleased(false);
      return OK();
    },
  },
  {
    method: 'POST',
    path: '/api/media/play_sound',
    needsBackend: false,
    body: 'required',
    handle: ({ body }, daemon): HttpReply => {
      const file = checkStringField(body, ['body'], 'file');
      if (!file.ok) return validationFailed(file.issues);
      if (!daemon.backendReady) return backendNotRunning();
      // An uploaded name plays from the sound temp directory, as the daemon resolves it.
      daemon.playSound(daemon.sounds.resolvePlayName(file.value));
      return OK();
    },
  },
  { method: 'POST', path: '/api/media/stop_sound', needsBackend: false, body: 'none', handle: OK },
  { method: 'POST', path: '/api/media/clear_incoming_audio', needsBackend: false, body: 'none', handle: OK },
  ...SOUND_ROUTES,
  {
    method: 'GET',
    path: '/api/camera/specs',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => okJson(cameraSpecsByName(String(daemon.status().camera_specs_name ?? ''))),
  },
];
