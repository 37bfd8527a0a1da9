// The world one schedule runs in: fake timers for every clock the driver and the emulator read
// (setTimeout/setInterval, Date, performance), a seeded Math.random (reconnect jitter), the
// emulator on that clock, the real composed driver (startDriver: machines, runtimes, gate,
// adapters) with --no-media, talking to the emulator over the in-memory transport, and a mesh
// side recorded in memory instead of NATS (safety_event = the audit record). Owns set-up and
// tear-down only; what is played and judged lives in run-schedule.ts and invariants.ts.
import { vi } from 'vitest';
import { fromPromise } from 'xstate';
import type { RpcGate } from '../../src/actors/rpc-gate.ts';
import type { DriverOverrides, RunningDriver } from '../../src/driver.ts';
import { meshMachine } from '../../src/machines/mesh.machine.ts';
import { setLogLevel, type LogLevel } from '../../src/logging/logger.ts';
import { startEmulator, type Emulator } from '../../src/sim/emulator.ts';
import { inMemoryTransport } from '../../src/sim/in-memory-transport.ts';
import { deriveSeed, SeededRandom } from '../../src/sim/seeded-random.ts';
import { SHUTDOWN_STOP_WAIT_MS } from '../../src/actors/leave-robot.ts';
import { startTestDriver } from '../harness/driver-harness.ts';

/** The fake clock's epoch at the start of every schedule, so Date-derived values replay exactly. */
export const SIM_EPOCH_MS = Date.UTC(2027, 0, 15, 8, 0, 0);
/** Virtual time given to the driver to connect (/ws/sdk, move updates, first status) before step 1. */
export const WARM_UP_MS = 500;
/** Driver and emulator log level during a schedule: silent (2,000 runs), SIM_LOG_LEVEL=debug to replay one seed in detail. */
const SIM_LOG_LEVEL = (process.env.SIM_LOG_LEVEL ?? 'silent') as LogLevel;
/**
 * Virtual time given to driver.stop() / emulator.close(): the shutdown's motion stop (up to
 * SHUTDOWN_STOP_WAIT_MS when a cancelled command is unresolved), the audit drain (up to 2 s: the
 * mesh is out of the simulation, so records stay unsent) and the sockets' 500 ms close grace.
 */
const TEAR_DOWN_MS = SHUTDOWN_STOP_WAIT_MS + 3_000;
const TEAR_DOWN_SLICE_MS = 20;
const LATENCY_STREAM = 201;
const MATH_RANDOM_STREAM = 202;

export interface SafetyRecordSeen {
  readonly record: Record<string, unknown> & { kind: string; owner: string | null; function: string | null; state: Record<string, unknown> };
  /** performance.now() when it was emitted. */
  readonly at: number;
}

export interface SimWorld {
  readonly emulator: Emulator;
  readonly driver: RunningDriver;
  /** The supervisor gate, when the driver exposes one (today it lives only inside the mesh runtime). */
  readonly supervisor: RpcGate | undefined;
  readonly audit: SafetyRecordSeen[];
  /** rpc.outcome events seen per request id (exactly-once check), when the root actor exposes them. */
  readonly outcomesPerRequest: Map<string, number>;
  /** Lets virtual time pass, with every timer due meanwhile fired in order. */
  advance(ms: number): Promise<void>;
  /**
   * Blocks the event loop for `ms`: the clock jumps and the timers due meanwhile fire late, at once;
   * `during` runs first, at the later wall time, as a request read in the same loop turn would.
   */
  lag(ms: number, during?: () => void): Promise<void>;
  close(): Promise<void>;
}

interface FakeClock {
  jump(ms: number): number;
}

