// The operator's safety policy as one document (README "Safety policy"): the envelope (per-axis
// limits inside the mechanical ones), speed limits and what happens above them, per-caller rate
// limits, the dead-man time and the functions that wait for a human's approval. Owns the document's
// shape, defaults, bounds and validation (one function, used by config, set_safety_policy and the
// settings page), and get_safety_policy's answer, built once per policy; pure. Does not enforce
// anything: the root machine keeps the policy in force and the gate, the envelope check, the
// executor's speed limits, the dead-man and approvals read it.
import { InvalidParams } from '../errors.ts';
import { MAX_UNKNOWN_PARAMS_NAMED, quotedKey } from '../rpc/params.ts';
import { DEFAULT_RATE_LIMITS, MAX_RATE_PER_S, RATE_CLASSES, type RateLimits } from '../rpc/rate-limits.ts';
import { isRecord } from '../protocol/json-object.ts';

/** The mechanical (reference, §2.2) range of each axis: an envelope can only narrow these. */
export const MECHANICAL_ENVELOPE = Object.freeze({
  head_x_mm: 50,
  head_y_mm: 50,
  head_z_mm: 50,
  head_roll_deg: 30,
  head_pitch_deg: 30,
  head_yaw_deg: 45,
  /** ±2.8 rad as in the reference (the daemon itself stops at ±160°). */
  body_yaw_deg: (2.8 * 180) / Math.PI,
  antenna_left_deg: 80,
  antenna_right_deg: 80,
});
export type EnvelopeAxis = keyof typeof MECHANICAL_ENVELOPE;
export const ENVELOPE_AXES = Object.keys(MECHANICAL_ENVELOPE) as ReadonlyArray<EnvelopeAxis>;

export interface AxisRange {
  readonly min: number;
  readonly max: number;
}
export type Envelope = Readonly<Record<EnvelopeAxis, AxisRange>>;

/** What a goto above a speed limit gets: refused (`TooFast`) or lengthened to the shortest allowed duration. */
export type GotoSpeedPolicy = 'refuse' | 'stretch';
/** What a realtime target farther than one tick at the limit gets: ramped on the 50 Hz tick, or refused. */
export type RealtimeSpeedPolicy = 'ramp' | 'refuse';

export interface SpeedLimits {
  readonly head_deg_per_s: number;
  readonly head_translation_mm_per_s: number;
  readonly body_deg_per_s: number;
  readonly antenna_deg_per_s: number;
  readonly goto_policy: GotoSpeedPolicy;
  readonly realtime_policy: RealtimeSpeedPolicy;
}

export interface ApprovalPolicy {
  /** Functions held until the supervisor approves them. */
  readonly functions: ReadonlyArray<string>;
  /** A request not decided within this is refused with ApprovalTimeout. */
  readonly timeout_s: number;
}

export interface SafetyPolicy {
  readonly envelope: Envelope;
  readonly speed: SpeedLimits;
  readonly rate_limits: RateLimits;
  /** Milliseconds of silence from the commander after which running motion is stopped; null: off. */
  readonly deadman_ms: number | null;
  readonly approval: ApprovalPolicy;
}

/**
 * Default speed limits, per axis of the head's roll/pitch/yaw, its x/y/z, the body and each antenna.
 * Head 200°/s: a 45° turn in 0.5 s with the min-jerk law (the SDK's usual goto) peaks at 169°/s, so
 * ordinary moves pass while the 1,700°/s of a 0.05 s goto does not. Translation 200 mm/s: the full
 * 50 mm in 0.5 s min-jerk peaks at 188 mm/s. Body 120°/s: the base carries the whole robot; 90° in
 * 1.5 s min-jerk peaks at 113°/s. Antennas 600°/s: they weigh a few grams and expressions wiggle
 * them fast (80° in 0.25 s min-jerk peaks at 600°/s).
 */
