// Sound files of `play_audio_file`: which file on the driver host a requested name means, and
// reading it safely (reference-driver.md §2.4, where the path was "not validated in any way" — the
// bug fixed here; reachy-daemon-api.md §1.6 upload rules, §9.3). Owns the refusal rules (NUL and
// control characters, absolute paths outside the sounds directory, `..`, hidden components,
// extensions outside the daemon's list, symlinks leaving the directory, non-regular files, the
// size cap), the bounded read, and the listing. Every refusal is decided with lstat/realpath/stat
// only: a refused file is never opened. Does not own the upload or playback (daemon-http.ts) nor
// the RPC (rpc/media-functions.ts).
import { constants as fsConstants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import * as Data from 'effect/Data';
import * as Result from 'effect/Result';
import { MAX_SOUND_UPLOAD_BYTES } from '../adapters/daemon-http.ts';

/**
 * Extensions the daemon accepts on upload (`ALLOWED_SOUND_EXTENSIONS`, routers/media.py; 400
 * otherwise). Refusing the same list here means a file is never sent just to be refused.
 */
export const SOUND_FILE_EXTENSIONS: readonly string[] = ['.wav', '.mp3', '.ogg', '.oga', '.opus', '.flac', '.m4a', '.aac'];

/**
 * Bytes reserved inside the daemon's request-body cap for the multipart framing around the file
 * (boundary lines, part headers, a 255-byte name): under 1 KiB, 4 KiB leaves margin.
 */
export const UPLOAD_ENVELOPE_RESERVE_BYTES = 4096;

/**
 * Largest sound file accepted: the daemon caps the whole upload body at 25 MiB
 * (`MAX_SOUND_UPLOAD_BYTES`, 413 above it, checked before reading), so the file itself must leave
 * room for the multipart envelope. Also bounds the driver's memory per play.
 */
export const MAX_SOUND_FILE_BYTES = MAX_SOUND_UPLOAD_BYTES - UPLOAD_ENVELOPE_RESERVE_BYTES;

/** Longest requested name or path (characters): Linux PATH_MAX; longer is never a real file. */
export const MAX_REQUESTED_CHARS = 4096;

/** Longest file name in UTF-8 bytes: NAME_MAX of ext4/tmpfs, where the daemon stores uploads. */
export const MAX_SOUND_NAME_BYTES = 255;

/** Files listed by listSoundFiles at most: bounds the syscalls and the size of a status reply. */
export const MAX_LISTED_SOUND_FILES = 1000;

export type SoundFileRefusal =
  | 'traversal'
  | 'absolute-outside'
  | 'hidden'
  | 'extension'
  | 'not-found'
  | 'not-a-file'
  | 'symlink-escape'
  | 'too-large'
  | 'no-sounds-dir'
  | 'invalid-name'
  /** Resolved fine but could not be opened or read (permissions, I/O error). */
  | 'unreadable';

export class SoundFileRefused extends Data.TaggedError('SoundFileRefused')<{
  readonly reason: SoundFileRefusal;
  readonly message: string;
  /** The name as the caller gave it (for readSoundFile: the resolved path). */
  readonly requested: string;
  readonly allowedExtensions: readonly string[];
}> {}

export interface ResolvedSound {
  /** The file name to upload as (last component of the requested name). */
  readonly name: string;
  /** Real path (no symlink left) inside the real sounds directory. */
  readonly path: string;
  /** Size at resolution time. */
  readonly bytes: number;
}

type Refusal = Result.Result<never, SoundFileRefused>;

function refuse(reason: SoundFileRefusal, requested: string, message: string): Refusal {
  return Result.fail(new SoundFileRefused({ reason, message, requested, allowedExtensions: SOUND_FILE_EXTENSIONS }));
}

/** C0 controls, DEL; `"` and `\` cannot travel in a multipart file name without rewriting. */
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f"\\]/;

function errnoOf(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'unknown';
}

/** `x.WAV` → `.wav`; no extension for `x`, `.wav` (a hidden stem) or `x.` (as Python's suffix). */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot).toLowerCase() : '';
}

/** The pure checks shared by requested names and link targets: hidden components, extension. */
function checkComponents(segments: readonly string[], requested: string, what: string): Refusal | undefined {
  const hidden = segments.find((segment) => segment.startsWith('.'));
  if (hidden !== undefined) return refuse('hidden', requested, `${what} has a hidden component '${hidden}'`);
  const name = segments.at(-1) ?? '';
  const extension = extensionOf(name);
  if (!SOUND_FILE_EXTENSIONS.includes(extension)) {
    return refuse('extension', requested, `${what} '${name}' does not end in one of ${SOUND_FILE_EXTENSIONS.join(' ')}`);
  }
  return undefined;
}

