// Runs the mesh-client CLI subcommands with the driver's own configuration (URLs, credentials,
// TLS, tenant, discovery mode). Owns only the glue between config, the client's connection
// options (src/adapters/client-connection.ts) and cli-commands.ts.
import { clientConnectionOptions } from '../adapters/client-connection.ts';
import type { DriverConfig } from '../config/config.ts';
import { runClientCommand } from './cli-commands.ts';

export async function runClient(config: DriverConfig): Promise<number> {
  const connectOptions = clientConnectionOptions({ servers: config.messagingUrls, credentials: config.credentials, tls: config.tls });
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
