// The one JSON body parser of the mesh entries: bare NaN/Infinity/-Infinity tokens (Python's
// json.dumps default) are named in the refusal; the same words inside strings are left alone,
// and a body broken in some other way keeps the generic message.
import { expect, test } from 'vitest';
import { decodeRequest, NON_FINITE_JSON_PROBLEM, parseJsonBody, replaceNonFiniteTokens } from '../../src/protocol/json-rpc.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

test('bare tokens outside strings are found; the ones inside strings (escaped quotes too) are not', () => {
  expect(replaceNonFiniteTokens('{"a": NaN, "b": [Infinity, -Infinity]}')).toBe('{"a": null, "b": [null, null]}');
  expect(replaceNonFiniteTokens('{"a": "NaN", "b": "say \\"Infinity\\" -Infinity"}')).toBeUndefined();
  expect(replaceNonFiniteTokens('NaN')).toBe('null');
});

test('a body that is JSON but for NaN/Infinity is refused saying so, with what it would have been', () => {
  const parsed = parseJsonBody(bytes('{"yaw": NaN, "pitch": 1}'), 'the body');
  expect(parsed).toMatchObject({ ok: false, error: { _tag: 'ParseError', message: `Parse error: the body ${NON_FINITE_JSON_PROBLEM}` }, withNullsForNonFinite: { yaw: null, pitch: 1 } });
});

test('other broken JSON, and invalid UTF-8, keep the generic message', () => {
  for (const body of [bytes('{"yaw": NaN'), bytes('{"yaw": NaNa}'), new Uint8Array([0x7b, 0xff, 0x7d])]) {
    const parsed = parseJsonBody(body, 'the body');
    expect(parsed).toMatchObject({ ok: false, error: { _tag: 'ParseError', message: 'Parse error: the body is not valid UTF-8 JSON' } });
  }
});

test('.cmd: -32700 naming NaN/Infinity, the id echoed when it is readable', () => {
  expect(decodeRequest(bytes('{"jsonrpc":"2.0","id":"py-7","method":"goto_pose","params":{"yaw":Infinity}}'))).toMatchObject({
    kind: 'invalid',
    id: 'py-7',
    error: { _tag: 'ParseError', message: `Parse error: the request ${NON_FINITE_JSON_PROBLEM}` },
  });
  expect(decodeRequest(bytes('{"jsonrpc":"2.0","id":NaN,"method":"get_status"}'))).toMatchObject({ kind: 'invalid', id: null, error: { _tag: 'ParseError' } });
});
