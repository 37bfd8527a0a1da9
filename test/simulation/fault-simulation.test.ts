// Deterministic, seeded fault simulation of the real composed driver against the emulator (issue 9,
// item 8): SIM_SCHEDULES schedules (default 2,000) from seed SIM_SEED (default 1) on virtual time,
// each checked after every step for the safety invariants (invariants.ts: I1 stop, I2 lease,
// I3 answer, I4 audit). A failing seed is printed with its schedule and the command that replays
// it; `npm run soak -- --schedules N [--seed S]` runs more. Also proves a seed replays exactly.
import { describe, expect, test } from 'vitest';
import type { InvariantId } from './invariants.ts';
import { describeFailure, runSchedule, type ScheduleResult } from './run-schedule.ts';

/** 2,000 schedules (issue 9's floor) at ~30 ms of CPU each stay within the suite's budget. */
const DEFAULT_SCHEDULES = 2_000;
const SCHEDULES = Number(process.env.SIM_SCHEDULES ?? DEFAULT_SCHEDULES);
const FIRST_SEED = Number(process.env.SIM_SEED ?? 1);
/** Failing seeds shown in full in the assertion message (all are counted). */
const SHOWN_FAILURES = 3;
/** Per-test budget: generous for a loaded 2-core box (≥ 1 s per schedule); the run prints its own duration. */
const TEST_TIMEOUT_MS = Math.max(900_000, SCHEDULES * 1_000);
/** Seeds replayed twice to prove determinism (a spread of schedule shapes). */
const REPLAYED_SEEDS = [FIRST_SEED, FIRST_SEED + 7, FIRST_SEED + 42];

describe('fault simulation: the composed driver against the faulty emulator', () => {
  test(`${SCHEDULES} seeded schedules from seed ${FIRST_SEED} keep the safety invariants`, async () => {
    const failures: ScheduleResult[] = [];
    const byInvariant: Record<InvariantId, number> = { 'I1-stop': 0, 'I2-lease': 0, 'I3-answer': 0, 'I4-audit': 0 };
    let calls = 0;
    let supervisorSkipped = 0;
    const started = performance.now();
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SCHEDULES; seed += 1) {
      const result = await runSchedule(seed);
      calls += result.calls;
      supervisorSkipped += result.supervisorSkipped;
      if (result.violations.length === 0) continue;
      failures.push(result);
      for (const id of new Set(result.violations.map((v) => v.invariant))) byInvariant[id] += 1;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fault simulation: ${SCHEDULES} schedules (seeds ${FIRST_SEED}..${FIRST_SEED + SCHEDULES - 1}), ${calls} calls, ${failures.length} violating ` +
        `(by invariant: ${Object.entries(byInvariant).map(([k, n]) => `${k} ${n}`).join(', ')}), supervisor calls skipped ${supervisorSkipped}, ${seconds} s`,
    );
    if (failures.length > 0) console.log(`failing seeds: ${failures.map((f) => f.seed).join(' ')}`);
    const shown = failures.slice(0, SHOWN_FAILURES).map(describeFailure).join('\n\n');
    expect(shown, `${failures.length} of ${SCHEDULES} schedules violate a safety invariant`).toBe('');
  }, TEST_TIMEOUT_MS);

  test('a seed replays exactly: same calls, answers, audit trail and robot motion', async () => {
    for (const seed of REPLAYED_SEEDS) {
      const first = await runSchedule(seed);
      const second = await runSchedule(seed);
      expect(second.signature, `seed ${seed} replayed differently`).toBe(first.signature);
    }
  }, TEST_TIMEOUT_MS);
});
