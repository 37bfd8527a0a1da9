// The client subcommands `devices`, `functions`, `call`, `events`: open one NATS connection
// (src/adapters/client-connection.ts), run one MeshClient operation (device-connect-protocol.md
// §2.9/§2.10 discovery, §2.1–2.3 invoke, §2.4 events), print through the injected `out`, return the
// process exit code. Does not parse argv or build connection options (client-main.ts does) and
// never calls process.exit. All output, errors included, goes to `out` so a caller or test sees
// exactly what a person would.
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { openClientConnection } from '../adapters/client-connection.ts';
import { createLogger } from '../logging/logger.ts';
import { TENANT_PATTERN } from '../protocol/subjects.ts';
import { deviceTable, errorLines, functionListing } from './cli-format.ts';
import type { JsonObject } from './device-record.ts';
import { isClientError } from './errors.ts';
import { isValidDeviceId, MeshClient, type DiscoveryMode } from './mesh-client.ts';

export const EXIT_OK = 0;
/** The operation failed: error reply, no responders, timeout, unknown device, broker unreachable. */
export const EXIT_FAILURE = 1;
/** The command line was wrong (missing argument, bad id, params not a JSON object). */
export const EXIT_USAGE = 2;

export type ClientCommand = 'devices' | 'functions' | 'call' | 'events';

export interface ClientCommandArgs {
  readonly command: ClientCommand;
  readonly positional: string[];
  readonly connectOptions: NodeConnectionOptions;
  readonly tenant: string;
  readonly discoveryMode: DiscoveryMode;
  readonly out?: (line: string) => void;
  /** Ends `events`; other commands finish on their own. */
  readonly signal?: AbortSignal;
  /** Request timeout for registry and device requests (default 30 s). */
  readonly timeoutMs?: number;
  /** `events` stops after this many events. */
  readonly eventLimit?: number;
}

const log = createLogger('client:cli');

const USAGE = {
  devices: 'usage: devices [--json]',
  functions: 'usage: functions <device_id> [--json]',
  call: `usage: call <device_id> <function> ['{"param": value}']`,
  events: 'usage: events [device_id]',
} as const satisfies Record<ClientCommand, string>;

/** A command line the subcommand cannot run; reported as one line, exit 2. */
export class UsageError extends Error {}

function splitFlags(positional: readonly string[]): { json: boolean; rest: string[] } {
  return { json: positional.includes('--json'), rest: positional.filter((p) => p !== '--json') };
}

function requireDeviceId(value: string | undefined, usage: string): string {
  if (value === undefined) throw new UsageError(usage);
  if (!isValidDeviceId(value)) throw new UsageError(`invalid device id ${JSON.stringify(value)} (letters, digits, '.', '_', '-')`);
  return value;
}

/** JSON-RPC params are named (§2.1): the text must be a JSON object. */
export function parseParams(text: string | undefined): JsonObject {
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid JSON params: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`params must be a JSON object such as '{"level": 3}', got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as JsonObject;
}

export type ClientCommandPlan =
  | { readonly command: 'devices'; readonly json: boolean }
  | { readonly command: 'functions'; readonly deviceId: string; readonly json: boolean }
  | { readonly command: 'call'; readonly deviceId: string; readonly fn: string; readonly params: JsonObject }
  | { readonly command: 'events'; readonly target: string };

/** Checks the command line before any connection is made, so usage errors exit 2 even with no broker. */
export function planCommand(command: ClientCommand, positional: readonly string[]): ClientCommandPlan {
  const { json, rest } = splitFlags(positional);
  switch (command) {
    case 'devices':
      if (rest.length > 0) throw new UsageError(USAGE.devices);
      return { command, json };
    case 'functions':
      if (rest.length !== 1) throw new UsageError(USAGE.functions);
      return { command, deviceId: requireDeviceId(rest[0], USAGE.functions), json };
    case 'call': {
      const [id, fn, paramsText, ...extra] = positional;
      if (fn === undefined || extra.length > 0) throw new UsageError(USAGE.call);
      return { command, deviceId: requireDeviceId(id, USAGE.call), fn, params: parseParams(paramsText) };
    }
    case 'events': {
      if (positional.length > 1) throw new UsageError(USAGE.events);
      const id = positional[0];
      return { command, target: id === undefined || id === '*' ? '*' : requireDeviceId(id, USAGE.events) };
    }
  }
}

async function execute(client: MeshClient, plan: ClientCommandPlan, args: ClientCommandArgs, out: (line: string) => void): Promise<number> {
  switch (plan.command) {
    case 'devices': {
      const devices = await client.listDevices();
      if (plan.json) out(JSON.stringify(devices, null, 2));
      else if (devices.length === 0) out(`no devices in tenant ${client.tenant} (${client.discoveryMode} discovery)`);
      else deviceTable(devices).forEach((line) => out(line));
      return EXIT_OK;
    }
    case 'functions': {
      const device = await client.getDevice(plan.deviceId);
      if (plan.json) out(JSON.stringify({ deviceId: device.deviceId, functions: device.functions, events: device.events }, null, 2));
      else functionListing(device).forEach((line) => out(line));
      return EXIT_OK;
    }
    case 'call': {
      const result = await client.invoke(plan.deviceId, plan.fn, plan.params);
      if (result.ok) {
        out(JSON.stringify(result.value, null, 2) ?? 'null');
        return EXIT_OK;
      }
      errorLines(result.error).forEach((line) => out(line));
      return EXIT_FAILURE;
    }
    case 'events': {
      const limit = args.eventLimit;
      const watch = client.events(plan.target, args.signal ? { signal: args.signal } : {});
      let seen = 0;
      for await (const event of watch) {
        out(JSON.stringify({ deviceId: event.deviceId, name: event.name, params: event.params }));
        seen += 1;
        if (limit !== undefined && seen >= limit) break;
      }
      return EXIT_OK;
    }
  }
}

/** Runs one client subcommand on its own connection and returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runClientCommand(args: ClientCommandArgs): Promise<number> {
  const out = args.out ?? ((line: string) => void process.stdout.write(line + '\n'));
  let plan: ClientCommandPlan;
  try {
    if (!TENANT_PATTERN.test(args.tenant)) throw new UsageError(`invalid tenant ${JSON.stringify(args.tenant)} (letters, digits, '_', '-')`);
    plan = planCommand(args.command, args.positional);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out(err.message);
    return EXIT_USAGE;
  }
  if (plan.command === 'events' && args.eventLimit !== undefined && args.eventLimit <= 0) return EXIT_OK;
  const opened = await openClientConnection(args.connectOptions);
  if (!opened.ok) {
    out(`error cannot connect to NATS: ${opened.reason}`);
    return EXIT_FAILURE;
  }
  const nc = opened.connection;
  let client: MeshClient | undefined;
  try {
    client = new MeshClient(nc, {
      tenant: args.tenant,
      discoveryMode: args.discoveryMode,
      ...(args.timeoutMs === undefined ? {} : { requestTimeoutMs: args.timeoutMs }),
    });
    return await execute(client, plan, args, out);
  } catch (err) {
    if (isClientError(err)) {
      errorLines(err).forEach((line) => out(line));
      return EXIT_FAILURE;
    }
    log.error('client command failed', { command: args.command, error: err });
    out(`error ${err instanceof Error ? `${err.name} ${err.message}` : String(err)}`);
    return EXIT_FAILURE;
  } finally {
    client?.close();
    await nc.close().catch(() => undefined);
  }
}
