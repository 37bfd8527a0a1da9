// Deterministic, seeded fault simulation of the real composed driver against the emulator (issue 9,
// item 8): SIM_SCHEDULES schedules (default 2,000) from seed SIM_SEED (default 1) on virtual time,
// each checked after every step for the safety invariants (invariants.ts: I1 stop, I2 lease,
// I3 answer, I4 audit). Fake timers are per process, so the seeds are split over SIM_JOBS
// processes (default 2: this one and one child vitest). A failing seed is printed with its
// schedule and the command that replays it; `npm run soak -- --schedules N [--seed S]` runs more.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { InvariantId } from './invariants.ts';
import { describeFailure, runSchedule } from './run-schedule.ts';

/** vitest's CLI, run with this node (no npx, no PATH lookup). */
const VITEST_CLI = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/** Issue 9's floor for `npm test`. */
const DEFAULT_SCHEDULES = 2_000;
/** Two processes: the box has 2 cores; a schedule costs ~50 ms of CPU, so 2,000 take ~1 min split in two. */
const DEFAULT_JOBS = 2;
/** Below this many schedules a child process (≈3 s to start) is not worth it. */
const MIN_SCHEDULES_PER_JOB = 200;
const SCHEDULES = Number(process.env.SIM_SCHEDULES ?? DEFAULT_SCHEDULES);
const FIRST_SEED = Number(process.env.SIM_SEED ?? 1);
const JOBS = Math.max(1, Math.min(Number(process.env.SIM_JOBS ?? DEFAULT_JOBS), Math.floor(SCHEDULES / MIN_SCHEDULES_PER_JOB)));
/** Set in a child: where it writes its tally instead of asserting. */
const REPORT_PATH = process.env.SIM_REPORT;
/** Failing seeds listed by number in the summary. */
const LISTED_SEEDS = 40;
/** Failing seeds shown in full in the assertion message (all are counted and listed). */
const SHOWN_FAILURES = 3;
/** Per-test budget: generous for a loaded 2-core box (≥ 1 s per schedule); the run prints its own duration. */
const TEST_TIMEOUT_MS = Math.max(900_000, SCHEDULES * 1_000);
/** Seeds replayed twice to prove determinism (a spread of schedule shapes). */
const REPLAYED_SEEDS = [FIRST_SEED, FIRST_SEED + 7, FIRST_SEED + 42];
/** Output of a child kept for the message when it produced no tally. */
const CHILD_OUTPUT_KEPT = 4_000;

interface Tally {
  schedules: number;
  calls: number;
  supervisorSkipped: number;
  byInvariant: Record<InvariantId, number>;
  /** Schedules per `invariant: kind` of violation. */
  byKind: Record<string, number>;
  failures: Array<{ seed: number; text: string }>;
}

async function runSeeds(first: number, count: number): Promise<Tally> {
  const tally: Tally = { schedules: count, calls: 0, supervisorSkipped: 0, byInvariant: { 'I1-stop': 0, 'I2-lease': 0, 'I3-answer': 0, 'I4-audit': 0 }, byKind: {}, failures: [] };
  for (let seed = first; seed < first + count; seed += 1) {
    const result = await runSchedule(seed);
    tally.calls += result.calls;
    tally.supervisorSkipped += result.supervisorSkipped;
    if (result.violations.length === 0) continue;
    tally.failures.push({ seed, text: describeFailure(result) });
    for (const id of new Set(result.violations.map((v) => v.invariant))) tally.byInvariant[id] += 1;
    for (const kind of new Set(result.violations.map((v) => `${v.invariant}: ${v.kind}`))) tally.byKind[kind] = (tally.byKind[kind] ?? 0) + 1;
  }
  return tally;
}

