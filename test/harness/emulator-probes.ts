// Emulators and WebSocket probes for the emulator's protocol tests (test/sim/): `useEmulatorProbes()`
// registers, through cleanupAfterEach (test-cleanups.ts), the afterEach that closes what each test
// opened, last first, and returns the two openers. Owns that opening and closing, and the time scale
// of the emulators tests start themselves (EMULATOR_TIME_SCALE: here, emulator-client.ts's, the
// scene harness's callers; a `--sim` driver is given its own `--sim-time-scale` in the test's argv)
// only: the probe is protocol-client.ts's, the assertions the tests'.
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/sim/emulator.ts';
import { WsProbe } from '../sim/protocol-client.ts';
import { cleanupAfterEach } from './test-cleanups.ts';

/** The time scale of emulators tests start themselves (here, emulator-client.ts, direct startEmulator calls): motion 20x faster than real time. */
export const EMULATOR_TIME_SCALE = 0.05;

export interface EmulatorProbes {
  /** An emulator (`options` over timeScale EMULATOR_TIME_SCALE), closed after the test. */
  emulatorWith(options?: EmulatorOptions): Promise<Emulator>;
  /** A WebSocket probe on `url`, closed after the test (before the emulator it was opened on). */
  probe(url: string): Promise<WsProbe>;
}

/** Call at the top of a test file. */
export function useEmulatorProbes(): EmulatorProbes {
  const defer = cleanupAfterEach();
  return {
    async emulatorWith(options = {}) {
      const emulator = await startEmulator({ timeScale: EMULATOR_TIME_SCALE, ...options });
      defer(() => emulator.close());
      return emulator;
    },
    async probe(url) {
      const socket = await WsProbe.open(url);
      defer(() => socket.close());
      return socket;
    },
  };
}
