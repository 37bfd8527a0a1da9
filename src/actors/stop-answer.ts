// What a stop that did not run quite as sent answers (README "Safety: what a stop guarantees"): a
// stop's result naming the parameters it ignored (`ignored_params`), and a refused trip's refusal —
// same class, `_tag` and fields, so callers keyed on the tag read it as before — saying in its message
// and data that the interlock was NOT tripped and that motion was stopped instead, with stop_motion's
// answer. Wire: an error with `data` (-32000 `Error invoking <fn>: …`); the Python clients read only
// `error.message`, so the message alone says both parts. Pure; decides nothing (the gate does).
import type { RpcFailure } from '../errors.ts';
import { isRecord } from '../protocol/json-object.ts';
import type { IgnoredParam } from '../rpc/stop-params.ts';

type Answer = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: RpcFailure };

/** A stop's answer naming the parameters it ignored (`ignored_params`); unchanged when it ignored none. */
export function withIgnored<A extends Answer>(answer: A, ignored: ReadonlyArray<IgnoredParam>): A | { ok: true; result: Record<string, unknown> } {
  if (ignored.length === 0 || !answer.ok || !isRecord(answer.result)) return answer;
  return { ok: true, result: { ...answer.result, ignored_params: ignored } };
}

/** `stop confirmed, 1 move stopped` from stop_motion's result (src/machines/driver.machine.ts `stopResult`). */
function stopSummary(result: unknown): string {
  const stop = isRecord(result) ? result : {};
  const moves = Array.isArray(stop['stopped_moves']) ? stop['stopped_moves'].length : 0;
  return `stop ${String(stop['stop'] ?? 'answered')}, ${moves} ${moves === 1 ? 'move' : 'moves'} stopped`;
}

/**
 * The answer of a trip whose privileged part was `refused` and that stopped motion instead: the
 * refusal, its message and data extended with `interlock_tripped: false`, `stop_motion` (the stop's
 * answer: its result, or `{error: {_tag, message}}` should the stop itself have failed) and the
 * parameters the call ignored.
 */
export function refusedButStopped(refused: RpcFailure, stop: Answer, ignored: ReadonlyArray<IgnoredParam>): RpcFailure {
  const said = stop.ok ? `motion was stopped instead (${stopSummary(stop.result)})` : `stopping motion instead failed too (${stop.error._tag}: ${stop.error.message})`;
  const Refusal = refused.constructor as new (fields: Record<string, unknown>) => RpcFailure;
  return new Refusal({
    ...refused,
    message: `${refused.message} — the interlock was NOT tripped; ${said}`,
    interlock_tripped: false,
    stop_motion: stop.ok ? stop.result : { error: { _tag: stop.error._tag, message: stop.error.message } },
    ...(ignored.length > 0 ? { ignored_params: ignored } : {}),
  });
}
