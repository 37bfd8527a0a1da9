// The emulated daemon's sound temp directory (RM:src/reachy_mini/daemon/app/routers/media.py,
// reachy-daemon-api.md §1.6, §9.3): the upload name rules (Python `Path(name).name`, no `.`/`..`,
// the extension allow-list), a stand-in for the daemon's GStreamer probe (container signatures),
// the delete rule, and the files themselves, in memory with a total cap. Uploads survive a daemon
// restart, as files in the robot's /tmp do. Owns no HTTP (routes-media.ts parses and replies).
import { createHash } from 'node:crypto';

/** The daemon's `SOUNDS_TMP_DIR`; upload replies and play_sound resolution use it. */
export const SOUNDS_TMP_DIR = '/tmp/reachy_mini_sounds';
/** The daemon's `ALLOWED_SOUND_EXTENSIONS` (GHSA-m2pc-3q4q-w6jr hardening). */
export const ALLOWED_SOUND_EXTENSIONS: readonly string[] = ['.aac', '.flac', '.m4a', '.mp3', '.oga', '.ogg', '.opus', '.wav'];
/** The daemon's `MAX_SOUND_UPLOAD_BYTES`: its middleware answers 413 above it, before reading. */
export const MAX_SOUND_UPLOAD_BYTES = 25 * 1024 * 1024;
/**
 * Total bytes the emulator keeps (the robot's /tmp is a RAM disk too): two full-size uploads and
 * many short sounds, while bounding the memory of a long `--sim` run. Above it an upload fails as
 * a full disk would on the daemon: an uncaught OSError, a plain 500.
 */
export const MAX_STORED_SOUND_BYTES = 64 * 1024 * 1024;

export interface UploadedSound {
  readonly name: string;
  readonly bytes: number;
  /** Hex SHA-256 of the content, so tests can compare what arrived with what was sent. */
  readonly sha256: string;
}

/** Python's `PurePosixPath(name).name`: the last component, `.` components dropped. */
export function pythonPathName(name: string): string {
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  return parts.at(-1) ?? '';
}

/** Python's `PurePath.suffix`, lower-cased as the daemon compares it. */
function suffixOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot).toLowerCase() : '';
}

export type UploadNameCheck = { readonly ok: true; readonly name: string } | { readonly ok: false; readonly detail: string };

/**
 * The daemon's checks on an upload's file name, in its order: required, traversal (basename; `.`
 * and `..` refused), extension. NUL is refused too (the daemon's `open()` would raise, a 500).
 */
export function checkUploadName(filename: string | undefined): UploadNameCheck {
  if (filename === undefined || filename.length === 0) return { ok: false, detail: 'Filename is required' };
  const name = pythonPathName(filename);
  if (name.length === 0 || name === '.' || name === '..' || name.includes('\u0000')) return { ok: false, detail: 'Invalid filename' };
  if (!ALLOWED_SOUND_EXTENSIONS.includes(suffixOf(name))) {
    return { ok: false, detail: `Unsupported file extension; allowed: ${ALLOWED_SOUND_EXTENSIONS.join(', ')}` };
  }
  return { ok: true, name };
}

/** The daemon's delete rule: the name must be its own basename, with no `/` or `\`. */
export function isValidDeleteName(filename: string): boolean {
  const name = pythonPathName(filename);
  return name.length > 0 && name === filename && !filename.includes('/') && !filename.includes('\\');
}

const startsWith = (data: Uint8Array, ascii: string, offset = 0): boolean =>
  data.length >= offset + ascii.length && [...ascii].every((char, i) => data[offset + i] === char.charCodeAt(0));

/**
 * Stand-in for the daemon's `is_valid_audio_file` (a GStreamer discoverer run): accepts the
 * containers of the allowed extensions by their signature — RIFF/WAVE, Ogg, FLAC, ID3 or an
 * MPEG/ADTS frame sync, ISO BMFF `ftyp` — whatever the extension, as the discoverer sniffs content.
 */
export function looksLikeAudio(data: Uint8Array): boolean {
  if (startsWith(data, 'RIFF') && startsWith(data, 'WAVE', 8)) return true;
  if (startsWith(data, 'OggS') || startsWith(data, 'fLaC') || startsWith(data, 'ID3')) return true;
  if (startsWith(data, 'ftyp', 4)) return true;
  const b0 = data[0];
  const b1 = data[1];
  return b0 === 0xff && b1 !== undefined && (b1 & 0xe0) === 0xe0;
}

export type StoreResult = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly problem: 'full' };

interface StoredSound {
  readonly data: Buffer;
  readonly sha256: string;
}

export class SoundUploads {
  readonly #files = new Map<string, StoredSound>();
  #total = 0;

  /** Stores (or overwrites) `name`; refuses when the total would pass MAX_STORED_SOUND_BYTES. */
  store(name: string, data: Uint8Array): StoreResult {
    const previous = this.#files.get(name)?.data.length ?? 0;
    if (this.#total - previous + data.length > MAX_STORED_SOUND_BYTES) return { ok: false, problem: 'full' };
    const copy = Buffer.from(data);
    this.#files.set(name, { data: copy, sha256: createHash('sha256').update(copy).digest('hex') });
    this.#total += data.length - previous;
    return { ok: true, path: `${SOUNDS_TMP_DIR}/${name}` };
  }

  has(name: string): boolean {
    return this.#files.has(name);
  }

  delete(name: string): boolean {
    const stored = this.#files.get(name);
    if (stored === undefined) return false;
    this.#files.delete(name);
    this.#total -= stored.data.length;
    return true;
  }

  /** Sorted names, as `GET /api/media/sounds` lists them. */
  names(): string[] {
    return [...this.#files.keys()].sort();
  }

  list(): UploadedSound[] {
    return this.names().flatMap((name) => {
      const stored = this.#files.get(name);
      return stored ? [{ name, bytes: stored.data.length, sha256: stored.sha256 }] : [];
    });
  }

  /**
   * What `play_sound` hands the backend: an uploaded relative name becomes its full temp path (the
   * daemon's `os.path.isfile(join(SOUNDS_TMP_DIR, file))` check); anything else passes unchanged.
   */
  resolvePlayName(file: string): string {
    return !file.startsWith('/') && this.#files.has(file) ? `${SOUNDS_TMP_DIR}/${file}` : file;
  }
}
