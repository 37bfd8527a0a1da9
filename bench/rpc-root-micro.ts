// In-process cost of one RPC's trip through the root machine, part by part (issue 11, RPC rows):
// the real driver (startDriver against the embedded emulator, private nats-server) and, as the
// baseline in the same run, a one-state XState machine answering an event with `emit` — the fixed
// cost of any XState event. The process runs with the driver's heap policy, as `run` does. Times
// CPU per operation (the least disturbed of the rounds after a warm-up round) and, when started
// with a fixed young generation, heap bytes per operation. Owns only measurement; no assertions.
// Usage: npx node --min-semi-space-size=256 --max-semi-space-size=256 bench/rpc-root-micro.ts [N]
//        npx node --cpu-prof --cpu-prof-dir=/tmp/prof bench/rpc-root-micro.ts   (where the time goes)
import { randomUUID } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import { createActor, emit, setup } from 'xstate';
import { loadConfig } from '../src/adapters/config-files.ts';
import { applyDriverHeapPolicy } from '../src/adapters/heap-policy.ts';
import { findNatsServer, startPrivateBroker } from '../src/adapters/private-nats-server.ts';
import { startDriver } from '../src/driver.ts';
import { driverStatus } from '../src/machines/driver.machine.ts';
import { encodeResult } from '../src/protocol/json-rpc.ts';
import { startEmulator } from '../src/sim/emulator.ts';

/** Operations per round. */
const DEFAULT_N = 20_000;
/** Rounds after the warm-up round (cold JIT: several times slower); the least disturbed one is reported (the box may be loaded). */
const ROUNDS = 3;
/** Calls kept in flight for the concurrent figure (the bench's 64-in-flight row). */
const IN_FLIGHT = 64;
/** The allocation figure is only meaningful when no scavenge runs inside a round (a fixed 256 MB young generation). */
const FIXED_YOUNG_GEN = process.execArgv.some((a) => a.startsWith('--min-semi-space-size'));

type Op = (i: number) => unknown;
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function measure(n: number, op: Op, inFlight: number): Promise<{ cpuUs: number; bytes: number }> {
  const heap0 = getHeapStatistics().used_heap_size;
  const cpu0 = cpuUs();
  if (inFlight === 1) {
    for (let i = 0; i < n; i++) await op(i);
  } else {
    let next = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (next < n) await op(next++);
    }));
  }
  return { cpuUs: (cpuUs() - cpu0) / n, bytes: (getHeapStatistics().used_heap_size - heap0) / n };
}

const least = (xs: number[]) => Math.min(...xs);
/** A round with a scavenge in it reads negative: those are left out. */
const allocated = (xs: number[]) => {
  const clean = xs.filter((x) => x >= 0).sort((a, b) => a - b);
  return clean.length > 0 ? clean[Math.floor(clean.length / 2)]!.toFixed(0) : '(gc)';
};

/** A one-state machine that answers one event with `emit`: XState's own cost per event, nothing of ours. */
function minimalMachine() {
  const machine = setup({ actions: { answer: emit(({ event }) => ({ type: 'out' as const, id: (event as unknown as { id: string }).id })) } }).createMachine({ initial: 'running', states: { running: { on: { ping: { actions: 'answer' } } } } });
  const actor = createActor(machine).start();
  actor.on('out', () => undefined);
  return actor;
}

export async function runRootMicro(n = DEFAULT_N): Promise<void> {
  // The heap of `run`: with V8's default the young generation grows with whatever an operation
  // keeps alive, and one operation's garbage changed another's figure (get_status read up to ~2 µs
  // slower once get_safety_policy stopped building its answer per call).
  applyDriverHeapPolicy();
  const broker = await startPrivateBroker(findNatsServer(process.env['PATH']) ?? 'nats-server');
  const emulator = await startEmulator({});
  const config = loadConfig({ argv: ['--no-media', '--device-id', 'bench-root-micro', '--messaging-url', broker.url, '--discovery-mode', 'd2d'], env: { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', REACHY_AUDIT_LOG: 'none' } });
  const driver = await startDriver(config, { daemonBaseUrl: emulator.url });
  const root = driver.robot.driver;
  const caller = { sourceDevice: 'bench', traceId: null };
  const minimal = minimalMachine();
  const status = driverStatus(root.getSnapshot().context);
  const ops: Array<[string, Op, number]> = [
    ['baseline: minimal XState machine, one event + emit', () => minimal.send({ type: 'ping', id: 'x' } as never), 1],
    ['root snapshot.can(rpc.get_status)', () => root.getSnapshot().can({ type: 'rpc.get_status', requestId: 'x' }), 1],
    ['root send(rpc.get_status) (no one waiting)', () => root.send({ type: 'rpc.get_status', requestId: randomUUID() }), 1],
    ['driverStatus(context) alone', () => driverStatus(root.getSnapshot().context), 1],
    ['reply JSON (encodeResult of the status)', () => encodeResult('id', status), 1],
    ['gate.call get_status, 1 in flight', () => driver.gate.call('get_status', {}, caller), 1],
    [`gate.call get_status, ${IN_FLIGHT} in flight`, () => driver.gate.call('get_status', {}, caller), IN_FLIGHT],
    ['gate.call get_safety_policy + reply, 1 in flight', async () => encodeResult('id', await driver.gate.call('get_safety_policy', {}, caller).then((r) => (r.ok ? r.result : null))), 1],
  ];
  const results = ops.map(() => ({ cpu: [] as number[], bytes: [] as number[] }));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [k, [, op, inFlight]] of ops.entries()) {
      const r = await measure(n, op, inFlight);
      if (round === 0) continue;
      results[k]!.cpu.push(r.cpuUs);
      results[k]!.bytes.push(r.bytes);
    }
  }
  console.log(`root round trip, in process (best of ${ROUNDS} rounds × ${n} after a warm-up round; load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
  console.log(`${'operation'.padEnd(52)} ${'CPU µs'.padStart(8)} ${'bytes'.padStart(8)}`);
  for (const [k, [name]] of ops.entries()) {
    const bytes = FIXED_YOUNG_GEN ? allocated(results[k]!.bytes) : '—';
    console.log(`${name.padEnd(52)} ${least(results[k]!.cpu).toFixed(2).padStart(8)} ${bytes.padStart(8)}`);
  }
  if (!FIXED_YOUNG_GEN) console.log('(bytes per operation: start node with --min-semi-space-size=256 --max-semi-space-size=256)');
  minimal.stop();
  await driver.stop();
  await emulator.close();
  await broker.stop();
}

if (import.meta.main) {
  await runRootMicro(Number(process.argv[2] ?? DEFAULT_N));
  process.exit(0);
}
