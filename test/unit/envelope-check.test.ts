// The safety envelope's check and advertising (issue 14 item 1), on the real function definitions:
// each call is decoded and turned into its driver event exactly as the gate does, then checked.
// Every axis of every motion function, at and just beyond each bound of a narrowed envelope; the
// mechanical envelope refuses nothing decodable; look_at_point's computed angles and implied zero
// offsets; wake_up/goto_sleep at the poses they go to, against the narrowed bounds only; refusalOf
// answers OutsideEnvelope before any state reason; the advertised schemas carry the envelope's
// range while decoding keeps the mechanical one.
import { Result } from 'effect';
import { describe, expect, test } from 'vitest';
import type { AnyRpcFunction } from '../../src/rpc/function-def.ts';
import { antennaPose, gotoPose, gotoSleep, lookAtPoint, lookAtWorld, ROBOT_FUNCTIONS, setBodyYaw, wakeUp, type MotionRpcEvent } from '../../src/rpc/robot-functions.ts';
import { envelopeRefusal, envelopeViolations, targetFrom } from '../../src/safety/envelope-check.ts';
import { expressionTargets } from '../../src/robot/expressions.ts';
import { advertisedFunctions, sameEnvelope } from '../../src/safety/advertised-functions.ts';
import { ENVELOPE_AXES, MECHANICAL_ENVELOPE, MECHANICAL_RANGES, type Envelope, type EnvelopeAxis } from '../../src/safety/safety-policy.ts';
import { lookAtRpyDeg } from '../../src/robot/look-at.ts';
import { refusalOf, type GateView } from '../../src/machines/driver-policy.ts';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';

/** Just beyond a bound: well above float noise, well below any meaningful angle or offset. */
const STEP = 0.001;

/** Every axis narrowed asymmetrically: [-mechanical/2, +mechanical/3]. */
const NARROW: Envelope = Object.fromEntries(ENVELOPE_AXES.map((a) => [a, { min: -MECHANICAL_ENVELOPE[a] / 2, max: MECHANICAL_ENVELOPE[a] / 3 }])) as unknown as Envelope;

/** The event the gate would send for `fn(params)`: decoded with the function's schema, then toEvent. */
function eventOf(fn: AnyRpcFunction, params: Record<string, unknown>): MotionRpcEvent {
  const decoded = fn.params.decode(params);
  if (!Result.isSuccess(decoded)) throw new Error(`${fn.name}(${JSON.stringify(params)}) did not decode: ${decoded.failure.message}`);
  return fn.toEvent(decoded.success, { requestId: 'r1', function: fn.name, caller: { sourceDevice: null, traceId: null } }) as MotionRpcEvent;
}

/** (function, parameter, axis) for every axis-setting parameter of every motion function. */
const CASES: ReadonlyArray<readonly [AnyRpcFunction, string, EnvelopeAxis, Record<string, unknown>]> = [
  ...(['x_mm', 'y_mm', 'z_mm', 'roll', 'pitch', 'yaw'] as const).flatMap((p) => {
    const axis = `head_${p === 'x_mm' || p === 'y_mm' || p === 'z_mm' ? p : `${p}_deg`}` as EnvelopeAxis;
    return [
      [lookAtWorld, p, axis, {}] as const,
      [gotoPose, p, axis, {}] as const,
    ];
  }),
  [gotoPose, 'antennas_left', 'antenna_left_deg', {}],
  [gotoPose, 'antennas_right', 'antenna_right_deg', {}],
  [gotoPose, 'body_yaw_deg', 'body_yaw_deg', {}],
  [setBodyYaw, 'yaw_deg', 'body_yaw_deg', {}],
  [setBodyYaw, 'yaw_deg', 'body_yaw_deg', { duration_s: 1 }],
  [antennaPose, 'left', 'antenna_left_deg', {}],
  [antennaPose, 'right', 'antenna_right_deg', {}],
];

/** Defaults that sit inside NARROW for the parameters a case does not set (set_body_yaw has no default yaw). */
const BASE: Record<string, Record<string, unknown>> = { set_body_yaw: { yaw_deg: 0 } };

