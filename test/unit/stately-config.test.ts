// stately.config.json (Stately's statelyai.json schema under the card's name, ecosystem.md §2.1)
// lists every machine file: version 1.0.0, XState 5, and each `src/machines/*.machine.ts` matches
// its include glob and exports a machine. Not the machines' behaviour (test/model/) nor whether the
// `statelyai` CLI reads the file (it is not on this registry, §2.1).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

test('stately.config.json covers every machine file', async () => {
  const config = JSON.parse(readFileSync(root + 'stately.config.json', 'utf8')) as { version: string; defaultXStateVersion: number; include: string[] };
  expect(config.version).toBe('1.0.0');
  expect(config.defaultXStateVersion).toBe(5);
  expect(config.include).toContain('src/machines/**/*.machine.ts');
  const files = readdirSync(root + 'src/machines').filter((f) => f.endsWith('.machine.ts'));
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    const mod = (await import(root + 'src/machines/' + file)) as Record<string, unknown>;
    const machines = Object.values(mod).filter((v) => typeof v === 'object' && v !== null && 'root' in v && 'config' in v);
    expect(machines.length, file).toBeGreaterThan(0);
  }
});
