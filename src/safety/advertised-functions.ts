// The function definitions the device advertises on the mesh under the safety envelope in force
// (README "Safety envelope", issue 14 item 1): each motion parameter's JSON-schema `minimum` and
// `maximum` become its axis's envelope range, so agents see what will be accepted. Pure. Does not
// change decoding: the gate decodes with the mechanical bounds (outside them: InvalidParams) and
// the envelope check refuses the rest (OutsideEnvelope). Descriptions point at the advertised
// minimum/maximum instead of stating numbers (src/rpc/robot-functions.ts).
import type { AnyRpcFunction } from '../rpc/function-def.ts';
import type { ParametersJsonSchema } from '../rpc/params.ts';
import type { Envelope, EnvelopeAxis, SafetyPolicy } from './safety-policy.ts';

const HEAD_PARAMS = { x_mm: 'head_x_mm', y_mm: 'head_y_mm', z_mm: 'head_z_mm', roll: 'head_roll_deg', pitch: 'head_pitch_deg', yaw: 'head_yaw_deg' } as const;

/** For each motion function: parameter → envelope axis (look_at_point's parameters are a point, not axes). */
export const PARAMETER_AXES: Readonly<Record<string, Readonly<Record<string, EnvelopeAxis>>>> = Object.freeze({
  look_at_world: HEAD_PARAMS,
  goto_pose: { ...HEAD_PARAMS, antennas_left: 'antenna_left_deg', antennas_right: 'antenna_right_deg', body_yaw_deg: 'body_yaw_deg' },
  set_body_yaw: { yaw_deg: 'body_yaw_deg' },
  antenna_pose: { left: 'antenna_left_deg', right: 'antenna_right_deg' },
});

/** `schema` with each mapped parameter's minimum/maximum set to its axis's range. */
function narrowedSchema(schema: ParametersJsonSchema, axes: Readonly<Record<string, EnvelopeAxis>>, envelope: Envelope): ParametersJsonSchema {
  const properties: Record<string, Record<string, unknown>> = {};
  for (const [name, property] of Object.entries(schema.properties)) {
    const axis = axes[name];
    properties[name] = axis ? { ...property, minimum: envelope[axis].min, maximum: envelope[axis].max } : property;
  }
  return Object.freeze({ ...schema, properties });
}

/** The functions as advertised under `policy`: motion parameters carry the envelope's range; the rest unchanged. */
export function advertisedFunctions(functions: ReadonlyArray<AnyRpcFunction>, policy: Pick<SafetyPolicy, 'envelope'>): ReadonlyArray<AnyRpcFunction> {
  return functions.map((fn) => {
    const axes = PARAMETER_AXES[fn.name];
    if (!axes) return fn;
    return { ...fn, params: { ...fn.params, jsonSchema: narrowedSchema(fn.params.jsonSchema, axes, policy.envelope) } };
  });
}

/** Whether two envelopes have the same ranges (a policy change that keeps them needs no re-advertising). */
export function sameEnvelope(a: Envelope, b: Envelope): boolean {
  return (Object.keys(a) as EnvelopeAxis[]).every((axis) => a[axis].min === b[axis].min && a[axis].max === b[axis].max);
}
