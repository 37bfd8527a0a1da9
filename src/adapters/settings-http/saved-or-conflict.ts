// The settings routes' one answer to a saved file that exists but does not decode: 409 Conflict
// with the file's issues, so the page shows what is wrong and a PUT of a full object replaces it
// (never silent defaults, reference-driver.md §10). Owns only that mapping; reading the file is
// settings-store.ts's, the routes that answer with a body instead (validate) map it themselves.
import { HttpFailure } from '../../settings/http-failure.ts';
import { SettingsFileInvalid } from './settings-store.ts';

/** What `read` returns; a SettingsFileInvalid it throws becomes HttpFailure 409 with its issues. */
export function savedOrConflict<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof SettingsFileInvalid) throw new HttpFailure(409, error.message, error.issues);
    throw error;
  }
}
