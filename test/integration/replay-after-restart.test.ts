// A signed call captured on the wire and replayed, unchanged, to the same device after its driver
// restarted (a crash, a systemd restart, a new start from the dashboard) inside the 30 s window
// (review T item 2). The replay cache lives in the process's memory, so the new driver cannot know
// the call was accepted before; it refuses every call signed before its own start instead:
// ReplayRejected `before_start`, "sign it again". A call signed after the start runs as usual. A call
// dated ahead of the robot's clock (its signer's clock ahead) carries a time after the next start:
// its key's floor, kept in --config-dir, refuses it then.
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/jwt';
import type { KeyPair } from '@nats-io/nkeys';
import { afterEach, expect, test } from 'vitest';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';
import { startNatsServer } from '../harness/nats-server.ts';
import { openClient, rpc } from '../harness/mesh-peer.ts';
import { linkAndPower } from '../harness/ready-state.ts';

const alice = createUser();
const DEVICE = 'replay-restart';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

function signed(kp: KeyPair, id: string, method: string, params: Record<string, unknown>, aheadMs = 0): Record<string, unknown> {
  const ts = Date.now() + aheadMs;
  const digest = createHash('sha256').update(canonical(params)).digest('hex');
  const input = ['device-connect-call-v1', CMD, id, method, digest, String(ts)].join('\n');
  const sig = Buffer.from(kp.sign(new TextEncoder().encode(input))).toString('base64url');
  return { jsonrpc: '2.0', id, method, params: { ...params, _dc_meta: { caller_key: kp.getPublicKey(), caller_sig: sig, caller_ts: ts } } };
}

/** A broker, a client, and a start of the driver that returns once it answers (each start with the same --config-dir). */
async function scene() {
  const server = await startNatsServer();
  cleanups.push(() => server.stop());
  const nc = await openClient(server.url);
  cleanups.push(() => nc.close());
  const configDir = mkdtempSync(join(tmpdir(), 'replay-restart-'));
  const argv = ['--sim', '--no-media', '--device-id', DEVICE, '--lease-ttl', '60', '--trusted-callers', alice.getPublicKey(), '--require-signed-callers', '--config-dir', configDir, '--messaging-url', server.url];
  const start = async (): Promise<TestDriver> => {
    const driver = await startTestDriver(argv, { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
    await waitFor(async () => linkAndPower(((await rpc(nc, CMD, { jsonrpc: '2.0', id: `s${Date.now()}`, method: 'get_status', params: {} }, 1_000).catch(() => ({}))) as any).result) === 'connected/awake', 10_000, 'the driver is up');
    return driver;
  };
  return { nc, start, configDir };
}

test('a signed call replayed after the driver restarted (inside the 30 s window) is ReplayRejected before_start; one signed after the start runs', async () => {
  const { nc, start } = await scene();

  const first = await start();
  // Alice takes the lease; the body is what anyone subscribed to the device's .cmd saw go by.
  const body = signed(alice, 'alice-lease-1', 'acquire_lease', { owner: 'agent', ttl_s: 60 });
  expect(((await rpc(nc, CMD, body)) as any).result).toMatchObject({ status: 'held' });
  expect(((await rpc(nc, CMD, body)) as any).error?.data).toMatchObject({ _tag: 'ReplayRejected', reason: 'seen' });
  await first.stop();

  const second = await start();
  cleanups.push(() => second.stop());
  const replayed = (await rpc(nc, CMD, body)) as any;
  expect(replayed.error?.data).toMatchObject({ _tag: 'ReplayRejected', reason: 'before_start', request_id: 'alice-lease-1' });
  expect(replayed.error?.message).toContain('signed before this driver started');
  // Signed again (a new id and caller_ts), the same call runs as alice.
  expect(((await rpc(nc, CMD, signed(alice, 'alice-lease-2', 'acquire_lease', { owner: 'agent', ttl_s: 60 }))) as any).result).toMatchObject({ status: 'held' });
  const status = ((await rpc(nc, CMD, { jsonrpc: '2.0', id: 'st', method: 'get_status', params: {} })) as any).result.driver_state;
  expect(status.command_owner).toBe(alice.getPublicKey());
}, 60_000);

test('a call its signer dated 20 s ahead of the robot, accepted, is refused when replayed after a restart although dated after that start; the floor file is 0600', async () => {
  const { nc, start, configDir } = await scene();
  const first = await start();
  const body = signed(alice, 'alice-ahead-1', 'acquire_lease', { owner: 'agent', ttl_s: 60 }, 20_000);
  expect(((await rpc(nc, CMD, body)) as any).result).toMatchObject({ status: 'held' });
  await first.stop();
  const file = join(configDir, 'replay-floors', `default.${DEVICE}.json`);
  expect(statSync(file).mode & 0o777).toBe(0o600);

  const second = await start();
  cleanups.push(() => second.stop());
  const replayed = (await rpc(nc, CMD, body)) as any;
  expect(replayed.error?.data).toMatchObject({ _tag: 'ReplayRejected', reason: 'stale', request_id: 'alice-ahead-1' });
  expect(replayed.error?.message).toContain('accepted before a restart');
  // A newer call of the same signer, still 20 s ahead, runs.
  expect(((await rpc(nc, CMD, signed(alice, 'alice-ahead-2', 'acquire_lease', { owner: 'agent', ttl_s: 60 }, 21_000))) as any).result).toMatchObject({ status: 'held' });
}, 60_000);
