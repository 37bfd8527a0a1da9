// Starts the real driver in-process for integration tests, configured exactly as the CLI would
// configure it (argv + env through loadConfig), with registration jitter off so transcripts are
// prompt, and --sim's emulator in the test's process (where tests read its ground truth) unless
// the test asks for its own process (`simInProcess: false`, as the CLI runs it). Owns nothing but
// the start/stop convenience.
import { loadConfig } from '../../src/adapters/config-files.ts';
import { startDriver, type DriverOverrides, type RunningDriver } from '../../src/driver.ts';

export type TestDriver = RunningDriver;

export async function startTestDriver(argv: string[], env: Record<string, string> = {}, overrides: DriverOverrides = {}): Promise<TestDriver> {
  const config = loadConfig({
    argv,
    env: { DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', REACHY_AUDIT_LOG: 'none', ...env },
  });
  return await startDriver(config, { simInProcess: true, ...overrides });
}

export interface MeshScene {
  readonly server: import('./nats-server.ts').NatsServerHandle;
  /** A plain client on the same broker, for the test's side of the transcript. */
  readonly nc: import('@nats-io/nats-core').NatsConnection;
  readonly registry: import('./mesh-peer.ts').FakeRegistry;
  /** Everything published under `device-connect.>`. */
  readonly all: import('./mesh-peer.ts').MessageQueue;
  readonly driver: TestDriver;
  stop(): Promise<void>;
}

/** A plain broker, a fake registry, a recorder and an insecure driver with the given argv (and test overrides). */
export async function startMeshScene(argv: string[], env: Record<string, string> = {}, overrides: DriverOverrides = {}): Promise<MeshScene> {
  const { startNatsServer } = await import('./nats-server.ts');
  const { fakeRegistry, openClient, recorder } = await import('./mesh-peer.ts');
  const server = await startNatsServer();
  const nc = await openClient(server.url);
  const registry = fakeRegistry(nc);
  const all = recorder(nc, 'device-connect.>');
  await nc.flush();
  const driver = await startTestDriver([...argv, '--messaging-url', server.url], { DEVICE_CONNECT_ALLOW_INSECURE: 'true', ...env }, overrides);
  return {
    server,
    nc,
    registry,
    all,
    driver,
    async stop() {
      await driver.stop();
      await nc.close();
      await server.stop();
    },
  };
}

/** Polls `check` until it holds (for hooks, where `expect.poll` is not allowed); throws naming `what`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
