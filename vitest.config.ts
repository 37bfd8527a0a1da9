// Test runner configuration: three groups, one after the other, in `forks` pools (native WebRTC
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

/**
 * System files whose assertions hold the driver to a real-time budget that another file's work
 * beside them can eat: a latency or stop bound (stop-guarantee, write-fences, shutdown-stop,
 * deadman's 300 ms with targets 80 ms apart, failover and resume bounds, prompt exits, replies
 * within 0.2–1 s, a socket's staleness or read gaps), tick-to-tick speed read from the emulator's
 * pose record (speed-excess), timed lags and rate windows, or pushes and paced packets counted
 * in a window of 0.1–1 s. Each runs alone, after the rest: beside readme-flow's CLI processes,
 * deadman's stream missed its hold (2 of 2 runs paired them, 1 failed); beside cli-sim, ws-sdk
 * counted no daemon_status in its 1 s window; in one fresh-clone CI run panorama's first head move
 * read as not reached (pitch 0, yaw 0; the cause not yet found). A file whose budgets are all
 * seconds wide, or lower bounds only, stays parallel.
 */
const TIMED = [
  'test/actors/**/*.test.ts',
  'test/adapters/daemon-http.test.ts',
  'test/adapters/daemon-sdk-relaxed-read.test.ts',
  'test/adapters/daemon-sdk-socket.test.ts',
  'test/adapters/nats-failover.test.ts',
  'test/client/mesh-client-d2d.test.ts',
  'test/client/mesh-client.test.ts',
  'test/client/tenant-credentials.test.ts',
  'test/integration/body-held-short.test.ts',
  'test/integration/body-prediction-walk.test.ts',
  'test/integration/body-pulled-along.test.ts',
  'test/integration/body-swing-back.test.ts',
  'test/integration/cli-interrupts.test.ts',
  'test/integration/deadman.test.ts',
  'test/integration/fleet-cluster.test.ts',
  'test/integration/fleet-leaf.test.ts',
  'test/integration/late-pushes.test.ts',
  'test/integration/lease-truth.test.ts',
  'test/integration/panorama.test.ts',
  'test/integration/rate-limits.test.ts',
  'test/integration/recorded-moves.test.ts',
  'test/integration/sequence-policy.test.ts',
  'test/integration/shutdown-stop.test.ts',
  'test/integration/speed-limits.test.ts',
  'test/integration/stop-guarantee.test.ts',
  'test/integration/write-fences.test.ts',
  'test/media/link/opus-audio.test.ts',
  'test/media/signalling/signalling.test.ts',
  'test/sim/faults.test.ts',
  'test/sim/sequences.test.ts',
  'test/sim/streams.test.ts',
  'test/sim/ws-sdk.test.ts',
];
/**
 * The other system files, two at a time: they wait on motion, brokers and processes far more than
 * they compute (six of the longest system files used 57 s of CPU in 222 s), and their waits are
 * generous, so a neighbour costs them little. The whole run on a 2-core box: 1259 s with every
 * system file one at a time, 850 s with these two at a time and TIMED alone (713–730 s with all
 * two at a time).
 */
const SYSTEM_WORKERS = 2;

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'in-process', include: IN_PROCESS, isolate: true, fileParallelism: true, maxWorkers: IN_PROCESS_WORKERS, sequence: { groupOrder: 0 } } },
      // Everything that spawns nats-server, emulators, CLIs or browsers and waits on real time, in
      // processes shared by many files — a fresh process per file cost ~1 s each (fork, then
      // importing the driver again): 1253 s → 1075 s when all ran one at a time. Each file stops
      // what it started in its hooks, and takes free ports and temporary directories of its own.
      { extends: true, test: { name: 'system', include: ['test/**/*.test.ts'], exclude: [...IN_PROCESS, ...TIMED], isolate: false, fileParallelism: true, maxWorkers: SYSTEM_WORKERS, sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: 'system-timed', include: TIMED, isolate: false, fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
