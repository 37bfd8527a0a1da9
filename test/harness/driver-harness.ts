// Starts the real driver in-process for integration tests, configured exactly as the CLI would
// configure it (argv + env through loadConfig), with registration jitter off so transcripts are
// prompt. Owns nothing but the start/stop convenience.
import { loadConfig, type DriverConfig } from '../../src/config/config.ts';
import { startDriver, type RunningDriver } from '../../src/driver.ts';

export interface TestDriver extends RunningDriver {
  readonly config: DriverConfig;
}

export function startTestDriver(argv: string[], env: Record<string, string> = {}): TestDriver {
  const config = loadConfig({
    argv,
    env: { DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', ...env },
  });
  const running = startDriver(config);
  return { ...running, config };
}
