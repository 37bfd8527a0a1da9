// Runs the mesh-client CLI subcommands with the driver's own configuration (URLs, credentials,
// TLS, tenant, discovery mode). Owns only the glue between config, the client's connection
// options (src/adapters/client-connection.ts) and cli-commands.ts, and two defaults of the first
// flow (README "First steps"): with no broker URL configured, the private broker a running `--sim`
// driver recorded (src/adapters/sim-broker-file.ts) comes before the default URL; with no discovery
// mode configured, the registry and D2D presence are both asked and merged. Also owns what ends a
// command early: Ctrl-C, and stdout/stderr closed by their reader (`| head -1`: EPIPE).
import { clientConnectionOptions } from '../adapters/client-connection.ts';
import { readSimBrokerRecord } from '../adapters/sim-broker-file.ts';
import { processInput, type DriverConfig } from '../config/config.ts';
import { createLogger } from '../logging/logger.ts';
import { colourWanted } from '../cli/terminal-style.ts';
import { runClientCommand } from './cli-commands.ts';
import { callerSignerOf } from './caller-signer.ts';
import type { DiscoveryMode } from './mesh-client.ts';

const log = createLogger('client');

/** The broker and tenant to use: configured ones win; otherwise a live `--sim` driver's record. */
export function clientTarget(config: Pick<DriverConfig, 'messagingUrls' | 'tenant' | 'sources' | 'configDir'>): { servers: string[]; tenant: string } {
  if (config.sources['messagingUrls'] === 'default') {
    const record = readSimBrokerRecord(config.configDir);
    if (record) {
      const tenant = config.sources['tenant'] === 'default' ? record.tenant : config.tenant;
      log.debug('using the private broker of the running --sim driver', { url: record.url, pid: record.pid, tenant });
      return { servers: [record.url], tenant };
    }
  }
  return { servers: [...config.messagingUrls], tenant: config.tenant };
}

/** The running `--sim` driver's device id, when neither the broker nor the device id is configured (the first flow's robot). */
export function simDeviceId(config: Pick<DriverConfig, 'sources' | 'configDir'>): string | undefined {
  if (config.sources['messagingUrls'] !== 'default' || config.sources['deviceId'] !== 'default') return undefined;
  return readSimBrokerRecord(config.configDir)?.deviceId;
}

/** `auto` (registry and presence merged) unless a discovery mode was set by flag, environment or settings. */
export function clientDiscoveryMode(config: Pick<DriverConfig, 'discoveryMode' | 'sources'>): DiscoveryMode {
  return config.sources['discoveryMode'] === 'default' ? 'auto' : config.discoveryMode;
}

/**
 * The signal that ends a command early: Ctrl-C (and the other `signals`), or an error on stdout or
 * stderr — their reader went away (`| head -1` gives EPIPE on the next write). Without a listener
 * that error would be an unhandled 'error' event: a stack trace, and a panorama's lease left held.
 */
function interruption(signals: readonly NodeJS.Signals[]): AbortSignal {
  const abort = new AbortController();
  for (const name of signals) process.once(name, () => abort.abort(name));
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      log.debug('output closed by its reader: stopping', { code: error.code });
      abort.abort(error);
    });
  }
  return abort.signal;
}

/** `panorama`: its own flags were split off argv (panorama-args.ts); the device id is the positional or the configured one. */
export async function runPanorama(config: DriverConfig, own: readonly string[]): Promise<number> {
  const { parsePanoramaArgs, PanoramaUsageError } = await import('./panorama-args.ts');
  const { runPanoramaCommand, EXIT_USAGE } = await import('./panorama-command.ts');
  const { isValidDeviceId } = await import('./mesh-client.ts');
  const usage = (message: string) => {
    process.stderr.write(`reachy-mini-driver panorama: ${message}\n`);
    return EXIT_USAGE;
  };
  let args;
  try {
    args = parsePanoramaArgs(own);
  } catch (error) {
    if (error instanceof PanoramaUsageError) return usage(error.message);
    throw error;
  }
  const positional = config.positional.filter((p) => p !== '--json');
  if (positional.length > 1) return usage(`unexpected argument ${JSON.stringify(positional[1])}`);
  // No id given: the configured one, else the running `--sim` driver's (the first flow's robot).
  const deviceId = positional[0] ?? (config.sources['deviceId'] === 'default' ? simDeviceId(config) : config.deviceId);
  if (deviceId === undefined) return usage('usage: panorama <device_id> [--output DIR] [options] (`reachy-mini-driver help panorama`)');
  if (!isValidDeviceId(deviceId)) return usage(`invalid device id ${JSON.stringify(deviceId)}`);
  const target = clientTarget(config);
  const signal = interruption(['SIGINT', 'SIGTERM']);
  return await runPanoramaCommand({
    deviceId,
    args,
    connectOptions: clientConnectionOptions({ servers: target.servers, credentials: config.credentials, tls: config.tls }),
    tenant: target.tenant,
    discoveryMode: clientDiscoveryMode(config),
    json: config.json,
    progressBar: !config.json && process.stderr.isTTY === true,
    colour: colourWanted(processInput().env, process.stderr.isTTY === true),
    brokerLabel: target.servers.join(', '),
    signal,
  });
}

export async function runClient(config: DriverConfig): Promise<number> {
  const target = clientTarget(config);
  const connectOptions = clientConnectionOptions({ servers: target.servers, credentials: config.credentials, tls: config.tls });
  const signal = interruption(['SIGINT']);
  return await runClientCommand({
    command: config.command as 'devices' | 'functions' | 'call' | 'events',
    positional: [...config.positional],
    connectOptions,
    tenant: target.tenant,
    discoveryMode: clientDiscoveryMode(config),
    signer: callerSignerOf(config.credentials),
    json: config.json,
    colour: colourWanted(processInput().env, process.stderr.isTTY === true),
    brokerLabel: target.servers.join(', '),
    signal,
  });
}
