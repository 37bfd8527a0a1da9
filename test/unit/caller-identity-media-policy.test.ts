// The pure halves of issue 13 parts 2 and 3: the canonical params JSON a signature covers (RFC 8785
// cases a Python signer must match), the verifier's decisions on a fake clock (window edges, the
// floor at start, the bounded replay cache raising its floor when it evicts, JWT trust) and the
// media policy decision with its typed refusals. The wire transcripts are in test/integration/verified-callers.test.ts
// and test/integration/media-policy.test.ts.
import { createAccount, createUser, encodeUser } from '@nats-io/jwt';
import { describe, expect, test } from 'vitest';
import { fromPublic } from '@nats-io/nkeys';
import { ed25519SignerOf, signatureFields } from '../../src/protocol/caller-signature.ts';
import { CANONICAL_MAX_DEPTH, canonicalJson } from '../../src/protocol/canonical-json.ts';
import type { CallerMeta } from '../../src/protocol/json-rpc.ts';
import { createCallerIdentity, isUserKey, jwtIssuer, UNVERIFIED_CALLER } from '../../src/safety/caller-identity.ts';
import { initialMediaPolicy, mediaPolicyRefusal, mediaPolicyStatus } from '../../src/safety/media-policy.ts';

const WRITE = { direction: 'write', safety: 'critical' } as const;
const READ = { direction: 'read', safety: 'informational' } as const;
const SUBJECT = 'device-connect.default.r1.cmd';

describe('canonical params JSON (RFC 8785)', () => {
  test('keys sorted by UTF-16 code units at every depth, no whitespace, numbers as ECMAScript writes them', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: null, y: true }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"y":true,"z":null}]},"b":1}');
    expect(canonicalJson({ x: 1.0, y: 1e-7, z: 0.1 + 0.2, big: 1e21 })).toBe('{"big":1e+21,"x":1,"y":1e-7,"z":0.30000000000000004}');
    // U+20AC (€) sorts after U+00E9 (é); an astral character sorts by its surrogates.
    expect(canonicalJson({ '€': 1, é: 2, '😀': 3, a: 4 })).toBe('{"a":4,"é":2,"€":1,"😀":3}');
    expect(canonicalJson({ s: 'line\nquote"' })).toBe('{"s":"line\\nquote\\""}');
  });
});

function caller(fields: Record<string, unknown>, requestId = 'r-1', subject = SUBJECT): CallerMeta {
  return { sourceDevice: null, traceId: null, claim: { key: fields.caller_key, sig: fields.caller_sig, ts: fields.caller_ts, jwt: fields.caller_jwt, requestId, subject } };
}

describe('node:crypto Ed25519 and nkeys agree', () => {
  test("the client's seed signer signs as the nkeys key pair of the same seed (verified by nkeys' own verify), with its public key", () => {
    const pair = createUser();
    const signer = ed25519SignerOf(new TextDecoder().decode(pair.getSeed()));
    expect(signer.getPublicKey()).toBe(pair.getPublicKey());
    const data = new TextEncoder().encode('device-connect-call-v1\nsubject');
    expect(fromPublic(pair.getPublicKey()).verify(data, signer.sign(data))).toBe(true);
    expect(Buffer.from(signer.sign(data)).equals(Buffer.from(pair.sign(data)))).toBe(true);
  });
});

