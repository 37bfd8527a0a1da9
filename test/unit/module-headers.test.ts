// Every module in src/ opens with 3–8 `//` lines: what it owns, what it does not, which spec section
// it follows (project style). Counts the `//` lines before a file's first other line, so a header
// that grows past eight (or a module without one) fails with each file and its count named. The
// counter is tried on small sources first, so the real check can fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const MIN_HEADER_LINES = 3; // fewer cannot say what a module owns, what it does not and its spec section
const MAX_HEADER_LINES = 8; // more is a design note: details belong on the functions they describe


/** How many `//` lines a source opens with, before its first other line (blank lines included). */
function headerLineCount(source: string): number {
  const lines = source.split('\n');
  const first = lines.findIndex((line) => !line.startsWith('//'));
  return first === -1 ? lines.length : first;
}

const withinLimits = (count: number): boolean => count >= MIN_HEADER_LINES && count <= MAX_HEADER_LINES;

describe('header line counter', () => {
  test('counts the `//` lines before the first other line', () => {
    expect(headerLineCount('// a\n// b\n// c\nimport x from "y";\n// later\n')).toBe(3);
    expect(headerLineCount('// a\n\n// b\nexport {};\n')).toBe(1);
    expect(headerLineCount('import x from "y";\n')).toBe(0);
    expect(headerLineCount('/** a\n * b\n */\nexport {};\n')).toBe(0);
  });

  test('3 to 8 lines are within the limits, 2 and 9 are not', () => {
    expect([2, 3, 8, 9].map(withinLimits)).toEqual([false, true, true, false]);
  });
});

test('every module in src/ opens with 3–8 comment lines', () => {
  const root = fileURLToPath(new URL('../../src', import.meta.url));
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.split('\\').join('/'))
    .sort();
  expect(files.length).toBeGreaterThan(100);
  const counts = new Map(files.map((file) => [file, headerLineCount(readFileSync(join(root, file), 'utf8'))]));
  const offending = files.filter((file) => !withinLimits(counts.get(file) ?? 0));
  const named = (list: readonly string[]): string => list.map((file) => `  ${file}: ${counts.get(file) ?? 'missing'}`).join('\n');
  expect(offending, `headers outside ${MIN_HEADER_LINES}–${MAX_HEADER_LINES} lines:\n${named(offending)}`).toEqual([]);
});
