// Pydantic-style validation of what the emulated daemon accepts: request bodies (GotoModelRequest,
// FullBodyTarget, MoveUUID, PlaySoundRequest, RobotNameRequest), query and path parameters, with
// the issue types, messages, `loc` and `ctx` FastAPI returns (reachy-daemon-api.md §1, §5;
// samples in fixtures/daemon/move1.txt, move2.txt, daemon_lifecycle.txt). Also the text form of
// pydantic errors that `/api/move/ws/set_target` replies with. The allowed enum values are the wire
// contract shared with the driver (src/protocol/daemon-wire-types.ts). Owns no routing and no state.
import type { ValidationIssue } from './fastapi-errors.ts';
import { INTERPOLATION_METHODS, MOTOR_MODES, type Interpolation as InterpolationMethod, type MotorMode } from '../protocol/daemon-wire-types.ts';
import { type Mat4, poseFromXyzRpy } from '../robot/pose-math.ts';
import type { Antennas } from '../robot/daemon-poses.ts';
import { isRecord } from '../protocol/json-object.ts';

type Loc = readonly (string | number)[];
export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: ValidationIssue[] };

const pass = <T>(value: T): Checked<T> => ({ ok: true, value });
const fail = <T>(...issues: ValidationIssue[]): Checked<T> => ({ ok: false, issues });

/** `RobotNameRequest.name` length bounds (`Field(..., min_length=1, max_length=64)`). */
const ROBOT_NAME_MIN = 1;
const ROBOT_NAME_MAX = 64;
/** pydantic version quoted in the error links of the real daemon (ws1.txt). */
const PYDANTIC_DOCS_VERSION = '2.13';

const missing = (loc: Loc, input: unknown): ValidationIssue => ({ type: 'missing', loc, msg: 'Field required', input });

const notAnObject = (loc: Loc, input: unknown): ValidationIssue => ({
  type: 'model_attributes_type',
  loc,
  msg: 'Input should be a valid dictionary or object to extract fields from',
  input,
});

