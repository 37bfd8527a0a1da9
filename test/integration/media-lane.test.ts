// Media calls on their own connections to the daemon (src/actors/daemon-link.ts, MEDIA_LANE_CONNECTIONS):
// a transcript over NATS against the emulator whose media routes answer 4.5 s late. Four
// release_media_hardware calls wait on the daemon; a goto_pose sent after them is answered first
// (before 2026-12-06 the media calls held the four connections motion uses and the goto waited
// behind them, ~4.3 s, or timed out past 5 s).
import type { NatsConnection } from '@nats-io/nats-core';
import { afterEach, expect, test } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';
import { openClient, rpc } from '../harness/mesh-peer.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

const DEVICE = 'media-lane';
/** Longer than a goto's whole wait for an answer would be behind them, shorter than the call timeout. */
const MEDIA_DELAY_MS = 4_500;

let emulator: Emulator | undefined;
let driver: TestDriver | undefined;
let broker: NatsServerHandle | undefined;
let nc: NatsConnection | undefined;
afterEach(async () => {
  await driver?.stop();
  await nc?.close();
  await emulator?.close();
  await broker?.stop();
});

test('a goto is answered while four media calls wait on a slow daemon', async () => {
  broker = await startNatsServer();
  emulator = await startEmulator({});
  nc = await openClient(broker.url);
  driver = await startTestDriver(['--device-id', DEVICE, '--discovery-mode', 'd2d', '--messaging-url', broker.url], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' }, { daemonBaseUrl: emulator.url });
  const d = driver;
  await waitFor(() => String(d.robot.driver.getSnapshot().context.children.connection.getSnapshot().value) === 'connected', 10_000, 'the driver connected');
  let n = 0;
  const call = (method: string, params: Record<string, unknown>) => rpc(nc!, `device-connect.default.${DEVICE}.cmd`, { jsonrpc: '2.0', id: `${method}-${n++}`, method, params }, 15_000) as Promise<Record<string, any>>;
  expect((await call('goto_pose', { yaw: 5, duration_s: 0.3, owner: 'm', wait: true })).result?.status).toBe('completed');

  emulator.faults.apply({ routeDelays: [{ path: '/api/media/*', requestMs: [MEDIA_DELAY_MS, MEDIA_DELAY_MS] }] }, 1);
  const answered: string[] = [];
  const media = [1, 2, 3, 4].map((i) => call('release_media_hardware', {}).then(() => answered.push(`media ${i}`)));
  await waitFor(() => emulator!.received.filter((e) => e.path.startsWith('/api/media/')).length >= 2, 3_000, 'the media calls to reach the daemon');
  const goto = await call('goto_pose', { yaw: -5, duration_s: 0.3, owner: 'm' });
  answered.push('goto');
  expect(goto.result?.status).toBe('accepted');
  await Promise.all(media);
  expect(answered[0]).toBe('goto');
}, 30_000);
