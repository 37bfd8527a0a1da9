// Command-line entry (`reachy-mini-driver [run] | devices | functions | call | events`): loads
// the config once, maps ConfigError to exit code 2 with one line, runs the driver until SIGINT/
// SIGTERM, and for `--sim` starts a private loopback broker when nothing answers on the default
// URL. Owns process exit codes and signals; everything else is delegated.
import { loadConfigFromProcess } from './adapters/config-files.ts';
import { CONFIG_KEYS, ConfigError, processInput, runsSettingsApp, wantsHelp, type DriverConfig } from './config/config.ts';
import { startWithSettings } from './app-mode.ts';
import { createLogger, setLogLevel } from './logging/logger.ts';
import { chooseBrokers } from './adapters/private-nats-server.ts';
import { startDriver } from './driver.ts';
import { DuplicateDeviceId } from './adapters/duplicate-device.ts';
import { startEmulator } from './sim/emulator.ts';

const log = createLogger('cli');

function usage(): string {
  const lines = [
    'Usage: reachy-mini-driver [run] [options]          run the driver (add --sim for the embedded emulator target)',
    '       reachy-mini-driver devices                   list devices on the mesh',
    '       reachy-mini-driver functions <device_id>     show a device\'s functions',
    '       reachy-mini-driver call <device_id> <fn> [json-params]',
    '       reachy-mini-driver events [device_id]        print events as JSON lines',
    '       reachy-mini-driver emulate [--port 8000]     run the daemon emulator alone on loopback',
    '       reachy-mini-driver app                       the on-robot app: settings app on :8842 + the driver',
    '       reachy-mini-driver settings-link             a fresh one-time login link of the running settings app',
    '',
    'Options (flags > environment > settings file > defaults):',
  ];
  for (const key of CONFIG_KEYS) {
    const names = [key.flag, ...(key.env ?? [])].filter(Boolean).join(', ');
    lines.push(`  ${names}\n      ${key.doc} Default: ${key.default}.`);
  }
  return lines.join('\n') + '\n';
}

async function runDriver(config: DriverConfig): Promise<number> {
  const { urls, broker } = await chooseBrokers(config);
  if (broker) process.stdout.write(`private NATS broker for --sim: ${broker.url}\n`);
  const running = await startDriver(config, { messagingUrls: urls });
  process.stdout.write(`reachy-mini-driver ${config.deviceId} (tenant ${config.tenant}) on ${urls.join(', ')}${config.sim ? ' [sim]' : ''}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('stopping');
  await running.stop();
  await broker?.stop();
  return 0;
}

/** `app` and `run --settings`: the settings app first, the driver once the settings are valid. */
async function runWithSettings(): Promise<number> {
  const app = await startWithSettings(processInput(), (line) => process.stdout.write(line + '\n'));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  log.info('stopping');
  await app.stop();
  return 0;
}

async function runEmulator(config: DriverConfig): Promise<number> {
  const withMedia = !config.noMedia;
  // The standalone emulator serves WebRTC on the configured signalling port (8443 like the robot).
  const emulator = await startEmulator({ port: config.emulatorPort, timeScale: config.simTimeScale, model: config.simModel, withMedia, mediaPort: config.signallingPort });
  const media = emulator.signallingUrl ? `, WebRTC signalling ${emulator.signallingUrl}` : '';
  process.stdout.write(`Reachy Mini daemon emulator (${config.simModel}) on ${emulator.url} (WebSocket ${emulator.wsUrl}/ws/sdk${media})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await emulator.close();
  return 0;
}

async function main(): Promise<number> {
  if (wantsHelp(process.argv.slice(2))) {
    process.stdout.write(usage());
    return 0;
  }
  // Asks the running settings app for a new login link (src/settings-link-command.ts).
  if (process.argv[2] === 'settings-link') {
    const { runSettingsLink } = await import('./settings-link-command.ts');
    return runSettingsLink(process.argv.slice(2), process.env, (line) => process.stdout.write(line + '\n'), (line) => process.stderr.write(line + '\n'));
  }
  // App mode serves the settings app even before the configuration is valid (credentials upload).
  if (runsSettingsApp(process.argv.slice(2))) {
    try {
      return await runWithSettings();
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`reachy-mini-driver: ${error.message}\n`);
        return 2;
      }
      throw error;
    }
  }
  let config: DriverConfig;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`reachy-mini-driver: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  setLogLevel(config.logLevel);
  for (const warning of config.warnings) log.warn(warning);
  try {
    switch (config.command) {
      case 'run':
        return await runDriver(config);
      case 'emulate':
        return await runEmulator(config);
      case 'devices':
      case 'functions':
      case 'call':
      case 'events': {
        const { runClient } = await import('./client/client-main.ts');
        return await runClient(config);
      }
      default:
        process.stderr.write(`reachy-mini-driver: command ${config.command} is not available\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`reachy-mini-driver: ${error.message}\n`);
      return 2;
    }
    // A runtime refusal (exit 1), said in one line.
    if (error instanceof DuplicateDeviceId) {
      process.stderr.write(`reachy-mini-driver: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log.error('fatal', { error: error as Error });
    process.exit(1);
  },
);
