// `npm run bench [-- --only rpc]` (issue 11): `get_status` over NATS `.cmd` on the driver alone
// (`src/cli.ts run --target` an `emulate` process, --no-media; with `--rpc-with-sim`, `run --sim`,
// the emulator in the process it forks) vs the bare echo (bench/rpc-echo.ts: own process, same NATS
// library, same reply size); one private nats-server, this process the client. p50 at 1 in flight,
// p99 and throughput at 64, open-loop 1,000 req/s (lost, p99), once V8 has settled (the first
// calls' p50 is printed as context). The two alternate so machine load hits both; ratios count,
// absolutes are context. Measurement only, no assertions. Flags: `rpcBenchOptions`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { findNatsServer, startPrivateBroker } from '../src/adapters/private-nats-server.ts';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const ECHO = fileURLToPath(new URL('./rpc-echo.ts', import.meta.url));
const DEVICE_ID = 'bench-rpc';
const DRIVER_SUBJECT = `device-connect.default.${DEVICE_ID}.cmd`;
/** Same shape of subject as the driver's, so the broker's routing work is the same. */
const ECHO_SUBJECT = 'device-connect.default.bench-echo.cmd';

/** Issue 11 goals, as ratios to the bare echo in the same run. */
export const GOALS = { p50At1: 1.1, p99At64: 1.5, throughputAt64: 0.9, pacedP99: 2 } as const;
/** Requests per target thrown away first (inbox subscription, first status reads, first compiles). */
const WARMUP_REQUESTS = 500;
/**
 * Serial requests per target after the early blocks, before anything is measured: V8 is still
 * optimizing the driver's path long after 500 calls (`--trace-opt` in the driver, one call at a
 * time, two runs, compile times as V8 reports them: 0.4-0.5 s in calls 0-5,000, 0.7-1.1 s in
 * 5,000-15,000, under 0.1 s per 2,500 after that), on the second core that the broker and the
 * client need, while its code runs in the lower tiers. The echo's few functions settle within the
 * first 500. 20,000 each: ~8 s each on 2 cores.
 */
const JIT_WARMUP_REQUESTS = 20_000;
/** Alternated blocks per target measured right after the first 500 calls (context only: the driver before V8 settles). */
const EARLY_ROUNDS = 4;
/**
 * Sequential requests per block and blocks per target at 1 in flight (~0.1 s per block on 2 cores).
 * Short blocks, many rounds: a shared VM's speed drifts by 10-20 % over seconds, and with 5 blocks
 * of 1,000 that drift alone moved the p50 ratio by ±0.04 between runs; the same 5,000 calls in 20
 * alternated blocks put both targets under the same drift.
 */
const SERIAL_BLOCK = 250;
const SERIAL_ROUNDS = 20;
/** The concurrency figure. */
const IN_FLIGHT = 64;
/** Seconds per closed-loop block and blocks per target at 64 in flight (alternated, for the same reason as the serial blocks). */
const CONCURRENT_BLOCK_S = 1.5;
const CONCURRENT_ROUNDS = 8;
/** The paced rate and duration (the driver's run is one piece; the echo's is split around it). */
const PACED_RATE_PER_S = 1_000;
const DEFAULT_PACED_S = 60;
/** Send-loop tick: the sends due are issued every tick (1 ms: bursts of ~1 request at 1,000/s). */
const PACE_TICK_MS = 1;
/** A paced request unanswered after this is counted lost. */
const LOST_AFTER_MS = 5_000;
/** Seconds both processes are watched with no load, for their background CPU (10 ms ticks: ±0.3 % at 3 s). */
const IDLE_SAMPLE_S = 3;
/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every common build). */
const CLOCK_TICKS_PER_S = 100;
/** After its first connected answer, the driver's status grows for a second (the 1 Hz daemon status, the pose): the echo's copy is taken after. */
const STATUS_SETTLE_MS = 1_500;
/** The driver answers get_status within this after start (connect to the emulator, the broker). */
const READY_TIMEOUT_MS = 30_000;

