// Runs the mesh-client CLI subcommands with the driver's own configuration (URLs, credentials,
// TLS, tenant, discovery mode). Owns only the glue between config and cli-commands.ts.
import type { DriverConfig } from '../config/config.ts';
import { natsConnectionOptions } from '../adapters/nats-options.ts';
import { runClientCommand } from './cli-commands.ts';

export async function runClient(config: DriverConfig): Promise<number> {
  const connectOptions = {
    ...natsConnectionOptions({ servers: config.messagingUrls, name: 'reachy-mini-driver client', credentials: config.credentials, tls: config.tls }),
    // A person at a terminal wants an answer, not an endless wait for a broker.
    waitOnFirstConnect: false,
    maxReconnectAttempts: 0,
  };
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  return await runClientCommand({
    command: config.command as 'devices' | 'functions' | 'call' | 'events',
    positional: [...config.positional],
    connectOptions,
    tenant: config.tenant,
    discoveryMode: config.discoveryMode,
    signal: abort.signal,
  });
}
