// The caller allowlist of the prior art (reference-driver.md §13, strands-labs "caller
// authorization"): with DEVICE_CONNECT_RPC_ALLOW set, a state-changing function (labels direction
// `write`) runs only for an asserted caller — `_dc_meta.source_device`, else the call's owner —
// that matches one of its globs; stops are never refused. Unset: everyone is allowed (one warning
// at start, config.ts). Pure: the gate's decision and the CallerNotAllowed explaining it come from
// `callerRefusal`. Owns no I/O; the identity is asserted, not authenticated (protocol §3.7).
import { CallerNotAllowed } from '../errors.ts';
import type { CallerMeta } from '../protocol/json-rpc.ts';
import type { FunctionLabels } from '../rpc/function-def.ts';

/** Stops are a guarantee (design card): no allowlist may stand between a caller and a stop. */
export const ALWAYS_ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set(['stop_motion', 'emergency_stop']);

/** `*` (any run of characters) and `?` (one) of a glob as a whole-string regular expression. */
export function globRegExp(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

/** A comma-separated glob list (`safety-*,operator`) as patterns; blanks dropped. */
export function parseGlobList(raw: string): ReadonlyArray<string> {
  return raw.split(',').map((g) => g.trim()).filter(Boolean);
}

/** Whether `id` matches one of `globs` (none: nothing matches). */
export function matchesAny(globs: ReadonlyArray<string>, id: string | null): boolean {
  return id !== null && globs.some((g) => globRegExp(g).test(id));
}

/** The caller a decision is about: `_dc_meta.source_device`, else the call's owner, else null. */
export function assertedCaller(caller: CallerMeta, event: { type: string }): string | null {
  if (caller.sourceDevice) return caller.sourceDevice;
  const owner = (event as { owner?: unknown }).owner;
  return typeof owner === 'string' && owner.length > 0 ? owner : null;
}

/**
 * THE allowlist decision: null when the call may go on to the rate limit and the state gate, else
 * the CallerNotAllowed refusal. `allow` null = no allowlist configured (everyone allowed).
 */
export function callerRefusal(allow: ReadonlyArray<string> | null, fn: string, labels: FunctionLabels, caller: CallerMeta, event: { type: string }): CallerNotAllowed | null {
  if (allow === null || labels.direction !== 'write' || ALWAYS_ALLOWED_FUNCTIONS.has(fn)) return null;
  const who = assertedCaller(caller, event);
  if (matchesAny(allow, who)) return null;
  return new CallerNotAllowed({ message: `${fn}: caller ${who ?? '(anonymous)'} is not in DEVICE_CONNECT_RPC_ALLOW; only stops are open to every caller`, caller: who, function: fn, allow });
}
