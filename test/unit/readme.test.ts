// The README stays true: the two set-up commands (README "The two commands"), every command of the
// binary (`COMMAND_HELP`, src/cli/command-line.ts) in the "Command line" block, and every
// configuration key's flag and environment variables (`CONFIG_KEYS`, src/config/config.ts) appear
// in it, with CONFIG_KEYS' default in the table (README "Configuration"), and no paragraph is said
// twice. Only that they appear: not that the commands run, nor the table's other wording.
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { COMMAND_NAMES } from '../../src/cli/command-line.ts';
import { CONFIG_KEYS } from '../../src/config/config.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README shows the two commands', () => {
  expect(readme).toContain('npm ci && npm start -- --sim');
  expect(readme).toContain('npm test');
});

test('README\'s command block lists every command', () => {
  const block = /## Command line\n\n```\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  expect(block).not.toBe('');
  for (const name of COMMAND_NAMES) expect(block, name).toMatch(new RegExp(`^reachy-mini-driver \\[?${name}\\b`, 'm'));
});

test('README documents every configuration key', () => {
  for (const key of CONFIG_KEYS) {
    if (key.flag) expect(readme, key.key).toContain(key.flag);
    for (const env of key.env ?? []) expect(readme, key.key).toContain('`' + env + '`');
  }
});

test('README\'s configuration table gives every key the default CONFIG_KEYS gives it', () => {
  const defaults = new Map<string, string>();
  for (const line of readme.split('\n')) {
    const cells = line.split(' | ');
    if (line.startsWith('| ') && cells.length >= 6) defaults.set(cells[0]!.slice(2), cells[4]!);
  }
  for (const key of CONFIG_KEYS) expect(defaults.get(key.key), key.key).toBe(key.default);
});

/** Paragraphs shorter than this (a heading, "prints:") may well repeat. */
const REPEATABLE_CHARS = 40;

test('README says each paragraph once (code blocks aside)', () => {
  const prose = readme.replace(/^```[\s\S]*?^```/gm, '');
  const paragraphs = prose.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p.length > REPEATABLE_CHARS);
  expect(paragraphs.filter((p, i) => paragraphs.indexOf(p) !== i)).toEqual([]);
});