function enumMessage(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1) ?? ''}`;
}

function enumIssue(loc: Loc, input: unknown, values: readonly string[]): ValidationIssue {
  const expected = enumMessage(values);
  return { type: 'enum', loc, msg: `Input should be ${expected}`, input, ctx: { expected } };
}

/** Lax-mode float: numbers, booleans and numeric strings (`float_type` / `float_parsing`). */
export function checkFloat(value: unknown, loc: Loc): Checked<number> {
  if (typeof value === 'number' && Number.isFinite(value)) return pass(value);
  if (typeof value === 'boolean') return pass(value ? 1 : 0);
  if (typeof value === 'string') {
    const parsed = value.trim() === '' ? Number.NaN : Number(value);
    if (Number.isFinite(parsed)) return pass(parsed);
    return fail({ type: 'float_parsing', loc, msg: 'Input should be a valid number, unable to parse string as a number', input: value });
  }
  return fail({ type: 'float_type', loc, msg: 'Input should be a valid number', input: value });
}

function checkOptionalFloat(value: unknown, loc: Loc): Checked<number | undefined> {
  return value === undefined || value === null ? pass(undefined) : checkFloat(value, loc);
}

/** A fixed-length tuple of floats (`tuple[float, float]`, `Matrix4x4Pose.m`). */
function checkFloatTuple(value: unknown, loc: Loc, length: number): Checked<number[]> {
  if (!Array.isArray(value)) return fail({ type: 'tuple_type', loc, msg: 'Input should be a valid tuple', input: value });
  if (value.length > length) {
    return fail({
      type: 'too_long',
      loc,
      msg: `Tuple should have at most ${length} items after validation, not ${value.length}`,
      input: value,
      ctx: { field_type: 'Tuple', max_length: length, actual_length: value.length },
    });
  }
  const issues: ValidationIssue[] = [];
  const out: number[] = [];
  for (let i = 0; i < length; i += 1) {
    if (i >= value.length) {
      issues.push(missing([...loc, i], value));
      continue;
    }
    const item = checkFloat(value[i], [...loc, i]);
    if (item.ok) out.push(item.value);
    else issues.push(...item.issues);
  }
  return issues.length > 0 ? fail(...issues) : pass(out);
}

function checkAntennas(value: unknown, loc: Loc): Checked<Antennas | undefined> {
  if (value === undefined || value === null) return pass(undefined);
  const tuple = checkFloatTuple(value, loc, 2);
  return tuple.ok ? pass([tuple.value[0] ?? 0, tuple.value[1] ?? 0]) : tuple;
}

const XYZRPY_FIELDS = ['x', 'y', 'z', 'roll', 'pitch', 'yaw'] as const;

/**
 * `AnyPose = XYZRPYPose | Matrix4x4Pose` in pydantic smart mode: a valid `m` wins; otherwise the
 * XYZRPY member, whose fields default to 0 and which ignores unknown keys — so `{}` and even
 * `{"m":[1,2]}` mean identity, as on the daemon.
 */
export function checkPose(value: unknown, loc: Loc): Checked<Mat4 | undefined> {
  if (value === undefined || value === null) return pass(undefined);
  if (!isRecord(value)) return fail(notAnObject([...loc, 'XYZRPYPose'], value), notAnObject([...loc, 'Matrix4x4Pose'], value));
  const matrix = 'm' in value ? checkFloatTuple(value.m, [...loc, 'Matrix4x4Pose', 'm'], 16) : fail<number[]>(missing([...loc, 'Matrix4x4Pose', 'm'], value));
  if (matrix.ok) return pass(matrix.value);
  const issues: ValidationIssue[] = [];
  const xyzrpy = { x: 0, y: 0, z: 0, roll: 0, pitch: 0, yaw: 0 };
  for (const field of XYZRPY_FIELDS) {
    if (value[field] === undefined) continue;
    const checked = checkFloat(value[field], [...loc, 'XYZRPYPose', field]);
    if (checked.ok) xyzrpy[field] = checked.value;
    else issues.push(...checked.issues);
  }
  if (issues.length === 0) return pass(poseFromXyzRpy(xyzrpy));
  return fail(...issues, ...matrix.issues);
}

function collect(...checks: Checked<unknown>[]): ValidationIssue[] {
  return checks.flatMap((check) => (check.ok ? [] : check.issues));
}

export interface GotoRequest {
  readonly head: Mat4 | undefined;
  readonly antennas: Antennas | undefined;
  readonly bodyYaw: number | undefined;
  readonly duration: number;
  readonly interpolation: InterpolationMethod;
}

/** `GotoModelRequest`: `duration` required, `interpolation` an enum defaulting to minjerk. */
export function checkGotoRequest(body: unknown, loc: Loc): Checked<GotoRequest> {
  if (!isRecord(body)) return fail(notAnObject(loc, body));
  const head = checkPose(body.head_pose, [...loc, 'head_pose']);
  const antennas = checkAntennas(body.antennas, [...loc, 'antennas']);
  const bodyYaw = checkOptionalFloat(body.body_yaw, [...loc, 'body_yaw']);
  const duration = body.duration === undefined ? fail<number>(missing([...loc, 'duration'], body)) : checkFloat(body.duration, [...loc, 'duration']);
  const rawMethod = body.interpolation ?? 'minjerk';
  const method: Checked<InterpolationMethod> = (INTERPOLATION_METHODS as readonly unknown[]).includes(rawMethod)
    ? pass(rawMethod as InterpolationMethod)
    : fail(enumIssue([...loc, 'interpolation'], rawMethod, INTERPOLATION_METHODS));
  const issues = collect(head, antennas, bodyYaw, duration, method);
  if (!head.ok || !antennas.ok || !bodyYaw.ok || !duration.ok || !method.ok) return fail(...issues);
  return pass({ head: head.value, antennas: antennas.value, bodyYaw: bodyYaw.value, duration: duration.value, interpolation: method.value });
}

export interface FullBodyTarget {
  readonly head: Mat4 | undefined;
  readonly antennas: Antennas | undefined;
  readonly bodyYaw: number | undefined;
}

function checkOptionalDatetime(value: unknown, loc: Loc): Checked<undefined> {
  if (value === undefined || value === null) return pass(undefined);
  if (typeof value === 'number' && Number.isFinite(value)) return pass(undefined);
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return pass(undefined);
  return fail({ type: 'datetime_from_date_parsing', loc, msg: 'Input should be a valid datetime or date', input: value });
}

/** `FullBodyTarget`: every field optional (`target_*`, `timestamp`). */
export function checkFullBodyTarget(body: unknown, loc: Loc): Checked<FullBodyTarget> {
  if (!isRecord(body)) return fail(notAnObject(loc, body));
  const head = checkPose(body.target_head_pose, [...loc, 'target_head_pose']);
  const antennas = checkAntennas(body.target_antennas, [...loc, 'target_antennas']);
  const bodyYaw = checkOptionalFloat(body.target_body_yaw, [...loc, 'target_body_yaw']);
  const timestamp = checkOptionalDatetime(body.timestamp, [...loc, 'timestamp']);
  if (!head.ok || !antennas.ok || !bodyYaw.ok || !timestamp.ok) return fail(...collect(head, antennas, bodyYaw, timestamp));
  return pass({ head: head.value, antennas: antennas.value, bodyYaw: bodyYaw.value });
}

const UUID_HEX = /^[0-9a-f]{32}$/;

/** Pydantic UUID: simple, hyphenated, braced or `urn:uuid:` forms; returned hyphenated, lowercase. */
export function checkUuid(value: unknown, loc: Loc): Checked<string> {
  if (typeof value !== 'string') return fail({ type: 'uuid_type', loc, msg: 'UUID input should be a string, bytes or UUID object', input: value });
  const stripped = value.toLowerCase().replace(/^urn:uuid:/, '').replace(/^\{(.*)\}$/, '$1');
  const hyphenated = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(stripped);
  const hex = stripped.replaceAll('-', '');
  if ((hyphenated || !stripped.includes('-')) && UUID_HEX.test(hex)) {
    return pass(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
  }
  const badIndex = [...stripped].findIndex((c) => !/[0-9a-f-]/.test(c));
  const error = badIndex >= 0
    ? `invalid character: expected an optional prefix of \`urn:uuid:\` followed by [0-9a-fA-F-], found \`${stripped[badIndex] ?? ''}\` at ${badIndex + 1}`
    : `invalid group count: expected 5, found ${stripped.split('-').length}`;
  return fail({ type: 'uuid_parsing', loc, msg: `Input should be a valid UUID, ${error}`, input: value, ctx: { error } });
}

