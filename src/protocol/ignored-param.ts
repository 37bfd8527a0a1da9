// The shape of `ignored_params` (README "Safety: what a stop guarantees"): one entry per part of a
// stop's call it could not take as sent — a parameter (src/rpc/stop-params.ts decides those) or a
// part of its envelope (src/protocol/json-rpc.ts, mesh-wire.ts, via src/safety/stop-only-calls.ts).
// Owns the type, and reading the list off a stop's failed answer (an error field, added by
// src/actors/stop-answer.ts) for a wire that encodes errors its own way (the broadcast reply): a leaf
// both the wire and the params side import (no import circle between them).

/**
 * What became of a part the stop could not take as sent: `dropped` (not a parameter, params not an
 * object, an envelope part: no effect), `default` (a bad value: the parameter's default was used),
 * `truncated` (free text over its limit: the first characters up to the limit were kept).
 */
export type IgnoredHandling = 'dropped' | 'default' | 'truncated';

/** One entry of `ignored_params`: the part as named by the caller (cut if long), what was wrong, what was done. */
export interface IgnoredParam {
  readonly param: string;
  readonly problem: string;
  readonly handling: IgnoredHandling;
}

/** The `ignored_params` an error carries (a stop's outcome that failed or timed out); undefined when none. */
export function ignoredParamsOf(error: object): ReadonlyArray<IgnoredParam> | undefined {
  const ignored: unknown = (error as { readonly ignored_params?: unknown }).ignored_params;
  return Array.isArray(ignored) && ignored.length > 0 ? (ignored as ReadonlyArray<IgnoredParam>) : undefined;
}
