// Verified callers over a real nats-server (issue 13 part 2): a call signed with a user nkey
// (`_dc_meta.caller_key/caller_sig/caller_ts`, the signature built here by hand from the documented
// input: domain, subject, request id, method, SHA-256 of the canonical params, timestamp) is the
// caller its key says — lease owner and audit — when the key, or the account that issued its JWT,
// is in --trusted-callers. Bad signatures, untrusted keys, replayed ids and stale timestamps are
// refused typed and audited; a plain caller naming a verified holder cannot take its lease; the
// client's `call` signs with its .creds seed; --require-signed-callers leaves reads and stops open.
// A refused signed call with a 600,000-character owner leaves a bounded audit record, holds no later
// record back on the broker, and a reopened audit file continues the chain.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccount, createUser, encodeUser, fmtCreds } from '@nats-io/jwt';
import type { KeyPair } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc, type Recorded } from '../harness/mesh-peer.ts';
import { loadConfig } from '../../src/adapters/config-files.ts';
import { runClientCommand } from '../../src/client/cli-commands.ts';
import { callerSignerOf } from '../../src/client/caller-signer.ts';
import { clientConnectionOptions } from '../../src/adapters/client-connection.ts';
import { parseCredentialsText } from '../../src/config/credentials.ts';
import { MeshClient } from '../../src/client/mesh-client.ts';
import { createBridge } from '../../src/mcp/bridge-server.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { openAuditLog } from '../../src/adapters/audit-log.ts';
import { AUDIT_MAX_RECORD_BYTES } from '../../src/protocol/audit-bound.ts';
import { createChainVerifier } from '../../src/protocol/audit-chain.ts';
import { linkAndPower } from '../harness/ready-state.ts';

const alice = createUser();
const bob = createUser();
const carol = createUser();
const account = createAccount();
const strangerAccount = createAccount();

/** RFC 8785 for the plain params of these tests: keys sorted, no whitespace. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

interface SignOptions {
  readonly ts?: number;
  readonly jwt?: string;
  /** Params sent, when they differ from the params signed (a tampered call). */
  readonly sent?: Record<string, unknown>;
}

/** A JSON-RPC request signed by `kp` exactly as the wire format says. */
function signed(kp: KeyPair, subject: string, id: string, method: string, params: Record<string, unknown>, o: SignOptions = {}): Record<string, unknown> {
  const ts = o.ts ?? Date.now();
  const digest = createHash('sha256').update(canonical(params)).digest('hex');
  const input = ['device-connect-call-v1', subject, id, method, digest, String(ts)].join('\n');
  const sig = Buffer.from(kp.sign(new TextEncoder().encode(input))).toString('base64url');
  const meta = { caller_key: kp.getPublicKey(), caller_sig: sig, caller_ts: ts, ...(o.jwt ? { caller_jwt: o.jwt } : {}) };
  return { jsonrpc: '2.0', id, method, params: { ...(o.sent ?? params), _dc_meta: meta } };
}

let seq = 0;
const nextId = () => `vc-${++seq}`;

function sceneOf(get: () => MeshScene, device: string) {
  const cmd = `device-connect.default.${device}.cmd`;
  const plain = (method: string, params: Record<string, unknown> = {}, meta?: Record<string, unknown>, timeoutMs = 10_000) =>
    rpc(get().nc, cmd, { jsonrpc: '2.0', id: nextId(), method, params: meta ? { ...params, _dc_meta: meta } : params }, timeoutMs) as Promise<Record<string, any>>;
  const asKey = (kp: KeyPair, method: string, params: Record<string, unknown> = {}, o: SignOptions = {}, subject = cmd) =>
    rpc(get().nc, subject, signed(kp, subject, nextId(), method, params, o), 10_000) as Promise<Record<string, any>>;
  const safetyEvent = async (match: (p: Record<string, any>) => boolean): Promise<Record<string, any>> => {
    const m = await get().all.next((r: Recorded) => r.subject === `device-connect.default.${device}.event.safety_event` && match((r.body as any).params), 5_000);
    return (m.body as any).params;
  };
  const ready = () => waitFor(async () => linkAndPower((await plain('get_status', {}, undefined, 1_000).catch(() => ({}) as Record<string, any>)).result) === 'connected/awake', 10_000, 'the driver is up');
  return { cmd, plain, asKey, safetyEvent, ready, status: async () => (await plain('get_status')).result.driver_state };
}

