// The kept JSON of RPC results (src/protocol/result-json.ts): a preset JSON is used while its result
// is among the last few preset, and a result pushed out is encoded again with the same bytes; a
// shared result is encoded once. Also the request decoder's params without `_dc_meta` (no copy).
import { expect, test } from 'vitest';
import { decodeRequest, encodeResult } from '../../src/protocol/json-rpc.ts';
import { keptJson, presetResultJson, resultJson, shareResult } from '../../src/protocol/result-json.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

test('a preset result is answered with its preset JSON, in the envelope and on .svc', () => {
  const result = { daemon: { age_s: 0.5 }, driver_state: { ok: true } };
  // Deliberately different from JSON.stringify(result) (spacing): proves the preset is what is sent.
  const preset = '{"daemon":{"age_s":0.5},  "driver_state":{"ok":true}}';
  presetResultJson(result, preset);
  expect(resultJson(result)).toBe(preset);
  expect(encodeResult('r-1', result)).toBe(`{"jsonrpc":"2.0","id":"r-1","result":${preset}}`);
});

test('a result pushed out of the preset slots is encoded again, with the plain bytes', () => {
  const results = Array.from({ length: 20 }, (_, k) => ({ k, note: 'x' }));
  for (const r of results) presetResultJson(r, `{"k":${r.k},"note":"x"}`);
  expect(keptJson(results[0])).toBeUndefined();
  expect(resultJson(results[0])).toBe(JSON.stringify(results[0]));
  expect(encodeResult(3, results[0])).toBe(JSON.stringify({ jsonrpc: '2.0', id: 3, result: results[0] }));
  expect(keptJson(results[19])).toBe('{"k":19,"note":"x"}');
});

test('sharing a preset result keeps its preset JSON; a shared result is encoded at its first reply', () => {
  const preset = { a: 1 };
  presetResultJson(preset, '{"a":1}');
  shareResult(preset);
  expect(keptJson(preset)).toBe('{"a":1}');
  const plain = { b: [1, 2] };
  shareResult(plain);
  expect(keptJson(plain)).toBeNull();
  expect(encodeResult(1, plain)).toBe('{"jsonrpc":"2.0","id":1,"result":{"b":[1,2]}}');
  expect(keptJson(plain)).toBe('{"b":[1,2]}');
  // The same on .svc (the bare result JSON): the first reply's encoding is kept for the rest.
  const onSvc = { c: 'x' };
  shareResult(onSvc);
  expect(resultJson(onSvc)).toBe('{"c":"x"}');
  expect(keptJson(onSvc)).toBe('{"c":"x"}');
});

test('params without _dc_meta are decoded as sent; with it, the caller is taken out of them', () => {
  const plain = decodeRequest(bytes('{"jsonrpc":"2.0","id":1,"method":"goto_pose","params":{"yaw":10,"owner":"a"}}'));
  expect(plain).toEqual({ kind: 'request', id: 1, method: 'goto_pose', params: { yaw: 10, owner: 'a' }, caller: { sourceDevice: null, traceId: null } });
  const none = decodeRequest(bytes('{"jsonrpc":"2.0","id":2,"method":"get_status"}'));
  expect(none).toMatchObject({ kind: 'request', params: {} });
  const meta = decodeRequest(bytes('{"jsonrpc":"2.0","id":3,"method":"goto_pose","params":{"yaw":10,"_dc_meta":{"source_device":"dev-x"}}}'));
  expect(meta).toMatchObject({ kind: 'request', params: { yaw: 10 }, caller: { sourceDevice: 'dev-x' } });
  expect(meta.kind === 'request' && Object.hasOwn(meta.params, '_dc_meta')).toBe(false);
});
