// `audit tail` prints one record per line in columns separated by two spaces
// (src/cli/audit-command.ts): a caller's function or owner with a run of spaces, leading or trailing
// space, a leading quote, or that is empty, `-` or `?`, is printed JSON-quoted, so no value can
// shift the columns or pass for an absent field; ordinary values (one space included) print as they are.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runAudit } from '../../src/cli/audit-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-columns-'));

/** The columns of a tail line: a quoted one is read as JSON, the rest up to the next two spaces. */
function columns(line: string): unknown[] {
  const out: unknown[] = [];
  let rest = line;
  while (rest.length > 0) {
    const quoted = /^"(?:[^"\\]|\\.)*"/.exec(rest);
    const token = quoted ? quoted[0] : rest.split('  ')[0]!;
    out.push(quoted ? (JSON.parse(token) as unknown) : token);
    rest = rest.slice(token.length);
    if (rest.length > 0) {
      expect(rest.startsWith('  ')).toBe(true);
      rest = rest.slice(2);
    }
  }
  return out;
}

async function tail(records: ReadonlyArray<Record<string, unknown>>): Promise<string[]> {
  const path = join(dir, `audit-${Date.now()}-${Math.random()}.jsonl`);
  writeFileSync(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAudit({ argv: ['audit', 'tail', '--lines', '50', '--audit-log', path], env: { REACHY_MINI_DRIVER_SETTINGS_FILE: join(dir, 'none.json') } }, (l) => out.push(l), (l) => err.push(l));
  expect([code, err]).toEqual([0, []]);
  return out;
}

test('a function or owner that would not read as one column is JSON-quoted; the columns read back as the record', async () => {
  const values = ['goto  pose', 'two  spaces', ' leading', 'trailing ', '', '"quoted"', '-', '?', 'a\u00a0 b', 'tab\tand  run'];
  const records = values.map((v, i) => ({ seq: i + 1, ts: '2026-12-06T21:00:00.000Z', kind: 'refused', function: v, owner: v, reason: `r${i}` }));
  const lines = await tail(records);
  expect(lines).toHaveLength(records.length);
  lines.forEach((line, i) => {
    const r = records[i]!;
    expect(columns(line)).toEqual([String(r.seq), r.ts, r.kind, r.function, r.owner, r.reason]);
  });
  // A tab is escaped too (as before), inside the quotes.
  expect(lines.at(-1)).toContain('"tab\\tand  run"  "tab\\tand  run"');
});

test('ordinary values print as they are; an absent function or owner is a bare -', async () => {
  const lines = await tail([
    { seq: 1, ts: '2026-12-06T21:00:00.000Z', kind: 'accepted', function: 'goto_pose', owner: 'my agent', reason: 'ok' },
    { seq: 2, ts: '2026-12-06T21:00:01.000Z', kind: 'interlock_reset', reason: 'done' },
  ]);
  expect(lines).toEqual(['1  2026-12-06T21:00:00.000Z  accepted  goto_pose  my agent  "ok"', '2  2026-12-06T21:00:01.000Z  interlock_reset  -  -  "done"']);
  expect(columns(lines[1]!)).toEqual(['2', '2026-12-06T21:00:01.000Z', 'interlock_reset', '-', '-', 'done']);
});
