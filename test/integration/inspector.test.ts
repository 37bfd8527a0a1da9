// `--inspect <ws-url>`: the driver's actors report to a Stately inspector relay as ONE actor tree
// (the mesh, the media session and the robot children all descend from the driver root), and what
// they send never contains credentials (here: a real JWT `.creds` user on a JWT broker) nor media data.
import { credsAuthenticator } from '@nats-io/nats-core';
import { WebSocketServer } from 'ws';
import { afterAll, expect, test } from 'vitest';
import { startNatsServer } from '../harness/nats-server.ts';
import { fakeRegistry, openClient, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver } from '../harness/driver-harness.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A stand-in inspector relay on a free loopback port, closed after the file: every message it receives, in order. */
async function startRelay(): Promise<{ port: number; received: string[] }> {
  const relay = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => relay.once('listening', r));
  cleanups.push(() => new Promise((r) => relay.close(r)));
  const received: string[] = [];
  relay.on('connection', (socket) => socket.on('message', (data) => received.push(String(data))));
  return { port: (relay.address() as { port: number }).port, received };
}

test('inspection events reach the relay, sanitised', async () => {
  const { port, received } = await startRelay();
  const server = await startNatsServer({ auth: 'jwt' });
  cleanups.push(() => server.stop());
  const nc = await openClient(server.url, { authenticator: credsAuthenticator(new TextEncoder().encode(server.jwt!.creds)) });
  cleanups.push(() => nc.close());
  fakeRegistry(nc);
  await nc.flush();
  const driver = await startTestDriver(['--device-id', 'insp-dev', '--messaging-url', server.url, '--inspect', `ws://127.0.0.1:${port}`], { MESSAGING_CREDENTIALS_FILE: server.jwt!.credsFile });
  cleanups.push(() => driver.stop());
  await expect.poll(() => driver.runtime.registrationCount(), { timeout: 5_000 }).toBeGreaterThan(0);
  await rpc(nc, 'device-connect.default.insp-dev.cmd', { jsonrpc: '2.0', id: 'i1', method: 'get_status' });
  await expect.poll(() => received.join('\n'), { timeout: 10_000 }).toContain('rpc.get_status');
  const all = received.join('\n');
  expect(all).toContain('registered');
  expect(all).not.toContain(server.jwt!.seed);
  expect(all).not.toContain(server.jwt!.jwt);
});

/** The `@xstate.actor` announcements the relay received: one per actor, with its parent and root. */
function actorsSeen(received: string[]): Array<{ name: string; sessionId: string; parentId?: string; rootId?: string }> {
  return received.map((text) => JSON.parse(text) as { type: string; name: string; sessionId: string; parentId?: string; rootId?: string }).filter((e) => e.type === '@xstate.actor');
}

test('camera frames and audio in RPC events reach the relay only as sizes, never as data', async () => {
  const { port, received } = await startRelay();
  const server = await startNatsServer();
  cleanups.push(() => server.stop());
  const nc = await openClient(server.url);
  cleanups.push(() => nc.close());
  const driver = await startTestDriver(['--sim', '--device-id', 'insp-media', '--messaging-url', server.url, '--discovery-mode', 'd2d', '--inspect', `ws://127.0.0.1:${port}`], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  cleanups.push(() => driver.stop());
  const call = async (method: string, params: object = {}) => (await rpc(nc, 'device-connect.default.insp-media.cmd', { jsonrpc: '2.0', id: method, method, params }, 10_000)) as Record<string, any>;
  await expect.poll(async () => (await call('get_media_status').catch(() => ({}) as Record<string, any>)).result?.session_state, { timeout: 10_000 }).toBe('streaming');
  const frame = await call('capture_video_frame', { encoding: 'thumbnail' });
  const pushed = Buffer.alloc(3_200, 7).toString('base64');
  expect((await call('push_audio_sample', { data_b64: pushed })).result.status).toBe('accepted');
  await expect.poll(() => received.join('\n'), { timeout: 10_000 }).toContain('media.result');
  // The relay hears the events as they come: the pushed sample's may follow the capture's answer.
  await expect.poll(() => received.join('\n'), { timeout: 10_000 }).toContain('[base64 ');
  // One system: the driver root is the only actor without a parent, and every child named below is its own.
  const actors = actorsSeen(received);
  const roots = actors.filter((a) => a.parentId === undefined);
  expect(roots.map((a) => a.name)).toEqual(['driver']);
  const root = roots[0]!.sessionId;
  for (const name of ['mesh', 'media', 'connection', 'power', 'interlock', 'lease', 'motion']) {
    expect(actors.filter((a) => a.name === name).map((a) => ({ name: a.name, parentId: a.parentId, rootId: a.rootId }))).toEqual([{ name, parentId: root, rootId: root }]);
  }
  expect(actors.every((a) => a.rootId === root)).toBe(true);
  const all = received.join('\n');
  expect(all).toContain('[base64 ');
  const jpeg: string = frame.result.data_b64;
  expect(all).not.toContain(jpeg.slice(100, 164));
  expect(all).not.toContain(pushed.slice(0, 64));
});
