// The driver under the settings app (`reachy-mini-driver app`, or `run --settings`): the settings
// server starts first, even when the configuration is not valid yet (no credentials uploaded), and
// the driver starts once it is; `apply` (or a save) reconfigures the running driver, which restarts
// only the affected actors. Owns that orchestration and the one-time login link on stdout; the
// server (src/adapters/settings-http/) owns HTTP and files; the driver owns the machines.
import { loadConfig } from './adapters/config-files.ts';
import { ConfigError, loadSettingsServerConfig, type LoadConfigInput } from './config/config.ts';
import { createLogger } from './logging/logger.ts';
import { chooseBrokers, type PrivateBroker } from './adapters/private-nats-server.ts';
import { startDriver, type RunningDriver } from './driver.ts';
import { startSettingsServer, type SettingsServer } from './adapters/settings-http/settings-server.ts';

const log = createLogger('app');

export interface AppHandle {
  readonly settings: SettingsServer;
  driver(): RunningDriver | undefined;
  stop(): Promise<void>;
}

export async function startWithSettings(input: LoadConfigInput, out: (line: string) => void): Promise<AppHandle> {
  const server = loadSettingsServerConfig(input);
  let running: RunningDriver | undefined;
  let broker: PrivateBroker | undefined;
  let configError: string | null = null;

  const applySaved = async (): Promise<Record<string, unknown>> => {
    let config;
    try {
      config = loadConfig(input);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      configError = error.message;
      log.warn('configuration not usable yet; the driver waits for valid settings', { error: error.message });
      return { ok: false, error: error.message, started: running !== undefined };
    }
    configError = null;
    if (!running) {
      const choice = await chooseBrokers(config);
      broker = choice.broker;
      running = await startDriver(config, { messagingUrls: choice.urls });
      return { ok: true, started: true, restarted: ['mesh', 'daemon_link'] };
    }
    const result = await running.reconfigure(config);
    if (!result.ok) return { ok: false, error: result.error.message, error_tag: result.error._tag, restart_required: result.error.fields, started: false };
    return { ok: true, started: false, restarted: result.restarted };
  };

  const status = (): Record<string, unknown> =>
    running ? { ...running.statusSnapshot(), config_error: configError } : { mesh: 'not started', daemon_link: 'not started', config_error: configError };

  await applySaved();
  const settings = await startSettingsServer({
    host: server.host,
    port: server.port,
    configDir: server.configDir,
    settingsFile: server.settingsFile,
    argv: input.argv,
    env: input.env,
    status,
    apply: applySaved,
  });
  out(`settings app on ${settings.url} — one-time login link: ${settings.loginUrl}`);
  return {
    settings,
    driver: () => running,
    async stop() {
      await settings.close();
      await running?.stop();
      await broker?.stop();
    },
  };
}
