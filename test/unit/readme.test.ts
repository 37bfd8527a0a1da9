// The README stays true: the two set-up commands (README "The two commands") and every
// configuration key's flag and environment variables (`CONFIG_KEYS`, src/config/config.ts) appear
// in it (README "Configuration"), and no paragraph is said twice. Only that they appear: not that the
// commands run, nor the table's defaults or wording.
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

/** Paragraphs shorter than this (a heading, "prints:") may well repeat. */
const REPEATABLE_CHARS = 40;

test('README says each paragraph once (code blocks aside)', () => {
  const prose = readme.replace(/^```[\s\S]*?^```/gm, '');
  const paragraphs = prose.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > REPEATABLE_CHARS);
  expect(paragraphs.filter((p, i) => paragraphs.indexOf(p) !== i)).toEqual([]);
});
