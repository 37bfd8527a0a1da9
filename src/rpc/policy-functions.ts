// The safety policy's RPC functions (README "Safety policy"): `get_safety_policy`, a read any
// caller may make, and `set_safety_policy`, served only on the `.supervisor` subject, which takes
// the whole policy as one document, validated by src/safety/safety-policy.ts before the root sees
// it. Owns their advertised definitions and the parameter decoding; the root applies and audits.
import * as Result from 'effect/Result';
import { InvalidParams } from '../errors.ts';
import { validatePolicy, type SafetyPolicy } from '../safety/safety-policy.ts';
import { actingOwner, defineFunction, OWNER_MAX_LENGTH, OWNER_PATTERN, OWNER_TEXT } from './function-def.ts';
import { defineParams, unknownParamIssues, type ParamsSpec } from './params.ts';

export const getSafetyPolicy = defineFunction({
  name: 'get_safety_policy',
  description:
    'The safety policy in force, as one document: envelope (per-axis {min,max} in degrees/mm inside the mechanical ranges; calls outside are refused with OutsideEnvelope), speed (head_deg_per_s, head_translation_mm_per_s, body_deg_per_s, antenna_deg_per_s; goto_policy refuse|stretch; realtime_policy ramp|refuse), rate_limits (calls per second per caller: motion, audio, capture; null = none), deadman_ms (null = off) and approval (functions held for a human, timeout_s). Read-only.',
  labels: { direction: 'read', safety: 'informational' },
  params: defineParams({}),
  toEvent: (_p, call) => ({ type: 'rpc.get_safety_policy' as const, requestId: call.requestId }),
  timeoutMs: 2_000,
  sharedRead: true,
});

/** Longest `reason` kept in the audit trail. */
const MAX_REASON_LENGTH = 200;
/** The parameters set_safety_policy takes (its advertised schema's properties). */
const SET_POLICY_PARAMS: ReadonlyArray<string> = ['policy', 'reason', 'owner'];

interface SetPolicyParams {
  readonly policy: SafetyPolicy;
  readonly reason: string;
  readonly owner: string;
}

/** Decodes `{policy, reason?, owner?}`: the document through the policy's one validation. */
function setPolicyParams(approvable: ReadonlySet<string>): ParamsSpec<SetPolicyParams> {
  return {
    jsonSchema: Object.freeze({
      type: 'object',
      properties: {
        policy: { type: 'object', description: 'The whole policy document, as get_safety_policy returns it (envelope, speed, rate_limits, deadman_ms, approval).' },
        reason: { type: 'string', description: 'Why (kept in the audit trail).', default: 'policy change' },
        owner: { type: 'string', description: 'Who is acting (for the audit trail).', default: 'supervisor' },
      },
      required: ['policy'],
    }),
    decode(input) {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        return Result.fail(new InvalidParams({ message: 'Invalid params: params must be a JSON object of named parameters', issues: [{ parameter: 'params', problem: 'must be a JSON object of named parameters' }] }));
      }
      const p = input as Record<string, unknown>;
      const issues: Array<{ parameter: string; problem: string }> = [];
      issues.push(...unknownParamIssues(Object.keys(p).filter((key) => !SET_POLICY_PARAMS.includes(key)), SET_POLICY_PARAMS));
      const reason = p.reason ?? 'policy change';
      if (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH) issues.push({ parameter: 'reason', problem: `must be a string of at most ${MAX_REASON_LENGTH} characters` });
      const owner = p.owner ?? 'supervisor';
      if (typeof owner !== 'string' || !OWNER_PATTERN.test(owner)) issues.push({ parameter: 'owner', problem: `must be 1–${OWNER_MAX_LENGTH} ${OWNER_TEXT}` });
      if (p.policy === undefined) issues.push({ parameter: 'policy', problem: 'is required' });
      const checked = p.policy === undefined ? null : validatePolicy(p.policy, approvable);
      if (checked && !checked.ok) issues.push(...checked.error.issues.map((i) => ({ parameter: `policy.${i.parameter}`, problem: i.problem })));
      if (issues.length > 0 || !checked || !checked.ok) return Result.fail(new InvalidParams({ message: `Invalid params: ${issues.map((i) => `${i.parameter} ${i.problem}`).join('; ')}`, issues }));
      return Result.succeed({ policy: checked.policy, reason: reason as string, owner: owner as string });
    },
  };
}

/** `set_safety_policy` for a device whose approvable functions are `approvable` (supervisor subject only). */
export function setSafetyPolicyFunction(approvable: ReadonlySet<string>) {
  return defineFunction({
    name: 'set_safety_policy',
    description: 'Replace the whole safety policy with a validated document (as get_safety_policy returns it). Applied at once and audited with who, before and after; the advertised parameter ranges follow the new envelope. Supervisor subject only.',
    labels: { direction: 'write', safety: 'critical' },
    params: setPolicyParams(approvable),
    toEvent: (p, call) => ({ type: 'supervisor.set_safety_policy' as const, requestId: call.requestId, policy: p.policy, reason: p.reason, owner: actingOwner(p.owner, call) }),
  });
}
