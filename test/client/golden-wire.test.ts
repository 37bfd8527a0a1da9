// Guards the copy in golden-wire.ts: every entry must still be the exact message at its file/line in
// the shared golden captures (/work/shared/fixtures/device-connect). Skipped only where that shared
// directory is not mounted (the copy then stands on its own); never edits either side.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { golden } from './golden-wire.ts';

const CAPTURES = '/work/shared/fixtures/device-connect';

describe.skipIf(!existsSync(CAPTURES))('golden-wire.ts matches the shared captures', () => {
  const lines = new Map<string, string[]>();
  const lineOf = (file: string, line: number): unknown => {
    if (!lines.has(file)) lines.set(file, readFileSync(join(CAPTURES, file), 'utf8').split('\n'));
    return JSON.parse(lines.get(file)![line - 1]!);
  };

  test.each(Object.entries(golden))('%s', (_name, message) => {
    expect(lineOf(message.file, message.line)).toMatchObject({ subject: message.subject, reply: message.reply, data: message.data });
  });
});