describe('--trusted-callers (signatures checked, unsigned calls still served)', () => {
  const DEVICE = 'verified-1';
  let scene: MeshScene;
  let dir: string;
  const s = sceneOf(() => scene, DEVICE);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verified-callers-'));
    scene = await startMeshScene(['--sim', '--no-media', '--device-id', DEVICE, '--lease-ttl', '60', '--trusted-callers', `${alice.getPublicKey()},${account.getPublicKey()}`]);
    await s.ready();
  });
  afterAll(async () => {
    await scene?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a signed call from a trusted key is that key: lease owner, and audited verified', async () => {
    scene.all.drain();
    const taken = await s.asKey(alice, 'acquire_lease', { owner: 'agent', ttl_s: 60 });
    expect(taken.error).toBeUndefined();
    const audited = await s.safetyEvent((p) => p.kind === 'lease_acquired');
    expect(audited).toMatchObject({ owner: alice.getPublicKey(), caller: { id: alice.getPublicKey(), verified: true, key: alice.getPublicKey() } });
    expect((await s.status()).command_owner).toBe(alice.getPublicKey());
  });

  test('a plain caller naming the verified holder cannot take its lease; another name meets LeaseHeld', async () => {
    scene.all.drain();
    const byOwner = await s.plain('acquire_lease', { owner: alice.getPublicKey() });
    expect(byOwner.error?.data).toMatchObject({ _tag: 'SignatureRequired', reason: 'names_verified_caller' });
    const audited = await s.safetyEvent((p) => p.kind === 'refused' && p.error_tag === 'SignatureRequired');
    expect(audited.caller).toEqual({ id: alice.getPublicKey(), verified: false });
    const bySource = await s.plain('release_lease', {}, { source_device: alice.getPublicKey() });
    expect(bySource.error?.data?._tag).toBe('SignatureRequired');
    expect((await s.plain('goto_pose', { yaw: 5, duration_s: 0.3, owner: 'mallory' })).error?.data?._tag).toBe('LeaseHeld');
    // Stops are never refused: naming a key it cannot prove, the stop still runs (as the unverified caller).
    expect((await s.plain('stop_motion', { owner: alice.getPublicKey() })).result?.status).toBe('stopped');
    expect((await s.status()).command_owner).toBe(alice.getPublicKey());
  });

  test('bad signature, untrusted key, replayed id and stale timestamp are refused typed and audited', async () => {
    scene.all.drain();
    const tampered = await s.asKey(alice, 'acquire_lease', { owner: 'agent', ttl_s: 60 }, { sent: { owner: 'agent', ttl_s: 300 } });
    expect(tampered.error?.data).toMatchObject({ _tag: 'SignatureInvalid', key: alice.getPublicKey() });
    expect(await s.safetyEvent((p) => p.error_tag === 'SignatureInvalid')).toMatchObject({ kind: 'refused', function: 'acquire_lease', caller: { verified: false } });
    const untrusted = await s.asKey(bob, 'acquire_lease', {});
    expect(untrusted.error?.data).toMatchObject({ _tag: 'CallerNotTrusted', key: bob.getPublicKey() });
    // The same signed body twice: the first runs, the second is a replay.
    const body = signed(alice, s.cmd, nextId(), 'get_status', {});
    expect((await rpc(scene.nc, s.cmd, body)).error).toBeUndefined();
    expect(((await rpc(scene.nc, s.cmd, body)) as any).error?.data).toMatchObject({ _tag: 'ReplayRejected', reason: 'seen', window_ms: 30_000 });
    const stale = await s.asKey(alice, 'get_status', {}, { ts: Date.now() - 60_000 });
    expect(stale.error?.data).toMatchObject({ _tag: 'ReplayRejected', reason: 'stale' });
    const future = await s.asKey(alice, 'get_status', {}, { ts: Date.now() + 60_000 });
    expect(future.error?.data).toMatchObject({ _tag: 'ReplayRejected', reason: 'future' });
    // Signed for another subject (another device), sent here: the signature does not match.
    const elsewhere = signed(alice, 'device-connect.default.other.cmd', nextId(), 'get_status', {});
    expect(((await rpc(scene.nc, s.cmd, elsewhere)) as any).error?.data?._tag).toBe('SignatureInvalid');
  });

  test('a key not listed is trusted through a JWT issued by a trusted account; a stranger account is not', async () => {
    const jwt = await encodeUser('carol', carol, account);
    const viaAccount = await s.asKey(carol, 'get_status', {}, { jwt });
    expect(viaAccount.error).toBeUndefined();
    const strangerJwt = await encodeUser('carol', carol, strangerAccount);
    const stranger = await s.asKey(carol, 'get_status', {}, { jwt: strangerJwt });
    expect(stranger.error?.data).toMatchObject({ _tag: 'CallerNotTrusted', key: carol.getPublicKey(), issuer: strangerAccount.getPublicKey() });
    // A JWT for another user does not lend its trust.
    const bobWithCarolsJwt = await s.asKey(bob, 'get_status', {}, { jwt });
    expect(bobWithCarolsJwt.error?.data?._tag).toBe('SignatureInvalid');
  });

  test('a JWT whose header or claims decode to null: a stop still runs (as the unverified caller), another call is SignatureInvalid', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const nullHeader = `${b64('null')}.${b64('{}')}.x`;
    const nullClaims = `${b64('{"alg":"ed25519-nkey"}')}.${b64('null')}.x`;
    // → stop_motion signed by bob with a null-header JWT; ← stopped (it answered HandlerFailed and did not stop before).
    expect((await s.asKey(bob, 'stop_motion', {}, { jwt: nullHeader })).result?.status).toBe('stopped');
    expect((await s.asKey(bob, 'stop_motion', {}, { jwt: nullClaims })).result?.status).toBe('stopped');
    const read = await s.asKey(bob, 'get_status', {}, { jwt: nullClaims });
    expect(read.error?.data).toMatchObject({ _tag: 'SignatureInvalid', problem: 'caller_jwt header or claims are not JSON objects' });
  });

  test('on .svc.<function> a signature covers _dc_meta.request_id (no JSON-RPC id there); without one it is refused', async () => {
    const subject = `device-connect.default.${DEVICE}.svc.get_status`;
    const body = signed(alice, subject, 'svc-1', 'get_status', {});
    const params = body.params as Record<string, any>;
    const withId = { ...params, _dc_meta: { ...params._dc_meta, request_id: 'svc-1' } };
    const ok = (await scene.nc.request(subject, JSON.stringify(withId), { timeout: 5_000 })).json<Record<string, any>>();
    expect(ok.driver_state).toBeDefined();
    const refused = (await scene.nc.request(subject, JSON.stringify(params), { timeout: 5_000 })).json<Record<string, any>>();
    expect(refused.data).toMatchObject({ _tag: 'SignatureInvalid' });
  });

  test("the client's `call` signs with its .creds seed: the driver knows it is alice and lets her release her lease", async () => {
    const credsFile = join(dir, 'alice.creds');
    await writeFile(credsFile, fmtCreds(await encodeUser('alice', alice, account), alice));
    await chmod(credsFile, 0o600);
    const config = loadConfig({ argv: ['call', DEVICE, 'release_lease', '--nats-credentials-file', credsFile, '--messaging-url', scene.server.url], env: {} });
    const lines: string[] = [];
    scene.all.drain();
    const code = await runClientCommand({
      command: 'call',
      positional: [DEVICE, 'release_lease', '{"owner":"agent"}'],
      connectOptions: clientConnectionOptions({ servers: [scene.server.url], credentials: undefined, tls: config.tls }),
      tenant: 'default',
      discoveryMode: 'd2d',
      signer: callerSignerOf(config.credentials),
      out: (line) => lines.push(line),
      err: (line) => lines.push(line),
    });
    expect(lines.join('\n')).not.toContain('error');
    expect(code).toBe(0);
    expect(await s.safetyEvent((p) => p.kind === 'lease_released')).toMatchObject({ caller: { id: alice.getPublicKey(), verified: true } });
    expect((await s.status()).lease_active).toBe(false);
  });

  test("the MCP bridge's invoke_device signs too (with the agent's reason alongside): carol, trusted through her account, takes the lease", async () => {
    const signer = callerSignerOf(parseCredentialsText(new TextDecoder().decode(fmtCreds(await encodeUser('carol', carol, account), carol))));
    const bridge = createBridge(new MeshClient(scene.nc, { tenant: 'default', discoveryMode: 'd2d', ...(signer ? { signer } : {}) }), { smallFleetThreshold: 0 });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const mcp = new Client({ name: 'verified-callers-test', version: '1' });
    try {
      await bridge.server.connect(serverSide);
      await mcp.connect(clientSide);
      scene.all.drain();
      const result = await mcp.callTool({ name: 'invoke_device', arguments: { device_id: DEVICE, function: 'acquire_lease', arguments: '{"ttl_s": 1}', llm_reasoning: 'I need the head' } });
      expect(result.isError).toBeFalsy();
      expect(await s.safetyEvent((p) => p.kind === 'lease_acquired')).toMatchObject({ owner: carol.getPublicKey(), caller: { id: carol.getPublicKey(), verified: true } });
      expect((await s.asKey(carol, 'release_lease', {}, { jwt: await encodeUser('carol', carol, account) })).error).toBeUndefined();
    } finally {
      await mcp.close();
      bridge.close();
      await bridge.server.close();
    }
  });

  test("the client's broadcast is signed too: the driver answers its async reply as alice's call", async () => {
    const client = new MeshClient(scene.nc, { tenant: 'default', discoveryMode: 'd2d', signer: { pair: alice, jwt: undefined } });
    try {
      scene.all.drain();
      const outcome = await client.broadcast('acquire_lease', { ttl_s: 1 }, [DEVICE], { waitMs: 5_000 });
      expect(outcome.replies).toMatchObject([{ deviceId: DEVICE, success: true }]);
      expect(await s.safetyEvent((p) => p.kind === 'lease_acquired')).toMatchObject({ owner: alice.getPublicKey(), caller: { verified: true } });
      expect((await s.asKey(alice, 'release_lease')).error).toBeUndefined();
    } finally {
      client.close();
    }
  });

  test('without --require-signed-callers, unsigned calls run as before and are audited as asserted', async () => {
    scene.all.drain();
    expect((await s.plain('acquire_lease', { owner: 'plain-op', ttl_s: 1 })).error).toBeUndefined();
    expect(await s.safetyEvent((p) => p.kind === 'lease_acquired')).toMatchObject({ owner: 'plain-op', caller: { id: 'plain-op', verified: false } });
    expect((await s.plain('release_lease', { owner: 'plain-op' })).error).toBeUndefined();
  });
});

