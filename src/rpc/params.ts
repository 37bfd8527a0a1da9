// Parameter schemas for RPC functions: one Effect Schema per function both validates the call
// and generates the advertised JSON schema (device-connect-protocol.md §2.12 shape:
// `{"type":"object","properties","required"}` with description, default, minimum, maximum).
// Owns the messages for bad input (they name the parameter and the allowed range). Does not own
// dispatch or state checks (src/actors/rpc-gate.ts).
import * as Effect from 'effect/Effect';
import * as Result from 'effect/Result';
import * as Schema from 'effect/Schema';
import * as SchemaIssue from 'effect/SchemaIssue';
import { InvalidParams } from '../errors.ts';

/** Longest string any parameter accepts unless it says otherwise; ids and labels are short. */
export const DEFAULT_MAX_STRING_LENGTH = 256;

interface Common<T> {
  readonly description: string;
  readonly default?: T;
}

interface NumberOptions extends Common<number> {
  readonly minimum: number;
  readonly maximum: number;
  /** Unit shown in messages and descriptions (`degrees`, `mm`, `s`). */
  readonly unit?: string;
}

function rangeText(o: NumberOptions, what: string): string {
  return `must be ${what} in [${o.minimum}, ${o.maximum}]${o.unit ? ` ${o.unit}` : ''}`;
}

function withDefault<S extends Schema.Top>(schema: S, fallback: unknown) {
  return schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(fallback as never)));
}

/** A finite number within an inclusive range; NaN, ±Infinity and numeric strings are refused. */
export function numberParam<const O extends NumberOptions>(o: O) {
  const message = rangeText(o, 'a finite number');
  const schema = Schema.Number.annotate({ message, description: o.description, ...(o.default === undefined ? {} : { default: o.default }) }).check(
    Schema.isFinite({ message }),
    Schema.isBetween({ minimum: o.minimum, maximum: o.maximum }, { message }),
  );
  return (o.default === undefined ? schema : withDefault(schema, o.default)) as O extends { default: number }
    ? Schema.withDecodingDefaultKey<typeof schema, never>
    : typeof schema;
}

export function integerParam<const O extends NumberOptions>(o: O) {
  const message = rangeText(o, 'an integer');
  const schema = Schema.Int.annotate({ message, description: o.description, ...(o.default === undefined ? {} : { default: o.default }) }).check(
    Schema.isBetween({ minimum: o.minimum, maximum: o.maximum }, { message }),
  );
  return (o.default === undefined ? schema : withDefault(schema, o.default)) as O extends { default: number }
    ? Schema.withDecodingDefaultKey<typeof schema, never>
    : typeof schema;
}

interface StringOptions extends Common<string> {
  readonly maxLength?: number;
  /** When set, the value must match (ids, owner names). */
  readonly pattern?: RegExp;
  readonly patternText?: string;
}

export function stringParam<const O extends StringOptions>(o: O) {
  const maxLength = o.maxLength ?? DEFAULT_MAX_STRING_LENGTH;
  const message = `must be a string of at most ${maxLength} characters${o.patternText ? ` (${o.patternText})` : ''}`;
  const checks = [Schema.isMaxLength(maxLength, { message })] as const;
  const base = Schema.String.annotate({ message, description: o.description, ...(o.default === undefined ? {} : { default: o.default }) });
  const schema = o.pattern ? base.check(...checks, Schema.isPattern(o.pattern, { message })) : base.check(...checks);
  return (o.default === undefined ? schema : withDefault(schema, o.default)) as O extends { default: string }
    ? Schema.withDecodingDefaultKey<typeof schema, never>
    : typeof schema;
}

export function enumParam<const L extends readonly [string, ...string[]], const O extends Common<L[number]>>(literals: L, o: O) {
  const message = `must be one of ${literals.map((l) => JSON.stringify(l)).join(', ')}`;
  const schema = Schema.Literals(literals).annotate({ message, description: o.description, ...(o.default === undefined ? {} : { default: o.default }) });
  return (o.default === undefined ? schema : withDefault(schema, o.default)) as O extends { default: string }
    ? Schema.withDecodingDefaultKey<typeof schema, never>
    : typeof schema;
}

export function booleanParam<const O extends Common<boolean>>(o: O) {
  const schema = Schema.Boolean.annotate({ message: 'must be true or false', description: o.description, ...(o.default === undefined ? {} : { default: o.default }) });
  return (o.default === undefined ? schema : withDefault(schema, o.default)) as O extends { default: boolean }
    ? Schema.withDecodingDefaultKey<typeof schema, never>
    : typeof schema;
}

/** A parameter the caller may leave out (no default: the handler sees it absent). */
export function optionalParam<S extends Schema.Top>(schema: S) {
  return Schema.optionalKey(schema);
}

/** The advertised `parameters` object of a FunctionDef (§2.5, §2.12). */
export interface ParametersJsonSchema {
  readonly type: 'object';
  readonly properties: Record<string, Record<string, unknown>>;
  readonly required: ReadonlyArray<string>;
}

export interface ParamsSpec<T> {
  readonly jsonSchema: ParametersJsonSchema;
  /** Strict decode: unknown fields, wrong types, NaN/Infinity and out-of-range values all fail. */
  decode(input: unknown): Result.Result<T, InvalidParams>;
}

/**
 * Unknown keys named in one refusal. A typo is a key or two; a params object of 150,000 keys (1 MiB)
 * named each, with the known list each time, made a reply of ~30 MB. The rest are counted.
 */
export const MAX_UNKNOWN_PARAMS_NAMED = 5;
/** Characters of an unknown key quoted: parameter names are short; a key of a megabyte is cut. */
export const MAX_UNKNOWN_PARAM_NAME_CHARS = 64;

