#!/usr/bin/env node
// Installed entry point. The sources are TypeScript run by Node's type stripping (Node 24 or newer),
// so this file is plain JavaScript that any Node can read: on a Node that strips types it loads the
// CLI; on an older one it re-runs itself with the Node 24 of a clone's `node` devDependency when
// there is one, and otherwise exits 1 saying what to install. This check replaces an `engines`
// field, which npm compares with the Node running npm (not the one running us) and warned about on
// every `npx` call in a clone whose system Node is older. README "Install".
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Type stripping is on by default from Node 24 on (the only line the tests run on). */
const MIN_NODE_MAJOR = 24;

const major = Number(process.versions.node.split('.')[0]);
if (major >= MIN_NODE_MAJOR && process.features.typescript) {
  await import('../src/cli.ts');
} else {
  const bundled = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (existsSync(bundled) && process.env.REACHY_MINI_DRIVER_REEXEC !== '1') {
    const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, REACHY_MINI_DRIVER_REEXEC: '1' },
    });
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  } else {
    process.stderr.write(
      `reachy-mini-driver: needs Node.js ${MIN_NODE_MAJOR} or newer (it runs its TypeScript sources directly); this is Node ${process.versions.node} (${process.execPath}).\n` +
        `Install Node ${MIN_NODE_MAJOR} (https://nodejs.org), or run it once with: npx -p node@${MIN_NODE_MAJOR} -p reachy-mini-driver reachy-mini-driver --help\n`,
    );
    process.exit(1);
  }
}
