// `npm run bench -- --only startup` (and `node bench/startup.ts`): spawn → first `get_status`
// answered, for the driver as a user starts it (`run --sim`, with and without media; from src/ with
// type stripping and, when `npm run build` has made it, from dist/ as the installed package runs),
// as a ratio to a bare echo responder's spawn → first answer on the same private broker in the same
// run (issue 11: ≤ 3×, with media ≤ 4×). Rounds are interleaved so machine load hits every case
// alike; median and max per case, and the CPU time (user + system) the process had used when it
// answered — the part of start-up that machine load does not inflate. Owns only measurement; no assertions.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CLI_DIST, CLI_SOURCE, cmdSubject, cpuSeconds, driverArgs, ECHO_RESPONDER, firstAnswer, median, spawnNode, startBroker, stopProcess } from './driver-process.ts';

/** Rounds per case; ~2 s per driver start keeps 5 cases × 5 rounds near a minute on 2 cores. */
const DEFAULT_ROUNDS = 5;
/** Discarded first round: page cache and Node's compile cache warm up. */
const WARMUP_ROUNDS = 1;
/** Issue 11 goals, × the echo responder's median. */
export const TARGET_RATIO = 3;
export const TARGET_RATIO_MEDIA = 4;

interface Case {
  readonly name: string;
  readonly media: boolean;
  readonly args: (url: string, deviceId: string) => string[];
}

function cases(): Case[] {
  const driver = (entry: string, media: boolean) => (url: string, deviceId: string) => driverArgs({ entry, url, deviceId, extraArgs: media ? [] : ['--no-media'] });
  const list: Case[] = [
    { name: 'bare echo responder (baseline)', media: false, args: (url, deviceId) => [ECHO_RESPONDER, url, cmdSubject(deviceId)] },
    { name: 'run --sim --no-media (src/)', media: false, args: driver(CLI_SOURCE, false) },
    { name: 'run --sim, media (src/)', media: true, args: driver(CLI_SOURCE, true) },
  ];
  if (existsSync(CLI_DIST)) {
    list.push({ name: 'run --sim --no-media (dist/)', media: false, args: driver(CLI_DIST, false) });
    list.push({ name: 'run --sim, media (dist/)', media: true, args: driver(CLI_DIST, true) });
  }
  return list;
}

export interface StartupReport {
  readonly rounds: number;
  readonly distBuilt: boolean;
  readonly cases: ReadonlyArray<{ readonly name: string; readonly media: boolean; readonly median: number; readonly max: number; readonly cpuMedian: number }>;
}

export async function runStartupBench(rounds = DEFAULT_ROUNDS): Promise<StartupReport> {
  const broker = await startBroker();
  const list = cases();
  const samples = list.map(() => [] as number[]);
  const cpu = list.map(() => [] as number[]);
  try {
    for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
      for (const [i, c] of list.entries()) {
        const deviceId = `bench-start-${round}-${i}`;
        const started = performance.now();
        const child = spawnNode(c.args(broker.url, deviceId));
        try {
          const ms = await firstAnswer(broker.nc, cmdSubject(deviceId), started, child);
          const cpuMs = cpuSeconds(child.pid as number) * 1000;
          if (round >= WARMUP_ROUNDS) {
            samples[i]!.push(ms);
            cpu[i]!.push(cpuMs);
          }
        } finally {
          await stopProcess(child);
        }
      }
    }
  } finally {
    await broker.stop();
  }
  return {
    rounds,
    distBuilt: existsSync(CLI_DIST),
    cases: list.map((c, i) => ({ name: c.name, media: c.media, median: median(samples[i]!), max: Math.max(...samples[i]!), cpuMedian: median(cpu[i]!) })),
  };
}

export function formatStartup(report: StartupReport): string {
  const base = report.cases[0]!;
  const lines = [
    '',
    `start-up: spawn → first get_status answered, private nats-server, ${report.rounds} interleaved rounds, node ${process.version}, ${availableParallelism()} CPUs`,
    `(target: ≤ ${TARGET_RATIO}× the echo responder, with media ≤ ${TARGET_RATIO_MEDIA}×${report.distBuilt ? '' : '; dist/ not built — `npm run build` adds the packaged cases'})`,
    `${'case'.padEnd(34)}${'median ms'.padStart(10)}${'max ms'.padStart(9)}${'× echo'.padStart(9)}${'goal'.padStart(7)}${'CPU ms'.padStart(8)}${'CPU × echo'.padStart(12)}`,
  ];
  for (const c of report.cases) {
    const ratio = c.median / base.median;
    const goal = c === base ? '' : c.media ? `≤ ${TARGET_RATIO_MEDIA}` : `≤ ${TARGET_RATIO}`;
    lines.push(`${c.name.padEnd(34)}${c.median.toFixed(0).padStart(10)}${c.max.toFixed(0).padStart(9)}${ratio.toFixed(2).padStart(9)}${goal.padStart(7)}${c.cpuMedian.toFixed(0).padStart(8)}${(c.cpuMedian / base.cpuMedian).toFixed(2).padStart(12)}`);
  }
  return lines.join('\n') + '\n';
}

if (import.meta.main) process.stdout.write(formatStartup(await runStartupBench()));
