// The bytes a caller signs (src/protocol/caller-signature.ts signingInput), as README "How to sign"
// writes them: six lines for `.cmd`/`.svc`/`.supervisor`; on `.broadcast` four more — the
// envelope's targets, where, fire_at and on_late, each its canonical JSON (RFC 8785) or `-` when
// absent — so a dropped field never signs like one sent as null, "" or [], and the verifier refuses
// a signature over one envelope for any other (review T item 1).
import { createUser } from '@nats-io/jwt';
import { describe, expect, test } from 'vitest';
import { paramsDigest, signatureFields, signingInput, type BroadcastEnvelope } from '../../src/protocol/caller-signature.ts';
import type { CallerMeta } from '../../src/protocol/json-rpc.ts';
import { createCallerIdentity } from '../../src/safety/caller-identity.ts';

const BROADCAST = 'device-connect.default.broadcast';
const PARAMS = { owner: 'agent', ttl_s: 60 };
const TS = 1_765_000_000_000;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const broadcastInput = (envelope: BroadcastEnvelope) => text(signingInput({ subject: BROADCAST, requestId: 'br-1', method: 'acquire_lease', params: PARAMS, ts: TS, envelope }));

describe('signingInput', () => {
  test('a call without an envelope (.cmd, .svc, .supervisor) signs the six documented lines', () => {
    const input = text(signingInput({ subject: 'device-connect.default.r1.cmd', requestId: 'r-1', method: 'acquire_lease', params: PARAMS, ts: TS }));
    expect(input).toBe(['device-connect-call-v1', 'device-connect.default.r1.cmd', 'r-1', 'acquire_lease', paramsDigest(PARAMS), String(TS)].join('\n'));
  });

  test('a broadcast adds targets, where, fire_at and on_late as canonical JSON, `-` for each absent one', () => {
    const input = broadcastInput({ targets: ['robot-b', 'robot-a'], where: "device.location == 'lab\n2'", fire_at: 1_765_000_000.0 });
    expect(input.split('\n')).toEqual([
      'device-connect-call-v1',
      BROADCAST,
      'br-1',
      'acquire_lease',
      paramsDigest(PARAMS),
      String(TS),
      '["robot-b","robot-a"]',
      // A line break inside a value stays escaped: one line per field.
      '"device.location == \'lab\\n2\'"',
      '1765000000',
      '-',
    ]);
    expect(broadcastInput({})).toBe([...input.split('\n').slice(0, 6), '-', '-', '-', '-'].join('\n'));
    // Objects (a `where` that is not a string) are canonical: keys sorted, no whitespace.
    expect(broadcastInput({ where: { b: 1, a: [true, null] } }).split('\n')[7]).toBe('{"a":[true,null],"b":1}');
  });

  test('absent, null, empty and reordered fields sign differently, and a broadcast never signs like a call without an envelope', () => {
    const variants: BroadcastEnvelope[] = [{}, { targets: null }, { targets: [] }, { targets: ['a', 'b'] }, { targets: ['b', 'a'] }, { where: '' }, { where: null }, { fire_at: 0 }, { on_late: 'skip' }, { on_late: 'fire' }];
    expect(new Set(variants.map(broadcastInput)).size).toBe(variants.length);
    const withoutEnvelope = text(signingInput({ subject: BROADCAST, requestId: 'br-1', method: 'acquire_lease', params: PARAMS, ts: TS }));
    expect(variants.map(broadcastInput)).not.toContain(withoutEnvelope);
  });
});

describe('the verifier on a broadcast', () => {
  const alice = createUser();
  const WRITE = { direction: 'write', safety: 'critical' } as const;
  const signedFor = (requestId: string, signed: BroadcastEnvelope | undefined, sent: BroadcastEnvelope | undefined): CallerMeta => {
    const fields = signatureFields(alice, { subject: BROADCAST, requestId, method: 'acquire_lease', params: PARAMS, ts: Date.now(), ...(signed ? { envelope: signed } : {}) });
    return { sourceDevice: null, traceId: null, claim: { key: fields.caller_key, sig: fields.caller_sig, ts: fields.caller_ts, jwt: undefined, requestId, subject: BROADCAST, ...(sent ? { envelope: sent } : {}) } };
  };

  test('accepts the envelope signed; refuses another envelope, and a signature without one (the format before), as SignatureInvalid', () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: true, now: Date.now, windowMs: 30_000 });
    const identify = (caller: CallerMeta) => identity.identify({ fn: 'acquire_lease', labels: WRITE, params: PARAMS, caller });
    expect(identify(signedFor('br-ok', { targets: ['robot-b'] }, { targets: ['robot-b'] }))).toMatchObject({ ok: true, caller: { sourceDevice: alice.getPublicKey() } });
    const refused = { ok: false, error: { _tag: 'SignatureInvalid', problem: expect.stringContaining('on .broadcast also targets, where, fire_at, on_late') } };
    expect(identify(signedFor('br-2', { targets: ['robot-a'] }, { targets: ['robot-b'] }))).toMatchObject(refused);
    expect(identify(signedFor('br-3', { where: 'x' }, {}))).toMatchObject(refused);
    expect(identify(signedFor('br-4', { targets: [], on_late: 'skip' }, { targets: [], on_late: 'fire' }))).toMatchObject(refused);
    expect(identify(signedFor('br-5', undefined, { targets: ['robot-b'] }))).toMatchObject(refused);
  });
});
