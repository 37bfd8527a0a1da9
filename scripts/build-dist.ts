// `npm run build` (run by `npm pack` through `prepack`): the installed package's JavaScript. Node
// strips TypeScript types everywhere except under node_modules, so an installed copy cannot run
// src/*.ts: this bundles src/cli.ts and the --sim emulator's process entry with rolldown into
// dist/cli.js and dist/emulator-child.js plus lazy chunks, with the pure-JavaScript libraries on
// the path to a running driver (BUNDLED); native addons and the libraries only some commands use
// stay imports (the list and its rule: scripts/dist-bundled.ts). Also writes
// dist/THIRD_PARTY_LICENSES and copies src/'s other files. A clone keeps running src/ directly
// (bin/reachy-mini-driver.mjs); `npm run typecheck` checks types.
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolldown } from 'rolldown';
import { BUNDLED } from './dist-bundled.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');

/**
 * Files under src/ that are not TypeScript (the settings page), copied to the same place in dist/;
 * not WebAssembly text, which `npm run wasm` compiles into a TypeScript module.
 */
function assetsUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return assetsUnder(path);
    return entry.name.endsWith('.ts') || entry.name.endsWith('.wat') ? [] : [path];
  });
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/** A bare import from our own code stays external unless its package is BUNDLED. */
function isExternal(id: string, importer: string | undefined): boolean {
  if (id.startsWith('node:')) return true;
  if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0')) return false;
  if (importer !== undefined && importer.includes('/node_modules/')) return false;
  return !BUNDLED.includes(packageOf(id));
}

/** The package folder (name, dir) a bundled file came from. */
function packageDirOf(moduleId: string): string | null {
  const at = moduleId.lastIndexOf('/node_modules/');
  if (at < 0) return null;
  const rest = moduleId.slice(at + '/node_modules/'.length).split('/');
  const name = rest[0]?.startsWith('@') ? rest.slice(0, 2).join('/') : (rest[0] as string);
  return join(moduleId.slice(0, at), 'node_modules', name);
}

function licenseText(dir: string): string {
  const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\..*)?$/i.test(f));
  return file ? readFileSync(join(dir, file), 'utf8').trim() : '(no license file in the package; see its package.json)';
}

function writeThirdPartyLicenses(moduleIds: Iterable<string>): number {
  const dirs = new Set<string>();
  for (const id of moduleIds) {
    const dir = packageDirOf(id);
    if (dir && existsSync(join(dir, 'package.json'))) dirs.add(dir);
  }
  const sections = [...dirs].sort().map((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    return `${pkg.name}@${pkg.version} (${pkg.license ?? 'see below'})\n\n${licenseText(dir)}\n`;
  });
  writeFileSync(join(DIST, 'THIRD_PARTY_LICENSES'), `Libraries bundled into dist/ by scripts/build-dist.ts\n\n${sections.join('\n' + '-'.repeat(72) + '\n\n')}`);
  return dirs.size;
}

rmSync(DIST, { recursive: true, force: true });
// Bundled because loading ~450 separate modules cost more start-up time than the code in them
// (bench/startup.ts: 0.76 s of CPU to the first answer as separate files, 0.39 s bundled, a bare
// responder 0.14 s); each command's lazily imported modules stay lazy, in chunks of their own.
// The --sim emulator's own process (src/adapters/emulator-process.ts) forks dist/emulator-child.js.
const bundle = await rolldown({ input: { cli: join(SRC, 'cli.ts'), 'emulator-child': join(SRC, 'sim', 'emulator-child.ts') }, platform: 'node', external: isExternal, logLevel: 'warn' });
const { output } = await bundle.write({ dir: DIST, format: 'esm', chunkFileNames: '[name]-[hash].js' });
await bundle.close();
const moduleIds = output.flatMap((chunk) => (chunk.type === 'chunk' ? chunk.moduleIds : []));
const licensed = writeThirdPartyLicenses(moduleIds);
for (const file of assetsUnder(SRC)) cpSync(file, join(DIST, relative(SRC, file)));
const chunks = output.filter((c) => c.type === 'chunk').length;
process.stdout.write(`dist/ bundled from ${relative(process.cwd(), SRC) || '.'}: ${chunks} files, ${licensed} bundled libraries (dist/THIRD_PARTY_LICENSES), ${assetsUnder(SRC).length} assets copied\n`);
