// What the driver knows of the body target the daemon holds (src/actors/held-body-target.ts): a
// write's fate counts only while no later write began; one not applied leaves what was known; a
// socket closing forgets; another daemon link knows nothing.
import { expect, test } from 'vitest';
import { HeldBodyTarget } from '../../src/actors/held-body-target.ts';

test('unknown until a write lands; a write not applied leaves what was known before it', () => {
  const link = {};
  const held = new HeldBodyTarget();
  expect(held.on(link)).toBeUndefined();
  const first = held.begin(link);
  expect(held.on(link)).toBeUndefined();
  first.landed(1.5);
  expect(held.on(link)).toBe(1.5);
  const ignored = held.begin(link);
  expect(held.on(link)).toBeUndefined();
  ignored.notApplied();
  expect(held.on(link)).toBe(1.5);
});

test('a late fate does not overwrite a later write; forgetting and another link know nothing', () => {
  const link = {};
  const held = new HeldBodyTarget();
  const goto = held.begin(link);
  held.begin(link).landed(0.2);
  goto.landed(1.5);
  expect(held.on(link)).toBe(0.2);
  const late = held.begin(link);
  held.forget(link);
  late.notApplied();
  expect(held.on(link)).toBeUndefined();
  held.begin(link).landed(0.3);
  expect(held.on({})).toBeUndefined();
  held.begin({}).notApplied();
  expect(held.on(link)).toBeUndefined();
});
