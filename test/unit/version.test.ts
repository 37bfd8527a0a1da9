// `DRIVER_VERSION` (src/version.ts) against package.json: the version the driver reports as
// identity.firmware_version in its registration (device-connect-protocol.md §2.5), in the
// micro-service INFO and for `--version` must be the package's. Checks only that equality, not the
// places that report it.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { DRIVER_VERSION } from '../../src/version.ts';

test('DRIVER_VERSION matches package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(DRIVER_VERSION).toBe(pkg.version);
});
