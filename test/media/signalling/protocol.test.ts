// gst-webrtc-signalling v1 codec (reachy-daemon-api.md §9.2, src/media/signalling/protocol.ts):
// every message shape decodes in its direction, encoders round-trip in the wire's field order, what
// gst-plugins-rs sends is accepted (absent meta, meta of any JSON type, unknown extra fields), a
// list entry without a usable id is left out and counted, and malformed input becomes a typed
// problem naming the field instead of a throw (however deep or long the bad value).
// Sockets and sessions: signalling.test.ts.
import { describe, expect, it } from 'vitest';
import {
  type ClientMessage,
  type ServerMessage,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  peerName,
} from '../../../src/media/signalling/protocol.ts';

const serverMessages: ServerMessage[] = [
  { type: 'welcome', peerId: 'p1' },
  { type: 'peerStatusChanged', peerId: 'p2', roles: ['producer'], meta: { name: 'reachymini' } },
  { type: 'peerStatusChanged', peerId: 'p2', roles: [], meta: null },
  { type: 'list', producers: [{ id: 'p2', meta: { name: 'reachymini' } }, { id: 'p3', meta: null }, { id: 'p4', meta: 'a tool' }, { id: 'p5', meta: [1, { a: true }] }] },
  { type: 'listConsumers', consumers: [] },
  { type: 'sessionStarted', peerId: 'p2', sessionId: 's1' },
  { type: 'startSession', peerId: 'p1', sessionId: 's1' },
  { type: 'startSession', peerId: 'p1', sessionId: 's1', offer: 'v=0' },
  { type: 'peer', sessionId: 's1', sdp: { type: 'offer', sdp: 'v=0\r\n' } },
  { type: 'peer', sessionId: 's1', ice: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMLineIndex: 2 } },
  { type: 'endSession', sessionId: 's1' },
  { type: 'error', details: 'nope' },
];

const clientMessages: ClientMessage[] = [
  { type: 'setPeerStatus', roles: ['listener'], meta: null },
  { type: 'setPeerStatus', roles: ['producer', 'consumer'], meta: { name: 'reachymini' } },
  { type: 'setPeerStatus', roles: ['listener'], meta: 42 },
  { type: 'list' },
  { type: 'listConsumers' },
  { type: 'startSession', peerId: 'p2' },
  { type: 'startSession', peerId: 'p2', offer: 'v=0' },
  { type: 'peer', sessionId: 's1', sdp: { type: 'answer', sdp: 'v=0\r\n' } },
  { type: 'peer', sessionId: 's1', ice: { candidate: '', sdpMLineIndex: 0 } },
  { type: 'endSession', sessionId: 's1' },
  { type: 'setProtocolVersion', version: 1 },
  { type: 'setProtocolVersion' },
];

