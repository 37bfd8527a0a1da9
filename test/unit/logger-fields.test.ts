// Log fields and messages (src/logging/logger.ts): a value a caller controls (a subject token, an
// owner, a daemon's words, a method name in a message) cannot forge a line or drive the terminal —
// whitespace, quotes and `=` in values are quoted as before, every control character (ESC, DEL, C1)
// and line separator in a value or the message is escaped; ordinary messages stay as written; secrets stay redacted.
import { afterEach, expect, test } from 'vitest';
import { createLogger, setLogLevel, setLogSink } from '../../src/logging/logger.ts';

const lines: string[] = [];
setLogSink((line) => lines.push(line));
setLogLevel('debug');
afterEach(() => {
  lines.length = 0;
});
const fieldOf = (line: string) => line.slice(line.indexOf(' v=') + 3);

test('plain values stay bare; whitespace, quotes and = are quoted as JSON', () => {
  const log = createLogger('t');
  log.info('m', { v: 'plain-value_1' });
  log.info('m', { v: 'two words' });
  log.info('m', { v: 'a="b"' });
  expect(lines.map(fieldOf)).toEqual(['plain-value_1', '"two words"', '"a=\\"b\\""']);
});

test('ESC, DEL, a C1 control and a line separator are escaped, never written raw', () => {
  const log = createLogger('t');
  for (const v of ['\u001b[31mred', 'del\u007f', 'c1\u009b2J', 'line\u2028break', 'nl\nforged INFO line']) log.warn('m', { v });
  expect(lines.map(fieldOf)).toEqual(['"\\u001b[31mred"', '"del\\u007f"', '"c1\\u009b2J"', '"line\\u2028break"', '"nl\\nforged INFO line"']);
  for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u);
});

test('objects and errors get the same escaping; secret-named fields stay redacted', () => {
  const log = createLogger('t');
  log.error('m', { v: { owner: '\u001b]0;title\u0007', n: 1 } });
  log.error('m', { v: new Error('bad \u009b thing') });
  log.error('m', { token: '\u001bsecret' });
  expect(fieldOf(lines[0]!)).toBe('{"owner":"\\u001b]0;title\\u0007","n":1}');
  expect(fieldOf(lines[1]!)).toBe('"bad \\u009b thing"');
  expect(lines[2]).toMatch(/token=\[redacted\]$/);
});

test('the message gets the same escapes; an ordinary message is written as it is', () => {
  const log = createLogger('t');
  const ordinary = 'goto_pose came as a JSON-RPC notification: run, not answered; send it with an "id" to hear its outcome (C:\\x, 100 %, ±1°)';
  log.warn(ordinary);
  log.warn('x\n2026-12-06T00:00:00.000Z INFO driver:robot FORGED \u001b[2J\u0007\u009b\r\u2028 came as a notification');
  expect(lines[0]!.slice(lines[0]!.indexOf(' driver:t ') + ' driver:t '.length)).toBe(ordinary);
  expect(lines[1]).toMatch(/ WARN driver:t x\\n2026-12-06T00:00:00\.000Z INFO driver:robot FORGED \\u001b\[2J\\u0007\\u009b\\r\\u2028 came as a notification$/);
  for (const line of lines) expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u);
});
