// What a settings apply does to the live safety policy. Only the fields whose CONFIGURED value changed
// are touched, so a supervisor's run-time changes (set_safety_policy) to every other field survive. A
// changed field that the save narrowed takes the stricter of the value in force and the saved one; a
// field it widened takes the saved value. An axis left with min above max is refused (PolicyConflict),
// nothing applied. A field is one envelope bound, speed limit or speed policy, rate class, the
// dead-man, the approval timeout, or one function's place in the approval list. Pure: does not
// validate the documents (config and startPolicy do), nor send or audit the result (the driver does).
import { PolicyConflict } from '../errors.ts';
import { isRecord } from '../protocol/json-object.ts';
import { ENVELOPE_AXES, frozenDeep, policyDocument, type AxisRange, type EnvelopeAxis, type SafetyPolicy } from './safety-policy.ts';

/** The policy to put in force and every path (`envelope.head_yaw_deg.max`, `approval.functions`…) whose live value it changes; or the refusal. */
export type ConfiguredPolicyChange = { readonly ok: true; readonly policy: SafetyPolicy; readonly fields: ReadonlyArray<string> } | { readonly ok: false; readonly error: PolicyConflict };

/** Who set each envelope axis in force (set_safety_policy's owner, `settings`); an axis absent: the start-up configuration. */
export type EnvelopeSetBy = Readonly<Partial<Record<EnvelopeAxis, string>>>;

type Doc = Record<string, unknown>;
/** How strict a value of one field is: higher is stricter. */
type Strictness = (value: unknown) => number;

/** The approval list is changed by membership: the names the configuration added or removed, no others. */
const APPROVAL_FUNCTIONS = 'approval.functions';

/** Who set an axis no set_safety_policy changed since start. */
const SET_BY_CONFIGURATION = 'configuration';
/** An envelope `min`: a higher floor allows less. */
const floor: Strictness = (value) => value as number;
/** An envelope `max`, a speed limit, a rate limit, the dead-man time: lower allows less; null (no limit, dead-man off) allows most. */
const ceiling: Strictness = (value) => (value === null ? -Infinity : -(value as number));
/** A choice between two behaviours: the later one in `order` allows less. */
const ordered =
  (order: ReadonlyArray<string>): Strictness =>
  (value) =>
    order.indexOf(value as string);

/**
 * Fields that are not bounds. `refuse` allows less than `stretch` (a goto over the limit is not
 * made) and than `ramp`. The approval timeout is no limit: a held call waits for a human's decision
 * however long it is, so no value of it lets more through; the saved value applies.
 */
const STRICTNESS: Readonly<Record<string, Strictness | undefined>> = {
  'speed.goto_policy': ordered(['stretch', 'refuse']),
  'speed.realtime_policy': ordered(['ramp', 'refuse']),
  'approval.timeout_s': undefined,
};

function strictnessOf(path: ReadonlyArray<string>): Strictness | undefined {
  const key = path.join('.');
  if (key in STRICTNESS) return STRICTNESS[key];
  return path[path.length - 1] === 'min' ? floor : ceiling;
}

/** Paths where two documents differ, down to single values (a list counts as one value). */
function changedPaths(before: unknown, after: unknown, path: ReadonlyArray<string> = []): string[][] {
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    return [...keys].flatMap((key) => changedPaths(before[key], after[key], [...path, key]));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [[...path]];
}

function valueAt(doc: unknown, path: ReadonlyArray<string>): unknown {
  return path.reduce<unknown>((at, key) => (isRecord(at) ? at[key] : undefined), doc);
}

function setAt(doc: Doc, path: ReadonlyArray<string>, value: unknown): void {
  const parent = valueAt(doc, path.slice(0, -1)) as Doc;
  parent[path[path.length - 1]!] = value;
}

/** The live list plus the names the configuration added (held: stricter), minus those it removed (released: the operator's intent). */
function approvalFunctions(live: ReadonlyArray<string>, before: ReadonlyArray<string>, after: ReadonlyArray<string>): string[] {
  const removed = new Set(before.filter((name) => !after.includes(name)));
  const added = after.filter((name) => !before.includes(name));
  return [...new Set([...live, ...added])].filter((name) => !removed.has(name));
}

/** One changed field's value in force: a narrowing save never loosens the live value; a widening one puts the saved value in force. */
function decidedValue(path: ReadonlyArray<string>, live: Doc, before: Doc, after: Doc): unknown {
  const [liveValue, beforeValue, afterValue] = [valueAt(live, path), valueAt(before, path), valueAt(after, path)];
  const strictness = strictnessOf(path);
  const narrows = strictness !== undefined && strictness(afterValue) > strictness(beforeValue);
  return narrows && strictness(liveValue) > strictness(afterValue) ? liveValue : afterValue;
}

/** The first axis of `doc` left with min above max, as the refusal; undefined when every axis holds a range. */
function crossedAxis(doc: Doc, live: SafetyPolicy, after: SafetyPolicy, liveSetBy: EnvelopeSetBy): PolicyConflict | undefined {
  const axis = ENVELOPE_AXES.find((name) => {
    const range = valueAt(doc, ['envelope', name]) as AxisRange;
    return range.min > range.max;
  });
  if (axis === undefined) return undefined;
  const [saved, inForce, setBy] = [after.envelope[axis], live.envelope[axis], liveSetBy[axis] ?? SET_BY_CONFIGURATION];
  const message = `settings not applied: ${axis} would be left with no range (saved [${saved.min}, ${saved.max}], in force [${inForce.min}, ${inForce.max}] set by ${setBy}); save a range that overlaps the one in force, or have the supervisor widen it with set_safety_policy first`;
  return new PolicyConflict({ message, axis, saved, in_force: inForce, set_by: setBy });
}

/** The live policy (its axes set by `liveSetBy`) with the fields that changed between `configuredBefore` and `configuredAfter` decided as above. */
export function withConfiguredChanges(live: SafetyPolicy, configuredBefore: SafetyPolicy, configuredAfter: SafetyPolicy, liveSetBy: EnvelopeSetBy): ConfiguredPolicyChange {
  const [before, after, liveDoc, doc] = [policyDocument(configuredBefore), policyDocument(configuredAfter), policyDocument(live), policyDocument(live)];
  for (const path of changedPaths(before, after)) {
    const value = path.join('.') === APPROVAL_FUNCTIONS ? approvalFunctions(live.approval.functions, configuredBefore.approval.functions, configuredAfter.approval.functions) : decidedValue(path, liveDoc, before, after);
    setAt(doc, path, value);
  }
  const conflict = crossedAxis(doc, live, configuredAfter, liveSetBy);
  if (conflict) return { ok: false, error: conflict };
  return { ok: true, policy: frozenDeep(doc) as unknown as SafetyPolicy, fields: changedPaths(liveDoc, doc).map((path) => path.join('.')) };
}
