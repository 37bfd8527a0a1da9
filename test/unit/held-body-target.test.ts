// What the driver knows of the body target the daemon holds (src/actors/held-body-target.ts): a
// write's fate counts only while no later write began; one not applied leaves what was known; a
// socket closing leaves the target known before or the present yaw; another daemon link knows nothing.
import { expect, test } from 'vitest';
import { HeldBodyTarget } from '../../src/actors/held-body-target.ts';

const UNKNOWN = { values: [], orPresent: true };
const known = (value: number) => ({ values: [value], orPresent: false });

test('unknown until a write lands; a write not applied leaves what was known before it', () => {
  const link = {};
  const held = new HeldBodyTarget();
  expect(held.on(link)).toEqual(UNKNOWN);
  const first = held.begin(link);
  expect(held.on(link)).toEqual(UNKNOWN);
  first.landed(1.5);
  expect(held.on(link)).toEqual(known(1.5));
  const ignored = held.begin(link);
  expect(held.on(link)).toEqual(UNKNOWN);
  ignored.notApplied();
  expect(held.on(link)).toEqual(known(1.5));
});

test('a late fate does not overwrite a later write; forgetting a write under way and another link know nothing', () => {
  const link = {};
  const held = new HeldBodyTarget();
  const goto = held.begin(link);
  held.begin(link).landed(0.2);
  goto.landed(1.5);
  expect(held.on(link)).toEqual(known(0.2));
  const late = held.begin(link);
  held.forget(link);
  late.notApplied();
  expect(held.on(link)).toEqual(UNKNOWN);
  held.begin(link).landed(0.3);
  expect(held.on({})).toEqual(UNKNOWN);
  held.begin({}).notApplied();
  expect(held.on(link)).toEqual(UNKNOWN);
});

test('a socket closing after a target landed: that target or the present yaw, until the next write lands', () => {
  const link = {};
  const held = new HeldBodyTarget();
  held.begin(link).landed(1.2);
  held.forget(link);
  expect(held.on(link)).toEqual({ values: [1.2], orPresent: true });
  // Closing again changes nothing; a write not applied leaves it so; one landed knows again.
  held.forget(link);
  const ignored = held.begin(link);
  ignored.notApplied();
  expect(held.on(link)).toEqual({ values: [1.2], orPresent: true });
  held.begin(link).landed(0.4);
  expect(held.on(link)).toEqual(known(0.4));
  expect(held.on({})).toEqual(UNKNOWN);
});

test('a body target written whose fate is unknown: that one or the one known before (the lowest and highest of a run of them), until one is reported', () => {
  const link = {};
  const held = new HeldBodyTarget();
  held.begin(link).landed(0.5);
  const unanswered = held.begin(link, 1.0);
  expect(held.on(link)).toEqual({ values: [0.5, 1.0], orPresent: false });
  held.begin(link, 0.7);
  held.begin(link, 1.2);
  expect(held.on(link)).toEqual({ values: [0.5, 1.2], orPresent: false });
  unanswered.landed(1.0); // an earlier write's answer: a later one may have landed after it
  expect(held.on(link)).toEqual({ values: [0.5, 1.2], orPresent: false });
  held.begin(link, 0.9).landed(0.9);
  expect(held.on(link)).toEqual(known(0.9));
  // Nothing known before: the written one or the present yaw; not applied: as before.
  const other = {};
  const first = held.begin(other, 0.3);
  expect(held.on(other)).toEqual({ values: [0.3], orPresent: true });
  first.notApplied();
  expect(held.on(other)).toEqual(UNKNOWN);
});
