// The driver's option table as `help run` and `help app` print it (README "Configuration" is the
// same table in Markdown): for each CONFIG_KEYS entry its flag, environment variables and settings
// file key, then its meaning and its default, wrapped to HELP_WIDTH columns. Pure: the keys come
// from the caller (src/cli.ts loads config.ts for these two commands only); owns the layout only.
import type { ConfigKey } from '../config/config.ts';

/** The widest line of the table: fits a 100-column terminal without the terminal breaking words. */
export const HELP_WIDTH = 100;
/** An option's names start here… */
const NAMES_INDENT = '  ';
/** …names that do not fit on one line go on indented a little… */
const NAMES_CONTINUED = '    ';
/** …and its meaning and default sit under them, further in, so the next option's names stand out. */
const DETAIL_INDENT = '      ';

/** `pieces` in lines of at most `width` columns, one space apart: the first line after `first`, the rest after `rest` (a longer piece gets a line of its own). */
function wrapPieces(pieces: ReadonlyArray<string>, first: string, rest: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let indent = first;
  for (const piece of pieces) {
    if (line !== '' && indent.length + line.length + 1 + piece.length > width) {
      lines.push(indent + line);
      indent = rest;
      line = piece;
    } else {
      line = line === '' ? piece : `${line} ${piece}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/** `text`'s words wrapped as wrapPieces does. */
export function wrapWords(text: string, first: string, rest: string, width: number = HELP_WIDTH): string[] {
  return wrapPieces(text.split(/\s+/).filter((word) => word !== ''), first, rest, width);
}

/** `--flag, ENV, ENV2; settings file: key` — the ways one option can be set, each name kept whole on a line. */
function namesOf(key: ConfigKey): string[] {
  const names = [key.flag, ...(key.env ?? [])].filter((name): name is string => name !== undefined && name !== '');
  const settings = key.settings === undefined ? [] : [`settings file: ${key.settings}`];
  const last = names.length - 1;
  return [...names.map((name, i) => (i < last ? `${name},` : settings.length > 0 ? `${name};` : name)), ...settings];
}

/** The table, one entry per key, in CONFIG_KEYS order. */
export function optionTable(keys: ReadonlyArray<ConfigKey>): string {
  const lines = [
    'Options (flags > environment > settings file > defaults), each with its flag, environment',
    'variables and settings file key:',
  ];
  for (const key of keys) {
    lines.push(
      ...wrapPieces(namesOf(key), NAMES_INDENT, NAMES_CONTINUED, HELP_WIDTH),
      ...wrapWords(key.doc, DETAIL_INDENT, DETAIL_INDENT),
      ...wrapWords(`Default: ${key.default}.`, DETAIL_INDENT, DETAIL_INDENT),
    );
  }
  return lines.join('\n') + '\n';
}
