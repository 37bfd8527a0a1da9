// Start-up cost guard (README "Performance"): src/ imports effect by module (`effect/Schema`,
// `effect/Data`…), never the `effect` barrel, which loads all of effect's ~250 modules at start-up
// (0.4–1.1 s and ~45 MB measured). The matcher is checked on samples first, so the real check can fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

/** A static or dynamic import of the bare `effect` package (type-only imports cost nothing at run time). */
const BARREL_IMPORT = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*from\s+['"]effect['"]|import\(\s*['"]effect['"]\s*\)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('the matcher finds barrel imports and lets subpath and type-only imports pass', () => {
  expect(BARREL_IMPORT.test("import { Data } from 'effect';")).toBe(true);
  expect(BARREL_IMPORT.test("const m = await import('effect');")).toBe(true);
  expect(BARREL_IMPORT.test("import * as Schema from 'effect/Schema';")).toBe(false);
  expect(BARREL_IMPORT.test("import type { Effect } from 'effect';")).toBe(false);
});

test('src/ never imports the effect barrel', () => {
  const files = sourceFiles(fileURLToPath(new URL('../../src', import.meta.url)));
  expect(files.length).toBeGreaterThan(100);
  const offenders = files.filter((f) => BARREL_IMPORT.test(readFileSync(f, 'utf8')));
  expect(offenders).toEqual([]);
});
