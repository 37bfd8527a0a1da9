// Parameter schemas: one Effect Schema validates calls and generates the advertised JSON schema.
// Bad input (out of range, NaN, ±Infinity, numeric strings, unknown fields, missing required)
// is refused with a message naming the parameter and the allowed range; nothing is clamped.
import { Result } from 'effect';
import { describe, expect, test } from 'vitest';
import { encodeError } from '../../src/protocol/json-rpc.ts';
import {
  booleanParam, defineParams, enumParam, integerParam, MAX_UNKNOWN_PARAM_NAME_CHARS, MAX_UNKNOWN_PARAMS_NAMED, numberParam, stringParam,
} from '../../src/rpc/params.ts';

const spec = defineParams({
  pitch: numberParam({ description: 'Head pitch in degrees (positive looks down).', minimum: -30, maximum: 30, default: 0, unit: 'degrees' }),
  yaw_deg: numberParam({ description: 'Body yaw in degrees.', minimum: -160, maximum: 160, unit: 'degrees' }),
  count: integerParam({ description: 'How many.', minimum: 1, maximum: 5, default: 1 }),
  owner: stringParam({ description: 'Caller name.', default: 'agent', maxLength: 64 }),
  mode: enumParam(['linear', 'minjerk'], { description: 'Interpolation.', default: 'minjerk' }),
  wait: booleanParam({ description: 'Wait for completion.', default: false }),
});

function failure(input: unknown): string {
  const r = spec.decode(input);
  if (Result.isSuccess(r)) throw new Error(`expected a failure for ${JSON.stringify(input)}`);
  return r.failure.message;
}

describe('advertised schema', () => {
  test('has the Device Connect shape with descriptions, defaults and ranges', () => {
    expect(spec.jsonSchema).toEqual({
      type: 'object',
      properties: {
        pitch: { type: 'number', description: 'Head pitch in degrees (positive looks down).', default: 0, minimum: -30, maximum: 30 },
        yaw_deg: { type: 'number', description: 'Body yaw in degrees.', minimum: -160, maximum: 160 },
        count: { type: 'integer', description: 'How many.', default: 1, minimum: 1, maximum: 5 },
        owner: { type: 'string', description: 'Caller name.', default: 'agent', maxLength: 64 },
        mode: { type: 'string', enum: ['linear', 'minjerk'], description: 'Interpolation.', default: 'minjerk' },
        wait: { type: 'boolean', description: 'Wait for completion.', default: false },
      },
      required: ['yaw_deg'],
    });
  });
});

describe('decoding', () => {
  test('fills defaults and keeps valid values, bounds inclusive', () => {
    const r = spec.decode({ yaw_deg: 160, pitch: -30 });
    expect(Result.isSuccess(r) && r.success).toEqual({ pitch: -30, yaw_deg: 160, count: 1, owner: 'agent', mode: 'minjerk', wait: false });
  });

  test.each([
    [{ yaw_deg: 160.0001 }, 'yaw_deg must be a finite number in [-160, 160] degrees'],
    [{ yaw_deg: 0, pitch: 31 }, 'pitch must be a finite number in [-30, 30] degrees'],
    [{ yaw_deg: Number.NaN }, 'yaw_deg must be a finite number in [-160, 160] degrees'],
    [{ yaw_deg: Number.POSITIVE_INFINITY }, 'yaw_deg must be a finite number in [-160, 160] degrees'],
    [{ yaw_deg: '10' }, 'yaw_deg must be a finite number in [-160, 160] degrees'],
    [{ yaw_deg: 0, count: 2.5 }, 'count must be an integer in [1, 5]'],
    [{ yaw_deg: 0, mode: 'cubic' }, 'mode must be one of "linear", "minjerk"'],
    [{ yaw_deg: 0, wait: 'yes' }, 'wait must be true or false'],
    [{ yaw_deg: 0, owner: 'x'.repeat(65) }, 'owner must be a string of at most 64 characters'],
    [{}, 'yaw_deg is required'],
    [{ yaw_deg: 0, bogus: 1 }, 'bogus is not a parameter of this function'],
  ])('%j → %s', (input, message) => {
    expect(failure(input)).toContain(message);
  });

  test('JSON cannot carry NaN, but a decoded NaN from elsewhere is still refused', () => {
    expect(JSON.parse(JSON.stringify({ v: Number.NaN })).v).toBeNull();
    expect(failure({ yaw_deg: null })).toContain('yaw_deg must be a finite number');
  });

  test('a function without parameters: none given decodes to the same frozen empty answer each time; anything else is refused', () => {
    const none = defineParams({});
    const first = none.decode({});
    expect(Result.isSuccess(first) && first.success).toEqual({});
    expect(none.decode({}), 'decoded once, shared').toBe(first);
    expect(Result.isSuccess(first) && Object.isFrozen(first.success)).toBe(true);
    const extra = none.decode({ bogus: 1 });
    expect(Result.isFailure(extra) && extra.failure.message).toContain('bogus is not a parameter of this function (known: none)');
    for (const notNamed of ['x', [], null, 3]) {
      const r = none.decode(notNamed);
      expect(Result.isFailure(r) && r.failure.message, JSON.stringify(notNamed)).toBe('Invalid params: params must be a JSON object of named parameters');
    }
  });

  test('reports every bad parameter at once', () => {
    const r = spec.decode({ yaw_deg: 999, pitch: 99 });
    expect(Result.isFailure(r) && r.failure.issues.map((i) => i.parameter)).toEqual(['pitch', 'yaw_deg']);
  });

  test('10,000 unknown keys: the reply names the first few and the known ones once, and stays small', () => {
    const params: Record<string, unknown> = { yaw_deg: 0 };
    for (let i = 0; i < 10_000; i++) params[`k${i}`] = i;
    const r = spec.decode(params);
    if (Result.isSuccess(r)) throw new Error('expected a refusal');
    const reply = encodeError(7, r.failure, 'look');
    // Before: one issue per key, each repeating the known list, twice over (~2 MB for these 10,000).
    expect(Buffer.byteLength(reply)).toBeLessThan(2_000);
    expect(r.failure.message).toBe(
      `Invalid params: k0, k1, k2, k3, k4 and 9995 more are not parameters of this function (known: pitch, yaw_deg, count, owner, mode, wait)`,
    );
    expect(r.failure.issues).toHaveLength(MAX_UNKNOWN_PARAMS_NAMED + 1);
    expect(r.failure.issues[0]).toEqual({ parameter: 'k0', problem: 'is not a parameter of this function (known: pitch, yaw_deg, count, owner, mode, wait)' });
    expect(r.failure.issues.at(-1)).toEqual({ parameter: 'params', problem: 'has 9995 more unknown keys' });
  });

  test('an unknown key of a megabyte is quoted cut', () => {
    const r = spec.decode({ yaw_deg: 0, ['x'.repeat(1 << 20)]: 1 });
    if (Result.isSuccess(r)) throw new Error('expected a refusal');
    expect(r.failure.issues).toEqual([{ parameter: `${'x'.repeat(MAX_UNKNOWN_PARAM_NAME_CHARS)}…`, problem: expect.stringContaining('is not a parameter') }]);
    expect(Buffer.byteLength(encodeError(8, r.failure, 'look'))).toBeLessThan(1_000);
  });
});