type ParamIssue = { readonly parameter: string; readonly problem: string };

/** A caller's key or name as quoted in an error: cut to MAX_UNKNOWN_PARAM_NAME_CHARS. */
export const quotedKey = (key: string): string => (key.length > MAX_UNKNOWN_PARAM_NAME_CHARS ? `${key.slice(0, MAX_UNKNOWN_PARAM_NAME_CHARS)}…` : key);

/**
 * The issues of unknown keys, bounded: the first MAX_UNKNOWN_PARAMS_NAMED (each with the known
 * ones, so an issue read alone still helps), then one `params` issue counting the rest.
 */
export function unknownParamIssues(unknownKeys: ReadonlyArray<string>, known: ReadonlyArray<string>): ParamIssue[] {
  const problem = `is not a parameter of this function (known: ${known.join(', ') || 'none'})`;
  const issues: ParamIssue[] = unknownKeys.slice(0, MAX_UNKNOWN_PARAMS_NAMED).map((key) => ({ parameter: quotedKey(key), problem }));
  const more = unknownKeys.length - issues.length;
  if (more > 0) issues.push({ parameter: 'params', problem: `has ${more} more unknown keys` });
  return issues;
}

/** `Invalid params: a, b and 3 more are not parameters of this function (known: x, y)`: the known list once. */
function unknownParamsFailure(unknownKeys: ReadonlyArray<string>, known: ReadonlyArray<string>): InvalidParams {
  const issues = unknownParamIssues(unknownKeys, known);
  const named = unknownKeys.slice(0, MAX_UNKNOWN_PARAMS_NAMED).map(quotedKey).join(', ');
  const more = unknownKeys.length > MAX_UNKNOWN_PARAMS_NAMED ? ` and ${unknownKeys.length - MAX_UNKNOWN_PARAMS_NAMED} more` : '';
  const verb = unknownKeys.length === 1 ? 'is not a parameter' : 'are not parameters';
  return new InvalidParams({ message: `Invalid params: ${named}${more} ${verb} of this function (known: ${known.join(', ') || 'none'})`, issues });
}

/** A parameter the call left out reads "is required"; every other leaf keeps Effect's own words. */
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1({
  leafHook: (issue) => (issue._tag === 'MissingKey' ? 'is required' : SchemaIssue.defaultLeafHook(issue)),
});

export function defineParams<const F extends Schema.Struct.Fields>(fields: F): ParamsSpec<Schema.Struct<F>['Type']> {
  const struct = Schema.Struct(fields);
  const generated = Schema.toJsonSchemaDocument(struct).schema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const properties: Record<string, Record<string, unknown>> = {};
  for (const [name, property] of Object.entries(generated.properties ?? {})) {
    // Python's schema builder emits no `title`/`$schema`; keep the keys agents and the registry expect.
    const { title: _title, ...rest } = property;
    properties[name] = rest;
  }
  const jsonSchema: ParametersJsonSchema = Object.freeze({ type: 'object', properties, required: generated.required ?? [] });
  const decoder = Schema.decodeUnknownResult(struct as never, { onExcessProperty: 'error', errors: 'all' }) as (
    input: unknown,
  ) => Result.Result<Schema.Struct<F>['Type'], Schema.SchemaError>;
  const known = Object.keys(fields);
  // A function without parameters called with none (get_status and the other reads): the schema's
  // answer is the same every time, so it is decoded at the first such call and shared (frozen).
  // Not at definition: decoding compiles the schema's parser, which start-up should not pay.
  let noneGiven: Result.Result<Schema.Struct<F>['Type'], InvalidParams> | undefined;
  const decodeNone = (): Result.Result<Schema.Struct<F>['Type'], InvalidParams> | undefined => {
    if (noneGiven === undefined && known.length === 0) {
      const decoded = decoder({});
      if (Result.isSuccess(decoded)) noneGiven = Result.succeed(Object.freeze(decoded.success) as Schema.Struct<F>['Type']);
    }
    return noneGiven;
  };
  return {
    jsonSchema,
    decode(input) {
      // Effect treats an empty Struct as "any value" (a string, an array); named parameters are an object.
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        const issues = [{ parameter: 'params', problem: 'must be a JSON object of named parameters' }];
        return Result.fail(new InvalidParams({ message: 'Invalid params: params must be a JSON object of named parameters', issues }));
      }
      const keys = Object.keys(input);
      const none = keys.length === 0 ? decodeNone() : undefined;
      if (none) return none;
      // Unknown keys are refused here for every shape (an empty Struct would take them).
      const unknownKeys = keys.filter((k) => !known.includes(k));
      if (unknownKeys.length > 0) return Result.fail(unknownParamsFailure(unknownKeys, known));
      const result = decoder(input);
      if (Result.isSuccess(result)) return Result.succeed(result.success);
      const seen = new Set<string>();
      const issues: Array<{ parameter: string; problem: string }> = [];
      for (const issue of formatIssue(result.failure.issue).issues) {
        const parameter = issue.path?.map(String).join('.') || 'params';
        const problem = parameter === 'params' && !known.includes('params')
          ? 'must be a JSON object of named parameters'
          : known.includes(parameter)
          ? issue.message
          : `is not a parameter of this function (known: ${known.join(', ') || 'none'})`;
        const key = `${parameter}:${problem}`;
        if (seen.has(key)) continue;
        seen.add(key);
        issues.push({ parameter, problem });
      }
      const message = `Invalid params: ${issues.map((i) => `${i.parameter} ${i.problem}`).join('; ')}`;
      return Result.fail(new InvalidParams({ message, issues }));
    },
  };
}