export interface Latencies {
  readonly p50: number;
  readonly p99: number;
  readonly samples: number;
}

export interface TargetFigures {
  /** 1 in flight right after the first 500 calls (the driver's path not yet optimized by V8): context, no goal. */
  readonly early: Latencies;
  readonly serial: Latencies;
  readonly concurrent: Latencies & { readonly perSecond: number };
  readonly paced: Latencies & { readonly lost: number; readonly sent: number; readonly seconds: number };
  readonly replyBytes: number;
  /** CPU time (user + system) of the answering process per request, net of its idle rate, µs, by figure. */
  readonly cpuUsPerRequest: Readonly<Record<Phase, number>>;
  /** Write syscalls of the answering process per request (socket writes: replies coalesce when several go out at once). */
  readonly writesPerRequest: Readonly<Record<Phase, number>>;
}

export interface RpcBenchReport {
  readonly driver: TargetFigures;
  readonly echo: TargetFigures;
  /** Each process's CPU with no requests, % of one core (driver, echo). */
  readonly idleCpuPercent: readonly [number, number];
  readonly pacedSeconds: number;
  /** How the driver was run (its daemon emulator apart or inside). */
  readonly driverCase: string;
}

export interface RpcBenchOptions {
  /** Seconds of the paced 1,000 req/s run per target (default 60). */
  readonly pacedSeconds?: number;
  /** Write `--cpu-prof` profiles of the driver and echo processes here. */
  readonly cpuProfDir?: string;
  /** Extra node flags for the driver process only (experiments: GC sizes, --no-opt…). */
  readonly driverNodeFlags?: ReadonlyArray<string>;
  /** Run the driver as `run --sim` (it forks the emulator); by default against an `emulate` process started here. */
  readonly withSim?: boolean;
}

function latencies(samples: number[]): Latencies {
  const sorted = samples.sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
  return { p50: rank(0.5), p99: rank(0.99), samples: sorted.length };
}

/** CPU seconds (user + system) the process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return Number.NaN;
  }
}

/** Write syscalls the process has made so far (`syscw` of /proc/<pid>/io, Linux); NaN elsewhere. */
function writeCalls(pid: number | undefined): number {
  try {
    return Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

let nextId = 0;
function body(): string {
  return `{"jsonrpc":"2.0","id":${++nextId},"method":"get_status","params":{}}`;
}

/** One get_status round trip in ms, and the reply's size; throws on a timeout. */
async function once(nc: NatsConnection, subject: string, timeoutMs = LOST_AFTER_MS): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const reply = await nc.request(subject, body(), { timeout: timeoutMs });
  return { ms: performance.now() - started, bytes: reply.data.byteLength };
}

function spawnChild(args: string[], env: NodeJS.ProcessEnv, cpuProfDir: string | undefined, output: { text: string }): ChildProcess {
  const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];

  const child = spawn(process.execPath, [...prof, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => {
    output.text = (output.text + String(d)).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

/** Waits until the separate emulator answers its status route. */
async function waitForEmulator(port: number, output: { text: string }): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await fetch(`http://127.0.0.1:${port}/api/daemon/status`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline) throw new Error(`the separate emulator did not start: ${output.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function waitForStatus(nc: NatsConnection, output: { text: string }): Promise<unknown> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const reply = await nc.request(DRIVER_SUBJECT, body(), { timeout: 1_000 });
      const doc = reply.json<{ result?: { daemon?: { available?: boolean }; driver_state?: { connection_state?: string } } }>();
      if (doc.result?.driver_state?.connection_state === 'connected' && doc.result.daemon?.available !== false) {
        // The status the echo will answer: taken once the pushes of a second (daemon status, pose) are in, so both replies have the same size.
        await new Promise((r) => setTimeout(r, STATUS_SETTLE_MS));
        return (await nc.request(DRIVER_SUBJECT, body(), { timeout: 1_000 })).json<{ result?: unknown }>().result;
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the driver did not answer get_status connected within ${READY_TIMEOUT_MS} ms; its output:\n${output.text}`);
}

async function serialBlock(nc: NatsConnection, subject: string, n: number, into: number[]): Promise<number> {
  for (let i = 0; i < n; i++) into.push((await once(nc, subject)).ms);
  return n;
}

/** `IN_FLIGHT` callers each with one request outstanding for `seconds`; the completions. */
async function concurrentBlock(nc: NatsConnection, subject: string, seconds: number, into: number[]): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      into.push((await once(nc, subject)).ms);
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return done;
}

/** Open loop at `rate`/s for `seconds`: every tick sends what is due; latency from each send. */
async function pacedRun(nc: NatsConnection, subject: string, seconds: number, into: number[]): Promise<{ sent: number; lost: number }> {
  const total = Math.round(seconds * PACED_RATE_PER_S);
  const started = performance.now();
  let sent = 0;
  let lost = 0;
  const pending: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * PACED_RATE_PER_S));
    for (; sent < due; sent++) {
      pending.push(
        once(nc, subject).then(
          (r) => void into.push(r.ms),
          () => void (lost += 1),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, PACE_TICK_MS));
  }
  await Promise.all(pending);
  return { sent, lost };
}

