// The one escaping of someone else's text (src/logging/control-escapes.ts): every control character
// (C0 with CR, LF, TAB, ESC, BEL; DEL; C1) and U+2028/U+2029 becomes its JSON escape; everything else
// — backslashes, quotes, non-ASCII letters, emoji — stays byte for byte; JSON text keeps its value.
import { expect, test } from 'vitest';
import { escapeControls, escapeJsonControls } from '../../src/logging/control-escapes.ts';

const RAW_CONTROL = /[\p{Cc}\u2028\u2029]/u;

test('ordinary text, backslashes and quotes included, is unchanged', () => {
  for (const text of ['goto_pose', 'caller ops@lab:1/2 is not in DEVICE_CONNECT_RPC_ALLOW', 'C:\\path "quoted" = x', 'Grüße 机器人 🤖', '']) {
    expect(escapeControls(text)).toBe(text);
  }
});

test('CR, LF, TAB, ESC, BEL, NUL, DEL, C1 and the line/paragraph separators become JSON escapes', () => {
  expect(escapeControls('a\r\nb\tc')).toBe('a\\r\\nb\\tc');
  expect(escapeControls('\u001b]0;owned\u0007\u001b[2J')).toBe('\\u001b]0;owned\\u0007\\u001b[2J');
  expect(escapeControls('nul\u0000 bs\b ff\f del\u007f')).toBe('nul\\u0000 bs\\b ff\\f del\\u007f');
  expect(escapeControls('csi\u009b2J nel\u0085 ls\u2028 ps\u2029')).toBe('csi\\u009b2J nel\\u0085 ls\\u2028 ps\\u2029');
  for (let code = 0; code <= 0x9f; code += 1) {
    if (code === 0x20) code = 0x7f;
    expect(escapeControls(`<${String.fromCharCode(code)}>`)).not.toMatch(RAW_CONTROL);
  }
});

test('JSON text: indentation newlines stay, DEL/C1/separators inside strings are escaped, the value is the same', () => {
  const value = { name: 'ev\u009b2J', payload: ['\u2028', 'del\u007f', 'esc\u001b'], n: 1 };
  const pretty = JSON.stringify(value, null, 2);
  const escaped = escapeJsonControls(pretty);
  expect(escaped.split('\n')).toHaveLength(pretty.split('\n').length);
  for (const line of escaped.split('\n')) expect(line).not.toMatch(RAW_CONTROL);
  expect(JSON.parse(escaped)).toEqual(value);
  expect(escapeJsonControls(JSON.stringify(value))).toBe('{"name":"ev\\u009b2J","payload":["\\u2028","del\\u007f","esc\\u001b"],"n":1}');
});
