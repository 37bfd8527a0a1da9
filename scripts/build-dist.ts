// `npm run build` (run by `npm pack` through `prepack`): the installed package's JavaScript. Node
// strips TypeScript types everywhere except under node_modules, so an installed copy cannot run
// src/*.ts; this emits dist/ with tsc (tsconfig.build.json: no type check, `.ts` imports rewritten
// to `.js`) and copies every other file under src/ (the settings page's static files…) alongside.
// A clone keeps running src/ directly (bin/reachy-mini-driver.mjs); `npm run typecheck` checks types.
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');

function assetsUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return assetsUnder(path);
    return entry.name.endsWith('.ts') ? [] : [path];
  });
}

rmSync(DIST, { recursive: true, force: true });
execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
for (const file of assetsUnder(SRC)) cpSync(file, join(DIST, relative(SRC, file)));
process.stdout.write(`dist/ built from ${relative(process.cwd(), SRC) || '.'} (${assetsUnder(SRC).length} assets copied)\n`);

