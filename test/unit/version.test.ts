import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { DRIVER_VERSION } from '../../src/version.ts';

test('DRIVER_VERSION matches package.json', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(DRIVER_VERSION).toBe(pkg.version);
});
