// When the daemon link starts (src/driver.ts `firstDialEnded`, DAEMON_LINK_SETTLE_MS): shortly after
// the mesh's first dial, so the first calls are answered before the daemon's HTTP client loads —
// and never later than DAEMON_LINK_START_LATEST_MS (+ the settle) when the broker does not answer
// at all: a broker that accepts TCP but never speaks NATS keeps the mesh dialing for its whole
// connect timeout (5 s), and the robot's state must not wait for it. The real driver against the
// emulator; the connection machine's snapshot is the truth read.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { DAEMON_LINK_SETTLE_MS, DAEMON_LINK_START_LATEST_MS, type RunningDriver } from '../../src/driver.ts';
import { CONNECT_TIMEOUT_MS } from '../../src/adapters/nats-options.ts';
import { meshStateName } from '../../src/machines/mesh.machine.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startTestDriver, waitFor } from '../harness/driver-harness.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

/** Slack for the link's own connect to the emulator (HTTP probe, two WebSockets) on a loaded 2-core box. */
const CONNECT_SLACK_MS = 1_500;

let emulator: Emulator | undefined;
let driver: RunningDriver | undefined;
let broker: NatsServerHandle | undefined;
let silent: Server | undefined;
const held: Socket[] = [];
afterEach(async () => {
  await driver?.stop();
  await emulator?.close();
  await broker?.stop();
  for (const s of held.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  driver = emulator = broker = silent = undefined;
});

const linkState = (d: RunningDriver) => String(d.robot.driver.getSnapshot().context.children.connection.getSnapshot().value);
const meshState = (d: RunningDriver) => meshStateName(d.robot.driver.getSnapshot().context.children.mesh.getSnapshot().value);

test('with a broker that answers, the daemon link starts once the mesh has dialed and connects', async () => {
  emulator = await startEmulator({});
  broker = await startNatsServer();
  driver = await startTestDriver(['--no-media', '--device-id', 'link-start-ok', '--discovery-mode', 'd2d', '--messaging-url', broker.url], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' }, { daemonBaseUrl: emulator.url });
  const d = driver;
  expect(linkState(d), 'not started with the mesh still dialing').toBe('disconnected');
  await waitFor(() => linkState(d) === 'connected', DAEMON_LINK_START_LATEST_MS + DAEMON_LINK_SETTLE_MS + CONNECT_SLACK_MS, 'the daemon link connected');
  expect(meshState(d)).not.toBe('connecting');
});

test('with a broker that never speaks NATS, the daemon link still starts within its latest start', async () => {
  emulator = await startEmulator({});
  silent = createServer((socket) => void held.push(socket));
  await new Promise<void>((resolve) => silent!.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  driver = await startTestDriver(['--no-media', '--device-id', 'link-start-silent', '--discovery-mode', 'd2d', '--messaging-url', `nats://127.0.0.1:${port}`], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' }, { daemonBaseUrl: emulator.url });
  const d = driver;
  // Bounded by the mesh's own connect timeout (5 s), not by the driver's constants: the link must
  // connect while the mesh is still dialing.
  expect(DAEMON_LINK_START_LATEST_MS + DAEMON_LINK_SETTLE_MS + CONNECT_SLACK_MS).toBeLessThan(CONNECT_TIMEOUT_MS);
  await waitFor(() => linkState(d) === 'connected', CONNECT_TIMEOUT_MS - 1_000, 'the daemon link connected while the mesh dials');
  expect(meshState(d), 'the mesh is still dialing the silent broker').toBe('connecting');
});