describe('envelopeViolations: every axis of every motion function', () => {
  test('the cases cover every envelope axis', () => {
    expect(new Set(CASES.map(([, , axis]) => axis))).toEqual(new Set(ENVELOPE_AXES));
  });

  test.each(CASES.map(([fn, p, axis, extra]) => [`${fn.name}.${p}${extra.duration_s ? ' (goto)' : ''}`, fn, p, axis, extra] as const))('%s: inside at both bounds, refused just beyond', (_name, fn, p, axis, extra) => {
    const { min, max } = NARROW[axis];
    const check = (value: number) => envelopeViolations(NARROW, eventOf(fn, { ...BASE[fn.name], ...extra, [p]: value }).target);
    expect(check(min)).toEqual([]);
    expect(check(max)).toEqual([]);
    expect(check(0)).toEqual([]);
    expect(check(max + STEP)).toEqual([{ axis, value: max + STEP, min, max }]);
    expect(check(min - STEP)).toEqual([{ axis, value: min - STEP, min, max }]);
    // The mechanical envelope (the default) refuses nothing the parameters accept.
    const mech = MECHANICAL_ENVELOPE[axis];
    expect(envelopeViolations(MECHANICAL_RANGES, eventOf(fn, { ...BASE[fn.name], ...extra, [p]: mech }).target)).toEqual([]);
    expect(envelopeViolations(MECHANICAL_RANGES, eventOf(fn, { ...BASE[fn.name], ...extra, [p]: -mech }).target)).toEqual([]);
  });

  test('a goto_pose beyond several axes names every one of them', () => {
    const target = eventOf(gotoPose, { pitch: 20, body_yaw_deg: -90, antennas_right: 40 }).target;
    expect(envelopeViolations(NARROW, target).map((v) => v.axis)).toEqual(['head_pitch_deg', 'antenna_right_deg', 'body_yaw_deg']);
  });
});

describe('look_at_point: the computed head angles and its zero offsets', () => {
  // A point above the head: looking up is a negative pitch.
  const up = { x_m: 0.5, y_m: 0, z_m: 0.2 };
  const rpy = lookAtRpyDeg(up.x_m, up.y_m, up.z_m);

  test('a point that needs pitch below the envelope minimum is refused on head_pitch_deg', () => {
    expect(rpy.pitch).toBeLessThan(-10);
    const envelope = { ...MECHANICAL_RANGES, head_pitch_deg: { min: -10, max: 30 } };
    expect(envelopeViolations(envelope, eventOf(lookAtPoint, up).target)).toEqual([{ axis: 'head_pitch_deg', value: rpy.pitch, min: -10, max: 30 }]);
    expect(envelopeViolations({ ...envelope, head_pitch_deg: { min: rpy.pitch, max: 30 } }, eventOf(lookAtPoint, up).target)).toEqual([]);
  });

  test('the head yaw it needs is checked too (both realtime and goto)', () => {
    const left = { x_m: 0.5, y_m: 0.3, z_m: 0 };
    const yaw = lookAtRpyDeg(left.x_m, left.y_m, left.z_m).yaw;
    const envelope = { ...MECHANICAL_RANGES, head_yaw_deg: { min: -45, max: 10 } };
    for (const duration_s of [0, 1]) expect(envelopeViolations(envelope, eventOf(lookAtPoint, { ...left, duration_s }).target).map((v) => v.axis)).toEqual(yaw > 10 ? ['head_yaw_deg'] : []);
    expect(yaw).toBeGreaterThan(10);
  });

  test('an envelope that excludes a zero head offset refuses it (look_at_point sends the head with no offset)', () => {
    const envelope = { ...MECHANICAL_RANGES, head_z_mm: { min: 5, max: 20 } };
    expect(envelopeViolations(envelope, eventOf(lookAtPoint, { x_m: 1 }).target)).toEqual([{ axis: 'head_z_mm', value: 0, min: 5, max: 20 }]);
  });
});

