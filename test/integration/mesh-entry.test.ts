// The one mesh entry, seen from outside (issue 9 §4, §7): `.cmd`, `.svc.<fn>` and `.broadcast` on a
// broker whose max_payload is smaller than a get_status reply answer PayloadTooLarge on that path
// and the driver process keeps serving (it used to exit with code 1); oversize events and audit
// records are dropped, never thrown; `_dc_meta.source_device` names the lease owner on all three
// paths alike; bodies with bare NaN/Infinity (Python's json.dumps) are refused saying so.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startMeshScene, startTestDriver, waitFor, type MeshScene, type TestDriver } from '../harness/driver-harness.ts';
import { openClient, recorder, rpc, type MessageQueue } from '../harness/mesh-peer.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
/**
 * Above every request below (≤ 200 bytes) and every PayloadTooLarge reply (≈ 300 bytes; ≈ 500 on
 * `.svc` with its headers), below any get_status reply (≈ 1 KB with no daemon, several KB with one).
 */
const MAX_PAYLOAD = 700;

interface Paths {
  cmd(method: string, params?: Record<string, unknown>): Promise<{ ok: boolean; body: Record<string, any>; bytes: number }>;
  svc(method: string, params?: Record<string, unknown> | string): Promise<{ ok: boolean; body: Record<string, any>; code: string | undefined; bytes: number }>;
  broadcast(method: string, params?: Record<string, unknown> | string): Promise<{ ok: boolean; body: Record<string, any>; bytes: number }>;
}

/** One caller's view of the three entry points of `device` (each answer with its wire size). */
function paths(nc: NatsConnection, device: string, replies: MessageQueue): Paths {
  let seq = 0;
  return {
    async cmd(method, params = {}) {
      const reply = await nc.request(`device-connect.default.${device}.cmd`, JSON.stringify({ jsonrpc: '2.0', id: `c${++seq}`, method, params }), { timeout: 5_000 });
      const body = reply.json<Record<string, any>>();
      return { ok: 'result' in body, body, bytes: reply.data.byteLength };
    },
    async svc(method, params = {}) {
      const payload = typeof params === 'string' ? params : JSON.stringify(params);
      const reply = await nc.request(`device-connect.default.${device}.svc.${method}`, payload, { timeout: 5_000 });
      const code = reply.headers?.get('Nats-Service-Error-Code') || undefined;
      return { ok: code === undefined, body: reply.json<Record<string, any>>(), code, bytes: reply.data.byteLength + (reply.headers ? String(reply.headers).length : 0) };
    },
    async broadcast(method, params = {}) {
      const id = `br-${(++seq).toString(16).padStart(12, '0')}`;
      const paramsJson = typeof params === 'string' ? params : JSON.stringify(params);
      nc.publish('device-connect.default.broadcast', `{"correlation_id":"${id}","function":"${method}","params":${paramsJson},"targets":["${device}"]}`);
      const reply = await replies.next((m) => m.subject === `device-connect.default.${device}.event.async_reply.${id}`);
      const body = reply.body as Record<string, any>;
      return { ok: body.success === true, body, bytes: Buffer.byteLength(reply.text) };
    },
  };
}