export const DEFAULT_SPEED_LIMITS: SpeedLimits = Object.freeze({
  head_deg_per_s: 200,
  head_translation_mm_per_s: 200,
  body_deg_per_s: 120,
  antenna_deg_per_s: 600,
  goto_policy: 'refuse',
  realtime_policy: 'ramp',
});
/** Highest speed limit accepted: above these a limit guards nothing the motors cannot already do. */
export const MAX_SPEED_LIMITS = Object.freeze({ head_deg_per_s: 2_000, head_translation_mm_per_s: 2_000, body_deg_per_s: 1_000, antenna_deg_per_s: 5_000 });
/** Dead-man bounds: below 100 ms a healthy agent on a slow link would trip it; above 10 min it is no dead-man. */
export const MIN_DEADMAN_MS = 100;
export const MAX_DEADMAN_MS = 600_000;
/** Approval wait: 25 s by default, under the 30 s RPC timeout of agent-tools and the MCP bridge, so the caller hears the verdict. */
export const DEFAULT_APPROVAL_TIMEOUT_S = 25;
export const MAX_APPROVAL_TIMEOUT_S = 3_600;
/** Shortest approval wait the start-up configuration may set (flags, env, settings file): a human cannot read and decide in less. */
export const MIN_CONFIGURED_APPROVAL_TIMEOUT_S = 1;
/** A function name as the configuration lists it: the catalogue's names are lower case and underscores. */
export const FUNCTION_NAME_PATTERN = /^[a-z_]{1,64}$/;
/** Functions that are never held for approval: stopping must never wait, and reading the state or the policy is harmless. */
export const NEVER_APPROVED: ReadonlySet<string> = new Set(['stop_motion', 'emergency_stop', 'get_status', 'get_safety_policy']);

export const MECHANICAL_RANGES: Envelope = Object.freeze(
  Object.fromEntries(ENVELOPE_AXES.map((axis) => [axis, Object.freeze({ min: -MECHANICAL_ENVELOPE[axis], max: MECHANICAL_ENVELOPE[axis] })])) as Record<EnvelopeAxis, AxisRange>,
);

export const DEFAULT_SAFETY_POLICY: SafetyPolicy = Object.freeze({
  envelope: MECHANICAL_RANGES,
  speed: DEFAULT_SPEED_LIMITS,
  rate_limits: DEFAULT_RATE_LIMITS,
  deadman_ms: null,
  approval: Object.freeze({ functions: Object.freeze([]), timeout_s: DEFAULT_APPROVAL_TIMEOUT_S }),
});

type Issue = { parameter: string; problem: string };

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Pushes the first MAX_UNKNOWN_PARAMS_NAMED of `found` (as the params check does) and one issue on `where` counting the rest. */
function pushBounded(issues: Issue[], found: ReadonlyArray<Issue>, where: string, rest: string): void {
  issues.push(...found.slice(0, MAX_UNKNOWN_PARAMS_NAMED));
  if (found.length > MAX_UNKNOWN_PARAMS_NAMED) issues.push({ parameter: where, problem: `has ${found.length - MAX_UNKNOWN_PARAMS_NAMED} more ${rest}` });
}

function unknownKeys(doc: Record<string, unknown>, known: ReadonlyArray<string>, path: string, issues: Issue[]): void {
  const problem = `is not a policy field (known: ${known.join(', ')})`;
  const found = Object.keys(doc).filter((key) => !known.includes(key)).map((key) => ({ parameter: `${path}${quotedKey(key)}`, problem }));
  pushBounded(issues, found, path.replace(/\.$/, '') || 'policy', 'unknown fields');
}

