// The settings app's token: generated on first run (crypto random, base64url) and kept in
// `<configDir>/settings-token`, mode 0600. Policy for an existing file that group or others can
// access, that is not a regular file or that belongs to another user: refuse to start (a chmod would
// not un-read a token that was already exposed; delete the file to rotate it). Owns that file only;
// sessions, login codes and the random token itself live in src/settings/settings-auth.ts. Threat model: "treat settings port like root".
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newRandomToken, TOKEN_BYTES } from '../../settings/settings-auth.ts';
import { ensurePrivateDir, lstatIfExists, PRIVATE_FILE_MODE } from '../private-files.ts';

export { TOKEN_BYTES };

export const TOKEN_FILE_NAME = 'settings-token';
/** A stored token must be base64url of at least TOKEN_BYTES bytes; anything else is a corrupt file. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43,512}$/;
/** Group/other permission bits: any of them makes the token file unsafe. */
const GROUP_OTHER_BITS = 0o077;

/** The token file cannot be trusted; the server refuses to start and says how to fix it. */
export class SettingsTokenError extends Error {
  override readonly name = 'SettingsTokenError';
  readonly _tag = 'SettingsTokenError';
}

async function readExisting(path: string): Promise<string | undefined> {
  const st = await lstatIfExists(path);
  if (st === undefined) return undefined;
  if (!st.isFile()) throw new SettingsTokenError(`settings token ${path} is not a regular file (a symlink or a directory); remove it so a new token is generated`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new SettingsTokenError(`settings token ${path} belongs to uid ${st.uid}, not to this user; remove it so a new token is generated`);
  }
  const mode = st.mode & 0o777;
  if ((mode & GROUP_OTHER_BITS) !== 0) {
    throw new SettingsTokenError(
      `settings token ${path} has mode ${mode.toString(8).padStart(4, '0')} (group/other can access it): delete it to generate a new token, or chmod 600 it if nobody else can have read it`,
    );
  }
  const token = (await readFile(path, 'utf8')).trim();
  if (!TOKEN_SHAPE.test(token)) throw new SettingsTokenError(`settings token ${path} is not a valid token; delete it so a new one is generated`);
  return token;
}

/** Reads an existing token with the same checks (never creates one); undefined when there is none. */
export async function readToken(configDir: string): Promise<string | undefined> {
  return readExisting(join(configDir, TOKEN_FILE_NAME));
}

/** Reads the token, creating `configDir` (0700) and the file (0600, O_EXCL) on first run. */
export async function loadOrCreateToken(configDir: string): Promise<{ token: string; path: string; created: boolean }> {
  const path = join(configDir, TOKEN_FILE_NAME);
  const existing = await readExisting(path);
  if (existing !== undefined) return { token: existing, path, created: false };
  await ensurePrivateDir(configDir);
  const token = newRandomToken();
  let handle;
  try {
    handle = await open(path, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    // Another process created it between our check and open: use theirs (same checks).
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const raced = await readExisting(path);
      if (raced !== undefined) return { token: raced, path, created: false };
    }
    throw error;
  }
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(token + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { token, path, created: true };
}
