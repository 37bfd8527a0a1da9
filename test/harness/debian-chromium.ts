// Debian's Chromium (/usr/bin/chromium) for the browser tests, driven by playwright-core, which never
// downloads a browser: the flags of a quiet headless run and one launch into a persistent profile,
// with a loud error when the binary is missing. Owns the launch only; pages, routes and what the
// tests check are theirs.
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Throws the install hint when Debian's chromium is not there (call first, before what the test starts). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does it). The browser tests never download a browser.`);
}

/** Headless Chromium on a persistent profile in `profileDir`, 1100×900; `extraArgs` after the quiet-run flags. */
export async function launchChromium(profileDir: string, extraArgs: readonly string[] = []): Promise<BrowserContext> {
  requireChromium();
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], viewport: { width: 1100, height: 900 } });
}
