// The main job as a user runs it: `reachy-mini-driver --sim` starts the embedded emulator and the
// driver on a broker; over NATS the robot is connected, awake and moves; SIGTERM stops it cleanly.
// And `reachy-mini-driver emulate --port N` serves the daemon API alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, rpc } from '../harness/mesh-peer.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
let server: NatsServerHandle;
let nc: NatsConnection;
const children: ChildProcess[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await nc?.close();
  await server?.stop();
});

function start(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_REGISTER_JITTER: '0' } });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test('--sim: the driver runs on the embedded emulator and moves the simulated robot', async () => {
  const run = start(['--sim', '--device-id', 'sim-cli', '--messaging-url', server.url, '--discovery-mode', 'd2d', '--sim-time-scale', '0.05']);
  const cmd = 'device-connect.default.sim-cli.cmd';
  const ready = async () => {
    const state = (await rpc(nc, cmd, { jsonrpc: '2.0', id: 's', method: 'get_status' }, 1_000).catch((): Record<string, any> => ({}))).result?.driver_state;
    return `${state?.connection_state} ${state?.power_state}`;
  };
  await expect.poll(ready, { timeout: 15_000, interval: 200 }).toBe('connected awake');
  const moved = await rpc(nc, cmd, { jsonrpc: '2.0', id: 'g', method: 'goto_pose', params: { yaw: 20, duration_s: 1, wait: true } });
  expect(moved.result, JSON.stringify(moved.error)).toMatchObject({ status: 'completed' });
  const status = (await rpc(nc, cmd, { jsonrpc: '2.0', id: 's2', method: 'get_status' })).result as Record<string, any>;
  expect(status.daemon.status).toMatchObject({ state: 'running', mockup_sim_enabled: true });
  // The camera works in the same process (WebRTC to the emulator's producer), and shutting down with
  // a live WebRTC session still exits cleanly (node-datachannel teardown order, h264-webrtc.md §5.4).
  await expect.poll(async () => ((await rpc(nc, cmd, { jsonrpc: '2.0', id: 'm', method: 'get_media_status' })).result as Record<string, any> | undefined)?.session_state, { timeout: 10_000, interval: 200 }).toBe('streaming');
  const frame = await rpc(nc, cmd, { jsonrpc: '2.0', id: 'f', method: 'capture_video_frame', params: { encoding: 'thumbnail' } }, 10_000);
  expect(frame.result).toMatchObject({ status: 'success', encoding: 'thumbnail', format: 'jpeg', target: 'simulated' });
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
}, 30_000);

test('emulate --port serves the daemon API on loopback', async () => {
  const port = await freePort();
  const signalling = await freePort();
  const run = start(['emulate', '--port', String(port), '--signalling-port', String(signalling)]);
  await expect.poll(() => run.output(), { timeout: 10_000 }).toContain(`http://127.0.0.1:${port}`);
  expect(run.output()).toContain(`WebRTC signalling ws://127.0.0.1:${signalling}`);
  const res = await request(`http://127.0.0.1:${port}/api/daemon/status`);
  expect(res.statusCode).toBe(200);
  expect(await res.body.json()).toMatchObject({ state: 'running' });
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
}, 20_000);
