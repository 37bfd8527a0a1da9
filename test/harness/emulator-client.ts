// The daemon emulator with a DaemonHttpClient on it, for the tests that drive the daemon over HTTP
// (daemon-http.test.ts, sounds-upload.test.ts). Both are closed after the test through the
// caller's `defer` (test-cleanups.ts), the client before the emulator; the emulator runs at
// emulator-probes.ts's EMULATOR_TIME_SCALE unless the options say otherwise. Test code only.
import { DaemonHttpClient } from '../../src/adapters/daemon-http.ts';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/sim/emulator.ts';
import { EMULATOR_TIME_SCALE } from './emulator-probes.ts';
import type { Defer } from './test-cleanups.ts';

/** A client of `baseUrl`, closed after the test. */
export function daemonHttpClient(defer: Defer, baseUrl: string, requestTimeoutMs?: number): DaemonHttpClient {
  const client = new DaemonHttpClient({ baseUrl, ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }) });
  defer(() => client.close());
  return client;
}

export async function startEmulatorWithClient(defer: Defer, options: EmulatorOptions = {}): Promise<{ emulator: Emulator; client: DaemonHttpClient }> {
  const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE, ...options });
  defer(() => emulator.close());
  return { emulator, client: daemonHttpClient(defer, emulator.url) };
}