describe('a broker whose max_payload is smaller than a get_status reply', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let child: ChildProcess;
  let output = '';
  let exitCode: number | null | undefined;
  let via: Paths;
  const DEVICE = 'tiny-payload';
  /** The one caller of the small follow-up calls (a short lease it renews). */
  const NEXT = 'next-caller';

  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
    nc = await openClient(server.url);
    const replies = recorder(nc, `device-connect.default.${DEVICE}.event.async_reply.>`);
    await nc.flush();
    // The real process, as an operator runs it (d2d: its presence, capabilities included, is over the limit too).
    child = spawn(process.execPath, [CLI, '--device-id', DEVICE, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--no-media', '--host', '127.0.0.1', '--api-port', '9'], {
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_ALLOW_INSECURE: 'true', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json' },
    });
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('exit', (code) => (exitCode = code));
    via = paths(nc, DEVICE, replies);
    await waitFor(async () => (await via.cmd('acquire_lease', { owner: NEXT, ttl_s: 0.5 }).catch(() => undefined))?.ok === true, 15_000, 'the driver process to answer');
  }, 30_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await nc?.close();
    await server?.stop();
  });

  test('.cmd get_status answers PayloadTooLarge that fits, then keeps serving', async () => {
    const reply = await via.cmd('get_status');
    expect(reply.body.error).toMatchObject({ code: -32000, data: { _tag: 'PayloadTooLarge', maxPayloadBytes: MAX_PAYLOAD } });
    expect(reply.body.error.data.rpcJsonBytes).toBeGreaterThan(MAX_PAYLOAD);
    expect(reply.body.error.message).toContain('max_payload');
    expect(reply.bytes).toBeLessThanOrEqual(MAX_PAYLOAD);
    expect(await via.cmd('acquire_lease', { owner: NEXT, ttl_s: 0.5 })).toMatchObject({ ok: true, body: { result: { owner: NEXT } } });
    expect(exitCode).toBeUndefined();
  });

  test('.svc.get_status answers a PayloadTooLarge service error, then keeps serving', async () => {
    const reply = await via.svc('get_status');
    expect(reply.code).toBe('-32000');
    expect(reply.body).toMatchObject({ code: -32000, data: { _tag: 'PayloadTooLarge', maxPayloadBytes: MAX_PAYLOAD } });
    expect(reply.bytes).toBeLessThanOrEqual(MAX_PAYLOAD);
    const next = await via.svc('acquire_lease', { owner: NEXT, ttl_s: 0.5 });
    expect(next).toMatchObject({ ok: true, body: { owner: NEXT } });
    expect(exitCode).toBeUndefined();
  });

  test('a broadcast of get_status gets a PayloadTooLarge async reply, then keeps serving', async () => {
    const reply = await via.broadcast('get_status');
    expect(reply.body).toMatchObject({ device_id: DEVICE, success: false, error: { code: 'invoke_failed', _tag: 'PayloadTooLarge' } });
    expect(reply.bytes).toBeLessThanOrEqual(MAX_PAYLOAD);
    const next = await via.broadcast('acquire_lease', { owner: NEXT, ttl_s: 0.5 });
    expect(next).toMatchObject({ ok: true, body: { result: { owner: NEXT } } });
    expect(exitCode).toBeUndefined();
  });

  test('the micro-service control subjects ($SRV.INFO/STATS/PING) do not take the process down either', async () => {
    // INFO (every parameter schema) and STATS (every endpoint) are over the limit: a small service error says so.
    for (const verb of ['INFO', 'STATS']) {
      const reply = await nc.request(`$SRV.${verb}.reachy-mini-driver`, '', { timeout: 2_000 });
      expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('413');
      expect(reply.headers?.get('Nats-Service-Error')).toContain('max_payload');
    }
    const ping = await nc.request('$SRV.PING.reachy-mini-driver', '', { timeout: 2_000 });
    expect(ping.json()).toMatchObject({ type: 'io.nats.micro.v1.ping_response', name: 'reachy-mini-driver' });
    expect((await via.cmd('acquire_lease', { owner: NEXT, ttl_s: 0.5 })).ok).toBe(true);
    expect(exitCode).toBeUndefined();
  });

  test('its own oversize presence is dropped with a warning, not thrown; the process is still serving', async () => {
    await expect.poll(() => output, { timeout: 5_000 }).toContain('over the broker max_payload');
    expect((await via.cmd('acquire_lease', { owner: NEXT, ttl_s: 0.5 })).ok).toBe(true);
    expect(exitCode).toBeUndefined();
  });
});

describe('events and audit records over max_payload (in-process driver)', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let driver: TestDriver;
  const DEVICE = 'tiny-events';

  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: MAX_PAYLOAD });
    nc = await openClient(server.url);
    driver = await startTestDriver(['--device-id', DEVICE, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--no-media'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  });
  afterAll(async () => {
    await driver?.stop();
    await nc?.close();
    await server?.stop();
  });

  test('emitEvent and publish drop an oversize message without throwing, count it, and small ones still go out', async () => {
    const events = recorder(nc, `device-connect.default.${DEVICE}.>`);
    await nc.flush();
    await expect.poll(async () => (await rpc(nc, `device-connect.default.${DEVICE}.cmd`, { jsonrpc: '2.0', id: 1, method: 'release_lease', params: {} }, 1_000).catch(() => undefined)) !== undefined, { timeout: 10_000 }).toBe(true);
    const before = driver.runtime.meshCounters().droppedPublishes;
    const big = 'x'.repeat(MAX_PAYLOAD * 2);
    expect(() => driver.runtime.emitEvent('safety_event', { kind: 'test', reason: big })).not.toThrow();
    expect(() => driver.runtime.publish(`device-connect.default.${DEVICE}.audit`, { kind: 'test', reason: big })).not.toThrow();
    expect(driver.runtime.meshCounters().droppedPublishes).toBe(before + 2);
    driver.runtime.emitEvent('safety_event', { kind: 'test', reason: 'small' });
    const small = await events.next((m) => m.subject.endsWith('.event.safety_event') && (m.body as { params: { kind: string } }).params.kind === 'test');
    expect(small.body).toMatchObject({ params: { reason: 'small' } });
    expect(events.messages.some((m) => m.text.includes(big))).toBe(false);
  });

  test('an oversize reply is counted, and the entry answers the next call', async () => {
    const cmd = `device-connect.default.${DEVICE}.cmd`;
    const before = driver.runtime.meshCounters().oversizeReplies;
    const refused = await rpc(nc, cmd, { jsonrpc: '2.0', id: 'big', method: 'get_status', params: {} });
    expect(refused).toMatchObject({ id: 'big', error: { data: { _tag: 'PayloadTooLarge' } } });
    expect(driver.runtime.meshCounters()).toMatchObject({ oversizeReplies: before + 1, droppedReplies: 0 });
    expect(await rpc(nc, cmd, { jsonrpc: '2.0', id: 'small', method: 'release_lease', params: {} })).toHaveProperty('id', 'small');
  });

  test('an unserialisable event payload is dropped, not thrown', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => driver.runtime.emitEvent('safety_event', cyclic)).not.toThrow();
    expect(() => driver.runtime.publish(`device-connect.default.${DEVICE}.audit`, { n: 1n })).not.toThrow();
  });
});

