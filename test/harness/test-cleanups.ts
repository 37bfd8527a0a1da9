// Per-test clean-up for tests that start emulators, clients, sockets or temporary directories:
// `cleanupAfterEach()` registers one afterEach in the calling file that runs what each test
// deferred, last first, so a failing test still closes what it opened. Also `failure()`, for the
// rejection a test expects. Test code only.
import { afterEach } from 'vitest';

export type Cleanup = () => Promise<unknown> | unknown;
/** Queues `cleanup` to run after the current test (after those queued later). */
export type Defer = (cleanup: Cleanup) => void;

/** Call at the top of a test file: the returned `defer` queues clean-ups for the running test. */
export function cleanupAfterEach(): Defer {
  const pending: Cleanup[] = [];
  afterEach(async () => {
    for (const cleanup of pending.splice(0).reverse()) await cleanup();
  });
  return (cleanup) => {
    pending.push(cleanup);
  };
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
