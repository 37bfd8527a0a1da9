// Private files: atomic owner-only writes (temp file in the same directory, fsync, rename, directory
// fsync; or synchronous without fsync) and owner-only directories. Owns file modes and crash safety
// for everything the settings server writes (settings file, uploaded credentials, the token) and the
// verified callers' replay floors; a reader never sees a half-written file and nobody but the
// driver's user can read one (threat model: "treat settings port like root on robot config"). Does
// not decide what is written or when.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { closeSync, fchmodSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Owner read/write only: credentials, settings and the token are all secrets or root-like config. */
export const PRIVATE_FILE_MODE = 0o600;
/** Owner-only directories: listing the credentials dir already tells which identities exist. */
export const PRIVATE_DIR_MODE = 0o700;
/** Random suffix of temp files: unguessable, so two writers never collide. */
const TEMP_SUFFIX_BYTES = 6;

/** Creates the directory (and parents) owner-only when missing; an existing one is left as it is. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * A fresh temp path beside `path` for an atomic write. A leading dot keeps temp files out of upload
 * names and of the `*.creds.json` portal glob; the random suffix makes it unguessable.
 */
function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(TEMP_SUFFIX_BYTES).toString('hex')}.tmp`);
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` atomically with mode 0600: a fresh temp file (O_EXCL, so no symlink is
 * followed) in the same directory, fsync, rename over the target, fsync of the directory. On any
 * failure the temp file is removed and the target is untouched.
 */
export async function writePrivateFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await ensurePrivateDir(dir);
  const temp = tempPathBeside(path);
  try {
    const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      // The umask can only remove bits from the open() mode; chmod makes it exactly 0600.
      await handle.chmod(PRIVATE_FILE_MODE);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/**
 * `writePrivateFileAtomic` for a write that must be done before the caller goes on, without fsync
 * (the verified callers' replay floors: a process restart keeps the page cache, and they matter
 * for 30 s only): the same owner-only temp file beside the target (O_EXCL), then rename; on any
 * failure the temp file is removed, the target untouched, and the error thrown.
 */
export function writePrivateFileSync(path: string, data: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  const temp = tempPathBeside(path);
  try {
    const fd = openSync(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      // As in writePrivateFileAtomic: the umask can only remove bits; fchmod makes it exactly 0600.
      fchmodSync(fd, PRIVATE_FILE_MODE);
      writeFileSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** `lstat` of a path that may not exist (symlinks are not followed): undefined when it is absent. */
export async function lstatIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
