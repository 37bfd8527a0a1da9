// One test's robot on a file's broker: the emulator (at the file's time scale) and the real driver
// in-process against it (d2d discovery), with `call` for JSON-RPC on its `.cmd`. `useEmulatorScenes`
// registers the afterEach that stops every scene a test left running (faults cleared, driver, then
// emulator). `useBrokerScenes` adds the file's own broker (shared-broker.ts) and device ids
// numbered in start order (the next one known before its start). Owns that start and stop only:
// the ready wait is ready-state.ts's or the file's.
import { afterEach } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { startTestDriver, type TestDriver } from './driver-harness.ts';
import { rpc } from './mesh-peer.ts';
import { useSharedBroker, type SharedBroker } from './shared-broker.ts';

/** A JSON-RPC reply body (`result` or `error`), loosely typed for transcript assertions. */
export type Reply = Record<string, any>;

export interface EmulatorScene {
  readonly id: string;
  readonly emulator: Emulator;
  readonly driver: TestDriver;
  call(method: string, params?: Record<string, unknown>, timeoutMs?: number): Promise<Reply>;
  /** Stops the scene now (a test that wants a fresh one); otherwise the afterEach does. */
  stop(): Promise<void>;
}

export interface EmulatorScenesOptions {
  /** The file's broker (useSharedBroker), read when a scene starts. */
  readonly broker: () => SharedBroker;
  /** The emulator's time scale (1 = real time). */
  readonly timeScale: number;
  /** `call`'s reply timeout unless it names one. */
  readonly callTimeoutMs: number;
}

/** Call at the top of a test file; the returned function starts a scene as device `id` (extra driver argv after). */
export function useEmulatorScenes(options: EmulatorScenesOptions): (id: string, argv?: string[]) => Promise<EmulatorScene> {
  const running: EmulatorScene[] = [];
  afterEach(async () => {
    while (running.length > 0) await running[running.length - 1]!.stop();
  });
  return async (id, argv = []) => {
    const { server, nc } = options.broker();
    const emulator = await startEmulator({ timeScale: options.timeScale });
    const driver = await startTestDriver(['--device-id', id, '--messaging-url', server.url, '--discovery-mode', 'd2d', ...argv], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' }, { daemonBaseUrl: emulator.url });
    let seq = 0;
    const scene: EmulatorScene = {
      id,
      emulator,
      driver,
      call: (method, params = {}, timeoutMs = options.callTimeoutMs) => rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: `${method}-${++seq}`, method, params }, timeoutMs) as Promise<Reply>,
      async stop() {
        const at = running.indexOf(scene);
        if (at === -1) return;
        running.splice(at, 1);
        emulator.faults.clear();
        await driver.stop();
        await emulator.close();
      },
    };
    running.push(scene);
    return scene;
  };
}

export interface BrokerScenes {
  /** The file's broker once its tests run. */
  broker(): SharedBroker;
  /** Starts a scene as device `<prefix>-<n>` (n = 1, 2, … in start order, so no two of the file's scenes share an id). */
  start(argv?: string[]): Promise<EmulatorScene>;
  /** The device id the next `start` takes (to subscribe to its subjects before it starts). */
  nextId(): string;
}

/** Call at the top of a test file whose broker is its own (useSharedBroker) and serves only its scenes. */
export function useBrokerScenes(prefix: string, options: Omit<EmulatorScenesOptions, 'broker'>): BrokerScenes {
  let shared: SharedBroker | undefined;
  useSharedBroker((b) => (shared = b));
  const broker = (): SharedBroker => shared!;
  const startScene = useEmulatorScenes({ ...options, broker });
  let started = 0;
  const idOf = (n: number): string => `${prefix}-${n}`;
  return { broker, start: (argv = []) => startScene(idOf(++started), argv), nextId: () => idOf(started + 1) };
}
