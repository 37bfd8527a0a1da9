// The panorama's output folder (`--output`), made ready before the scan takes the lease: created
// owner-only (src/adapters/private-files.ts) and proved writable with a probe file, so a bad path
// (a file as parent, a read-only folder) costs no robot motion and no frame. Owns the folder's
// checks; not what is written into it (panorama-artifacts.ts). Failures are values with a stable
// `_tag`, never thrown.
import { randomBytes } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as Data from 'effect/Data';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../adapters/private-files.ts';

/** Random suffix of the probe file's name: two scans checking one folder never collide. */
const PROBE_SUFFIX_BYTES = 6;

/** The folder cannot be created or written (the scan must not start). */
export class OutputNotWritable extends Data.TaggedError('OutputNotWritable')<{
  readonly message: string;
  readonly dir: string;
  /** The file system's error code (ENOTDIR, EACCES, EROFS…), '' when there was none. */
  readonly code: string;
}> {}

export type OutputCheck = { readonly ok: true } | { readonly ok: false; readonly error: OutputNotWritable };

/** What a file system error code means for a person choosing another --output. */
const REASONS: Readonly<Record<string, string>> = {
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'it is a file, not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
};

/** The error as a value naming the folder and why, in words. */
export function notWritable(dir: string, error: unknown): OutputNotWritable {
  const code = typeof (error as NodeJS.ErrnoException)?.code === 'string' ? (error as NodeJS.ErrnoException).code! : '';
  const reason = REASONS[code] ?? (error instanceof Error ? error.message : String(error));
  return new OutputNotWritable({ message: `cannot write to ${dir}: ${reason}${code && REASONS[code] ? ` (${code})` : ''}`, dir, code });
}

/** Creates and removes one owner-only file: the folder takes writes now. */
async function probeWrite(dir: string): Promise<void> {
  const probe = join(dir, `.panorama-write-check-${randomBytes(PROBE_SUFFIX_BYTES).toString('hex')}`);
  const handle = await open(probe, 'wx', PRIVATE_FILE_MODE);
  await handle.close();
  await rm(probe, { force: true });
}

/** Creates `dir` (owner-only when new) and checks it takes files; call before anything moves. */
export async function prepareOutputDir(dir: string): Promise<OutputCheck> {
  try {
    await ensurePrivateDir(dir);
    await probeWrite(dir);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: notWritable(dir, error) };
  }
}