describe('--require-signed-callers', () => {
  const DEVICE = 'verified-2';
  let scene: MeshScene;
  const s = sceneOf(() => scene, DEVICE);
  beforeAll(async () => {
    scene = await startMeshScene(['--sim', '--no-media', '--device-id', DEVICE, '--trusted-callers', alice.getPublicKey(), '--require-signed-callers']);
    await s.ready();
  });
  afterAll(async () => {
    await scene?.stop();
  });

  test('unsigned state-changing calls answer SignatureRequired (audited); reads and stops stay open; signed calls run', async () => {
    scene.all.drain();
    const refused = await s.plain('goto_pose', { yaw: 5, duration_s: 0.3, owner: 'operator' });
    expect(refused.error?.data).toMatchObject({ _tag: 'SignatureRequired', reason: 'required', function: 'goto_pose' });
    expect(await s.safetyEvent((p) => p.error_tag === 'SignatureRequired')).toMatchObject({ function: 'goto_pose', owner: 'operator', caller: { id: 'operator', verified: false } });
    expect((await s.plain('acquire_lease', { owner: 'operator' })).error?.data?._tag).toBe('SignatureRequired');
    expect((await s.plain('get_joints')).error).toBeUndefined();
    expect((await s.plain('stop_motion', { owner: 'anyone' })).result?.status).toBe('stopped');
    const moved = await s.asKey(alice, 'goto_pose', { yaw: 5, duration_s: 0.3 });
    expect(moved.result?.status).toBe('accepted');
    expect((await s.status()).command_owner).toBe(alice.getPublicKey());
    // The supervisor subject too: an unsigned state change there is refused, signed it runs.
    const supervisor = `device-connect.default.${DEVICE}.supervisor`;
    const unsignedRevoke = await rpc(scene.nc, supervisor, { jsonrpc: '2.0', id: nextId(), method: 'revoke_lease', params: { reason: 'test' } });
    expect((unsignedRevoke as any).error?.data?._tag).toBe('SignatureRequired');
    const revoke = await s.asKey(alice, 'revoke_lease', { reason: 'test' }, {}, supervisor);
    expect(revoke.error).toBeUndefined();
  });
});

