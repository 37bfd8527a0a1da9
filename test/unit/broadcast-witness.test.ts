// Defence in depth behind the signed broadcast envelope (review T item 1): a robot that ignores a
// signed broadcast for its addressing (targets without it, a `where` it cannot evaluate) still
// remembers its (key, correlation id) — the wire hands it on as `elsewhere`, the mesh entry to the
// gate's `witness`, the caller check verifies it and records it — so a copy that reached this robot
// later would be a replay (`seen`). Only a signature that checks out, by a trusted key, is
// remembered: a forged one cannot poison the cache. Unsigned broadcasts are not looked at.
import { createUser } from '@nats-io/jwt';
import { describe, expect, test } from 'vitest';
import { createMeshEntry } from '../../src/actors/mesh-entry.ts';
import type { GateResult, RpcGate } from '../../src/actors/rpc-gate.ts';
import { signatureFields, type BroadcastEnvelope } from '../../src/protocol/caller-signature.ts';
import type { CallerMeta } from '../../src/protocol/json-rpc.ts';
import { broadcastWire, type MeshCall, type ReplySink } from '../../src/protocol/mesh-wire.ts';
import { createCallerIdentity, type CallerIdentity } from '../../src/safety/caller-identity.ts';

const BROADCAST = 'device-connect.default.broadcast';
const WRITE = { direction: 'write', safety: 'critical' } as const;
const PARAMS = { owner: 'agent', ttl_s: 60 };
const alice = createUser();
const mallory = createUser();

/** The envelope bytes `signer` publishes (a signature by `signer` over `envelope`). */
function published(signer: typeof alice | null, cid: string, envelope: BroadcastEnvelope): Uint8Array {
  const meta = signer ? signatureFields(signer, { subject: BROADCAST, requestId: cid, method: 'acquire_lease', params: PARAMS, ts: Date.now(), envelope }) : { source_device: 'plain' };
  return new TextEncoder().encode(JSON.stringify({ correlation_id: cid, function: 'acquire_lease', params: { ...PARAMS, _dc_meta: meta }, ...envelope }));
}

/** A gate in front of nothing but the caller check: answers its verdict, and passes what it witnesses on. */
function identityGate(identity: CallerIdentity): RpcGate & { calls: string[]; witnessed: CallerMeta[] } {
  const calls: string[] = [];
  const witnessed: CallerMeta[] = [];
  return {
    calls,
    witnessed,
    functionNames: ['acquire_lease'],
    has: () => true,
    call: async (method, params, caller): Promise<GateResult> => {
      calls.push(method);
      const identified = identity.identify({ fn: method, labels: WRITE, params, caller });
      return identified.ok ? { ok: true, result: null } : { ok: false, error: identified.error };
    },
    witness: (method, params, caller) => {
      witnessed.push(caller);
      identity.witness({ fn: method, params, caller });
    },
  };
}

const quiet: ReplySink = { maxPayload: () => undefined, bytesOver: () => null, send: () => undefined };

/** The call as robot-a's wire decodes it, with the subject the mesh entry adds: what a copy reaching robot-b's gate would carry. */
function asDelivered(bytes: Uint8Array): MeshCall {
  const decoded = broadcastWire('default', 'robot-a', Date.now).decode(bytes);
  if (decoded.kind !== 'call') throw new Error(`robot-a would not run it: ${decoded.kind}`);
  const claim = decoded.call.caller.claim!;
  return { ...decoded.call, caller: { ...decoded.call.caller, claim: { ...claim, subject: BROADCAST } } };
}

describe('robot-b and a signed broadcast for robot-a', () => {
  test('robot-b does not run it, but remembers it: the same signed call at robot-b is then a replay (seen)', async () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: true });
    const gate = identityGate(identity);
    const forA = published(alice, 'br-witness001', { targets: ['robot-a'] });
    await createMeshEntry().handle(gate, broadcastWire('default', 'robot-b', Date.now), forA, quiet, BROADCAST);
    expect(gate.calls).toEqual([]);
    expect(gate.witnessed).toMatchObject([{ claim: { key: alice.getPublicKey(), requestId: 'br-witness001', subject: BROADCAST, envelope: { targets: ['robot-a'] } } }]);
    const copy = asDelivered(forA);
    expect(identity.identify({ fn: copy.method, labels: WRITE, params: copy.params, caller: copy.caller })).toMatchObject({ ok: false, error: { _tag: 'ReplayRejected', reason: 'seen' } });
  });

  test('one held back by a where condition it cannot evaluate is remembered too', async () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: true });
    const gate = identityGate(identity);
    await createMeshEntry().handle(gate, broadcastWire('default', 'robot-b', Date.now), published(alice, 'br-witness002', { where: "device.location == 'lab-2'" }), quiet, BROADCAST);
    expect(gate.calls).toEqual([]);
    expect(gate.witnessed).toHaveLength(1);
  });

  test('a forged signature, or an untrusted key, is not remembered: the genuine call with that correlation id still runs', async () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: true });
    const gate = identityGate(identity);
    const genuine = published(alice, 'br-witness003', { targets: ['robot-a'] });
    const doc = JSON.parse(new TextDecoder().decode(genuine));
    const forged = { ...doc, params: { ...doc.params, _dc_meta: { ...doc.params._dc_meta, caller_sig: Buffer.alloc(64).toString('base64url') } } };
    const wire = broadcastWire('default', 'robot-b', Date.now);
    await createMeshEntry().handle(gate, wire, new TextEncoder().encode(JSON.stringify(forged)), quiet, BROADCAST);
    await createMeshEntry().handle(gate, wire, published(mallory, 'br-witness003', { targets: ['robot-a'] }), quiet, BROADCAST);
    expect(gate.witnessed).toHaveLength(2);
    const call = asDelivered(genuine);
    expect(identity.identify({ fn: call.method, labels: WRITE, params: call.params, caller: call.caller })).toMatchObject({ ok: true, caller: { sourceDevice: alice.getPublicKey() } });
  });

  test('an unsigned broadcast for robot-a is not handed on at all', async () => {
    const identity = createCallerIdentity({ trusted: [alice.getPublicKey()], requireSigned: false });
    const gate = identityGate(identity);
    await createMeshEntry().handle(gate, broadcastWire('default', 'robot-b', Date.now), published(null, 'br-witness004', { targets: ['robot-a'] }), quiet, BROADCAST);
    expect(gate.calls).toEqual([]);
    expect(gate.witnessed).toEqual([]);
  });
});
