// The panorama's output folder (`--output`), made ready before the scan takes the lease: created
// owner-only (src/adapters/private-files.ts), proved writable with a probe file, and either empty
// or a previous scan's (its manifest.json lists its files, which are removed just before the new
// ones are written, so no stale frame sits beside them). A bad path costs no robot motion and no
// frame. Owns the folder's file system I/O: its checks, the removal of our own listed files and the
// owner-only writes of the new ones; not what is written (src/client/panorama-artifacts.ts decides
// and encodes it). Failures of the checks are values with a stable `_tag`, never thrown.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { open, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as Data from 'effect/Data';
import { ensurePrivateDir, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.ts';

/** Random suffix of the probe file's name: two scans checking one folder never collide. */
const PROBE_SUFFIX_BYTES = 6;

/** The folder cannot be created or written (the scan must not start). */
export class OutputNotWritable extends Data.TaggedError('OutputNotWritable')<{
  readonly message: string;
  readonly dir: string;
  /** The file system's error code (ENOTDIR, EACCES, EROFS…), '' when there was none. */
  readonly code: string;
}> {}

/** The folder holds files but no previous scan's manifest: they are someone else's (the scan must not start). */
export class OutputNotEmpty extends Data.TaggedError('OutputNotEmpty')<{
  readonly message: string;
  readonly dir: string;
}> {}

export type OutputCheck =
  | { readonly ok: true; /** A previous scan's files (relative paths, ours only), to remove before writing. */ readonly previous: readonly string[] }
  | { readonly ok: false; readonly error: OutputNotWritable | OutputNotEmpty };

/** The only files a scan writes besides manifest.json (src/client/panorama-artifacts.ts names them); nothing else is ever removed. */
const OUR_FILES: readonly RegExp[] = [
  /^frame_\d{3,}_body_[+-]\d+_pitch_[+-]\d+_yaw_[+-]\d+\.jpg$/,
  /^strips\/strip_pitch_[pm]\d+\.jpg$/,
  /^panorama(_grid|_strip)?\.jpg$/,
];
const MANIFEST = 'manifest.json';

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

/** The files a previous scan's manifest lists that are ours by name; null when `dir` holds no readable manifest. */
async function listedArtifacts(dir: string): Promise<string[] | null> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8'));
  } catch {
    return null;
  }
  const files = (manifest as { files?: unknown } | null)?.files;
  if (typeof files !== 'object' || files === null) return null;
  return Object.values(files).filter((f): f is string => typeof f === 'string' && OUR_FILES.some((re) => re.test(f)));
}

/** Empty: nothing to remove; a previous scan: its files; anything else is refused. */
async function previousScan(dir: string): Promise<OutputCheck> {
  if ((await readdir(dir)).length === 0) return { ok: true, previous: [] };
  const previous = await listedArtifacts(dir);
  if (previous !== null) return { ok: true, previous };
  const message = `${dir} is not empty and holds no previous panorama (no readable ${MANIFEST}); its files are left alone`;
  return { ok: false, error: new OutputNotEmpty({ message, dir }) };
}

/** Creates `dir` (owner-only when new), checks it takes files and holds nothing but a previous scan; call before anything moves. */
export async function prepareOutputDir(dir: string): Promise<OutputCheck> {
  try {
    await ensurePrivateDir(dir);
    await probeWrite(dir);
    return await previousScan(dir);
  } catch (error) {
    return { ok: false, error: notWritable(dir, error) };
  }
}

/** Removes a previous scan's files (as prepareOutputDir listed them) and its emptied strips folder; throws when one cannot be removed. */
export async function removePrevious(dir: string, previous: readonly string[]): Promise<void> {
  for (const file of previous) await rm(join(dir, file), { force: true });
  await rmdir(join(dir, 'strips')).catch(() => undefined);
}

/** Writes one artifact owner-only whatever the umask and whether the file was there before (the mode on create only narrows). */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data, { mode: PRIVATE_FILE_MODE });
  chmodSync(path, PRIVATE_FILE_MODE);
}

/** Creates a folder of the output (the strips folder) owner-only, or makes an existing one so. */
export function makeOutputDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(path, PRIVATE_DIR_MODE);
}
