// The pure rules of a credentials upload (`POST /api/credentials/upload`, reference-driver.md §10
// "Upload steps", with its bugs fixed): the accepted file names (a plain basename ending in `.json`
// or `.creds`), the size limit and the directory name under the config dir. The SHA-256
// fingerprint an answer carries instead of the content is src/config/credentials.ts's. No I/O:
// storing is src/adapters/settings-http/credentials-upload.ts's.
import { MAX_CREDENTIALS_FILE_BYTES } from '../config/credentials.ts';

/** The reference limit (§10 step 3): 256 KiB; real credentials files are 1–2 KiB. */
export const MAX_UPLOAD_FILE_BYTES = MAX_CREDENTIALS_FILE_BYTES;
/** Subdirectory of the config dir that holds uploaded credentials (reference: `credentials/`). */
export const CREDENTIALS_DIR_NAME = 'credentials';
/** NAME_MAX of Linux file systems, in bytes. */
export const MAX_UPLOAD_NAME_BYTES = 255;
/** Lower-case suffixes accepted (§10 step 5); `.creds.json` portal files end in `.json`. */
const ALLOWED_SUFFIXES: ReadonlyArray<string> = ['.json', '.creds'];
/** Path separators of any platform, a drive colon, and control characters including NUL. */
const FORBIDDEN_NAME_CHARS = /[/\\:\u0000-\u001f\u007f]/;

/** Why a client-supplied file name is refused, or undefined when it is a safe basename. */
export function uploadNameProblem(name: string): string | undefined {
  if (name === '') return 'missing filename';
  if (FORBIDDEN_NAME_CHARS.test(name)) return 'invalid credentials filename: a plain file name is required (no path separators, drive letters or control characters)';
  if (name.includes('..')) return 'invalid credentials filename: ".." is not allowed';
  if (name.startsWith('.')) return 'invalid credentials filename: it must not start with "."';
  if (Buffer.byteLength(name, 'utf8') > MAX_UPLOAD_NAME_BYTES) return `invalid credentials filename: longer than ${MAX_UPLOAD_NAME_BYTES} bytes`;
  const lower = name.toLowerCase();
  if (!ALLOWED_SUFFIXES.some((suffix) => lower.endsWith(suffix))) return 'credentials file must be .json or .creds';
  return undefined;
}
