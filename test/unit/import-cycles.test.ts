// No import circles in src/: every module can be read (and loaded) after the modules it imports
// (README "Architecture"). The finder (test/harness/import-graph.ts) is tested on small synthetic
// graphs first, so the real check can fail. Only relative static imports count, type-only ones
// included; package imports and dynamic `import()` are not followed.
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { findCycles, readImportGraph, relativeImports } from '../harness/import-graph.ts';

describe('import-cycle finder', () => {
  test('parses static imports, type imports and re-exports, not comments or dynamic imports', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      'import {',
      '  c,',
      '  d,',
      "} from './cd.ts';",
      "export { e } from './e.ts';",
      "export * from './f.ts';",
      "import './side-effect.ts';",
      "import { Data } from 'effect';",
      "// import { x } from './commented.ts';",
      " * import { y } from './jsdoc.ts';",
      "const later = await import('./dynamic.ts');",
      "export const from = './not-an-import.ts';",
    ].join('\n');
    expect(relativeImports(source)).toEqual(['./a.ts', '../b.ts', './cd.ts', './e.ts', './f.ts', './side-effect.ts']);
  });

  test('names a two-module circle, a longer one and a self-import; ignores a diamond', () => {
    const graph = new Map<string, string[]>([
      ['errors.ts', ['frame.ts']],
      ['frame.ts', ['errors.ts']],
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['self.ts', ['self.ts']],
      ['top.ts', ['left.ts', 'right.ts']],
      ['left.ts', ['bottom.ts']],
      ['right.ts', ['bottom.ts']],
      ['bottom.ts', []],
    ]);
    const cycles = findCycles(graph).map((cycle) => cycle.join(' → ')).sort();
    expect(cycles).toEqual(['a.ts → b.ts → c.ts → a.ts', 'errors.ts → frame.ts → errors.ts', 'self.ts → self.ts']);
  });

  test('an acyclic graph has no cycles', () => {
    expect(findCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
  });
});

test('src/ has no import circles', () => {
  const graph = readImportGraph(fileURLToPath(new URL('../../src', import.meta.url)));
  expect(graph.size).toBeGreaterThan(100);
  const cycles = findCycles(graph).map((cycle) => cycle.join(' → '));
  expect(cycles, `import circles:\n${cycles.join('\n')}`).toEqual([]);
});