function isInside(directory: string, candidate: string): boolean {
  return candidate.startsWith(directory.endsWith('/') ? directory : `${directory}/`);
}

/** Real path of the sounds directory, or the refusal saying why there is none. */
async function realSoundsDir(soundsDir: string, requested: string): Promise<Result.Result<string, SoundFileRefused>> {
  if (soundsDir.length === 0) return refuse('no-sounds-dir', requested, 'no sounds directory is configured');
  let real: string;
  try {
    real = await realpath(posix.resolve(soundsDir));
  } catch (error) {
    return refuse('no-sounds-dir', requested, `sounds directory ${soundsDir} is not accessible (${errnoOf(error)})`);
  }
  const info = await stat(real).catch(() => undefined);
  if (!info?.isDirectory()) return refuse('no-sounds-dir', requested, `sounds directory ${soundsDir} is not a directory`);
  return Result.succeed(real);
}

/**
 * The components of the requested file relative to the real sounds directory, after the checks
 * that need no file system (name, traversal, absolute location). Absolute paths lexically inside
 * the directory (as configured or as its real path) are accepted directly; others only when their
 * realpath lands inside it.
 */
async function relativeComponents(
  requested: string,
  configuredDir: string,
  realDir: string,
): Promise<Result.Result<readonly string[], SoundFileRefused>> {
  const segments = requested.split('/');
  if (segments.includes('..')) return refuse('traversal', requested, `'${requested}' contains a '..' component`);
  if (!requested.startsWith('/')) return Result.succeed(segments.filter((s) => s !== '' && s !== '.'));

  const normalised = posix.normalize(requested);
  for (const directory of [configuredDir, realDir]) {
    if (normalised === directory || isInside(directory, normalised)) {
      return Result.succeed(posix.relative(directory, normalised).split('/').filter((s) => s !== ''));
    }
  }
  // Another spelling of the directory (a symlink to it): only its realpath can say.
  const real = await realpath(normalised).catch(() => undefined);
  if (real !== undefined && (real === realDir || isInside(realDir, real))) return Result.succeed(posix.relative(realDir, real).split('/').filter((s) => s !== ''));
  return refuse('absolute-outside', requested, `'${requested}' is not inside the sounds directory`);
}

/**
 * Which file of `soundsDir` `requested` names: a plain name (`beep.wav`), a relative path inside the
 * directory (`set/beep.wav`), or an absolute path that is inside it after realpath. Refuses
 * (`SoundFileRefused`, the reason says which rule) without opening anything.
 */
export async function resolveSoundFile(soundsDir: string, requested: string): Promise<Result.Result<ResolvedSound, SoundFileRefused>> {
  if (typeof requested !== 'string' || requested.length === 0) return refuse('invalid-name', String(requested), 'the sound file name is empty');
  if (requested.length > MAX_REQUESTED_CHARS) return refuse('invalid-name', requested.slice(0, 80), `the sound file name is longer than ${MAX_REQUESTED_CHARS} characters`);
  if (requested.includes('\u0000')) return refuse('invalid-name', requested, 'the sound file name contains a NUL character');
  if (FORBIDDEN_CHARACTERS.test(requested)) return refuse('invalid-name', requested, 'the sound file name contains a control character, a quote or a backslash');

  const dir = await realSoundsDir(soundsDir, requested);
  if (Result.isFailure(dir)) return Result.fail(dir.failure);
  const realDir = dir.success;

  const relative = await relativeComponents(requested, posix.resolve(soundsDir), realDir);
  if (Result.isFailure(relative)) return Result.fail(relative.failure);
  const segments = relative.success;
  const name = segments.at(-1);
  if (name === undefined) return refuse('not-a-file', requested, `'${requested}' names the sounds directory itself`);
  const componentRefusal = checkComponents(segments, requested, 'the sound file');
  if (componentRefusal) return componentRefusal;
  if (Buffer.byteLength(name) > MAX_SOUND_NAME_BYTES) return refuse('invalid-name', requested, `the file name is longer than ${MAX_SOUND_NAME_BYTES} bytes`);

  const candidate = posix.join(realDir, ...segments);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ELOOP') return refuse('symlink-escape', requested, `'${requested}' is a symlink loop`);
    return refuse('not-found', requested, `'${requested}' does not exist in the sounds directory (${code})`);
  }
  if (!isInside(realDir, real)) return refuse('symlink-escape', requested, `'${requested}' is a symlink leading out of the sounds directory`);
  if (real !== candidate) {
    // A link inside the directory: its target must pass the same rules (no hidden file behind a
    // `.wav` name).
    const targetRefusal = checkComponents(posix.relative(realDir, real).split('/'), requested, 'the symlink target');
    if (targetRefusal) return targetRefusal;
  }

  let info: Stats;
  try {
    // `real` has no symlink left, so lstat sees the file itself and never opens it.
    info = await lstat(real);
  } catch (error) {
    return refuse('not-found', requested, `'${requested}' vanished while being resolved (${errnoOf(error)})`);
  }
  if (!info.isFile()) return refuse('not-a-file', requested, `'${requested}' is not a regular file`);
  if (info.size > MAX_SOUND_FILE_BYTES) {
    return refuse('too-large', requested, `'${requested}' is ${info.size} bytes; the limit is ${MAX_SOUND_FILE_BYTES} bytes`);
  }
  return Result.succeed({ name, path: real, bytes: info.size });
}

