// A save of the settings page is a set of changes, not a whole object: only the keys the user
// changed are written to the settings file, so an untouched field keeps coming from the layer
// below (a mode default, the credentials file, a derived value) instead of being pinned by an
// explicit `false` or default the user never chose. `null` removes a key from the file. Pure:
// owns the merge and its validation (every key through decodeSettings, one issue per field); not
// the file (src/adapters/settings-http/settings-store.ts). README "Settings app".
import { decodeSettings, type AppSettings, type FieldIssue } from './settings-schema.ts';
import { isRecord } from '../protocol/json-object.ts';

export type ChangesResult =
  | {
      readonly ok: true;
      /** The file's new content: the keys written before plus the changed ones, decoded. */
      readonly values: Readonly<Record<string, unknown>>;
      /** The same as a full settings object (absent keys at the reference defaults), for GET compatibility. */
      readonly settings: AppSettings;
    }
  | { readonly ok: false; readonly issues: ReadonlyArray<FieldIssue> };

/** `{changes: {...}}` or a bare object of changes; anything else is one `(body)` issue. */
export function changesOf(body: unknown): Record<string, unknown> | undefined {
  if (!isRecord(body)) return undefined;
  const keys = Object.keys(body);
  if (keys.length === 1 && keys[0] === 'changes') return isRecord(body.changes) ? body.changes : undefined;
  return body;
}

/**
 * Applies `changes` over the saved file's keys; `null` removes a key. Every key is an own field of
 * the merge: it has no prototype, so a `__proto__` key (which the HTTP parser already refuses) is
 * one more unknown key for decodeSettings to refuse, never the merge's prototype.
 */
export function mergeChanges(saved: Readonly<Record<string, unknown>>, changes: Readonly<Record<string, unknown>>): ChangesResult {
  const merged: Record<string, unknown> = Object.assign(Object.create(null) as Record<string, unknown>, saved);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  const decoded = decodeSettings(merged);
  if (!decoded.ok) return { ok: false, issues: decoded.issues };
  const full = decoded.settings as unknown as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(merged).sort()) if (full[key] !== undefined) values[key] = full[key];
  return { ok: true, values: Object.freeze(values), settings: decoded.settings };
}