type Phase = 'serial' | 'concurrent' | 'paced';

/** CPU time of each target's process per request answered, by phase (µs; NaN without /proc). */
class CpuMeter {
  readonly #us = [new Map<Phase, number>(), new Map<Phase, number>()];
  readonly #writes = [new Map<Phase, number>(), new Map<Phase, number>()];
  readonly #requests = [new Map<Phase, number>(), new Map<Phase, number>()];
  readonly #pids: readonly [number | undefined, number | undefined];
  constructor(pids: readonly [number | undefined, number | undefined]) {
    this.#pids = pids;
  }

  /** CPU µs per second each process uses with no request at all (timers, the daemon link's reads). */
  readonly idleUsPerS: [number, number] = [Number.NaN, Number.NaN];

  /** Samples both processes' CPU with no load for `seconds`. */
  async sampleIdle(seconds: number): Promise<void> {
    const before = this.#pids.map(cpuSeconds);
    const started = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const elapsedS = (performance.now() - started) / 1000;
    this.#pids.forEach((pid, t) => (this.idleUsPerS[t] = ((cpuSeconds(pid) - before[t]!) * 1e6) / elapsedS));
  }

  /** Runs `block` (which answers how many requests it made) and charges target `t`'s CPU, net of its idle rate, to `phase`. */
  async charge(t: 0 | 1, phase: Phase, block: () => Promise<number>): Promise<number> {
    const before = cpuSeconds(this.#pids[t]);
    const writesBefore = writeCalls(this.#pids[t]);
    const started = performance.now();
    const n = await block();
    const idleUs = (this.idleUsPerS[t] * (performance.now() - started)) / 1000;
    const us = (cpuSeconds(this.#pids[t]) - before) * 1e6 - idleUs;
    this.#writes[t]!.set(phase, (this.#writes[t]!.get(phase) ?? 0) + writeCalls(this.#pids[t]) - writesBefore);
    this.#us[t]!.set(phase, (this.#us[t]!.get(phase) ?? 0) + us);
    this.#requests[t]!.set(phase, (this.#requests[t]!.get(phase) ?? 0) + n);
    return n;
  }

  perRequest(t: 0 | 1, phase: Phase): number {
    return (this.#us[t]!.get(phase) ?? Number.NaN) / (this.#requests[t]!.get(phase) ?? Number.NaN);
  }

  writesPerRequest(t: 0 | 1, phase: Phase): number {
    return (this.#writes[t]!.get(phase) ?? Number.NaN) / (this.#requests[t]!.get(phase) ?? Number.NaN);
  }
}

async function measure(nc: NatsConnection, pacedSeconds: number, pids: readonly [number | undefined, number | undefined], log: (line: string) => void): Promise<Omit<RpcBenchReport, 'pacedSeconds' | 'driverCase'>> {
  const targets = [DRIVER_SUBJECT, ECHO_SUBJECT] as const;
  const cpu = new CpuMeter(pids);
  const replyBytes = await Promise.all(targets.map(async (s) => (await once(nc, s)).bytes));
  for (const s of targets) await serialBlock(nc, s, WARMUP_REQUESTS, []);
  const early: number[][] = [[], []];
  for (let round = 0; round < EARLY_ROUNDS; round++) {
    for (const t of round % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) await serialBlock(nc, targets[t], SERIAL_BLOCK, early[t]!);
  }
  log(`  early (before V8 settles): ${EARLY_ROUNDS} × ${SERIAL_BLOCK} each, done; warming up: ${JIT_WARMUP_REQUESTS} calls each`);
  for (const s of targets) await serialBlock(nc, s, JIT_WARMUP_REQUESTS, []);
  await cpu.sampleIdle(IDLE_SAMPLE_S);
  const serial: number[][] = [[], []];
  for (let round = 0; round < SERIAL_ROUNDS; round++) {
    // Alternate which goes first, so neither always follows the other's garbage.
    for (const t of round % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) await cpu.charge(t, 'serial', () => serialBlock(nc, targets[t], SERIAL_BLOCK, serial[t]!));
  }
  log(`  1 in flight: ${SERIAL_ROUNDS} × ${SERIAL_BLOCK} each, done`);
  const concurrent: number[][] = [[], []];
  const completed = [0, 0];
  for (let round = 0; round < CONCURRENT_ROUNDS; round++) {
    for (const t of round % 2 === 0 ? ([0, 1] as const) : ([1, 0] as const)) completed[t]! += await cpu.charge(t, 'concurrent', () => concurrentBlock(nc, targets[t], CONCURRENT_BLOCK_S, concurrent[t]!));
  }
  log(`  ${IN_FLIGHT} in flight: ${CONCURRENT_ROUNDS} × ${CONCURRENT_BLOCK_S} s each, done`);
  const paced: number[][] = [[], []];
  const half = pacedSeconds / 2;
  const pacedRuns: Array<{ sent: number; lost: number }> = [];
  const run = (t: 0 | 1, seconds: number) => cpu.charge(t, 'paced', async () => {
    const r = await pacedRun(nc, targets[t], seconds, paced[t]!);
    pacedRuns.push(r);
    return r.sent - r.lost;
  });
  await run(1, half);
  await run(0, pacedSeconds);
  await run(1, half);
  const [echoA, drv, echoB] = pacedRuns as [{ sent: number; lost: number }, { sent: number; lost: number }, { sent: number; lost: number }];
  log(`  paced ${PACED_RATE_PER_S}/s: ${pacedSeconds} s each, done`);
  const figures = (t: 0 | 1, p: { sent: number; lost: number }): TargetFigures => ({
    early: latencies(early[t]!),
    serial: latencies(serial[t]!),
    concurrent: { ...latencies(concurrent[t]!), perSecond: completed[t]! / (CONCURRENT_ROUNDS * CONCURRENT_BLOCK_S) },
    paced: { ...latencies(paced[t]!), ...p, seconds: pacedSeconds },
    replyBytes: replyBytes[t]!,
    cpuUsPerRequest: { serial: cpu.perRequest(t, 'serial'), concurrent: cpu.perRequest(t, 'concurrent'), paced: cpu.perRequest(t, 'paced') },
    writesPerRequest: { serial: cpu.writesPerRequest(t, 'serial'), concurrent: cpu.writesPerRequest(t, 'concurrent'), paced: cpu.writesPerRequest(t, 'paced') },
  });
  return { driver: figures(0, drv), echo: figures(1, { sent: echoA.sent + echoB.sent, lost: echoA.lost + echoB.lost }), idleCpuPercent: [cpu.idleUsPerS[0] / 1e4, cpu.idleUsPerS[1] / 1e4] };
}

export async function runRpcBench(options: RpcBenchOptions = {}, log: (line: string) => void = () => undefined): Promise<RpcBenchReport> {
  const pacedSeconds = options.pacedSeconds ?? DEFAULT_PACED_S;
  const binary = findNatsServer(process.env['PATH']);
  if (!binary) throw new Error('the RPC bench needs nats-server (apt-get install nats-server)');
  const broker = await startPrivateBroker(binary);
  const home = mkdtempSync(join(tmpdir(), 'bench-rpc-'));
  const env = { PATH: process.env['PATH'] ?? '', HOME: home, DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0' };
  const driverOut = { text: '' };
  const echoOut = { text: '' };
  const emulatorOut = { text: '' };
  const emulatorPort = options.withSim ? 0 : await freePort();
  const emulator = options.withSim ? undefined : spawnChild([CLI, 'emulate', '--port', String(emulatorPort), '--signalling-port', String(await freePort())], env, undefined, emulatorOut);
  if (emulator) await waitForEmulator(emulatorPort, emulatorOut);
  const target = emulator ? ['--target', `127.0.0.1:${emulatorPort}`, '--allow-insecure'] : ['--sim'];
  const driver = spawnChild([...(options.driverNodeFlags ?? []), CLI, 'run', ...target, '--no-media', '--device-id', DEVICE_ID, '--messaging-url', broker.url, '--discovery-mode', 'd2d'], env, options.cpuProfDir, driverOut);
  let echo: ChildProcess | undefined;
  const nc = await connect({ servers: broker.url, name: 'bench rpc client' });
  try {
    const status = await waitForStatus(nc, driverOut);
    const resultFile = join(home, 'status-result.json');
    writeFileSync(resultFile, JSON.stringify(status));
    echo = spawnChild([ECHO, broker.url, ECHO_SUBJECT, resultFile], env, options.cpuProfDir, echoOut);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the echo did not start: ${echoOut.text}`)), READY_TIMEOUT_MS);
      echo!.stdout!.on('data', () => {
        if (echoOut.text.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    log(`rpc bench: driver and echo up (paced ${pacedSeconds} s each; ~${Math.round(2 * pacedSeconds + 50)} s in all)`);
    const driverCase = emulator ? 'src/cli.ts run --no-media --target <an emulate process>: the driver alone' : 'src/cli.ts run --sim --no-media: the emulator in the process it forks';
    return { ...(await measure(nc, pacedSeconds, [driver.pid, echo.pid], log)), pacedSeconds, driverCase };
  } finally {
    await nc.close();
    await stopChild(driver);
    if (echo) await stopChild(echo);
    if (emulator) await stopChild(emulator);
    await broker.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

export function formatRpcBench(r: RpcBenchReport): string {
  const ms = (v: number) => `${v.toFixed(3)} ms`;
  const us = (v: number) => v.toFixed(1);
  const row = (name: string, d: string, e: string, ratio: number, goal: string, met: boolean) =>
    `${name.padEnd(34)}${d.padStart(14)}${e.padStart(14)}${ratio.toFixed(3).padStart(8)}   ${goal.padEnd(8)}${met ? 'met' : 'NOT met'}`;
  const p50 = r.driver.serial.p50 / r.echo.serial.p50;
  const p99 = r.driver.concurrent.p99 / r.echo.concurrent.p99;
  const tput = r.driver.concurrent.perSecond / r.echo.concurrent.perSecond;
  const paced = r.driver.paced.p99 / r.echo.paced.p99;
  return [
    '',
    `RPC over NATS .cmd: get_status on the driver (${r.driverCase}) vs a bare JSON-RPC echo (bench/rpc-echo.ts, own process), one private nats-server, node ${process.version}`,
    `reply bytes: driver ${r.driver.replyBytes}, echo ${r.echo.replyBytes}`,
    `${'figure'.padEnd(34)}${'driver'.padStart(14)}${'bare echo'.padStart(14)}${'ratio'.padStart(8)}   goal`,
    row('p50, 1 in flight', ms(r.driver.serial.p50), ms(r.echo.serial.p50), p50, `≤ ${GOALS.p50At1}`, p50 <= GOALS.p50At1),
    row(`p99, ${IN_FLIGHT} in flight`, ms(r.driver.concurrent.p99), ms(r.echo.concurrent.p99), p99, `≤ ${GOALS.p99At64}`, p99 <= GOALS.p99At64),
    row(`throughput, ${IN_FLIGHT} in flight (req/s)`, r.driver.concurrent.perSecond.toFixed(0), r.echo.concurrent.perSecond.toFixed(0), tput, `≥ ${GOALS.throughputAt64}`, tput >= GOALS.throughputAt64),
    row(`p99, ${PACED_RATE_PER_S} req/s for ${r.pacedSeconds} s`, ms(r.driver.paced.p99), ms(r.echo.paced.p99), paced, `≤ ${GOALS.pacedP99}`, paced <= GOALS.pacedP99),
    `  paced: driver lost ${r.driver.paced.lost} of ${r.driver.paced.sent} (p50 ${ms(r.driver.paced.p50)}), echo lost ${r.echo.paced.lost} of ${r.echo.paced.sent} (p50 ${ms(r.echo.paced.p50)}); lost = no reply within ${LOST_AFTER_MS} ms`,
    `  CPU per request, µs (driver / echo): 1 in flight ${us(r.driver.cpuUsPerRequest.serial)} / ${us(r.echo.cpuUsPerRequest.serial)}, ${IN_FLIGHT} in flight ${us(r.driver.cpuUsPerRequest.concurrent)} / ${us(r.echo.cpuUsPerRequest.concurrent)}, paced ${us(r.driver.cpuUsPerRequest.paced)} / ${us(r.echo.cpuUsPerRequest.paced)} (net of idle: driver ${r.idleCpuPercent[0].toFixed(1)} %, echo ${r.idleCpuPercent[1].toFixed(1)} % of a core with no requests)`,
    `  write syscalls per request (driver / echo): 1 in flight ${r.driver.writesPerRequest.serial.toFixed(2)} / ${r.echo.writesPerRequest.serial.toFixed(2)}, ${IN_FLIGHT} in flight ${r.driver.writesPerRequest.concurrent.toFixed(2)} / ${r.echo.writesPerRequest.concurrent.toFixed(2)}, paced ${r.driver.writesPerRequest.paced.toFixed(2)} / ${r.echo.writesPerRequest.paced.toFixed(2)}`,
    `  1 in flight p99: driver ${ms(r.driver.serial.p99)}, echo ${ms(r.echo.serial.p99)}; ${IN_FLIGHT} in flight p50: driver ${ms(r.driver.concurrent.p50)}, echo ${ms(r.echo.concurrent.p50)}`,
    `  1 in flight before the warm-up (calls ${WARMUP_REQUESTS + 1}-${WARMUP_REQUESTS + EARLY_ROUNDS * SERIAL_BLOCK} of each, V8 still optimizing the driver): p50 driver ${ms(r.driver.early.p50)}, echo ${ms(r.echo.early.p50)}, ratio ${(r.driver.early.p50 / r.echo.early.p50).toFixed(2)}`,
    '',
  ].join('\n');
}

/**
 * `--rpc-with-sim`, `--rpc-paced-s N`, `--rpc-cpu-prof DIR` and `--rpc-driver-flags "NODE FLAGS"`
 * (given to the driver process only) from the bench's argv.
 */
export function rpcBenchOptions(argv: ReadonlyArray<string>): RpcBenchOptions {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const paced = value('--rpc-paced-s');
  const prof = value('--rpc-cpu-prof');
  const flags = value('--rpc-driver-flags');
  return {
    ...(argv.includes('--rpc-with-sim') ? { withSim: true } : {}),
    ...(paced !== undefined ? { pacedSeconds: Number(paced) } : {}),
    ...(prof !== undefined ? { cpuProfDir: prof } : {}),
    ...(flags !== undefined ? { driverNodeFlags: flags.split(' ').filter(Boolean) } : {}),
  };
}

if (import.meta.main) {
  const report = await runRpcBench(rpcBenchOptions(process.argv.slice(2)), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(formatRpcBench(report));
}
