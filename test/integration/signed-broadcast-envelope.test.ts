// A signed broadcast over a real nats-server (review T item 1): its signature covers the envelope
// fields that decide where, when and whether it runs — targets, where, fire_at, on_late — each as
// its canonical JSON or `-` when absent, after the six lines every signed call has (README "How to
// sign"; the input is built here by hand from that text). Every member of the tenant sees every
// broadcast: a bystander who re-addresses one, drops its condition or reschedules it gets
// SignatureInvalid from the robot it now reaches, which does not run it as the signer — and so does
// a broadcast signed the old way (six lines, no envelope), which anyone could re-address. One signed
// with its envelope runs as the signer.
import { createHash } from 'node:crypto';
import { createUser } from '@nats-io/jwt';
import type { KeyPair } from '@nats-io/nkeys';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { rpc } from '../harness/mesh-peer.ts';
import { linkAndPower } from '../harness/ready-state.ts';

const alice = createUser();
const ROBOT_B = 'robot-b';
const BROADCAST = 'device-connect.default.broadcast';
const CMD = `device-connect.default.${ROBOT_B}.cmd`;
let scene: MeshScene;

/** RFC 8785 for the plain values of these tests: keys sorted, no whitespace. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

interface Envelope {
  readonly targets?: string[];
  readonly where?: string;
  readonly fire_at?: number;
  readonly on_late?: 'skip' | 'fire';
}

/** The broadcast `kp` signs: the six lines of every call, then (unless `oldFormat`) targets, where, fire_at, on_late. */
function signedBroadcast(kp: KeyPair, cid: string, fn: string, params: Record<string, unknown>, envelope: Envelope, oldFormat = false): Record<string, unknown> {
  const ts = Date.now();
  const digest = createHash('sha256').update(canonical(params)).digest('hex');
  const lines = ['device-connect-call-v1', BROADCAST, cid, fn, digest, String(ts)];
  const covered = (['targets', 'where', 'fire_at', 'on_late'] as const).map((field) => (envelope[field] === undefined ? '-' : canonical(envelope[field])));
  const input = (oldFormat ? lines : [...lines, ...covered]).join('\n');
  const sig = Buffer.from(kp.sign(new TextEncoder().encode(input))).toString('base64url');
  return { correlation_id: cid, function: fn, params: { ...params, _dc_meta: { caller_key: kp.getPublicKey(), caller_sig: sig, caller_ts: ts } }, ...envelope };
}

/** Publishes `envelopes` in order and returns robot-b's async reply for `cid` (the first; the test fails after 5 s without one). */
async function robotBAnswer(cid: string, ...envelopes: Record<string, unknown>[]): Promise<Record<string, any>> {
  const replies = scene.nc.subscribe(`device-connect.default.${ROBOT_B}.event.async_reply.${cid}`, { max: 1, timeout: 5_000 });
  await scene.nc.flush();
  for (const envelope of envelopes) scene.nc.publish(BROADCAST, JSON.stringify(envelope));
  for await (const m of replies) return m.json<Record<string, any>>();
  throw new Error(`no async reply for ${cid}`);
}

const commandOwner = async () => ((await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `st-${Date.now()}`, method: 'get_status', params: {} })) as any).result.driver_state.command_owner;

beforeAll(async () => {
  scene = await startMeshScene(['--sim', '--no-media', '--device-id', ROBOT_B, '--lease-ttl', '60', '--trusted-callers', alice.getPublicKey(), '--require-signed-callers']);
  await waitFor(async () => linkAndPower(((await rpc(scene.nc, CMD, { jsonrpc: '2.0', id: `s${Date.now()}`, method: 'get_status', params: {} }, 1_000).catch(() => ({}))) as any).result) === 'connected/awake', 10_000, 'the driver is up');
});
afterAll(async () => {
  await scene?.stop();
});

