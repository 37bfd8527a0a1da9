// play_expression's built-in sequences (issue 12 part 2): every step passes the default speed limits
// from where the previous one ended — the first from the farthest corner of the mechanical range —
// and the default envelope; a narrower envelope refuses the steps that leave it. Pure: the same
// functions the executor (planGoto) and the gate (envelopeRefusal) call.
import { Result } from 'effect';
import { describe, expect, test } from 'vitest';
import { playExpression, playMove, listMoves } from '../../src/rpc/move-functions.ts';
import { EXPRESSION_NAMES } from '../../src/robot/expressions.ts';
import { planGoto, targetOf } from '../../src/actors/speed-guard.ts';
import { envelopeRefusal } from '../../src/safety/envelope-check.ts';
import { DEFAULT_SAFETY_POLICY } from '../../src/safety/safety-policy.ts';
import type { RobotPosition } from '../../src/safety/speed-limits.ts';
import type { CallContext } from '../../src/rpc/function-def.ts';

const rad = (d: number): number => (d * Math.PI) / 180;
const call = (fn: string): CallContext => ({ requestId: 'r1', function: fn, caller: {} as CallContext['caller'] });
const REFUSE = { ...DEFAULT_SAFETY_POLICY.speed, goto_policy: 'refuse' as const };
/** The farthest a head and antennas can be from neutral inside the mechanical range. */
const CORNERS: RobotPosition[] = [
  { head: { x: 0.05, y: -0.05, z: 0.05, roll: rad(30), pitch: rad(-30), yaw: rad(45) }, bodyYaw: 0, antennas: [rad(80), rad(-80)] },
  { head: { x: -0.05, y: 0.05, z: -0.05, roll: rad(-30), pitch: rad(30), yaw: rad(-45) }, bodyYaw: 0, antennas: [rad(-80), rad(80)] },
];

describe('play_expression', () => {
  test.each(EXPRESSION_NAMES)('%s: each step within the default speed limits (policy refuse) from the previous one', (name) => {
    const event = playExpression.toEvent({ name, owner: 'a', wait: false }, call('play_expression'));
    const steps = event.command.steps as Array<Record<string, unknown>>;
    expect(steps.length).toBeGreaterThanOrEqual(3);
    for (const corner of CORNERS) {
      let present: RobotPosition = corner;
      for (const step of steps) {
        const command = { op: 'goto', ...step };
        expect(() => planGoto(present, command, REFUSE)).not.toThrow();
        const reached = targetOf(command);
        present = { head: reached.head ?? present.head, bodyYaw: present.bodyYaw, antennas: reached.antennas ?? present.antennas };
      }
    }
  });

  test.each(EXPRESSION_NAMES)('%s: inside the default envelope; ends at neutral; leaves the body alone', (name) => {
    const event = playExpression.toEvent({ name, owner: 'a', wait: false }, call('play_expression'));
    expect(envelopeRefusal(DEFAULT_SAFETY_POLICY.envelope, 'play_expression', event.target)).toBeNull();
    const steps = event.command.steps as Array<Record<string, unknown>>;
    expect(steps.every((s) => !('body_yaw' in s))).toBe(true);
    const last = targetOf({ op: 'goto', ...steps[steps.length - 1] });
    for (const v of [last.head!.roll, last.head!.pitch, last.head!.yaw, ...last.antennas!]) expect(Math.abs(v)).toBeLessThan(1e-9);
  });

  test('a narrower envelope refuses a step that leaves it, naming the axis', () => {
    const envelope = { ...DEFAULT_SAFETY_POLICY.envelope, head_yaw_deg: { min: -10, max: 10 } };
    const shake = playExpression.toEvent({ name: 'shake', owner: 'a', wait: false }, call('play_expression'));
    const refusal = envelopeRefusal(envelope, 'play_expression', shake.target);
    expect(refusal?._tag).toBe('OutsideEnvelope');
    expect(refusal!.violations.map((v) => v.axis)).toEqual(['head_yaw_deg', 'head_yaw_deg', 'head_yaw_deg']);
    const nod = playExpression.toEvent({ name: 'nod', owner: 'a', wait: false }, call('play_expression'));
    expect(envelopeRefusal(envelope, 'play_expression', nod.target)).toBeNull();
  });
});

describe('play_move and list_moves parameters', () => {
  const accepts = (fn: typeof playMove | typeof listMoves, params: unknown): boolean => Result.isSuccess(fn.params.decode(params));
  test('move names follow ^[A-Za-z0-9._-]{1,128}$; datasets are owner/name parts without empty or dot-only parts', () => {
    for (const name of ['cheerful1', 'a', 'A.b_c-9', 'x'.repeat(128)]) expect(accepts(playMove, { move_name: name }), name).toBe(true);
    for (const name of ['', 'x'.repeat(129), 'a/b', '../x', 'a b', 'é', 'a%2Fb']) expect(accepts(playMove, { move_name: name }), name).toBe(false);
    for (const dataset of ['pollen-robotics/reachy-mini-emotions-library', 'local-test/moves', 'single']) expect(accepts(listMoves, { dataset }), dataset).toBe(true);
    for (const dataset of ['', '/abs', 'a//b', 'a/', '../x', 'a/../b', 'a/./b', '..', 'a b/c', 'a/b/c/d/e']) expect(accepts(listMoves, { dataset }), dataset).toBe(false);
    expect(accepts(playMove, {})).toBe(false);
  });
  test('a recorded move names no axes: the envelope check passes it (its poses are the dataset\'s)', () => {
    const event = playMove.toEvent({ dataset: 'pollen-robotics/reachy-mini-emotions-library', move_name: 'cheerful1', owner: 'a', wait: false }, call('play_move'));
    const tight = Object.fromEntries(Object.entries(DEFAULT_SAFETY_POLICY.envelope).map(([k]) => [k, { min: 0, max: 0 }])) as unknown as typeof DEFAULT_SAFETY_POLICY.envelope;
    expect(envelopeRefusal(tight, 'play_move', event.target)).toBeNull();
    expect(event.command).toEqual({ op: 'recorded', dataset: 'pollen-robotics/reachy-mini-emotions-library', move: 'cheerful1' });
  });
});
