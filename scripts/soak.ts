// `npm run soak -- --schedules N [--seed S] [--jobs J]`: the fault simulation
// (test/simulation/fault-simulation.test.ts) over N seeded schedules from seed S, split into J
// contiguous seed ranges run by J vitest processes at once (fake timers are per process). Each
// process prints its summary and failing seeds with their replay command; the exit code is 1 when
// any schedule violates an invariant. Owns argument parsing and the fan-out only.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join as joinPath } from 'node:path';
import { parseArgs } from 'node:util';

/** vitest's CLI, run with this node (no npx, no PATH lookup). */
const VITEST_CLI = joinPath(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/** One process by default: the 2-core box is shared; --jobs 2 on a free machine halves the time. */
const DEFAULT_JOBS = 1;

const { values } = parseArgs({
  options: { schedules: { type: 'string', default: '2000' }, seed: { type: 'string', default: '1' }, jobs: { type: 'string', default: String(DEFAULT_JOBS) } },
});
const schedules = Number(values.schedules);
const firstSeed = Number(values.seed);
const jobs = Math.max(1, Math.min(Number(values.jobs), schedules));
if (!Number.isInteger(schedules) || schedules < 1 || !Number.isInteger(firstSeed) || !Number.isInteger(jobs)) {
  console.error('usage: npm run soak -- --schedules N [--seed S] [--jobs J]   (integers, N ≥ 1)');
  process.exit(2);
}

function shard(seed: number, count: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VITEST_CLI, 'run', 'test/simulation/fault-simulation.test.ts', '-t', 'keep the safety'], {
      env: { ...process.env, SIM_SEED: String(seed), SIM_SCHEDULES: String(count) },
      stdio: 'inherit',
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

const per = Math.ceil(schedules / jobs);
const runs: Promise<number>[] = [];
for (let start = 0; start < schedules; start += per) runs.push(shard(firstSeed + start, Math.min(per, schedules - start)));
const codes = await Promise.all(runs);
process.exit(codes.every((code) => code === 0) ? 0 : 1);
