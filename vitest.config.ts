// Test runner configuration. `forks` pool: native WebRTC addons crash worker threads at
// teardown (ecosystem §5.4); files run one at a time because integration suites spawn
// nats-server and robot emulators and a 2-core CI box is the budget.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