/** An envelope: each axis present is `{min, max}` inside the mechanical range; absent axes keep `base`'s. */
export function envelopeFrom(doc: unknown, base: Envelope, path: string, issues: Issue[]): Envelope {
  if (!isRecord(doc)) {
    issues.push({ parameter: path.replace(/\.$/, '') || 'envelope', problem: 'must be an object of axes ({"head_pitch_deg": {"min": -10, "max": 30}, …})' });
    return base;
  }
  unknownKeys(doc, ENVELOPE_AXES, path, issues);
  const out: Record<string, AxisRange> = { ...base };
  for (const axis of ENVELOPE_AXES) {
    const range = doc[axis];
    if (range === undefined) continue;
    const limit = MECHANICAL_ENVELOPE[axis];
    const where = `${path}${axis}`;
    if (!isRecord(range) || !finite(range.min) || !finite(range.max) || Object.keys(range).some((k) => k !== 'min' && k !== 'max')) {
      issues.push({ parameter: where, problem: 'must be {"min": number, "max": number}' });
      continue;
    }
    if (range.min < -limit || range.max > limit) issues.push({ parameter: where, problem: `must stay inside the mechanical range [${-round(limit)}, ${round(limit)}]` });
    else if (range.min > range.max) issues.push({ parameter: where, problem: 'min must not be above max' });
    else out[axis] = Object.freeze({ min: range.min, max: range.max });
  }
  return Object.freeze(out) as Envelope;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function speedFrom(doc: unknown, issues: Issue[]): SpeedLimits {
  if (!isRecord(doc)) {
    issues.push({ parameter: 'speed', problem: 'must be an object' });
    return DEFAULT_SPEED_LIMITS;
  }
  const keys = Object.keys(DEFAULT_SPEED_LIMITS);
  unknownKeys(doc, keys, 'speed.', issues);
  const out: Record<string, unknown> = { ...DEFAULT_SPEED_LIMITS };
  for (const key of Object.keys(MAX_SPEED_LIMITS) as Array<keyof typeof MAX_SPEED_LIMITS>) {
    const v = doc[key];
    if (v === undefined) issues.push({ parameter: `speed.${key}`, problem: 'is required' });
    else if (!finite(v) || v <= 0 || v > MAX_SPEED_LIMITS[key]) issues.push({ parameter: `speed.${key}`, problem: `must be a number above 0 and at most ${MAX_SPEED_LIMITS[key]}` });
    else out[key] = v;
  }
  if (doc.goto_policy !== 'refuse' && doc.goto_policy !== 'stretch') issues.push({ parameter: 'speed.goto_policy', problem: 'must be "refuse" or "stretch"' });
  else out.goto_policy = doc.goto_policy;
  if (doc.realtime_policy !== 'ramp' && doc.realtime_policy !== 'refuse') issues.push({ parameter: 'speed.realtime_policy', problem: 'must be "ramp" or "refuse"' });
  else out.realtime_policy = doc.realtime_policy;
  return Object.freeze(out) as unknown as SpeedLimits;
}

function rateLimitsFrom(doc: unknown, issues: Issue[]): RateLimits {
  if (!isRecord(doc)) {
    issues.push({ parameter: 'rate_limits', problem: 'must be an object ({"motion": 20, "audio": 2, "capture": 10}; null lifts a limit)' });
    return DEFAULT_RATE_LIMITS;
  }
  unknownKeys(doc, RATE_CLASSES, 'rate_limits.', issues);
  const out: Record<string, number | null> = {};
  for (const cls of RATE_CLASSES) {
    const v = doc[cls];
    if (v === null) out[cls] = null;
    else if (!finite(v) || v <= 0 || v > MAX_RATE_PER_S) issues.push({ parameter: `rate_limits.${cls}`, problem: `must be calls per second above 0 and at most ${MAX_RATE_PER_S}, or null (no limit)` });
    else out[cls] = v;
  }
  return Object.freeze({ ...DEFAULT_RATE_LIMITS, ...out });
}

function approvalFrom(doc: unknown, approvable: ReadonlySet<string>, issues: Issue[]): ApprovalPolicy {
  if (!isRecord(doc)) {
    issues.push({ parameter: 'approval', problem: 'must be an object ({"functions": [...], "timeout_s": 25})' });
    return DEFAULT_SAFETY_POLICY.approval;
  }
  unknownKeys(doc, ['functions', 'timeout_s'], 'approval.', issues);
  const functions = doc.functions;
  let names: string[] = [];
  if (!Array.isArray(functions) || functions.some((f) => typeof f !== 'string')) issues.push({ parameter: 'approval.functions', problem: 'must be a list of function names' });
  else {
    names = [...new Set(functions as string[])];
    issues.push(...approvalNameIssues(names, approvable, 'approval.functions'));
  }
  const timeout = doc.timeout_s;
  if (!finite(timeout) || timeout <= 0 || timeout > MAX_APPROVAL_TIMEOUT_S) issues.push({ parameter: 'approval.timeout_s', problem: `must be seconds above 0 and at most ${MAX_APPROVAL_TIMEOUT_S}` });
  return Object.freeze({ functions: Object.freeze(names), timeout_s: finite(timeout) ? timeout : DEFAULT_APPROVAL_TIMEOUT_S });
}

/**
 * THE rule for the functions a policy holds for approval, wherever a list is written
 * (set_safety_policy, the configuration at start and at every apply, the settings page): each name
 * a function of this device that may be held (`approvable`, src/rpc/catalogue.ts
 * APPROVABLE_FUNCTIONS), a name listed twice read once. So a list holds at most `approvable.size`
 * functions: the device's own catalogue is the cap, no number of its own that could disagree with
 * it. The issues of the names refused (bounded), each on `where`; none when all may be held.
 */
export function approvalNameIssues(names: ReadonlyArray<string>, approvable: ReadonlySet<string>, where: string): Array<{ parameter: string; problem: string }> {
  const refused: Issue[] = [];
  for (const name of new Set(names)) {
    if (NEVER_APPROVED.has(name)) refused.push({ parameter: where, problem: `${name} is never held for approval (stops never wait; reads are harmless)` });
    else if (!approvable.has(name)) refused.push({ parameter: where, problem: `${JSON.stringify(quotedKey(name))} is not a function of this device` });
  }
  const issues: Issue[] = [];
  pushBounded(issues, refused, where, 'names refused');
  return issues;
}

/**
 * THE validation of a whole policy document (set_safety_policy, the settings page): every field
 * required, the envelope's axes optional (absent axes keep the mechanical range). `approvable` is
 * the device's function names that may be held for approval.
 */
export function validatePolicy(doc: unknown, approvable: ReadonlySet<string>): { ok: true; policy: SafetyPolicy } | { ok: false; error: InvalidParams } {
  const issues: Issue[] = [];
  if (!isRecord(doc)) issues.push({ parameter: 'policy', problem: 'must be a JSON object (envelope, speed, rate_limits, deadman_ms, approval)' });
  const d = isRecord(doc) ? doc : {};
  if (isRecord(doc)) unknownKeys(doc, ['envelope', 'speed', 'rate_limits', 'deadman_ms', 'approval'], '', issues);
  for (const key of ['envelope', 'speed', 'rate_limits', 'approval'] as const) if (isRecord(doc) && d[key] === undefined) issues.push({ parameter: key, problem: 'is required' });
  const envelope = d.envelope === undefined ? MECHANICAL_RANGES : envelopeFrom(d.envelope, MECHANICAL_RANGES, 'envelope.', issues);
  const speed = d.speed === undefined ? DEFAULT_SPEED_LIMITS : speedFrom(d.speed, issues);
  const rate_limits = d.rate_limits === undefined ? DEFAULT_RATE_LIMITS : rateLimitsFrom(d.rate_limits, issues);
  const deadman = d.deadman_ms;
  if (isRecord(doc) && deadman !== null && (!finite(deadman) || deadman < MIN_DEADMAN_MS || deadman > MAX_DEADMAN_MS)) {
    issues.push({ parameter: 'deadman_ms', problem: `must be milliseconds in [${MIN_DEADMAN_MS}, ${MAX_DEADMAN_MS}], or null (off)` });
  }
  const approval = d.approval === undefined ? DEFAULT_SAFETY_POLICY.approval : approvalFrom(d.approval, approvable, issues);
  if (issues.length > 0) return { ok: false, error: new InvalidParams({ message: `Invalid policy: ${issues.map((i) => `${i.parameter} ${i.problem}`).join('; ')}`, issues }) };
  return { ok: true, policy: Object.freeze({ envelope, speed, rate_limits, deadman_ms: finite(deadman) ? deadman : null, approval }) };
}

/** The policy as plain JSON (what get_safety_policy answers and set_safety_policy accepts back). */
export function policyDocument(policy: SafetyPolicy): Record<string, unknown> {
  return JSON.parse(JSON.stringify(policy)) as Record<string, unknown>;
}

/** `value` and everything in it frozen (a policy document handed on must not change under its readers). */
export function frozenDeep<T>(value: T): T {
  if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) frozenDeep(v);
  return Object.freeze(value);
}

/** get_safety_policy's answer for each policy in force, built once (issue 11): a policy is replaced whole, never changed. */
const answers = new WeakMap<SafetyPolicy, Readonly<{ policy: Record<string, unknown> }>>();

/**
 * `{ policy: policyDocument(policy) }`, the same frozen object for as long as `policy` is in
 * force, so its JSON is encoded once too (src/protocol/result-json.ts) instead of once per call.
 */
export function policyAnswer(policy: SafetyPolicy): Readonly<{ policy: Record<string, unknown> }> {
  let answer = answers.get(policy);
  if (!answer) {
    answer = frozenDeep({ policy: policyDocument(policy) });
    answers.set(policy, answer);
  }
  return answer;
}
