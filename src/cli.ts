// Command-line entry (`reachy-mini-driver [run] | app | emulate | devices | functions | call | mcp |
// events | panorama | audit | help`): answers `--version` and help from argv alone (src/cli/command-line.ts), then
// loads the config once, maps ConfigError to exit code 2 with one line on stderr, runs the driver
// until SIGINT/SIGTERM, and for `--sim` starts a private loopback broker when nothing answers on the
// default URL (recorded for the client commands, src/adapters/sim-broker-file.ts). Every other
// module is imported lazily by the command that needs it, so help and version start fast. Owns
// process exit codes and signals; everything else is delegated. README "Command line".
import { enableCompileCache } from 'node:module';
import type { DriverConfig } from './config/config.ts';
import { ConfigError } from './config/config-error.ts';
import { commandHelp, earlyAction, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, overview, PROGRAM, versionLine, COMMAND_HELP } from './cli/command-line.ts';
import { closestName } from './cli/did-you-mean.ts';
import { createLogger, setLogLevel } from './logging/logger.ts';

// Node's on-disk compile cache (in the OS temp folder; NODE_DISABLE_COMPILE_CACHE=1 turns it off):
// later starts reuse the compiled code of every module the command then imports — and, in a clone,
// the type-stripped sources, which is most of a src/ start's CPU (bench/startup.ts).
enableCompileCache();

const log = createLogger('cli');

/** The driver's option table, generated from CONFIG_KEYS (only `help run`/`help app` load config.ts). */
async function optionTable(): Promise<string> {
  const [{ CONFIG_KEYS }, table] = await Promise.all([import('./config/config.ts'), import('./cli/option-table.ts')]);
  return table.optionTable(CONFIG_KEYS);
}

/** `help`, `help <command>`, `<command> --help`: exit 0; an unknown topic is a usage error. */
async function printHelp(command: string | undefined): Promise<number> {
  if (command === undefined || command === 'help') {
    process.stdout.write(overview());
    return EXIT_OK;
  }
  if (!COMMAND_HELP[command]) {
    const suggestion = closestName(command, Object.keys(COMMAND_HELP));
    process.stderr.write(`${PROGRAM}: no help for ${JSON.stringify(command)}${suggestion ? `; did you mean \`${suggestion}\`?` : ''} (\`${PROGRAM} help\` lists the commands)\n`);
    return EXIT_USAGE;
  }
  const withOptions = command === 'run' || command === 'app';
  process.stdout.write(commandHelp(command, withOptions ? await optionTable() : undefined));
  return EXIT_OK;
}

/**
 * Resolves at the first SIGINT, SIGTERM or SIGHUP. Listened for from the start of a command that
 * starts anything (before the private broker), so a signal during start-up is taken too: without a
 * handler Node ends the process at once, without its 'exit' event, and the private broker (its own
 * process group) was left running. A second signal ends the process as Node does by default.
 */
function waitForSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    // A closed terminal: stop cleanly too (the private broker is in its own process group).
    process.once('SIGHUP', () => resolve());
  });
}

async function runDriver(config: DriverConfig): Promise<number> {
  const signalled = waitForSignal();
  const { chooseBrokers } = await import('./adapters/private-nats-server.ts');
  const { startDriver } = await import('./driver.ts');
  const { removeSimBrokerRecord, writeSimBrokerRecord } = await import('./adapters/sim-broker-file.ts');
  const { nextStepsText } = await import('./cli/next-steps.ts');
  const { urls, broker } = await chooseBrokers(config);
  let recorded: { ok: true; path: string } | { ok: false; reason: string } | undefined;
  if (broker) {
    process.stdout.write(`private NATS broker for --sim: ${broker.url}\n`);
    recorded = writeSimBrokerRecord(config.configDir, { url: broker.url, pid: process.pid, deviceId: config.deviceId, tenant: config.tenant });
    if (!recorded.ok) log.warn('could not record the private broker for the client commands', { reason: recorded.reason });
  }
  try {
    const running = await startDriver(config, { messagingUrls: urls });
    process.stdout.write(`reachy-mini-driver ${config.deviceId} (tenant ${config.tenant}) on ${urls.join(', ')}${config.sim ? ' [sim]' : ''}\n`);
    process.stdout.write(
      nextStepsText({
        deviceId: config.deviceId,
        tenant: config.tenant,
        tenantSource: config.sources['tenant'],
        urls,
        urlsSource: config.sources['messagingUrls'],
        sim: config.sim,
        ...(broker ? { privateBroker: { url: broker.url, ...(recorded?.ok ? { recordedAt: recorded.path } : { notRecorded: recorded?.ok === false ? recorded.reason : 'unknown' }) } } : {}),
      }),
    );
    await signalled;
    log.info('stopping');
    await running.stop();
  } finally {
    if (recorded?.ok) removeSimBrokerRecord(config.configDir);
    await broker?.stop();
  }
  return EXIT_OK;
}

