// Start-up order with media (issue 11, start-up): the mesh answers first. A `--sim` driver with
// media returns from start while its mesh is still dialing, with the media session idle and the
// emulator's producer (its native WebRTC stacks) not loaded; the session leaves idle only after the
// mesh's first dial has ended, `get_status` is answered over NATS, and media then reaches
// `streaming` by itself, which `get_media_status` reports. A first dial that hangs (a broker that
// never answers) holds media back MEDIA_START_LATEST_MS at most.
import { createServer, type AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { MEDIA_START_LATEST_MS } from '../../src/driver.ts';
import { mediaStateName } from '../../src/machines/media-session.machine.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import { openClient } from '../harness/mesh-peer.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

let server: NatsServerHandle;
let nc: NatsConnection;
let driver: TestDriver | undefined;
beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
});
afterAll(async () => {
  await driver?.stop();
  await nc?.close();
  await server?.stop();
});

async function call(id: string, method: string): Promise<Record<string, any>> {
  const reply = await nc.request(`device-connect.default.${id}.cmd`, JSON.stringify({ jsonrpc: '2.0', id: method, method }), { timeout: 5_000 });
  return reply.json();
}

test('the mesh serves before the media session and the emulator producer start; media then streams by itself', async () => {
  const id = 'media-start-order';
  driver = await startTestDriver(['--sim', '--device-id', id, '--messaging-url', server.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  const mesh = driver.runtime.mesh;
  const session = driver.media!.session;
  // At return the mesh is still dialing (network I/O has not happened yet): nothing of media has started.
  expect(mesh.getSnapshot().matches({ connecting: 'dialing' })).toBe(true);
  expect(mediaStateName(session.getSnapshot().value)).toBe('idle');
  expect(driver.emulator!.media).toBeNull();
  expect(driver.statusSnapshot()['media']).toMatchObject({ state: 'idle' });
  // Meanwhile get_media_status says so (through the gate: the mesh is not up yet), no fake success.
  const early = driver.gate.call('get_media_status', {}, { sourceDevice: null, traceId: null });
  expect(await early).toMatchObject({ ok: true, result: { status: 'unavailable', session_state: 'idle', video_input: false, reason: expect.stringContaining('not started yet') } });
  const order: string[] = [];
  const meshSub = mesh.subscribe((s) => {
    if (!s.matches({ connecting: 'dialing' }) && !order.includes('mesh dialed')) order.push('mesh dialed');
  });
  const mediaSub = session.subscribe((s) => {
    if (mediaStateName(s.value) !== 'idle' && !order.some((o) => o.startsWith('media started'))) order.push(`media started${driver!.emulator!.media ? ' (producer up)' : ''}`);
  });
  try {
    await expect.poll(async () => (await call(id, 'get_status').catch(() => ({}) as Record<string, any>))['result'] !== undefined, { timeout: 10_000, interval: 50 }).toBe(true);
    await expect.poll(async () => (await call(id, 'get_media_status'))['result']?.session_state, { timeout: 15_000, interval: 100 }).toBe('streaming');
    expect(order).toEqual(['mesh dialed', 'media started (producer up)']);
  } finally {
    meshSub.unsubscribe();
    mediaSub.unsubscribe();
  }
}, 40_000);

test('a broker that never answers does not hold the media session back beyond MEDIA_START_LATEST_MS', async () => {
  // Accepts TCP and says nothing: the first dial lasts its connect timeout (5 s), longer than the cap.
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  const quiet = await startTestDriver(['--sim', '--device-id', 'media-start-silent-broker', '--messaging-url', `nats://127.0.0.1:${port}`, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  const started = performance.now();
  try {
    const session = quiet.media!.session;
    await expect.poll(() => mediaStateName(session.getSnapshot().value), { timeout: MEDIA_START_LATEST_MS + 2_000, interval: 50 }).not.toBe('idle');
    expect(quiet.runtime.mesh.getSnapshot().matches({ connecting: 'dialing' })).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(MEDIA_START_LATEST_MS - 100);
  } finally {
    await quiet.stop();
    silent.close();
  }
}, 30_000);
