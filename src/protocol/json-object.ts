// The one check for "a plain JSON object" (`{...}`: not null, not an array), as every decoder of
// wire documents, settings files and daemon replies asks it. Owns that predicate only; it imports
// nothing, so the client commands and the emulator can use it without loading the driver.
/** A plain object (what `JSON.parse` gives for `{...}`): not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
