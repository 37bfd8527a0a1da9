// What a settings apply does to the live safety policy: only the fields whose CONFIGURED value
// changed (the configuration before the apply against the one after) are written, on top of the
// policy in force, so a supervisor's run-time changes (set_safety_policy) to every other field
// survive. A field is one limit: an envelope bound (one axis's min or max), a speed limit or speed
// policy, a rate class, the dead-man time, the approval timeout, one function's place in the
// approval list. Pure. Does not validate the configured documents (config and startPolicy do), nor
// send or audit the result (the driver sends it to the root, which audits it as policy_changed).
import { isRecord } from '../protocol/json-object.ts';
import { ENVELOPE_AXES, frozenDeep, policyDocument, type SafetyPolicy } from './safety-policy.ts';

export interface ConfiguredPolicyChange {
  /** The policy to put in force: the live one with the configuration's changes written on it. */
  readonly policy: SafetyPolicy;
  /** The changed fields by path (`approval.timeout_s`, `envelope.head_yaw_deg.max`, `approval.functions`). */
  readonly fields: ReadonlyArray<string>;
}

type Doc = Record<string, unknown>;

/** The approval list is changed by membership: the names the configuration added or removed, no others. */
const APPROVAL_FUNCTIONS = 'approval.functions';

/** Paths where two configured documents differ, down to single values (a list counts as one value). */
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

/** The live list plus the names the configuration added, minus those it removed. */
function approvalFunctions(live: ReadonlyArray<string>, before: ReadonlyArray<string>, after: ReadonlyArray<string>): string[] {
  const removed = new Set(before.filter((name) => !after.includes(name)));
  const added = after.filter((name) => !before.includes(name));
  return [...new Set([...live, ...added])].filter((name) => !removed.has(name));
}

/**
 * A configured bound moved past the live other bound (the supervisor narrowed max to 10, the
 * operator set min to 20): no range keeps both, so that axis takes the configured range whole —
 * the operator changed that very axis.
 */
function orderedAxes(doc: Doc, after: Doc): void {
  for (const axis of ENVELOPE_AXES) {
    const range = valueAt(doc, ['envelope', axis]) as { min: number; max: number };
    if (range.min > range.max) setAt(doc, ['envelope', axis], valueAt(after, ['envelope', axis]));
  }
}

/** The live policy with the fields that changed between `configuredBefore` and `configuredAfter` set to the latter's values. */
export function withConfiguredChanges(live: SafetyPolicy, configuredBefore: SafetyPolicy, configuredAfter: SafetyPolicy): ConfiguredPolicyChange {
  const before = policyDocument(configuredBefore);
  const after = policyDocument(configuredAfter);
  const doc = policyDocument(live);
  const paths = changedPaths(before, after);
  for (const path of paths) {
    const value = path.join('.') === APPROVAL_FUNCTIONS ? approvalFunctions(live.approval.functions, configuredBefore.approval.functions, configuredAfter.approval.functions) : valueAt(after, path);
    setAt(doc, path, value);
  }
  orderedAxes(doc, after);
  return { policy: frozenDeep(doc) as unknown as SafetyPolicy, fields: paths.map((path) => path.join('.')) };
}
