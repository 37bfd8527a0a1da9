// What a stop that did not run quite as sent answers (README "Safety: what a stop guarantees"): a
// stop's answer naming the parameters it ignored (`ignored_params`: in its result, or in its error's
// data should its outcome fail or time out — same class and `_tag`), and a refused trip's refusal —
// same class, `_tag` and fields, so callers keyed on the tag read it as before — saying in its message
// and data that the interlock was NOT tripped and that motion was stopped instead, with stop_motion's
// answer. Wire: an error with `data` (-32000 `Error invoking <fn>: …`); the Python clients read only
// `error.message`, so the message alone says both parts. Pure; decides nothing (the gate does).
import type { RpcFailure } from '../errors.ts';
import { isRecord } from '../protocol/json-object.ts';
import type { IgnoredParam } from '../protocol/ignored-param.ts';

type Answer = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: RpcFailure };

/** `error` with `fields` added: a new error of the same class (same `_tag`), so callers keyed on the tag read it as before. */
function extended(error: RpcFailure, fields: Record<string, unknown>): RpcFailure {
  const Same = error.constructor as new (fields: Record<string, unknown>) => RpcFailure;
  return new Same({ ...error, message: error.message, ...fields });
}

/**
 * A stop's answer naming the parameters it ignored (`ignored_params`): in its result, or in its
 * error's data (an outcome that failed or timed out); unchanged when it ignored none.
 */
export function withIgnored(answer: Answer, ignored: ReadonlyArray<IgnoredParam>): Answer {
  if (ignored.length === 0) return answer;
  if (!answer.ok) return { ok: false, error: extended(answer.error, { ignored_params: ignored }) };
  return isRecord(answer.result) ? { ok: true, result: { ...answer.result, ignored_params: ignored } } : answer;
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
  return extended(refused, {
    message: `${refused.message} — the interlock was NOT tripped; ${said}`,
    interlock_tripped: false,
    stop_motion: stop.ok ? stop.result : { error: { _tag: stop.error._tag, message: stop.error.message } },
    ...(ignored.length > 0 ? { ignored_params: ignored } : {}),
  });
}
