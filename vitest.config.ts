// Test runner configuration: two groups, one after the other, in `forks` pools (native WebRTC
// addons crash worker threads at teardown, ecosystem §5.4). Owns which file runs in which group,
// with what isolation and parallelism; not test selection by the CLI or the CI entry point.
import { defineConfig } from 'vitest/config';

/**
 * In-process tests (units, machine models): no broker, no emulator, no wall-clock budget (fake
 * timers). They swap globals (fake timers, `vi.mock`, spies) and rely on fresh module state, so
 * each file gets its own process — two at a time, one per core of the CI box. Not test/actors:
 * their fake daemons answer on real sockets within real-time budgets (a sweep's first listing
 * missed one with another file beside it in CI).
 */
const IN_PROCESS = ['test/unit/**/*.test.ts', 'test/model/**/*.test.ts', 'test/media/encoding/invalid-frame.test.ts'];
/** Both cores of the 2-core CI box. */
const IN_PROCESS_WORKERS = 2;

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'in-process', include: IN_PROCESS, isolate: true, fileParallelism: true, maxWorkers: IN_PROCESS_WORKERS, sequence: { groupOrder: 0 } } },
      // Everything that spawns nats-server, emulators, CLIs or browsers and waits on real time:
      // one file at a time (timing budgets assume an otherwise idle box), all in one process —
      // a fresh process per file cost ~1 s each (fork, then importing the driver again): 1253 s
      // → 1075 s for the whole run on the 2-core box. Each file stops what it started in its hooks.
      { extends: true, test: { name: 'system', include: ['test/**/*.test.ts'], exclude: IN_PROCESS, isolate: false, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