describe('the verifier', () => {
  const alice = createUser();
  const bob = createUser();
  let clock = 1_000_000;
  const now = () => clock;
  const sign = (id: string, params: Record<string, unknown> = {}, ts = clock, method = 'goto_pose') => caller(signatureFields(alice, { subject: SUBJECT, requestId: id, method, params, ts }), id);

  test('the timestamp window is inclusive at ±30 s and the identity is the key', () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: false, now });
    // 30 s after the start, the window's lower edge is the start itself (nothing signed earlier is taken).
    clock += 30_000;
    const ok = identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('a', {}, clock - 30_000) });
    expect(ok).toMatchObject({ ok: true, caller: { sourceDevice: alice.getPublicKey(), verified: { key: alice.getPublicKey(), issuer: null } } });
    const late = identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('b', {}, clock - 30_001) });
    expect(late).toMatchObject({ ok: false, error: { _tag: 'ReplayRejected', reason: 'stale' } });
    const early = identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('c', {}, clock + 30_001) });
    expect(early).toMatchObject({ ok: false, error: { _tag: 'ReplayRejected', reason: 'future' } });
  });

  test('a call signed before the driver started is refused before_start ("sign it again"); a signer whose clock runs behind is refused that long after a start', () => {
    const started = clock;
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: false, now });
    // Signed 1 ms before the start, arriving after it (a replay of a call the previous driver took, for all it knows).
    clock += 5_000;
    const before = identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('bs-1', {}, started - 1) });
    expect(before).toMatchObject({ ok: false, error: { _tag: 'ReplayRejected', reason: 'before_start', request_id: 'bs-1', message: expect.stringContaining('signed before this driver started') } });
    expect(before.ok === false && before.error.message).toContain('sign it again');
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('bs-2', {}, started) }).ok).toBe(true);
    // A signer 10 s behind: what it signs now carries a caller_ts before the start until 10 s after it.
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('bs-3', {}, clock - 10_000) })).toMatchObject({ ok: false, error: { reason: 'before_start' } });
    clock = started + 10_000;
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('bs-4', {}, clock - 10_000) }).ok).toBe(true);
    // Further back than the window it is stale, as before the start floor.
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign('bs-5', {}, clock - 30_001) })).toMatchObject({ ok: false, error: { reason: 'stale' } });
  });

  test('a full replay cache evicts its oldest id and refuses every timestamp up to it: no replay gets through eviction', () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: false, now, cacheSize: 2 });
    const calls = ['x1', 'x2', 'x3'].map((id, i) => sign(id, {}, clock + i));
    for (const c of calls) expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: c }).ok).toBe(true);
    // x1 was evicted to make room for x3: replaying it is refused as stale, x3 as seen.
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: calls[0]! })).toMatchObject({ ok: false, error: { reason: 'stale' } });
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: calls[2]! })).toMatchObject({ ok: false, error: { reason: 'seen' } });
    // Past the window the cache forgets without raising the floor: new calls run.
    clock += 31_000;
    for (const id of ['y1', 'y2', 'y3']) expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: sign(id) }).ok).toBe(true);
  });

  test('a signature binds the params, the method and the subject', () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: false, now });
    const signedYaw = sign('p1', { yaw: 10 });
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: { yaw: 11 }, caller: signedYaw })).toMatchObject({ ok: false, error: { _tag: 'SignatureInvalid' } });
    expect(identity.identify({ fn: 'wake_up', labels: WRITE, params: { yaw: 10 }, caller: sign('p2', { yaw: 10 }) })).toMatchObject({ ok: false, error: { _tag: 'SignatureInvalid' } });
    const other = { ...sign('p3', { yaw: 10 }) };
    const moved = { ...other, claim: { ...other.claim!, subject: 'device-connect.default.r2.cmd' } };
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: { yaw: 10 }, caller: moved })).toMatchObject({ ok: false, error: { _tag: 'SignatureInvalid' } });
    const half = caller({ caller_key: alice.getPublicKey() }, 'p4');
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: half })).toMatchObject({ ok: false, error: { _tag: 'SignatureInvalid', problem: 'caller_sig is missing' } });
  });

  test('unsigned calls: nkey-shaped names are refused, --require-signed-callers refuses writes but not reads or stops', () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: true, now });
    const plain: CallerMeta = { sourceDevice: null, traceId: null };
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: plain })).toMatchObject({ ok: false, error: { _tag: 'SignatureRequired', reason: 'required' } });
    expect(identity.identify({ fn: 'get_status', labels: READ, params: {}, caller: plain }).ok).toBe(true);
    expect(identity.identify({ fn: 'stop_motion', labels: WRITE, params: {}, caller: plain }).ok).toBe(true);
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: { owner: alice.getPublicKey() }, caller: plain })).toMatchObject({ ok: false, error: { reason: 'names_verified_caller' } });
    // A stop is never refused: one naming a key it cannot prove, or badly signed, runs as the unverified caller.
    expect(identity.identify({ fn: 'stop_motion', labels: WRITE, params: { owner: alice.getPublicKey() }, caller: plain })).toEqual({ ok: true, caller: { sourceDevice: UNVERIFIED_CALLER, traceId: null } });
    const forged = caller({ caller_key: alice.getPublicKey(), caller_sig: 'AAAA', caller_ts: clock }, 's-1');
    expect(identity.identify({ fn: 'emergency_stop', labels: WRITE, params: {}, caller: forged })).toMatchObject({ ok: true, caller: { sourceDevice: UNVERIFIED_CALLER } });
    expect(isUserKey(alice.getPublicKey())).toBe(true);
    expect(isUserKey('operator')).toBe(false);
  });

  test('a refused caller still says who it may stop as: the asserted caller when unsigned and naming no key, else the unverified caller', () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: true, now });
    const ops: CallerMeta = { sourceDevice: 'ops-panel', traceId: null };
    expect(identity.identify({ fn: 'trip', labels: WRITE, params: { reason: 'fall' }, caller: ops })).toEqual({ ok: false, error: expect.objectContaining({ _tag: 'SignatureRequired', reason: 'required' }), stopAs: ops });
    const namesKey = identity.identify({ fn: 'trip', labels: WRITE, params: { owner: alice.getPublicKey() }, caller: { sourceDevice: null, traceId: null } });
    expect(namesKey).toMatchObject({ ok: false, error: { reason: 'names_verified_caller' }, stopAs: { sourceDevice: UNVERIFIED_CALLER } });
    const stale = identity.identify({ fn: 'trip', labels: WRITE, params: {}, caller: sign('t-1', {}, clock - 45_000, 'trip') });
    expect(stale).toMatchObject({ ok: false, error: { _tag: 'ReplayRejected' }, stopAs: { sourceDevice: UNVERIFIED_CALLER } });
    expect(stale.ok === false && stale.stopAs && 'claim' in stale.stopAs).toBe(false);
  });

  test('JWT trust: issued by the trusted account key, for this user, not expired', async () => {
    const account = createAccount();
    const carol = createUser();
    const jwt = await encodeUser('carol', carol, account);
    expect(jwtIssuer(jwt, carol.getPublicKey(), Date.now())).toEqual({ ok: true, issuer: account.getPublicKey() });
    expect(jwtIssuer(jwt, alice.getPublicKey(), Date.now())).toMatchObject({ ok: false, problem: 'caller_jwt is for another key than caller_key' });
    const expired = await encodeUser('carol', carol, account, {}, { exp: Math.floor(Date.now() / 1000) - 10 });
    expect(jwtIssuer(expired, carol.getPublicKey(), Date.now())).toMatchObject({ ok: false, problem: 'caller_jwt has expired' });
    const [h, p] = jwt.split('.');
    expect(jwtIssuer(`${h}.${p}.${Buffer.alloc(64).toString('base64url')}`, carol.getPublicKey(), Date.now())).toMatchObject({ ok: false, problem: 'caller_jwt signature does not verify' });
  });

  test('a JWT whose header or claims are null, or whose algorithm is not a string, is refused as such (it threw before)', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    for (const [header, claims] of [['null', '{}'], ['{"alg":"ed25519-nkey"}', 'null'], ['[]', '{}'], [`{"alg":${deep}}`, '{}']] as const) {
      const checked = jwtIssuer(`${b64(header)}.${b64(claims)}.x`, alice.getPublicKey(), Date.now());
      expect(checked.ok, `${header.slice(0, 20)} / ${claims}`).toBe(false);
    }
    expect(jwtIssuer(`${b64('null')}.${b64('{}')}.x`, alice.getPublicKey(), Date.now())).toEqual({ ok: false, problem: 'caller_jwt header or claims are not JSON objects' });
    expect(jwtIssuer(`${b64(`{"alg":${deep}}`)}.${b64('{}')}.x`, alice.getPublicKey(), Date.now())).toEqual({ ok: false, problem: 'caller_jwt names no algorithm' });
  });

  test('a stop signed by an untrusted key with a garbage JWT still runs, as the unverified caller; a goto is refused, typed', () => {
    const identity = createCallerIdentity({ trusted: [createAccount().getPublicKey()], requireSigned: false, now });
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const mallory = createUser();
    const signed = (id: string, method: string) => {
      const fields = signatureFields(mallory, { subject: SUBJECT, requestId: id, method, params: {}, ts: clock }, `${b64('null')}.${b64('{}')}.x`);
      return caller(fields, id);
    };
    expect(identity.identify({ fn: 'emergency_stop', labels: WRITE, params: {}, caller: signed('e-1', 'emergency_stop') })).toMatchObject({ ok: true, caller: { sourceDevice: UNVERIFIED_CALLER } });
    expect(identity.identify({ fn: 'goto_pose', labels: WRITE, params: {}, caller: signed('g-1', 'goto_pose') })).toMatchObject({ ok: false, error: { _tag: 'SignatureInvalid' } });
  });

  test('params nested 300,000 deep in a signed call: SignatureInvalid naming the depth (it overflowed the stack before); a stop so signed still runs', () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: false, now });
    let deep: unknown = 0;
    for (let i = 0; i < 300_000; i++) deep = [deep];
    const forged = caller({ caller_key: alice.getPublicKey(), caller_sig: 'AAAA', caller_ts: clock }, 'd-1');
    const refused = identity.identify({ fn: 'get_status', labels: READ, params: { x: deep }, caller: forged });
    expect(refused).toMatchObject({ ok: false, error: { _tag: 'SignatureInvalid', problem: expect.stringContaining(`nested deeper than ${CANONICAL_MAX_DEPTH} levels`) } });
    expect(identity.identify({ fn: 'stop_motion', labels: WRITE, params: { x: deep }, caller: forged })).toMatchObject({ ok: true, caller: { sourceDevice: UNVERIFIED_CALLER } });
  });

  test("one key flooding the replay cache (timestamps 29 s ahead) does not lock out another key; its own evicted calls stay refused", () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey(), bob.getPublicKey()], requireSigned: false, now, cacheSize: 100 });
    const by = (pair: typeof alice, id: string, ts: number) => caller(signatureFields(pair, { subject: SUBJECT, requestId: id, method: 'get_status', params: {}, ts }), id);
    const flood = Array.from({ length: 101 }, (_, i) => by(bob, `f-${i}`, clock + 29_000));
    for (const c of flood) expect(identity.identify({ fn: 'get_status', labels: READ, params: {}, caller: c }).ok).toBe(true);
    // Alice, signing at the driver's time, is not refused.
    expect(identity.identify({ fn: 'get_status', labels: READ, params: {}, caller: by(alice, 'a-1', clock) })).toMatchObject({ ok: true });
    // Bob's evicted first call cannot be replayed; the refusal says why.
    const replayed = identity.identify({ fn: 'get_status', labels: READ, params: {}, caller: flood[0]! });
    expect(replayed).toMatchObject({ ok: false, error: { _tag: 'ReplayRejected', reason: 'stale', message: expect.stringContaining('no longer remembers') } });
  });
});