describe('a refused signed call with a 600,000-character owner (--trusted-callers, --audit-log)', () => {
  const DEVICE = 'verified-3';
  let scene: MeshScene | undefined;
  let dir: string;
  const s = sceneOf(() => scene!, DEVICE);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verified-callers-audit-'));
    scene = await startMeshScene(['--sim', '--no-media', '--device-id', DEVICE, '--trusted-callers', alice.getPublicKey(), '--audit-log', join(dir, 'audit.jsonl')]);
    await s.ready();
  });
  afterAll(async () => {
    await scene?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the record is bounded, later records reach the broker, and the reopened file continues the chain', async () => {
    const path = join(dir, 'audit.jsonl');
    const audit = `device-connect.default.${DEVICE}.audit`;
    scene!.all.drain();
    const huge = { jsonrpc: '2.0', id: nextId(), method: 'acquire_lease', params: { owner: 'A'.repeat(600_000), _dc_meta: { caller_sig: 'x' } } };
    const refused = (await rpc(scene!.nc, s.cmd, huge, 10_000)) as Record<string, any>;
    expect(refused.error?.data).toMatchObject({ _tag: 'SignatureInvalid', key: null });
    const event = await s.safetyEvent((p) => p.kind === 'refused' && p.error_tag === 'SignatureInvalid');
    expect(event).toMatchObject({ function: 'acquire_lease', owner: null, caller: { id: null, verified: false } });
    const onBroker = (seq: number) => scene!.all.messages.find((m) => m.subject === audit && (m.body as any).seq === seq);
    await expect.poll(() => onBroker(event.seq), { timeout: 5_000 }).toBeDefined();
    expect(Buffer.byteLength(onBroker(event.seq)!.text)).toBeLessThanOrEqual(AUDIT_MAX_RECORD_BYTES);

    // Later records are not held back: a lease taken next is on the broker's audit subject too.
    expect((await s.plain('acquire_lease', { owner: 'later-op', ttl_s: 1 })).error).toBeUndefined();
    const later = await s.safetyEvent((p) => p.kind === 'lease_acquired' && p.owner === 'later-op');
    expect(later.seq).toBeGreaterThan(event.seq);
    await expect.poll(() => onBroker(later.seq), { timeout: 5_000 }).toBeDefined();
    await scene!.stop();
    scene = undefined;

    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const refusedLine = lines.find((l) => (JSON.parse(l) as { seq: number }).seq === event.seq)!;
    expect(Buffer.byteLength(refusedLine)).toBeLessThanOrEqual(AUDIT_MAX_RECORD_BYTES);
    expect(refusedLine).not.toContain('A'.repeat(100));
    const last = JSON.parse(lines.at(-1)!) as { seq: number; hash: string };
    const reopened = openAuditLog(path);
    expect(reopened.lastSeq).toBe(last.seq);
    expect(reopened.append({ kind: 'reconfigured', reason: 'restart of the audit log', function: null, owner: null, state: {}, ts: '2026-12-06T00:00:00Z' })).toMatchObject({ seq: last.seq + 1, prev: last.hash });
    reopened.close();
    const verifier = createChainVerifier();
    for (const line of readFileSync(path, 'utf8').trim().split('\n')) verifier.push(line);
    expect(verifier.report()).toMatchObject({ lastSeq: last.seq + 1, restarts: [], problem: null });
    expect(readdirSync(dir).filter((f) => f.includes('unchained'))).toEqual([]);
  });
});