describe('never checked and the refusal', () => {
  /** Excludes every position: min and max at the mechanical top. */
  const NOWHERE: Envelope = Object.fromEntries(ENVELOPE_AXES.map((a) => [a, { min: MECHANICAL_ENVELOPE[a], max: MECHANICAL_ENVELOPE[a] }])) as unknown as Envelope;

  test('wake_up and goto_sleep: every axis of their poses against the bounds the operator narrowed', () => {
    const wake = eventOf(wakeUp, {}).target;
    const sleep = eventOf(gotoSleep, {}).target;
    // NOWHERE raises every min: each pose's every axis is below it, each axis and value listed once.
    expect(envelopeViolations(NOWHERE, wake).map((v) => `${v.axis} ${v.value}`)).toEqual([
      'head_x_mm 0', 'head_y_mm 0', 'head_z_mm 0', 'head_roll_deg 0', 'head_pitch_deg 0', 'head_yaw_deg 0', 'body_yaw_deg 0', 'antenna_right_deg -10', 'antenna_left_deg 10', 'head_roll_deg 20',
    ]);
    // The folded left antenna (174.8°) is past NOWHERE's max, but that max is the mechanical one.
    expect(envelopeViolations(NOWHERE, sleep).map((v) => `${v.axis} ${v.value}`).slice(9)).toEqual([
      'head_x_mm -21', 'head_y_mm 1', 'head_z_mm -44', 'head_roll_deg -0.1', 'head_pitch_deg 24.4', 'head_yaw_deg -0.3', 'antenna_right_deg -174.8',
    ]);
    // The mechanical envelope refuses neither, though the sleep pose folds the antennas past ±80°.
    expect(envelopeViolations(MECHANICAL_RANGES, wake)).toEqual([]);
    expect(envelopeViolations(MECHANICAL_RANGES, sleep)).toEqual([]);
  });

  test('each sequence is refused for the poses it goes to, and only those', () => {
    const wake = eventOf(wakeUp, {}).target;
    const sleep = eventOf(gotoSleep, {}).target;
    const narrowed = (axis: EnvelopeAxis, range: { min: number; max: number }): Envelope => ({ ...MECHANICAL_RANGES, [axis]: range });
    // Both recentre the body.
    const body = narrowed('body_yaw_deg', { min: 30, max: 90 });
    expect(envelopeViolations(body, wake)).toEqual([{ axis: 'body_yaw_deg', value: 0, min: 30, max: 90 }]);
    expect(envelopeViolations(body, sleep)).toEqual([{ axis: 'body_yaw_deg', value: 0, min: 30, max: 90 }]);
    // The sleep pose pitches 24.4° down, 44 mm low, antennas folded; wake_up does none of that.
    for (const [axis, range, value] of [
      ['head_pitch_deg', { min: -30, max: 20 }, 24.4],
      ['head_z_mm', { min: -30, max: 50 }, -44],
      ['antenna_left_deg', { min: -80, max: 60 }, 174.8],
      ['antenna_right_deg', { min: -60, max: 80 }, -174.8],
    ] as const) {
      expect(envelopeViolations(narrowed(axis, range), sleep), axis).toEqual([{ axis, value, ...range }]);
      expect(envelopeViolations(narrowed(axis, range), wake), axis).toEqual([]);
    }
    // wake_up's emote rolls the head 20°; goto_sleep rolls it by a tenth of a degree.
    const roll = narrowed('head_roll_deg', { min: -30, max: 10 });
    expect(envelopeViolations(roll, wake)).toEqual([{ axis: 'head_roll_deg', value: 20, min: -30, max: 10 }]);
    expect(envelopeViolations(roll, sleep)).toEqual([]);
    // The refusal says where the sequence goes and what to do.
    expect(envelopeRefusal(body, 'wake_up', wake)?.message).toMatch(/^wake_up: body_yaw_deg 0 is outside \[30, 90\] \(the operator's safety envelope; the daemon's wake_up sequence would take the robot there \(the init pose with the body at 0°.*widen the envelope/);
    expect(envelopeRefusal(MECHANICAL_RANGES, 'goto_sleep', sleep)).toBeNull();
  });

  test('OutsideEnvelope carries the whole envelope and the violations', () => {
    const error = envelopeRefusal(NARROW, 'set_body_yaw', eventOf(setBodyYaw, { yaw_deg: 60 }).target);
    expect(error?._tag).toBe('OutsideEnvelope');
    expect(error?.envelope).toEqual(NARROW);
    expect(error?.violations).toEqual([{ axis: 'body_yaw_deg', value: 60, min: NARROW.body_yaw_deg.min, max: NARROW.body_yaw_deg.max }]);
    expect(error?.message).toContain('body_yaw_deg 60 is outside');
    expect(envelopeRefusal(NARROW, 'set_body_yaw', eventOf(setBodyYaw, { yaw_deg: 10 }).target)).toBeNull();
  });

  test('an expression under way is judged from its running step on: the steps done no longer count', () => {
    const shake = { kind: 'expression', name: 'shake', steps: expressionTargets('shake') };
    const yaw = { ...MECHANICAL_RANGES, head_yaw_deg: { min: -25, max: 10 } } as Envelope;
    expect(envelopeViolations(yaw, shake).map((v) => v.value)).toEqual([20, 20]);
    expect(envelopeViolations(yaw, targetFrom(shake, 2)).map((v) => v.value)).toEqual([20]);
    expect(envelopeViolations(yaw, targetFrom(shake, 4))).toEqual([]);
    // Any other target is whole at every step.
    const goto = eventOf(gotoPose, { yaw: 20 }).target;
    expect(targetFrom(goto, 3)).toBe(goto);
  });

  test('refusalOf answers OutsideEnvelope before any state reason (daemon down, asleep, interlock tripped)', () => {
    const view = {
      privilegedRpc: 'allowed',
      connection: { state: 'backoff', lastError: 'gone', since: 0 },
      power: { state: 'asleep', motorMode: 'disabled', since: 0 },
      interlock: { state: 'tripped', reason: 'x', source: null, owner: null, since: 0 },
      lease: { owner: 'alice', expiresAt: Number.MAX_SAFE_INTEGER, policy: 'enforced' },
      motion: { state: 'stopping', since: 0, lastError: '', lastCommander: null, target: {}, kind: null },
      media: { state: 'disabled', since: 0, lastError: null, audioInput: false, audioOutput: false },
      mesh: { state: 'registered', since: 0 },
      policy: { ...DEFAULT_SAFETY_POLICY, envelope: NARROW },
    } as unknown as GateView;
    expect(refusalOf(view, eventOf(antennaPose, { left: 40 }))?._tag).toBe('OutsideEnvelope');
    expect(refusalOf(view, eventOf(antennaPose, { left: 10 }))?._tag).toBe('DaemonUnavailable');
    // wake_up's emote rolls the head 20°, above NARROW's 10°; under the mechanical envelope the link is the reason.
    expect(refusalOf(view, eventOf(wakeUp, {}))?._tag).toBe('OutsideEnvelope');
    expect(refusalOf({ ...view, policy: DEFAULT_SAFETY_POLICY }, eventOf(wakeUp, {}))?._tag).toBe('DaemonUnavailable');
  });
});

describe('advertisedFunctions', () => {
  const advertised = advertisedFunctions(ROBOT_FUNCTIONS, { envelope: NARROW });
  const byName = new Map(advertised.map((f) => [f.name, f]));

  test.each(CASES.filter(([, , , extra]) => !extra.duration_s).map(([fn, p, axis]) => [`${fn.name}.${p}`, fn.name, p, axis] as const))('%s advertises its axis range', (_n, name, p, axis) => {
    const property = byName.get(name)!.params.jsonSchema.properties[p]!;
    expect(property).toMatchObject({ type: 'number', minimum: NARROW[axis].min, maximum: NARROW[axis].max });
  });

  test('decoding keeps the mechanical bounds; other parameters and functions are unchanged', () => {
    const world = byName.get('look_at_world')!;
    expect(Result.isSuccess(world.params.decode({ pitch: 29 }))).toBe(true);
    expect(Result.isSuccess(world.params.decode({ pitch: 31 }))).toBe(false);
    expect(byName.get('set_body_yaw')!.params.jsonSchema.properties.duration_s).toEqual(setBodyYaw.params.jsonSchema.properties.duration_s);
    expect(byName.get('look_at_point')).toBe(lookAtPoint);
    expect(byName.get('get_joints')).toBe(ROBOT_FUNCTIONS.find((f) => f.name === 'get_joints'));
    // The definitions themselves are not touched (the gate decodes with them).
    expect(lookAtWorld.params.jsonSchema.properties.pitch).toMatchObject({ minimum: -30, maximum: 30 });
  });

  test('sameEnvelope tells a changed range apart', () => {
    expect(sameEnvelope(NARROW, { ...NARROW })).toBe(true);
    expect(sameEnvelope(NARROW, { ...NARROW, antenna_left_deg: { min: -20, max: 20 } })).toBe(false);
  });
});
