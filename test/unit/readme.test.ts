// The README stays true: the two set-up commands, and every configuration key's flag and
// environment variables appear in its configuration table.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { CONFIG_KEYS } from '../../src/config/config.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README shows the two commands', () => {
  expect(readme).toContain('npm ci && npm start -- --sim');
  expect(readme).toContain('npm test');
});

test('README documents every configuration key', () => {
  for (const key of CONFIG_KEYS) {
    if (key.flag) expect(readme, key.key).toContain(key.flag);
    for (const env of key.env ?? []) expect(readme, key.key).toContain('`' + env + '`');
  }
});