/** The same test file in a child vitest over [first, first + count), returning its tally. */
function runChild(first: number, count: number, dir: string): Promise<Tally> {
  const report = join(dir, `tally-${first}.json`);
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(process.execPath, [VITEST_CLI, 'run', 'test/simulation/fault-simulation.test.ts', '-t', 'keep the safety'], {
      env: { ...process.env, SIM_SEED: String(first), SIM_SCHEDULES: String(count), SIM_JOBS: '1', SIM_REPORT: report },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-CHILD_OUTPUT_KEPT));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('exit', () => {
      try {
        resolve(JSON.parse(readFileSync(report, 'utf8')) as Tally);
      } catch {
        reject(new Error(`the simulation child for seeds ${first}..${first + count - 1} left no tally; its output ends:\n${output}`));
      }
    });
  });
}

function merge(tallies: readonly Tally[]): Tally {
  const total: Tally = { schedules: 0, calls: 0, supervisorSkipped: 0, byInvariant: { 'I1-stop': 0, 'I2-lease': 0, 'I3-answer': 0, 'I4-audit': 0 }, byKind: {}, failures: [] };
  for (const t of tallies) {
    total.schedules += t.schedules;
    total.calls += t.calls;
    total.supervisorSkipped += t.supervisorSkipped;
    for (const id of Object.keys(t.byInvariant) as InvariantId[]) total.byInvariant[id] += t.byInvariant[id];
    for (const [kind, n] of Object.entries(t.byKind)) total.byKind[kind] = (total.byKind[kind] ?? 0) + n;
    total.failures.push(...t.failures);
  }
  return total;
}

describe('fault simulation: the composed driver against the faulty emulator', () => {
  test(`${SCHEDULES} seeded schedules from seed ${FIRST_SEED} keep the safety invariants`, async () => {
    const started = performance.now();
    const per = Math.ceil(SCHEDULES / JOBS);
    const dir = mkdtempSync(join(tmpdir(), 'reachy-sim-'));
    let tally: Tally;
    try {
      const children = Array.from({ length: JOBS - 1 }, (_, i) => FIRST_SEED + per * (i + 1)).map((first) => runChild(first, Math.min(per, FIRST_SEED + SCHEDULES - first), dir));
      const own = await runSeeds(FIRST_SEED, Math.min(per, SCHEDULES));
      tally = merge([own, ...(await Promise.all(children))]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    if (REPORT_PATH) {
      writeFileSync(REPORT_PATH, JSON.stringify(tally));
      return;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fault simulation: ${tally.schedules} schedules (seeds ${FIRST_SEED}..${FIRST_SEED + SCHEDULES - 1}, ${JOBS} process${JOBS > 1 ? 'es' : ''}), ${tally.calls} calls, ` +
        `${tally.failures.length} violating (schedules per invariant: ${Object.entries(tally.byInvariant).map(([k, n]) => `${k} ${n}`).join(', ')}), ` +
        `supervisor calls skipped ${tally.supervisorSkipped}, ${seconds} s`,
    );
    if (tally.failures.length > 0) {
      console.log(`schedules per kind of violation:\n${Object.entries(tally.byKind).sort().map(([k, n]) => `  ${k}: ${n}`).join('\n')}`);
      const listed = tally.failures.slice(0, LISTED_SEEDS).map((f) => f.seed).join(' ');
      console.log(`failing seeds: ${listed}${tally.failures.length > LISTED_SEEDS ? ` … (${tally.failures.length} in all)` : ''}`);
    }
    const shown = tally.failures.slice(0, SHOWN_FAILURES).map((f) => f.text).join('\n\n');
    expect(shown, `${tally.failures.length} of ${tally.schedules} schedules violate a safety invariant`).toBe('');
  }, TEST_TIMEOUT_MS);

  test('a seed replays exactly: same calls, answers, audit trail and robot motion', async () => {
    for (const seed of REPLAYED_SEEDS) {
      const first = await runSchedule(seed);
      const second = await runSchedule(seed);
      expect(second.signature, `seed ${seed} replayed differently`).toBe(first.signature);
    }
  }, TEST_TIMEOUT_MS);
});
