// Transcript of the driver on a plain loopback broker, as the Python clients see it
// (device-connect-protocol.md §2, §5): registration → invoke → every error code → event →
// heartbeat → requestRegistration → broker restart → re-registered within 5 s, no driver restart.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { recorder, rpc } from '../harness/mesh-peer.ts';
import { startMeshScene, type MeshScene } from '../harness/driver-harness.ts';

const DEVICE = 'reachy-it-1';
const CMD = `device-connect.default.${DEVICE}.cmd`;

describe('device on a plain broker', () => {
  let scene: MeshScene;
  let server: MeshScene['server'];
  let nc: MeshScene['nc'];
  let registry: MeshScene['registry'];
  let all: MeshScene['all'];
  let driver: MeshScene['driver'];

  beforeAll(async () => {
    scene = await startMeshScene(['--device-id', DEVICE, '--device-ttl', '6']);
    ({ server, nc, registry, all, driver } = scene);
  });

  afterAll(async () => {
    await scene?.stop();
  });

  test('registers with registerDevice carrying capabilities, identity and status', async () => {
    const req = await registry.requests.next();
    expect(req.subject).toBe('device-connect.default.registry');
    const body = req.body as { jsonrpc: string; id: string; method: string; params: Record<string, any> };
    expect(body.jsonrpc).toBe('2.0');
    expect(body.method).toBe('registerDevice');
    expect(body.id).toMatch(new RegExp(`^${DEVICE}-\\d+$`));
    const p = body.params;
    expect(p.device_id).toBe(DEVICE);
    expect(p.device_ttl).toBe(6);
    expect(p.identity).toMatchObject({ device_type: 'reachy_mini', manufacturer: 'Pollen Robotics', model: 'Reachy Mini' });
    expect(p.status.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(p.status.availability).toBe('idle');
    const fn = p.capabilities.functions.find((f: { name: string }) => f.name === 'get_status');
    expect(fn.parameters).toEqual({ type: 'object', properties: {}, required: [] });
    expect(fn.labels).toEqual({ direction: 'read', safety: 'informational' });
    expect(fn.tags).toEqual([]);
    await expect.poll(() => driver.runtime.mesh.getSnapshot().value).toHaveProperty('registered');
  });

  test('sends heartbeats on .heartbeat every ttl/3', async () => {
    const first = await all.next((m) => m.subject === `device-connect.default.${DEVICE}.heartbeat`);
    const second = await all.next((m) => m.subject === `device-connect.default.${DEVICE}.heartbeat`, 4_000);
    expect(first.body).toMatchObject({ device_id: DEVICE, availability: 'idle' });
    expect(typeof (first.body as { ts: unknown }).ts).toBe('number');
    expect(second.at - first.at).toBeGreaterThan(1_000);
  });

  test('answers get_status with daemon and driver_state, echoing string and numeric ids', async () => {
    const reply = await rpc(nc, CMD, { jsonrpc: '2.0', id: 'd2d-1e7f96933d1d', method: 'get_status', params: {} });
    expect(Object.keys(reply)).toEqual(['jsonrpc', 'id', 'result']);
    expect(reply.id).toBe('d2d-1e7f96933d1d');
    const result = reply.result as { daemon: Record<string, unknown>; driver_state: Record<string, unknown> };
    expect(result.daemon.available).toBe(false);
    for (const field of ['command_owner', 'lease_expires_at', 'lease_active', 'execution_state', 'interlock_state', 'current_pose', 'target_pose', 'last_error', 'media_ready']) {
      expect(result.driver_state).toHaveProperty(field);
    }
    expect(result.driver_state.mesh_state).toBe('registered');
    const numeric = await rpc(nc, CMD, { jsonrpc: '2.0', id: 42, method: 'get_status' });
    expect(numeric.id).toBe(42);
  });

  test('maps every failure to its JSON-RPC code with a stable _tag', async () => {
    const unknown = await rpc(nc, CMD, { jsonrpc: '2.0', id: 'u1', method: 'nope', params: {} });
    expect(unknown.error).toEqual({ code: -32601, message: 'Unknown method: nope', data: { method: 'nope', _tag: 'UnknownMethod' } });

    const badParam = await rpc(nc, CMD, { jsonrpc: '2.0', id: 'p1', method: 'get_status', params: { bogus: 1 } });
    expect(badParam.error).toMatchObject({ code: -32602, data: { _tag: 'InvalidParams', issues: [{ parameter: 'bogus' }] } });
    expect((badParam.error as { message: string }).message).toContain('bogus');

    const arrayParams = await rpc(nc, CMD, { jsonrpc: '2.0', id: 'a1', method: 'get_status', params: [1, 2] });
    expect(arrayParams).toMatchObject({ id: 'a1', error: { code: -32600, data: { _tag: 'InvalidRequest' } } });

    const badJson = await rpc(nc, CMD, '{"jsonrpc": "2.0", "id": ');
    expect(badJson).toMatchObject({ id: null, error: { code: -32700, data: { _tag: 'ParseError' } } });

    // A notification (no id) gets no reply: the request times out.
    await expect(rpc(nc, CMD, { jsonrpc: '2.0', method: 'get_status', params: {} }, 500)).rejects.toThrow();
  });

  test('strips _dc_meta before dispatch (it is not an unknown parameter)', async () => {
    const reply = await rpc(nc, CMD, { jsonrpc: '2.0', id: 'm1', method: 'get_status', params: { _dc_meta: { source_device: 'ctl-001', source_type: 'device', trace_id: '60ea8d5c7a804439' } } });
    expect(reply.result).toBeDefined();
  });

  test('answers requestRegistration with the registerDevice params', async () => {
    const reply = await rpc(nc, CMD, { jsonrpc: '2.0', id: `re-reg-${DEVICE}-1`, method: 'requestRegistration', params: {} });
    const result = reply.result as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['device_id', 'device_ttl', 'capabilities', 'identity', 'status']);
    expect(result.device_id).toBe(DEVICE);
  });

  test('publishes events as JSON-RPC notifications with event_id, ts and _trace_id', async () => {
    all.drain();
    driver.runtime.emitEvent('safety_event', { kind: 'test', reason: 'transcript' });
    const ev = await all.next((m) => m.subject === `device-connect.default.${DEVICE}.event.safety_event`);
    const body = ev.body as { jsonrpc: string; method: string; params: Record<string, string> };
    expect(body).toMatchObject({ jsonrpc: '2.0', method: 'safety_event', params: { kind: 'test', reason: 'transcript' } });
    expect(body.params.event_id).toMatch(/^[0-9a-f]{8}$/);
    expect(body.params.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(body.params._trace_id).toMatch(/^[0-9a-f]{16}$/);
  });

  test('handles broadcasts addressed to it and ignores others', async () => {
    const replies = recorder(nc, 'device-connect.default.*.event.async_reply.>');
    await nc.flush();
    nc.publish('device-connect.default.broadcast', JSON.stringify({ correlation_id: 'br-other', function: 'get_status', params: {}, targets: ['someone-else'] }));
    nc.publish('device-connect.default.broadcast', JSON.stringify({ correlation_id: 'br-d68ef7b538d6', function: 'get_status', params: {}, targets: [DEVICE] }));
    const reply = await replies.next();
    expect(reply.subject).toBe(`device-connect.default.${DEVICE}.event.async_reply.br-d68ef7b538d6`);
    expect(reply.body).toMatchObject({ correlation_id: 'br-d68ef7b538d6', device_id: DEVICE, success: true });
    expect(typeof (reply.body as { actually_fired_at: unknown }).actually_fired_at).toBe('number');
    expect(replies.messages.some((m) => m.subject.endsWith('br-other'))).toBe(false);
  });

  test('a broadcast with a where condition, a fire_at ahead, a late one to skip, or targets that are not a list is not run', async () => {
    const replies = recorder(nc, `device-connect.default.${DEVICE}.event.async_reply.>`);
    await nc.flush();
    const nowS = Date.now() / 1000;
    const send = (correlation_id: string, extra: Record<string, unknown>) =>
      nc.publish('device-connect.default.broadcast', JSON.stringify({ correlation_id, function: 'acquire_lease', params: { owner: 'broadcaster' }, ...extra }));
    // Not for this device, or not now: no reply, nothing run.
    send('br-0000000000a1', { where: 'device.location == "lab-2"', targets: [] });
    send('br-0000000000a2', { fire_at: nowS - 3_600, on_late: 'skip' });
    send('br-0000000000a3', { targets: 'someone-else' });
    // Scheduled an hour ahead: refused, said so.
    send('br-0000000000a4', { fire_at: nowS + 3_600 });
    const refused = await replies.next((m) => m.subject.endsWith('br-0000000000a4'));
    expect(refused.body).toMatchObject({ success: false, error: { code: 'invoke_failed', _tag: 'Unsupported' } });
    // A late one without on_late: skip, and an unconditional one, run now (in order: the last answer comes after the others).
    send('br-0000000000a5', { fire_at: nowS - 10, params: {}, function: 'get_status' });
    send('br-0000000000a6', { function: 'get_status', params: {} });
    await replies.next((m) => m.subject.endsWith('br-0000000000a6'));
    expect(replies.messages.map((m) => m.subject.slice(-2))).toEqual(['a4', 'a5', 'a6']);
    // Before 2026-12-06 the where, skip and string-targets envelopes each took the lease.
    const status = (await rpc(nc, CMD, { jsonrpc: '2.0', id: 'lease-after', method: 'get_status' })) as { result: { driver_state: { command_owner: unknown } } };
    expect(status.result.driver_state.command_owner).toBeNull();
  });

  test('re-registers within 5 s after a broker restart, without restarting the driver', async () => {
    const before = driver.runtime.registrationCount();
    registry.requests.drain();
    await server.restart({ signal: 'SIGKILL' });
    const started = Date.now();
    await registry.requests.next(() => true, 5_000);
    await expect.poll(() => driver.runtime.registrationCount(), { timeout: 5_000 }).toBeGreaterThan(before);
    expect(Date.now() - started).toBeLessThan(5_000);
    const after = await rpc(nc, CMD, { jsonrpc: '2.0', id: 'after', method: 'get_status' });
    expect(after.result).toBeDefined();
  });
});