/** `app` and `run --settings`: the settings app first, the driver once the settings are valid. */
async function runWithSettings(): Promise<number> {
  const signalled = waitForSignal();
  const { startWithSettings } = await import('./app-mode.ts');
  const { processInput } = await import('./config/config.ts');
  const app = await startWithSettings(processInput(), (line) => process.stdout.write(line + '\n'));
  await signalled;
  log.info('stopping');
  await app.stop();
  return EXIT_OK;
}

async function runEmulator(config: DriverConfig): Promise<number> {
  const signalled = waitForSignal();
  const { startEmulator } = await import('./sim/emulator.ts');
  const withMedia = !config.noMedia;
  // The standalone emulator serves WebRTC on the configured signalling port (8443 like the robot).
  // With REACHY_DAEMON_TOKEN set, the emulator requires it, like a protected daemon.
  const emulator = await startEmulator({ port: config.emulatorPort, timeScale: config.simTimeScale, model: config.simModel, withMedia, mediaPort: config.signallingPort, ...(config.daemonToken ? { token: config.daemonToken.reveal() } : {}) });
  const media = emulator.signallingUrl ? `, WebRTC signalling ${emulator.signallingUrl}` : '';
  process.stdout.write(`Reachy Mini daemon emulator (${config.simModel}) on ${emulator.url} (WebSocket ${emulator.wsUrl}/ws/sdk${media})\n`);
  await signalled;
  await emulator.close();
  return EXIT_OK;
}

function usageError(message: string): number {
  process.stderr.write(`${PROGRAM}: ${message}\n`);
  return EXIT_USAGE;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const early = earlyAction(argv);
  if (early.kind === 'version') {
    process.stdout.write(versionLine());
    return EXIT_OK;
  }
  if (early.kind === 'help') return await printHelp(early.command);
  if (early.kind === 'unknown-command') return usageError(early.message);
  // Asks the running settings app for a new login link (src/settings-link-command.ts).
  if (argv[0] === 'settings-link') {
    const { runSettingsLink } = await import('./settings-link-command.ts');
    const { processInput } = await import('./config/config.ts');
    return await runSettingsLink(argv, processInput().env, (line) => process.stdout.write(line + '\n'), (line) => process.stderr.write(line + '\n'));
  }
  // The panorama's own flags are split off first; the rest is the driver's configuration (connection, tenant, --json).
  if (argv[0] === 'panorama') {
    const { splitPanoramaArgv } = await import('./client/panorama-args.ts');
    const { loadConfig } = await import('./adapters/config-files.ts');
    const { processInput } = await import('./config/config.ts');
    const { own, rest } = splitPanoramaArgv(argv.slice(1));
    try {
      const config = loadConfig({ argv: ['panorama', ...rest], env: processInput().env });
      setLogLevel(config.logLevel);
      const { runPanorama } = await import('./client/client-main.ts');
      return await runPanorama(config, own);
    } catch (error) {
      if (error instanceof ConfigError) return usageError(error.message);
      throw error;
    }
  }
  const { runsSettingsApp } = await import('./config/config.ts');
  try {
    // The audit trail's own options (--follow, --stream, --lines) are taken before the configuration.
    if (argv[0] === 'audit') {
      const { runAudit } = await import('./cli/audit-command.ts');
      const { processInput } = await import('./config/config.ts');
      return await runAudit(processInput(), (line) => process.stdout.write(line + '\n'), (line) => process.stderr.write(line + '\n'));
    }
    // App mode serves the settings app even before the configuration is valid (credentials upload).
    if (runsSettingsApp(argv)) {
      (await import('./adapters/heap-policy.ts')).applyDriverHeapPolicy();
      return await runWithSettings();
    }
    const { loadConfigFromProcess } = await import('./adapters/config-files.ts');
    const config = loadConfigFromProcess();
    setLogLevel(config.logLevel);
    for (const warning of config.warnings) log.warn(warning);
    switch (config.command) {
      case 'run':
        (await import('./adapters/heap-policy.ts')).applyDriverHeapPolicy();
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
      case 'mcp': {
        const { runMcp } = await import('./mcp/mcp-main.ts');
        return await runMcp(config);
      }
      default:
        return usageError(`command ${config.command} is not available`);
    }
  } catch (error) {
    if (error instanceof ConfigError) return usageError(error.message);
    // A runtime refusal (exit 1), said in one line: another driver answers with this device id.
    if ((error as { _tag?: unknown })._tag === 'DuplicateDeviceId') {
      process.stderr.write(`${PROGRAM}: ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log.error('fatal', { error: error as Error });
    process.exit(EXIT_FAILURE);
  },
);
