#!/usr/bin/env node
// Installed entry point, plain JavaScript that any Node can read. In a clone it runs the TypeScript
// sources (src/) with Node's type stripping; an installed package has no src/ but dist/, the same
// code compiled by `npm run build` at `npm pack` time (Node does not strip types under
// node_modules). On a Node older than 24 it re-runs itself with the Node 24 of a clone's `node`
// devDependency when there is one, and otherwise exits 1 saying what to install. This check
// replaces an `engines` field, which npm compares with the Node running npm (not the one running
// us) and warned about on every `npx` call in a clone whose system Node is older. README "Install".
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The Node line the driver is built and tested on (type stripping is on by default from 24). */
const MIN_NODE_MAJOR = 24;

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major >= MIN_NODE_MAJOR) {
  // A clone: the sources themselves. An installed package: the build.
  await import(existsSync(here('../src/cli.ts')) ? '../src/cli.ts' : '../dist/cli.js');
} else {
  const bundled = here('../node_modules/.bin/node');
  if (existsSync(bundled) && process.env.REACHY_MINI_DRIVER_REEXEC !== '1') {
    const child = spawn(bundled, [here(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, REACHY_MINI_DRIVER_REEXEC: '1' },
    });
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  } else {
    process.stderr.write(
      `reachy-mini-driver: needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node ${process.versions.node} (${process.execPath}).\n` +
        `Install Node ${MIN_NODE_MAJOR} (https://nodejs.org), or run it once with: npx -p node@${MIN_NODE_MAJOR} -p reachy-mini-driver reachy-mini-driver --help\n`,
    );
    process.exit(1);
  }
}
