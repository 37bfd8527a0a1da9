// Start-up cost guard (README "Performance"): src/ takes node:http and node:https from
// src/adapters/http-builtins.ts (loaded with require), never with a value `import`, which makes Node
// build the builtins' ESM facade and load its internal undici (~60 ms per start measured). The
// matcher is checked on samples first, so the real check can fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

/** A static or dynamic value import of node:http or node:https (type-only imports cost nothing at run time). */
const VALUE_IMPORT = /(?:^|\n)\s*import\s+(?!type\b)[^'"]*from\s+['"](?:node:)?https?['"]|import\(\s*['"](?:node:)?https?['"]\s*\)/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('the matcher finds value imports of node:http/https and lets type-only ones and other modules pass', () => {
  expect(VALUE_IMPORT.test("import { createServer, type Server } from 'node:http';")).toBe(true);
  expect(VALUE_IMPORT.test("import https from 'https';")).toBe(true);
  expect(VALUE_IMPORT.test("const m = await import('node:https');")).toBe(true);
  expect(VALUE_IMPORT.test("import type { Server } from 'node:http';")).toBe(false);
  expect(VALUE_IMPORT.test("import { connect } from 'node:http2';")).toBe(false);
  expect(VALUE_IMPORT.test("import { http } from '../adapters/http-builtins.ts';")).toBe(false);
});

test('src/ never imports node:http or node:https as a value', () => {
  const files = sourceFiles(fileURLToPath(new URL('../../src', import.meta.url)));
  expect(files.length).toBeGreaterThan(100);
  // http-builtins.ts itself names the modules in `typeof import(…)` types.
  const offenders = files.filter((f) => !f.endsWith('http-builtins.ts') && VALUE_IMPORT.test(readFileSync(f, 'utf8')));
  expect(offenders).toEqual([]);
});