test('signed as before (six lines, the envelope not covered): re-addressed to robot-b, or stripped of its where, it is SignatureInvalid and not run as the signer', async () => {
  const lease = { owner: 'agent', ttl_s: 60 };
  // What alice sent for robot-a (ignored here: not addressed to it), then a bystander's copy for robot-b.
  const forA = signedBroadcast(alice, 'br-retarget01', 'acquire_lease', lease, { targets: ['robot-a'] }, true);
  const retargeted = await robotBAnswer('br-retarget01', forA, { ...forA, targets: [ROBOT_B] });
  expect(retargeted).toMatchObject({ success: false, error: { _tag: 'SignatureInvalid' } });
  // Held back here by its condition (not evaluated: fail closed), then the copy without it.
  const { where: _where, ...unconditional } = signedBroadcast(alice, 'br-nowhere001', 'acquire_lease', lease, { where: "device.location == 'lab-2'" }, true);
  const conditioned = { ...unconditional, where: "device.location == 'lab-2'" };
  expect(await robotBAnswer('br-nowhere001', conditioned, unconditional)).toMatchObject({ success: false, error: { _tag: 'SignatureInvalid' } });
  expect(await commandOwner()).not.toBe(alice.getPublicKey());
}, 30_000);

test('signed with its envelope: re-addressed, stripped of its where, or rescheduled, it is SignatureInvalid naming the envelope fields, and not run', async () => {
  const nowS = Date.now() / 1000;
  const lease = { owner: 'agent', ttl_s: 60 };
  const cases: ReadonlyArray<{ what: string; cid: string; sent: Envelope; copy: (e: Envelope) => Envelope; alsoOriginal: boolean }> = [
    { what: 'targets robot-a → robot-b', cid: 'br-retarget02', sent: { targets: ['robot-a'] }, copy: (e) => ({ ...e, targets: [ROBOT_B] }), alsoOriginal: true },
    { what: 'where dropped', cid: 'br-nowhere002', sent: { where: "device.location == 'lab-2'" }, copy: ({ where: _w, ...rest }) => rest, alsoOriginal: true },
    { what: 'fire_at an hour ahead → now', cid: 'br-resched001', sent: { targets: [ROBOT_B], fire_at: nowS + 3_600 }, copy: (e) => ({ ...e, fire_at: nowS }), alsoOriginal: false },
    { what: 'on_late skip → fire, a minute late', cid: 'br-onlate0001', sent: { targets: [ROBOT_B], fire_at: nowS - 60, on_late: 'skip' }, copy: (e) => ({ ...e, on_late: 'fire' }), alsoOriginal: false },
  ];
  for (const c of cases) {
    const original = signedBroadcast(alice, c.cid, 'acquire_lease', lease, c.sent);
    const { params, correlation_id, function: fn } = original;
    const copy = { correlation_id, function: fn, params, ...c.copy(c.sent) };
    const answer = await robotBAnswer(c.cid, ...(c.alsoOriginal ? [original] : []), copy);
    expect(answer, c.what).toMatchObject({ success: false, error: { _tag: 'SignatureInvalid', message: expect.stringContaining('targets, where, fire_at, on_late') } });
  }
  expect(await commandOwner()).not.toBe(alice.getPublicKey());
}, 30_000);

test('a broadcast signed with its envelope (fields present and absent) runs as the signer', async () => {
  const acquired = await robotBAnswer('br-signed0001', signedBroadcast(alice, 'br-signed0001', 'acquire_lease', { owner: 'agent', ttl_s: 60 }, { targets: [ROBOT_B], fire_at: Date.now() / 1000, on_late: 'fire' }));
  expect(acquired).toMatchObject({ success: true, result: { status: 'held' } });
  expect(await commandOwner()).toBe(alice.getPublicKey());
  // No targets, where, fire_at or on_late at all: four `-` lines.
  const released = await robotBAnswer('br-signed0002', signedBroadcast(alice, 'br-signed0002', 'release_lease', { owner: 'agent' }, {}));
  expect(released).toMatchObject({ success: true });
  expect(await commandOwner()).toBeNull();
}, 30_000);
