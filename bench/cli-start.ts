// `npm run bench` (and `node bench/cli-start.ts` alone): how long `reachy-mini-driver --help` and
// `--version` take as whole processes, through the installed entry point, as a ratio to a bare
// `node -e 0` started the same way in the same run (issue 10 item 4: within 5×). `devices --help`
// and `help run` are shown for comparison (the latter loads config.ts for the option table). Runs
// are interleaved so machine load hits every case alike; p50 and p90 of wall time per process.
// Owns only measurement; no assertions (benchmarks are never timed tests).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/reachy-mini-driver.mjs', import.meta.url));
/** Rounds of every case; 20 × 5 process starts stay under ~15 s on the 2-core box. */
const DEFAULT_ROUNDS = 20;
/** Starts discarded first (page cache, compile cache). */
const WARMUP_ROUNDS = 2;
/** Issue 10: `--help` and `--version` within this factor of a bare Node start. */
export const TARGET_RATIO = 5;

interface Case {
  readonly name: string;
  readonly args: readonly string[];
}

const CASES: readonly Case[] = [
  { name: 'node -e 0 (baseline)', args: ['-e', '0'] },
  { name: 'reachy-mini-driver --version', args: [BIN, '--version'] },
  { name: 'reachy-mini-driver --help', args: [BIN, '--help'] },
  { name: 'reachy-mini-driver devices --help', args: [BIN, 'devices', '--help'] },
  { name: 'reachy-mini-driver help run', args: [BIN, 'help', 'run'] },
];

function timeOnce(args: readonly string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`);
  return performance.now() - started;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export interface CliStartReport {
  readonly rounds: number;
  readonly cases: ReadonlyArray<{ readonly name: string; readonly p50: number; readonly p90: number }>;
}

export function runCliStartBench(rounds = DEFAULT_ROUNDS): CliStartReport {
  const samples = CASES.map(() => [] as number[]);
  for (let round = 0; round < WARMUP_ROUNDS + rounds; round++) {
    CASES.forEach((c, i) => {
      const ms = timeOnce(c.args);
      if (round >= WARMUP_ROUNDS) samples[i]!.push(ms);
    });
  }
  return {
    rounds,
    cases: CASES.map((c, i) => {
      const sorted = [...samples[i]!].sort((a, b) => a - b);
      return { name: c.name, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9) };
    }),
  };
}

export function formatCliStart(report: CliStartReport): string {
  const base = report.cases[0]!;
  const lines = [
    '',
    `CLI start, whole process through bin/reachy-mini-driver.mjs, ${report.rounds} interleaved rounds, node ${process.version} (target: --help/--version ≤ ${TARGET_RATIO}× the baseline p50)`,
    `${'case'.padEnd(36)}${'p50 ms'.padStart(9)}${'p90 ms'.padStart(9)}${'p50 ×node'.padStart(11)}`,
  ];
  for (const c of report.cases) lines.push(`${c.name.padEnd(36)}${c.p50.toFixed(1).padStart(9)}${c.p90.toFixed(1).padStart(9)}${(c.p50 / base.p50).toFixed(2).padStart(11)}`);
  return lines.join('\n') + '\n';
}

if (import.meta.main) process.stdout.write(formatCliStart(runCliStartBench()));