describe('signalling protocol codec', () => {
  it('round-trips every server → peer message', () => {
    for (const message of serverMessages) expect(decodeServerMessage(encodeServerMessage(message))).toEqual({ ok: true, message });
  });

  it('round-trips every peer → server message', () => {
    for (const message of clientMessages) expect(decodeClientMessage(encodeClientMessage(message))).toEqual({ ok: true, message });
  });

  it('encodes the wire shapes of §9.2 (camelCase, type first, absent optionals left out)', () => {
    expect(encodeClientMessage({ type: 'startSession', peerId: 'p2' })).toBe('{"type":"startSession","peerId":"p2"}');
    expect(encodeClientMessage({ type: 'peer', sessionId: 's', ice: { candidate: 'c', sdpMLineIndex: 0 } })).toBe(
      '{"type":"peer","sessionId":"s","ice":{"candidate":"c","sdpMLineIndex":0}}',
    );
    expect(encodeServerMessage({ type: 'peerStatusChanged', peerId: 'p', roles: ['listener'], meta: null })).toBe(
      '{"type":"peerStatusChanged","roles":["listener"],"meta":null,"peerId":"p"}',
    );
  });

  it('accepts what gst-plugins-rs sends: absent meta is null, unknown extra fields are ignored', () => {
    expect(decodeServerMessage('{"type":"list","producers":[{"id":"a"}],"extra":1}')).toEqual({ ok: true, message: { type: 'list', producers: [{ id: 'a', meta: null }] } });
    expect(decodeClientMessage('{"type":"setPeerStatus","roles":["listener"]}')).toEqual({ ok: true, message: { type: 'setPeerStatus', roles: ['listener'], meta: null } });
    expect(decodeServerMessage('{"type":"startSession","peerId":"c","sessionId":"s","offer":null}')).toEqual({
      ok: true,
      message: { type: 'startSession', peerId: 'c', sessionId: 's' },
    });
  });

  it('takes any JSON as a peer\'s meta (upstream: Option<serde_json::Value>); only an object has a name', () => {
    for (const meta of ['x', 42, true, [], [1], { name: 7 }]) {
      expect(decodeServerMessage(JSON.stringify({ type: 'peerStatusChanged', peerId: 'a', roles: ['listener'], meta }))).toEqual({
        ok: true,
        message: { type: 'peerStatusChanged', peerId: 'a', roles: ['listener'], meta },
      });
      expect(decodeClientMessage(JSON.stringify({ type: 'setPeerStatus', roles: ['producer'], meta }))).toEqual({ ok: true, message: { type: 'setPeerStatus', roles: ['producer'], meta } });
    }
    expect([{ name: 'reachymini' }, { name: 7 }, 'reachymini', ['reachymini'], null].map(peerName)).toEqual(['reachymini', 7, undefined, undefined, undefined]);
  });

  it('leaves out list entries without a usable id and counts them, keeping the others', () => {
    const raw = JSON.stringify({ type: 'list', producers: ['junk', null, { meta: { name: 'reachymini' } }, { id: '', meta: null }, { id: 3 }, { id: 'robot', meta: { name: 'reachymini' } }] });
    expect(decodeServerMessage(raw)).toEqual({ ok: true, message: { type: 'list', producers: [{ id: 'robot', meta: { name: 'reachymini' } }], skipped: 5 } });
    expect(decodeServerMessage('{"type":"listConsumers","consumers":[7,{"id":"c"}]}')).toEqual({ ok: true, message: { type: 'listConsumers', consumers: [{ id: 'c', meta: null }], skipped: 1 } });
  });

  it.each([
    ['not json', 'malformed-json'],
    ['', 'malformed-json'],
    ['[1,2]', 'not-an-object'],
    ['null', 'not-an-object'],
    ['"welcome"', 'not-an-object'],
    ['{}', 'missing-type'],
    ['{"type":7}', 'missing-type'],
    ['{"type":"teleport"}', 'unknown-type'],
    ['{"type":"welcome"}', 'invalid-field'],
    ['{"type":"welcome","peerId":""}', 'invalid-field'],
    ['{"type":"list","producers":{}}', 'invalid-field'],
    ['{"type":"listConsumers","consumers":null}', 'invalid-field'],
    ['{"type":"peerStatusChanged","peerId":"a","roles":["king"],"meta":null}', 'invalid-field'],
    ['{"type":"peer","sessionId":"s"}', 'invalid-field'],
    ['{"type":"peer","sessionId":"s","sdp":{"type":"offer","sdp":"v"},"ice":{"candidate":"","sdpMLineIndex":0}}', 'invalid-field'],
    ['{"type":"peer","sessionId":"s","sdp":{"type":"pranswer","sdp":"v"}}', 'invalid-field'],
    ['{"type":"peer","sessionId":"s","sdp":{"type":"offer","sdp":""}}', 'invalid-field'],
    ['{"type":"peer","sessionId":"s","ice":{"candidate":"c","sdpMLineIndex":-1}}', 'invalid-field'],
    ['{"type":"peer","sessionId":"s","ice":{"candidate":"c","sdpMLineIndex":0.5}}', 'invalid-field'],
    ['{"type":"peer","sessionId":"s","ice":{"sdpMLineIndex":0}}', 'invalid-field'],
    ['{"type":"error"}', 'invalid-field'],
    ['{"type":"setPeerStatus","roles":["listener"]}', 'unknown-type'],
  ])('server frame %j is refused as %s', (raw, kind) => {
    const decoded = decodeServerMessage(raw);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.problem.kind).toBe(kind);
      expect(decoded.problem.details.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['{"type":"setPeerStatus","roles":"listener"}', 'invalid-field'],
    ['{"type":"setPeerStatus","roles":["listener", 7]}', 'invalid-field'],
    ['{"type":"startSession"}', 'invalid-field'],
    ['{"type":"startSession","peerId":"p","offer":5}', 'invalid-field'],
    ['{"type":"endSession"}', 'invalid-field'],
    ['{"type":"setProtocolVersion","version":{}}', 'invalid-field'],
    ['{"type":"welcome","peerId":"p"}', 'unknown-type'],
  ])('peer frame %j is refused as %s', (raw, kind) => {
    const decoded = decodeClientMessage(raw);
    expect(decoded).toMatchObject({ ok: false, problem: { kind } });
  });

  it('names the offending field and keeps excerpts of garbage short', () => {
    const decoded = decodeServerMessage('{"type":"sessionStarted","peerId":"p"}');
    expect(decoded).toMatchObject({ ok: false, problem: { messageType: 'sessionStarted', details: expect.stringContaining('"sessionId"') } });
    const garbage = decodeServerMessage('x'.repeat(10_000));
    expect(garbage.ok).toBe(false);
    if (!garbage.ok) expect(garbage.problem.details.length).toBeLessThan(200);
  });

  it('a wrong value nested too deep for JSON.stringify, or a megabyte long, is described, never thrown or copied whole', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const raw of [
      `{"type":"peerStatusChanged","peerId":"a","roles":[${deep}],"meta":null}`,
      `{"type":"peer","sessionId":"s","sdp":{"type":${deep},"sdp":"v"}}`,
      `{"type":"peer","sessionId":"s","ice":{"candidate":"c","sdpMLineIndex":${deep}}}`,
      `{"type":"peerStatusChanged","peerId":"a","roles":["${'k'.repeat(1 << 20)}"],"meta":null}`,
    ]) {
      const decoded = decodeServerMessage(raw);
      expect(decoded).toMatchObject({ ok: false, problem: { kind: 'invalid-field' } });
      if (!decoded.ok) expect(decoded.problem.details.length).toBeLessThan(200);
    }
  });
});