/** `extraArgv`: more driver flags (e.g. `--deadman 300`); the schedules run with none. */
export async function openWorld(seed: number, latencyMs: readonly [number, number], extraArgv: readonly string[] = []): Promise<SimWorld> {
  setLogLevel(SIM_LOG_LEVEL);
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'], now: SIM_EPOCH_MS });
  const random = new SeededRandom(deriveSeed(seed, MATH_RANDOM_STREAM));
  const randomSpy = vi.spyOn(Math, 'random').mockImplementation(() => random.next());
  const latency = new SeededRandom(deriveSeed(seed, LATENCY_STREAM));
  const audit: SafetyRecordSeen[] = [];
  const outcomesPerRequest = new Map<string, number>();
  let emulator: Emulator | undefined;
  let driver: RunningDriver | undefined;
  const advance = async (ms: number): Promise<void> => {
    await vi.advanceTimersByTimeAsync(ms);
  };
  /** Lets virtual time run in short slices until `promise` settles (at most TEAR_DOWN_MS). */
  const settle = async (promise: Promise<unknown>): Promise<void> => {
    let done = false;
    const finished = promise.then(
      () => (done = true),
      () => (done = true),
    );
    for (let waited = 0; !done && waited < TEAR_DOWN_MS; waited += TEAR_DOWN_SLICE_MS) await advance(TEAR_DOWN_SLICE_MS);
    await finished;
  };
  try {
    emulator = await startEmulator({ timeScale: 1, model: 'lite', wallNowMs: () => performance.now() });
    const overrides: DriverOverrides = {
      daemonBaseUrl: emulator.url,
      daemonTransport: inMemoryTransport(emulator, () => latency.between(latencyMs[0], latencyMs[1])),
      prepareDeviceRuntime: (options) => ({
        // The mesh is out of the simulation (its child never connects); calls enter through the gate directly.
        logic: meshMachine.provide({ actors: { connect: fromPromise(() => new Promise<void>(() => undefined)), drain: fromPromise<void, void>(async () => undefined) } }),
        input: () => ({ deviceId: options().deviceId, tenant: options().tenant, discoveryMode: options().discoveryMode, deviceTtlS: options().deviceTtlS, registerJitterMs: 0 }),
        attach: (mesh) => ({
          get mesh() {
            return mesh();
          },
          emitEvent: (name, payload) => {
            if (name === 'safety_event') audit.push({ record: structuredClone(payload) as SafetyRecordSeen['record'], at: performance.now() });
          },
          publish: () => undefined,
          connection: () => undefined,
          stop: async () => undefined,
          registrationCount: () => 0,
          // Nothing to wait for: the mesh is out of the simulation.
          dialed: async () => undefined,
          meshCounters: () => ({ oversizeReplies: 0, droppedReplies: 0, droppedPublishes: 0 }),
        }),
      }),
    };
    driver = await startTestDriver(['--no-media', '--messaging-url', 'nats://127.0.0.1:4222', '--device-id', 'reachy-sim', ...extraArgv], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' }, overrides);
    const root = driver.robot.driver as unknown as { on?: (type: string, handler: (event: { requestId?: string }) => void) => unknown };
    root.on?.('rpc.outcome', (event) => {
      if (event.requestId) outcomesPerRequest.set(event.requestId, (outcomesPerRequest.get(event.requestId) ?? 0) + 1);
    });
    await advance(WARM_UP_MS);
  } catch (error) {
    await driver?.stop().catch(() => undefined);
    await emulator?.close().catch(() => undefined);
    randomSpy.mockRestore();
    vi.useRealTimers();
    setLogLevel('info');
    throw error;
  }
  const running = driver;
  const daemon = emulator;
  return {
    emulator: daemon,
    driver: running,
    supervisor: (running as RunningDriver & { supervisorGate?: RpcGate }).supervisorGate,
    audit,
    outcomesPerRequest,
    advance,
    async lag(ms, during) {
      if (during) {
        // Date moves on (timers shifted with it, so none fires); the request sees the late wall time.
        const now = Date.now();
        vi.setSystemTime(now + ms);
        during();
        vi.setSystemTime(now);
      }
      (Date as unknown as { clock: FakeClock }).clock.jump(ms);
      await advance(0);
    },
    async close() {
      try {
        daemon.faults.clear();
        await settle(running.stop());
        await settle(daemon.close());
      } finally {
        randomSpy.mockRestore();
        vi.useRealTimers();
        setLogLevel('info');
      }
    },
  };
}
