// The relative-import graph of a source tree and the cycles in it, for test/unit/import-cycles.test.ts.
// Owns parsing static `import … from '…'`, `import '…'` and `export … from '…'` (type-only ones
// included: a type circle is still a circle for a reader) and Tarjan's strongly connected components.
// Does not follow package imports, dynamic `import()` or path aliases (the project uses none).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Module → the modules it imports, both as paths relative to the tree's root. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

// A statement at the start of a line (so `//` comments and JSDoc `*` lines never match), across
// line breaks for multi-line braces, ending in a quoted relative specifier.
const STATIC_IMPORT = /^[ \t]*(?:import|export)\b(?:[^'";]*?\bfrom)?\s*['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Relative specifiers of a module's static imports and re-exports. */
export function relativeImports(source: string): string[] {
  return [...source.matchAll(STATIC_IMPORT)].map((match) => match[1] ?? '').filter((spec) => spec !== '');
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listTs(path);
    return entry.isFile() && entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every `.ts` file under `root` with the relative imports it makes (specifiers resolved to files). */
export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of listTs(root)) {
    const targets = relativeImports(readFileSync(file, 'utf8')).map((spec) => relative(root, resolve(dirname(file), spec)));
    graph.set(relative(root, file), [...new Set(targets)]);
  }
  return graph;
}

/** One path round each circle (strongly connected component with a cycle), e.g. `[a, b, a]`. */
export function findCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    const selfLoop = (graph.get(node) ?? []).includes(node);
    if (component.length > 1 || selfLoop) components.push(component);
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return components.map((component) => cycleThrough(graph, new Set(component)));
}

/** A closed walk inside one component, starting from its first member in sort order (breadth-first). */
function cycleThrough(graph: ImportGraph, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0] ?? '';
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() ?? '';
    for (const target of graph.get(node) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [node];
        for (let at = node; at !== start; at = parent.get(at) ?? start) path.unshift(parent.get(at) ?? start);
        return [...path, start];
      }
      if (!parent.has(target)) {
        parent.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}
