// A goto's whole path stays inside the envelope (README "Safety envelope"), over NATS against an
// emulator that honours `interpolation` on its REST goto (as a daemon may; today's ignores it,
// daemon-api §11.1): with head yaw held to ±30°, a cartoon goto from -30° to 30° would swing to
// ±36° (the law overshoots each end by ~10 % of the travel). It is refused OutsideEnvelope before
// anything is sent, saying the path overshoots and which interpolations stay inside, and audited;
// the same goto under min-jerk runs and never leaves ±30°, and a cartoon goto whose swing stays
// inside runs too.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, recorder, rpc, type MessageQueue } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';

const DEVICE = 'envelope-path';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const SAFETY_EVENT = `device-connect.default.${DEVICE}.event.safety_event`;
/** Angles read back from the emulator's matrices and radians: a thousandth of a degree of float noise. */
const EPS_DEG = 1e-3;

let server: NatsServerHandle;
let nc: NatsConnection;
let events: MessageQueue;
let emulator: Emulator;
let driver: TestDriver;
let seq = 0;
const call = async (method: string, params: object = {}): Promise<Record<string, any>> => (await rpc(nc, CMD, { jsonrpc: '2.0', id: `c${++seq}`, method, params }, 15_000)) as Record<string, any>;
const deg = (rad: number): number => (rad * 180) / Math.PI;
const yaws = (): number[] => emulator.motionRecord.poses.map((p) => deg(p.head.yaw));

beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
  events = recorder(nc, SAFETY_EVENT);
  await nc.flush();
  emulator = await startEmulator({ timeScale: 0.2, honourRestInterpolation: true });
  const file = join(mkdtempSync(join(tmpdir(), 'rmd-envelope-path-')), 'envelope.json');
  writeFileSync(file, JSON.stringify({ head_yaw_deg: { min: -30, max: 30 } }));
  driver = await startTestDriver(['--device-id', DEVICE, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--no-media', '--envelope', file], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' }, { daemonBaseUrl: emulator.url });
  await waitFor(async () => (await call('get_status').catch(() => ({}) as Record<string, any>)).result?.driver_state?.connection_state === 'connected', 15_000, 'the driver connected to the emulator');
  if ((await call('get_status')).result.driver_state.power_state !== 'awake') expect((await call('wake_up', { wait: true })).error).toBeUndefined();
}, 60_000);
afterAll(async () => {
  await driver?.stop();
  await emulator?.close();
  await nc?.close();
  await server?.stop();
});

test('a cartoon goto from yaw -30 to 30 under yaw ±30: refused OutsideEnvelope (the path overshoots), nothing sent, audited', async () => {
  expect((await call('goto_pose', { yaw: -30, duration_s: 2, wait: true })).result?.status).toBe('completed');
  emulator.motionRecord.clear();
  const before = events.messages.length;

  // → goto_pose {yaw: 30, duration_s: 3, interpolation: cartoon} ← OutsideEnvelope: the cartoon path reaches ±36°.
  const refused = await call('goto_pose', { yaw: 30, duration_s: 3, interpolation: 'cartoon', wait: true });
  expect(refused.error?.data?._tag, JSON.stringify(refused)).toBe('OutsideEnvelope');
  expect(refused.error.message).toMatch(/the cartoon path from the present pose overshoots/);
  expect(refused.error.message).toMatch(/linear, minjerk, ease_in_out stay inside/);
  const violations = refused.error.data.violations as Array<{ axis: string; value: number; min: number; max: number }>;
  expect(violations).toHaveLength(1);
  expect(violations[0]).toMatchObject({ axis: 'head_yaw_deg', min: -30, max: 30 });
  expect(Math.abs(violations[0]!.value)).toBeGreaterThan(35);
  expect(emulator.motionRecord.moves).toEqual([]);
  // ← safety_event refused (OutsideEnvelope, at the write).
  await waitFor(async () => events.messages.slice(before).some((m) => (m.body as any).params?.error_tag === 'OutsideEnvelope'), 5_000, 'the refusal audited');
  expect(events.messages.slice(before).map((m) => (m.body as any).params).find((p) => p.error_tag === 'OutsideEnvelope')).toMatchObject({ kind: 'refused', function: 'goto_pose', at: 'write' });

  // → the same goto under min-jerk: runs, and the head never leaves ±30°.
  expect((await call('goto_pose', { yaw: 30, duration_s: 3, wait: true })).result?.status).toBe('completed');
  expect(Math.max(...yaws())).toBeLessThanOrEqual(30 + EPS_DEG);
  expect(Math.min(...yaws())).toBeGreaterThanOrEqual(-30 - EPS_DEG);
}, 30_000);

test('a cartoon goto whose swing stays inside runs (and swings past its goal as the law does)', async () => {
  expect((await call('goto_pose', { yaw: 0, duration_s: 2, wait: true })).result?.status).toBe('completed');
  emulator.motionRecord.clear();
  const moved = await call('goto_pose', { yaw: 20, duration_s: 3, interpolation: 'cartoon', wait: true });
  expect(moved.result?.status, JSON.stringify(moved)).toBe('completed');
  expect(Math.max(...yaws())).toBeGreaterThan(20 + 1);
  expect(Math.max(...yaws())).toBeLessThanOrEqual(30 + EPS_DEG);
}, 30_000);
