// The reply-size check against the broker's max_payload (src/adapters/nats-link.ts `bytesOver`):
// a reply is counted in UTF-8 bytes, headers included, only when it could be over the limit; one
// that fits even at 3 bytes per character is passed without counting. Each case is checked against
// the exact count, around both edges (1/3 of the limit and the limit).
import { expect, test } from 'vitest';
import { bodyBytes, bytesOver } from '../../src/adapters/nats-link.ts';

const exact = (body: string, extra: number, limit: number) => (bodyBytes(body) + extra > limit ? bodyBytes(body) + extra : null);

test.each([
  ['ascii far under the limit', 'a'.repeat(100), 0, 1_000],
  ['ascii over 1/3 of the limit but under it (counted, fits)', 'a'.repeat(900), 0, 1_000],
  ['ascii exactly at the limit', 'a'.repeat(1_000), 0, 1_000],
  ['ascii one byte over', 'a'.repeat(1_001), 0, 1_000],
  ['3-byte characters exactly at the limit', '€'.repeat(333), 1, 1_000],
  ['3-byte characters one over', '€'.repeat(334), 0, 1_000],
  ['surrogate pairs (4 bytes per 2 units)', '😀'.repeat(250), 0, 1_000],
  ['surrogate pairs one over', '😀'.repeat(250), 1, 1_000],
  ['headers push a fitting body over', 'a'.repeat(990), 20, 1_000],
])('%s', (_name, body, extra, limit) => {
  expect(bytesOver(body, () => extra, limit)).toBe(exact(body, extra, limit));
});