describe('one caller identity and one parser on every entry point', () => {
  let scene: MeshScene;
  let via: Paths;
  const DEVICE = 'entry-dev';

  beforeAll(async () => {
    scene = await startMeshScene(['--device-id', DEVICE, '--no-media']);
    const replies = recorder(scene.nc, `device-connect.default.${DEVICE}.event.async_reply.>`);
    await scene.nc.flush();
    via = paths(scene.nc, DEVICE, replies);
    await waitFor(async () => (await via.cmd('get_status').catch(() => undefined))?.ok === true, 10_000, 'the driver to answer');
  });
  afterAll(async () => {
    await scene?.stop();
  });

  const ownerNow = async (): Promise<unknown> => (await via.cmd('get_status')).body.result.driver_state.command_owner;

  test.each(['cmd', 'svc', 'broadcast'] as const)('_dc_meta.source_device is the lease owner on .%s', async (path) => {
    const caller = `dev-${path}`;
    const meta = { _dc_meta: { source_device: caller, source_type: 'device' } };
    const acquired = await via[path]('acquire_lease', { ttl_s: 30, ...meta });
    expect(acquired.ok).toBe(true);
    expect(await ownerNow()).toBe(caller);
    // Without _dc_meta the same call is from "agent", who does not hold the lease.
    const stranger = await via[path]('release_lease', {});
    expect(stranger.ok).toBe(false);
    expect(await ownerNow()).toBe(caller);
    expect((await via[path]('release_lease', meta)).ok).toBe(true);
    expect(await ownerNow()).toBe(null);
  });

  test('NaN/Infinity on .cmd is a -32700 parse error that says so, echoing the id', async () => {
    const reply = await rpc(scene.nc, `device-connect.default.${DEVICE}.cmd`, '{"jsonrpc": "2.0", "id": "py-1", "method": "goto_pose", "params": {"yaw": NaN, "pitch": -Infinity}}');
    expect(reply).toMatchObject({ id: 'py-1', error: { code: -32700, data: { _tag: 'ParseError' } } });
    expect((reply.error as { message: string }).message).toContain('NaN/Infinity, which JSON does not allow; send null or a finite number');
  });

  test('NaN/Infinity on .svc is a -32700 service error that says so', async () => {
    const reply = await via.svc('goto_pose', '{"yaw": Infinity}');
    expect(reply.code).toBe('-32700');
    expect(reply.body).toMatchObject({ code: -32700, data: { _tag: 'ParseError' } });
    expect(reply.body.message).toContain('NaN/Infinity, which JSON does not allow');
  });

  test('NaN/Infinity in a broadcast gets a failed async reply that says so', async () => {
    const reply = await via.broadcast('goto_pose', '{"yaw": NaN}');
    expect(reply.body).toMatchObject({ success: false, error: { code: 'invoke_failed', _tag: 'ParseError' } });
    expect(reply.body.error.message).toContain('NaN/Infinity, which JSON does not allow');
  });

  test('"NaN" inside a string is just a string; other broken JSON keeps the generic message', async () => {
    const inString = await via.svc('acquire_lease', '{"owner": "NaN", "ttl_s": 1}');
    expect(inString).toMatchObject({ ok: true, body: { owner: 'NaN' } });
    await via.svc('release_lease', { owner: 'NaN' });
    const broken = await rpc(scene.nc, `device-connect.default.${DEVICE}.cmd`, '{"id": 1, "method": "get_status", "params": {"x": NaN');
    expect(broken).toMatchObject({ id: null, error: { code: -32700 } });
    expect((broken.error as { message: string }).message).not.toContain('NaN');
  });
});
