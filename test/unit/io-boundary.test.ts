// Only src/adapters/ (and the daemon emulator, src/sim/, which is a server of its own) load the
// modules that do I/O — files, sockets, processes, HTTP, WebSocket, NATS, WebRTC (README
// "Architecture"). Type-only imports are free; the few value imports that do no I/O (a pure address
// check, error classes, key maths) are listed by name with the reason. The parser is tested on
// synthetic sources first, so the real check can fail.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

/** Modules whose values do I/O (a prefix match covers their sub-paths). */
const IO_MODULES = [
  'node:fs', 'node:http', 'node:https', 'node:http2', 'node:net', 'node:tls', 'node:dgram', 'node:dns', 'node:child_process',
  'node:worker_threads', 'undici', 'ws', '@nats-io/', 'node-datachannel', 'node-av', '@roamhq/wrtc', 'fastify', '@fastify/',
];
/** Where I/O belongs. */
const IO_DIRS = ['adapters/', 'sim/'];
/** Value imports of an I/O module that do no I/O, per file: module → names, each with its reason. */
const PURE_USES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  // isIP parses a string.
  'host-allowlist.ts': { 'node:net': ['isIP'] },
  // The NATS client's error classes, to tell a timeout from "no responders".
  'client/mesh-client.ts': { '@nats-io/nats-core': ['errors'] },
  // Ed25519 key maths: signing and checking a caller's signature.
  'protocol/caller-signature.ts': { '@nats-io/nkeys': ['fromSeed'] },
  'safety/caller-identity.ts': { '@nats-io/nkeys': ['fromPublic'] },
};

interface ValueImport {
  readonly module: string;
  /** The names imported as values; '*' for a namespace, 'default', or '' for a side-effect import. */
  readonly names: readonly string[];
}

/** Value imports of a module's source: static, side-effect and dynamic; `import type` and `type` names left out. */
function valueImports(source: string): ValueImport[] {
  const found: ValueImport[] = [];
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of code.matchAll(/^\s*(import|export)\s+(type\s+)?([^;'"]*?)\s+from\s+'([^']+)'/gm)) {
    if (m[2] !== undefined) continue;
    const clause = m[3] ?? '';
    const names: string[] = [];
    const braces = /\{([\s\S]*)\}/.exec(clause);
    for (const part of (braces?.[1] ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      if (!part.startsWith('type ')) names.push(part.split(/\s+as\s+/)[0]!.trim());
    }
    const outside = clause.replace(/\{[\s\S]*\}/, '').replace(/,/g, ' ').trim();
    if (outside.startsWith('*')) names.push('*');
    else if (outside !== '' && m[1] === 'import') names.push('default');
    if (names.length > 0) found.push({ module: m[4]!, names });
  }
  for (const m of code.matchAll(/^\s*import\s+'([^']+)'/gm)) found.push({ module: m[1]!, names: [''] });
  for (const m of code.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push({ module: m[1]!, names: ['*'] });
  return found;
}

const isIoModule = (module: string): boolean => IO_MODULES.some((io) => module === io || module.startsWith(io.endsWith('/') ? io : `${io}/`));

/** Each I/O value import of `file` not allowed by PURE_USES, as `file: module {names}`. */
function violations(file: string, source: string): string[] {
  if (IO_DIRS.some((dir) => file.startsWith(dir))) return [];
  const allowed = PURE_USES[file] ?? {};
  return valueImports(source)
    .filter((i) => isIoModule(i.module))
    .filter((i) => !i.names.every((name) => (allowed[i.module] ?? []).includes(name)))
    .map((i) => `${file}: ${i.module} {${i.names.join(', ')}}`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('value-import finder', () => {
  test('finds value imports of every form and skips type-only ones and comments', () => {
    const source = [
      "import { readFile, type Stats } from 'node:fs/promises';",
      "import type { Msg } from '@nats-io/nats-core';",
      "import { type Server } from 'node:http';",
      "import WebSocket, { WebSocketServer as Wss } from 'ws';",
      "import * as net from 'node:net';",
      "import 'node-datachannel/polyfill';",
      "// import { spawn } from 'node:child_process';",
      "const av = await import('node-av');",
      "export { request } from 'undici';",
      "export * from 'node:dns';",
    ].join('\n');
    expect(valueImports(source)).toEqual([
      { module: 'node:fs/promises', names: ['readFile'] },
      { module: 'ws', names: ['WebSocketServer', 'default'] },
      { module: 'node:net', names: ['*'] },
      { module: 'undici', names: ['request'] },
      { module: 'node:dns', names: ['*'] },
      { module: 'node-datachannel/polyfill', names: [''] },
      { module: 'node-av', names: ['*'] },
    ]);
  });

  test('flags I/O outside the adapters, not inside them, and honours a listed pure use by name only', () => {
    expect(violations('machines/x.ts', "import { spawn } from 'node:child_process';")).toEqual(['machines/x.ts: node:child_process {spawn}']);
    expect(violations('adapters/x.ts', "import { spawn } from 'node:child_process';")).toEqual([]);
    expect(violations('host-allowlist.ts', "import { isIP } from 'node:net';")).toEqual([]);
    expect(violations('host-allowlist.ts', "import { isIP, connect } from 'node:net';")).toEqual(['host-allowlist.ts: node:net {isIP, connect}']);
    expect(violations('media/x.ts', "import { Server } from 'node:http';")).toEqual(['media/x.ts: node:http {Server}']);
    expect(violations('media/x.ts', "import { fromSeed } from '@nats-io/nkeys';")).toEqual(['media/x.ts: @nats-io/nkeys {fromSeed}']);
  });
});

test('only src/adapters/ and src/sim/ load modules that do I/O', () => {
  const root = fileURLToPath(new URL('../../src', import.meta.url));
  const files = sourceFiles(root);
  expect(files.length).toBeGreaterThan(100);
  const found = files.flatMap((path) => violations(relative(root, path), readFileSync(path, 'utf8')));
  expect(found, `I/O outside src/adapters/:\n${found.join('\n')}`).toEqual([]);
});
