// Start-up cost guards (README "Performance", "Where the time goes: start-up"): src/ imports effect
// by module (`effect/Schema`, `effect/Data`…), never the `effect` barrel, which loads all of effect's
// ~250 modules at start-up (0.4–1.1 s and ~45 MB measured); and src/ takes node:http and node:https
// from src/adapters/http-builtins.ts (loaded with require), never with a value `import`, which makes
// Node build the builtins' ESM facade and load its internal undici (~60 ms per start measured). Each
// matcher is checked on samples first, so the real checks can fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

/** A static or dynamic import of the bare `effect` package (type-only imports cost nothing at run time). */
const BARREL_IMPORT = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*from\s+['"]effect['"]|import\(\s*['"]effect['"]\s*\)/;
/** A static or dynamic value import of node:http or node:https. */
const HTTP_VALUE_IMPORT = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*from\s+['"](?:node:)?https?['"]|import\(\s*['"](?:node:)?https?['"]\s*\)/;

function sources(): Array<{ file: string; text: string }> {
  const dir = fileURLToPath(new URL('../../src', import.meta.url));
  const files = readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
  expect(files.length).toBeGreaterThan(100);
  return files.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

test('the barrel matcher finds barrel imports and lets subpath and type-only imports pass', () => {
  expect(BARREL_IMPORT.test("import { Data } from 'effect';")).toBe(true);
  expect(BARREL_IMPORT.test("const m = await import('effect');")).toBe(true);
  expect(BARREL_IMPORT.test("import * as Schema from 'effect/Schema';")).toBe(false);
  expect(BARREL_IMPORT.test("import type { Effect } from 'effect';")).toBe(false);
});

test('the http matcher finds value imports of node:http/https and lets type-only ones and other modules pass', () => {
  expect(HTTP_VALUE_IMPORT.test("import { createServer, type Server } from 'node:http';")).toBe(true);
  expect(HTTP_VALUE_IMPORT.test("import https from 'https';")).toBe(true);
  expect(HTTP_VALUE_IMPORT.test("const m = await import('node:https');")).toBe(true);
  expect(HTTP_VALUE_IMPORT.test("import type { Server } from 'node:http';")).toBe(false);
  expect(HTTP_VALUE_IMPORT.test("import { connect } from 'node:http2';")).toBe(false);
  expect(HTTP_VALUE_IMPORT.test("import { http } from '../adapters/http-builtins.ts';")).toBe(false);
});

test('src/ never imports the effect barrel', () => {
  expect(sources().filter((s) => BARREL_IMPORT.test(s.text)).map((s) => s.file)).toEqual([]);
});

test('src/ never imports node:http or node:https as a value', () => {
  // http-builtins.ts itself names the modules in `typeof import(…)` types.
  expect(sources().filter((s) => !s.file.endsWith('http-builtins.ts') && HTTP_VALUE_IMPORT.test(s.text)).map((s) => s.file)).toEqual([]);
});
