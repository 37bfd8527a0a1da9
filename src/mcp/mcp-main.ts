// `reachy-mini-driver mcp`: the MCP bridge on stdio for an agent host (Claude Desktop, Claude Code,
// any MCP client). Connects to the mesh with the client commands' settings (broker, tenant,
// credentials, TLS; a running `--sim` driver's private broker; registry and D2D presence merged
// unless --discovery-mode says otherwise), serves until stdin ends or SIGINT/SIGTERM, then closes.
// stdout carries only the protocol; logs go to stderr. Owns that lifetime, not the tools
// (bridge-server.ts). README "Agents (MCP)".
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { clientConnectionOptions, openClientConnection } from '../adapters/client-connection.ts';
import { EXIT_FAILURE, EXIT_OK, PROGRAM } from '../cli/command-line.ts';
import { processInput, type DriverConfig } from '../config/config.ts';
import { clientDiscoveryMode, clientTarget } from '../client/client-main.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, MeshClient } from '../client/mesh-client.ts';
import { callerSignerOf } from '../client/caller-signer.ts';
import { createLogger } from '../logging/logger.ts';
import { createBridge } from './bridge-server.ts';
import { smallFleetThreshold } from './fleet-view.ts';

const log = createLogger('mcp');

/** A long-running bridge rides out broker restarts (the one-shot CLI gives up at once). */
const RECONNECT_FOREVER = -1;

/** `MCP_REQUEST_TIMEOUT` (seconds, as the Python bridge) for device and registry requests; default 30 s. */
export function requestTimeoutMs(env: Readonly<Record<string, string | undefined>>): number {
  const seconds = Number(env['MCP_REQUEST_TIMEOUT']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_REQUEST_TIMEOUT_MS;
}

function untilClosed(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    process.once('SIGHUP', () => resolve());
  });
}

export async function runMcp(config: DriverConfig): Promise<number> {
  const env = processInput().env;
  const target = clientTarget(config);
  const options = { ...clientConnectionOptions({ servers: target.servers, credentials: config.credentials, tls: config.tls }), reconnect: true, maxReconnectAttempts: RECONNECT_FOREVER };
  const opened = await openClientConnection(options);
  if (!opened.ok) {
    process.stderr.write(`${PROGRAM} mcp: cannot connect to NATS at ${target.servers.join(', ')}: ${opened.reason}\n`);
    return EXIT_FAILURE;
  }
  const nc = opened.connection;
  const signer = callerSignerOf(config.credentials);
  const client = new MeshClient(nc, { tenant: target.tenant, discoveryMode: clientDiscoveryMode(config), requestTimeoutMs: requestTimeoutMs(env), ...(signer ? { signer } : {}) });
  const bridge = createBridge(client, { smallFleetThreshold: smallFleetThreshold(env) });
  const closed = untilClosed();
  try {
    await bridge.server.connect(new StdioServerTransport());
    log.info('MCP bridge ready on stdio', { servers: target.servers, tenant: target.tenant, discoveryMode: client.discoveryMode });
    await closed;
  } finally {
    bridge.close();
    await bridge.server.close().catch(() => undefined);
    client.close();
    await nc.close().catch(() => undefined);
  }
  return EXIT_OK;
}