describe('the media policy decision', () => {
  test('allow: nothing refused; deny: capture refused, other media not; supervisor: refused until enabled, and after disabled', () => {
    expect(mediaPolicyRefusal(initialMediaPolicy('allow'), 'capture_video_frame')).toBeNull();
    const deny = initialMediaPolicy('deny');
    expect(mediaPolicyRefusal(deny, 'capture_audio_sample')).toMatchObject({ _tag: 'MediaDenied', media_policy: 'deny' });
    expect(mediaPolicyRefusal(deny, 'play_audio_file')).toBeNull();
    expect(mediaPolicyStatus(deny)).toMatchObject({ policy: 'deny', state: 'denied' });
    const off = initialMediaPolicy('supervisor');
    expect(mediaPolicyRefusal(off, 'start_audio_input')).toMatchObject({ _tag: 'MediaNotEnabled' });
    const on = { ...off, enabled: true, changedBy: 'ops', changedAt: 0, reason: 'lab' };
    expect(mediaPolicyRefusal(on, 'start_audio_input')).toBeNull();
    expect(mediaPolicyStatus(on)).toMatchObject({ policy: 'supervisor', state: 'enabled', changed_by: 'ops', changed_at: '1970-01-01T00:00:00.000Z' });
    const again = { ...on, enabled: false, reason: 'done' };
    expect(mediaPolicyRefusal(again, 'detect_motion')?.message).toContain('disabled by ops (done)');
  });
});
