// A stop is never refused for its form (README "Safety: what a stop guarantees"): THE decision of
// which of a stop's parameters are kept, and the explanation of each one that is not. A parameter
// that fails its function's validation is ignored — an unknown key dropped, a bad value replaced by
// the parameter's default, a free-text value over its limit (the function's `stop.cut`) cut to it —
// and named with its problem in the answer's and the audit's `ignored_params` (after any part of
// the envelope the wire could not take: src/safety/stop-only-calls.ts `stopDespite`). Pure; the gate
// (src/actors/rpc-gate.ts) decodes with it every function that declares a `stop` form; every other
// function stays strict (src/rpc/params.ts). Does not decide who may stop or what a stop does.
import * as Result from 'effect/Result';
import type { InvalidParams } from '../errors.ts';
import { isRecord } from '../protocol/json-object.ts';
import type { RpcFunction } from './function-def.ts';
import { unknownParamIssues } from './params.ts';
import type { IgnoredParam } from '../protocol/ignored-param.ts';

export type { IgnoredHandling, IgnoredParam } from '../protocol/ignored-param.ts';

/** A stop's params as it runs them, and the parameters it ignored (none: the call was valid as sent). */
export interface StopParams<P> {
  readonly decoded: P;
  readonly ignored: ReadonlyArray<IgnoredParam>;
}

/** `value` cut to `max` UTF-16 units, never splitting a surrogate pair (a lone half would not be text). */
function cutTo(value: string, max: number): string {
  const end = max > 0 && /[\uD800-\uDBFF]/.test(value.charAt(max - 1)) ? max - 1 : max;
  return value.slice(0, end);
}

/** The advertised `maxLength` of `param`, when it has one. */
function maxLengthOf(fn: RpcFunction<unknown>, param: string): number | null {
  const max = fn.params.jsonSchema.properties[param]?.['maxLength'];
  return typeof max === 'number' ? max : null;
}

/**
 * THE stop form decision: `input` as `fn` (a stop) runs it — decoded as sent when it is valid, else
 * with every parameter that fails validation ignored as above and named in `ignored`. Fails only when
 * even the defaults do not decode: a stop function whose parameters are not all optional (a bug of
 * its definition, which test/unit/stop-params.test.ts keeps out of the catalogue).
 */
export function stopParams<P>(fn: RpcFunction<P, { type: string }>, input: unknown): Result.Result<StopParams<P>, InvalidParams> {
  const strict = fn.params.decode(input);
  if (Result.isSuccess(strict)) return Result.succeed({ decoded: strict.success, ignored: [] });
  const known = Object.keys(fn.params.jsonSchema.properties);
  const ignored = new Map<string, IgnoredParam>();
  const kept: Record<string, unknown> = {};
  if (!isRecord(input) || Array.isArray(input)) {
    ignored.set('params', { param: 'params', problem: 'must be a JSON object of named parameters', handling: 'dropped' });
  } else {
    const unknownKeys = Object.keys(input).filter((k) => !known.includes(k));
    for (const issue of unknownParamIssues(unknownKeys, known)) ignored.set(`unknown:${issue.parameter}`, { param: issue.parameter, problem: issue.problem, handling: 'dropped' });
    for (const key of known) if (key in input) kept[key] = input[key];
  }
  const cut = fn.stop?.cut ?? [];
  // First pass: a free-text value over its limit is cut to it; any other bad value falls back to its default.
  const first = fn.params.decode(kept);
  if (Result.isFailure(first)) {
    for (const { parameter, problem } of first.failure.issues) {
      const value = kept[parameter];
      const max = maxLengthOf(fn as RpcFunction<unknown>, parameter);
      if (cut.includes(parameter) && typeof value === 'string' && max !== null && value.length > max) {
        kept[parameter] = cutTo(value, max);
        ignored.set(parameter, { param: parameter, problem: `${problem} (it had ${value.length}); the first ${max} were kept`, handling: 'truncated' });
      } else {
        delete kept[parameter];
        ignored.set(parameter, { param: parameter, problem, handling: 'default' });
      }
    }
  }
  // Second pass: a cut value that still fails (it broke a pattern) falls back to its default too.
  const second = Result.isSuccess(first) ? first : fn.params.decode(kept);
  if (Result.isFailure(second)) {
    for (const { parameter, problem } of second.failure.issues) {
      delete kept[parameter];
      ignored.set(parameter, { param: parameter, problem, handling: 'default' });
    }
  }
  const decoded = Result.isSuccess(second) ? second : fn.params.decode(kept);
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure);
  return Result.succeed({ decoded: decoded.success, ignored: [...ignored.values()] });
}
