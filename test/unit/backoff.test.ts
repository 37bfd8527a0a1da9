// The one back-off formula (src/backoff.ts): the ceiling doubles from the base and caps; the delay
// is the injected random fraction of the ceiling (full jitter), whole milliseconds, never above the
// ceiling nor below zero, even for a random source outside [0, 1). Only the formula: each user's
// base and cap (such as the mesh registration's 1 s … 30 s, device-connect-protocol.md §2.13) are
// that user's own.
import { expect, test } from 'vitest';
import { backoffCeilingMs, backoffDelayMs } from '../../src/backoff.ts';

const POLICY = { baseMs: 100, maxMs: 1_000 };

test('the ceiling doubles per failure from the base and stops at the cap', () => {
  expect([0, 1, 2, 3, 4, 5, 6, 50].map((n) => backoffCeilingMs(POLICY, n))).toEqual([100, 100, 200, 400, 800, 1_000, 1_000, 1_000]);
});

test('the delay is random × ceiling, floored to whole milliseconds', () => {
  expect(backoffDelayMs(POLICY, 1, () => 0)).toBe(0);
  expect(backoffDelayMs(POLICY, 3, () => 0.5)).toBe(200);
  expect(backoffDelayMs(POLICY, 4, () => 0.123)).toBe(98);
  expect(backoffDelayMs(POLICY, 9, () => 0.999_999)).toBe(999);
});

test('a random source outside [0, 1) cannot push the delay past the ceiling or below zero', () => {
  expect(backoffDelayMs(POLICY, 2, () => 1.5)).toBe(200);
  expect(backoffDelayMs(POLICY, 2, () => -1)).toBe(0);
});

test('Math.random by default: every delay lies within [0, ceiling]', () => {
  for (let n = 1; n <= 8; n++) {
    const delay = backoffDelayMs(POLICY, n);
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(backoffCeilingMs(POLICY, n));
  }
});