/**
 * `O_NOFOLLOW`: a symlink swapped in after resolution fails the open (ELOOP) instead of being
 * followed; `O_NONBLOCK`: a FIFO swapped in does not block the open (fstat then refuses it).
 */
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

/**
 * The bytes of a resolved sound. Opens without following a final symlink, then checks on the open
 * descriptor that it is still a regular file within the cap and still the file at `path` (same
 * device and inode, path still real); reads at most the size fstat reported.
 */
export async function readSoundFile(resolved: ResolvedSound): Promise<Result.Result<Uint8Array, SoundFileRefused>> {
  const requested = resolved.path;
  let handle: FileHandle;
  try {
    handle = await open(resolved.path, OPEN_FLAGS);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ELOOP') return refuse('symlink-escape', requested, `${requested} became a symlink after it was resolved`);
    if (code === 'ENOENT' || code === 'ENOTDIR') return refuse('not-found', requested, `${requested} no longer exists (${code})`);
    return refuse('unreadable', requested, `${requested} cannot be opened (${code})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return refuse('not-a-file', requested, `${requested} is no longer a regular file`);
    if (info.size > MAX_SOUND_FILE_BYTES) return refuse('too-large', requested, `${requested} is ${info.size} bytes; the limit is ${MAX_SOUND_FILE_BYTES} bytes`);
    const now = await lstat(resolved.path).catch(() => undefined);
    const stillReal = await realpath(resolved.path).catch(() => undefined);
    if (!now || now.dev !== info.dev || now.ino !== info.ino || stillReal !== resolved.path) {
      return refuse('symlink-escape', requested, `${requested} was replaced while being opened`);
    }
    const buffer = Buffer.alloc(info.size);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return Result.succeed(new Uint8Array(buffer.buffer, buffer.byteOffset, filled));
  } catch (error) {
    return refuse('unreadable', requested, `${requested} could not be read (${errnoOf(error)})`);
  } finally {
    await handle.close();
  }
}

/**
 * Names (top level only, sorted) of the files `play_audio_file` would accept, at most
 * MAX_LISTED_SOUND_FILES; fails only when the directory itself is missing.
 */
export async function listSoundFiles(soundsDir: string): Promise<Result.Result<readonly string[], SoundFileRefused>> {
  const dir = await realSoundsDir(soundsDir, soundsDir);
  if (Result.isFailure(dir)) return Result.fail(dir.failure);
  let entries: string[];
  try {
    entries = await readdir(dir.success);
  } catch (error) {
    return refuse('no-sounds-dir', soundsDir, `sounds directory ${soundsDir} cannot be listed (${errnoOf(error)})`);
  }
  const names: string[] = [];
  for (const entry of entries.sort()) {
    if (names.length >= MAX_LISTED_SOUND_FILES) break;
    if (entry.startsWith('.') || !SOUND_FILE_EXTENSIONS.includes(extensionOf(entry))) continue;
    const resolved = await resolveSoundFile(dir.success, entry);
    if (Result.isSuccess(resolved)) names.push(entry);
  }
  return Result.succeed(names);
}
