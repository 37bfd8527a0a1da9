// The Wireless robot runs the driver on its Raspberry Pi CM4 (linux-arm64, glibc): every native
// dependency must resolve there. Read from package-lock.json: each native package either ships a
// linux-arm64 build in the package itself (@evan/opus) or has a linux-arm64 glibc optional package
// pinned at its own version (sharp + libvips, node-datachannel, node-av, @roamhq/wrtc). Checked on
// a machine with the packuments cached: `npm install --offline --dry-run --cpu=arm64 --os=linux
// --libc=glibc <tarball>` adds exactly these (README "Installing on the robot").
import { existsSync, readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

interface LockEntry {
  readonly version?: string;
  readonly os?: string[];
  readonly cpu?: string[];
  readonly libc?: string[];
  readonly optional?: boolean;
  readonly dev?: boolean;
  readonly optionalDependencies?: Record<string, string>;
}

const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as { packages: Record<string, LockEntry> };
const entry = (name: string): LockEntry | undefined => lock.packages[`node_modules/${name}`];

/** Native runtime dependency → its linux-arm64 (glibc) platform package. */
const ARM64_PACKAGES: Record<string, string[]> = {
  sharp: ['@img/sharp-linux-arm64', '@img/sharp-libvips-linux-arm64'],
  'node-datachannel': ['@node-datachannel/linux-arm64-gnu'],
  'node-av': ['@seydx/node-av-linux-arm64'],
  '@roamhq/wrtc': ['@roamhq/wrtc-linux-arm64'],
};

test.each(Object.entries(ARM64_PACKAGES))('%s has its linux-arm64 glibc build in the lockfile', (name, platformPackages) => {
  const parent = entry(name);
  expect(parent?.dev, `${name} is a runtime dependency`).not.toBe(true);
  for (const platform of platformPackages) {
    const p = entry(platform);
    expect(p, platform).toBeDefined();
    expect(p!.os).toEqual(['linux']);
    expect(p!.cpu).toEqual(['arm64']);
    if (p!.libc) expect(p!.libc).toEqual(['glibc']);
    expect(p!.optional).toBe(true);
    expect(Object.keys(parent!.optionalDependencies ?? {}), `${name} lists ${platform}`).toContain(platform);
  }
});

test('@evan/opus ships its linux-arm64 addon inside the package (and a WebAssembly fallback)', () => {
  expect(entry('@evan/opus')?.dev).not.toBe(true);
  const dir = new URL('../../node_modules/@evan/opus/', import.meta.url);
  expect(existsSync(new URL('node/arm64-linux.node', dir))).toBe(true);
  expect(existsSync(new URL('wasm/opus.wasm', dir))).toBe(true);
});
