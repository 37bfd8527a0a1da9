// The JSON of RPC results encoded once instead of once per reply (issue 11): a result answered to
// several calls (src/actors/shared-reads.ts) and a result its builder encoded from parts it keeps
// (src/machines/status-memo.ts). Owns only that memo, keyed by the result object's identity; not
// the JSON-RPC envelope (json-rpc.ts) nor when a result is shared. A result given a JSON here is
// never changed afterwards. README "Where the time goes: RPC".

/** Results answered to several calls: null until the first reply encodes it. */
const shared = new WeakMap<object, string | null>();

/**
 * Results whose builder gave their JSON, the last few by identity. A WeakMap insert for every
 * `get_status` cost ~1.5 µs of the call (cold) and left the garbage collector an ephemeron per
 * call; a result is encoded within the same event-loop turn it is built, so a few slots hold it
 * long enough, and a result pushed out is simply encoded again (the same bytes).
 */
const PRESET_SLOTS = 8;
const presetResults: Array<object | undefined> = new Array<object | undefined>(PRESET_SLOTS).fill(undefined);
const presetJsons: string[] = new Array<string>(PRESET_SLOTS).fill('');
let nextPreset = 0;

function presetOf(result: object): string | undefined {
  for (let k = 0; k < PRESET_SLOTS; k++) if (presetResults[k] === result) return presetJsons[k];
  return undefined;
}

/**
 * Gives `result` its JSON, encoded by whoever built it from parts it keeps: it must be exactly
 * `JSON.stringify(result)`, and `result` is never changed after this.
 */
export function presetResultJson(result: object, json: string): void {
  presetResults[nextPreset] = result;
  presetJsons[nextPreset] = json;
  nextPreset = (nextPreset + 1) % PRESET_SLOTS;
}

/**
 * Marks `result` as the one answer of several calls: never changed after this, its JSON is
 * encoded once and reused by every reply (same bytes as encoding it inside each envelope).
 */
export function shareResult(result: unknown): void {
  if (typeof result !== 'object' || result === null || presetOf(result) !== undefined || shared.has(result)) return;
  shared.set(result, null);
}

/**
 * The JSON kept for `result`: a string once encoded, null when it is shared but not encoded yet
 * (the caller encodes it and gives it back with `keepJson`), undefined when nothing is kept for it.
 */
export function keptJson(result: unknown): string | null | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  return presetOf(result) ?? shared.get(result);
}

/** Keeps the JSON the first reply encoded for a shared `result`. */
export function keepJson(result: object, json: string): void {
  shared.set(result, json);
}

/**
 * `JSON.stringify(result ?? null)`, or the JSON already encoded for it (shared or preset); a shared
 * result's first encoding here is kept too, as `encodeResult` keeps it for the envelope.
 */
export function resultJson(result: unknown): string {
  const kept = keptJson(result);
  if (typeof kept === 'string') return kept;
  const json = JSON.stringify(result ?? null) as string | undefined;
  if (json === undefined) return 'null';
  if (kept === null) keepJson(result as object, json);
  return json;
}