/** `MoveUUID` body of `/api/move/stop`. */
export function checkMoveUuid(body: unknown, loc: Loc): Checked<string> {
  if (!isRecord(body)) return fail(notAnObject(loc, body));
  if (body.uuid === undefined) return fail(missing([...loc, 'uuid'], body));
  return checkUuid(body.uuid, [...loc, 'uuid']);
}

function checkString(value: unknown, loc: Loc): Checked<string> {
  return typeof value === 'string' ? pass(value) : fail({ type: 'string_type', loc, msg: 'Input should be a valid string', input: value });
}

/** A model with one required string field (`PlaySoundRequest.file`, `RobotNameRequest.name`). */
export function checkStringField(body: unknown, loc: Loc, field: string): Checked<string> {
  if (!isRecord(body)) return fail(notAnObject(loc, body));
  if (body[field] === undefined) return fail(missing([...loc, field], body));
  return checkString(body[field], [...loc, field]);
}

export function checkRobotName(body: unknown, loc: Loc): Checked<string> {
  const name = checkStringField(body, loc, 'name');
  if (!name.ok) return name;
  const at = [...loc, 'name'];
  if (name.value.length < ROBOT_NAME_MIN) {
    return fail({ type: 'string_too_short', loc: at, msg: 'String should have at least 1 character', input: name.value, ctx: { min_length: ROBOT_NAME_MIN } });
  }
  if (name.value.length > ROBOT_NAME_MAX) {
    return fail({ type: 'string_too_long', loc: at, msg: `String should have at most ${ROBOT_NAME_MAX} characters`, input: name.value, ctx: { max_length: ROBOT_NAME_MAX } });
  }
  return name;
}

/** The path parameter of `/api/motors/set_mode/{mode}`. */
export function checkMotorMode(value: string): Checked<MotorMode> {
  return (MOTOR_MODES as readonly string[]).includes(value) ? pass(value as MotorMode) : fail(enumIssue(['path', 'mode'], value, MOTOR_MODES));
}

const BOOL_TRUE = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const BOOL_FALSE = new Set(['0', 'off', 'f', 'false', 'n', 'no']);

/** A boolean query parameter; `fallback` undefined makes it required (`loc: ["query", name]`). */
export function checkQueryBool(query: URLSearchParams, name: string, fallback: boolean | undefined): Checked<boolean> {
  const raw = query.get(name);
  if (raw === null) return fallback === undefined ? fail(missing(['query', name], null)) : pass(fallback);
  const lowered = raw.toLowerCase();
  if (BOOL_TRUE.has(lowered)) return pass(true);
  if (BOOL_FALSE.has(lowered)) return pass(false);
  return fail({ type: 'bool_parsing', loc: ['query', name], msg: 'Input should be a valid boolean, unable to interpret input', input: raw });
}

export function checkQueryFloat(query: URLSearchParams, name: string, fallback: number): Checked<number> {
  const raw = query.get(name);
  return raw === null ? pass(fallback) : checkFloat(raw, ['query', name]);
}

/** Python `repr` of a JSON value, for pydantic's `input_value=` text. */
function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (isRecord(value)) return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  return String(value);
}

function pyType(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return Array.isArray(value) ? 'list' : 'dict';
}

/** `str(ValidationError)`: what `/api/move/ws/set_target` sends back in `detail`. */
export function formatValidationError(model: string, issues: readonly ValidationIssue[]): string {
  const count = `${issues.length} validation error${issues.length === 1 ? '' : 's'} for ${model}`;
  const lines = issues.map((issue) => {
    const where = issue.loc.length > 0 ? `${issue.loc.join('.')}\n` : '';
    return `${where}  ${issue.msg} [type=${issue.type}, input_value=${pyRepr(issue.input)}, input_type=${pyType(issue.input)}]\n`
      + `    For further information visit https://errors.pydantic.dev/${PYDANTIC_DOCS_VERSION}/v/${issue.type}`;
  });
  return [count, ...lines].join('\n');
}

/** The `json_invalid` issue of a body that is not JSON (FastAPI: `loc: ["body", position]`). */
export function invalidJsonIssue(loc: Loc, position: number, error: string): ValidationIssue {
  return { type: 'json_invalid', loc: [...loc, position], msg: 'JSON decode error', input: {}, ctx: { error } };
}
