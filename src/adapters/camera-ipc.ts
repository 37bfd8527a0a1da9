// Whether the daemon's camera IPC socket exists on this host (reachy-daemon-api.md §9.1): the
// on-robot "local" media backend of get_media_stream_access. Owns only that filesystem check; the
// stream-access payload it feeds is src/media's.
import { existsSync } from 'node:fs';
import { CAMERA_IPC_SOCKET } from '../media/stream-access.ts';

export function cameraIpcSocketExists(): boolean {
  return existsSync(CAMERA_IPC_SOCKET);
}
