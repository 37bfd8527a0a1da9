// The sound-file call actor (reference-driver.md §2.4; issue "media"): play_audio_file resolves a
// name inside the configured sounds directory, reads it, uploads it to the daemon and plays it
// there. Owns the order of those steps and the reply; path rules and file reads live in
// src/adapters/sound-files.ts, the upload and play requests in the daemon HTTP adapter.
import * as Result from 'effect/Result';
import { readSoundFile, resolveSoundFile } from '../adapters/sound-files.ts';
import { Unsupported } from '../errors.ts';
import { mediaCall, type MediaCallDeps } from './media-call-actor.ts';

export interface SoundCallDeps extends MediaCallDeps {
  /** --sounds-dir (undefined: play_audio_file is Unsupported). */
  readonly soundsDir: string | undefined;
}

export function soundCalls(deps: SoundCallDeps) {
  return {
    play_audio_file: mediaCall('play_audio_file', async (p) => {
      if (!deps.soundsDir) {
        return Result.fail(new Unsupported({ message: 'no sounds directory is configured on this driver (--sounds-dir)', function: 'play_audio_file' }));
      }
      const resolved = await resolveSoundFile(deps.soundsDir, p.sound_file);
      if (Result.isFailure(resolved)) return resolved;
      const bytes = await readSoundFile(resolved.success);
      if (Result.isFailure(bytes)) return bytes;
      const uploaded = await deps.daemon().uploadSound(resolved.success.name, bytes.success);
      await deps.daemon().playSound(uploaded.path);
      return Result.succeed({ status: 'accepted', sound_file: p.sound_file, name: resolved.success.name, bytes: bytes.success.length, daemon_path: uploaded.path });
    }),
  };
}
