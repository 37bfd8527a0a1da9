// The client subcommands `devices`, `functions`, `call`, `events`: open one NATS connection
// (src/adapters/client-connection.ts), run one MeshClient operation (device-connect-protocol.md
// §2.9/§2.10 discovery, §2.1–2.3 invoke, §2.4 events), print through the injected `out`/`err` and
// return the process exit code (runClientCommand). Does not parse argv or build connection options
// (client-main.ts does) and never calls process.exit. What a device or broker said reaches the
// terminal with its control characters escaped (cli-format.ts jsonText, src/logging/control-escapes.ts):
// a hostile device cannot drive it.
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { openClientConnection } from '../adapters/client-connection.ts';
import { createLogger } from '../logging/logger.ts';
import { TENANT_PATTERN } from '../protocol/subjects.ts';
import { closestName } from '../cli/did-you-mean.ts';
import { paint } from '../cli/terminal-style.ts';
import { escapeControls } from '../logging/control-escapes.ts';
import { deviceTable, errorJson, errorLines, functionListing, jsonText } from './cli-format.ts';
import type { JsonObject } from './device-record.ts';
import { isClientError, type ClientError } from './errors.ts';
import { isValidDeviceId, MeshClient, type DiscoveryMode } from './mesh-client.ts';
import type { CallerSigner } from './caller-signer.ts';

export { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from '../cli/command-line.ts';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from '../cli/command-line.ts';

/** JSON-RPC "method not found" (§2.3): the moment to suggest a function the device does have. */
const METHOD_NOT_FOUND = -32601;
/** How long a failed call may spend asking discovery for the device's functions to suggest one. */
const SUGGESTION_LOOKUP_TIMEOUT_MS = 3_000;

export type ClientCommand = 'devices' | 'functions' | 'call' | 'events';

export interface ClientCommandArgs {
  readonly command: ClientCommand;
  readonly positional: string[];
  readonly connectOptions: NodeConnectionOptions;
  readonly tenant: string;
  readonly discoveryMode: DiscoveryMode;
  /** Signs `call` requests with the credentials' user seed (src/client/caller-signer.ts); absent: unsigned. */
  readonly signer?: CallerSigner | undefined;
  readonly out?: (line: string) => void;
  /** Errors, hints and notices (stderr); defaults to `out` when only `out` is given. */
  readonly err?: (line: string) => void;
  /** Machine-readable stdout (also set by a `--json` word among the positionals). */
  readonly json?: boolean;
  /** Paint the `error` word red on `err`. */
  readonly colour?: boolean;
  /** The broker URLs tried, for the "cannot connect" message (default: connectOptions.servers). */
  readonly brokerLabel?: string;
  /** Ctrl-C: ends `events` (exit 0); abandons the others' wait (exit 130, nothing sent to the device). */
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
  call: `usage: call <device_id> <function> ['{"param": value}'] [--json]`,
  events: 'usage: events [device_id] [--json]',
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
  | { readonly command: 'call'; readonly deviceId: string; readonly fn: string; readonly params: JsonObject; readonly json: boolean }
  | { readonly command: 'events'; readonly target: string; readonly json: boolean };

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
      const [id, fn, paramsText, ...extra] = rest;
      if (fn === undefined || extra.length > 0) throw new UsageError(USAGE.call);
      return { command, deviceId: requireDeviceId(id, USAGE.call), fn, params: parseParams(paramsText), json };
    }
    case 'events': {
      if (rest.length > 1) throw new UsageError(USAGE.events);
      const id = rest[0];
      return { command, target: id === undefined || id === '*' ? '*' : requireDeviceId(id, USAGE.events), json };
    }
  }
}

interface Sinks {
  readonly out: (line: string) => void;
  /** One error report: human lines on `err`, and with --json the same failure as JSON on `out`. */
  readonly fail: (error: ClientError, json: boolean) => void;
  readonly notice: (line: string) => void;
}

/** `did you mean <fn>?` when the device does not know the function but has a close one. */
async function suggestFunction(client: MeshClient, deviceId: string, fn: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SUGGESTION_LOOKUP_TIMEOUT_MS)));
  try {
    const device = await Promise.race([client.getDevice(deviceId).catch(() => undefined), timeout]);
    return device ? closestName(fn, device.functions.map((f) => f.name).filter((name) => name !== fn)) : undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Most device ids a "known devices" hint names before it says how many more there are. */
const KNOWN_DEVICES_SHOWN = 5;

/** After "no such device": the ids discovery does know (a wrong or outdated id is the usual cause). */
async function knownDevicesHint(client: MeshClient, deviceId: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SUGGESTION_LOOKUP_TIMEOUT_MS)));
  try {
    const devices = await Promise.race([client.listDevices().catch(() => undefined), timeout]);
    const ids = (devices ?? []).map((d) => d.deviceId).filter((id) => id !== deviceId);
    if (ids.length === 0) return undefined;
    const shown = escapeControls(ids.slice(0, KNOWN_DEVICES_SHOWN).join(', '));
    const more = ids.length > KNOWN_DEVICES_SHOWN ? ` and ${ids.length - KNOWN_DEVICES_SHOWN} more` : '';
    return `devices in tenant ${client.tenant}: ${shown}${more} (\`reachy-mini-driver devices\` lists them)`;
  } finally {
    clearTimeout(timer);
  }
}

/** What `unlessAborted` answers when the signal fired first. */
const INTERRUPTED = Symbol('interrupted');

/** `work`'s outcome, or INTERRUPTED as soon as `signal` aborts (the work is abandoned: its late outcome is ignored). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof INTERRUPTED> {
  if (signal === undefined) return work;
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(INTERRUPTED);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
    );
  });
}

/** Ctrl-C while waiting: one line on stderr saying what was abandoned (a sent call may still run). */
function interruptedNotice(plan: ClientCommandPlan): string {
  if (plan.command === 'call') {
    return `interrupted: stopped waiting for ${plan.fn} on ${plan.deviceId}; if it was sent the device may still carry it out (Ctrl-C sends nothing; \`call ${plan.deviceId} stop_motion\` stops a move)`;
  }
  return `interrupted: stopped waiting for ${plan.command === 'functions' ? `the functions of ${plan.deviceId}` : 'the device list'}`;
}

async function execute(client: MeshClient, plan: ClientCommandPlan, args: ClientCommandArgs, sinks: Sinks): Promise<number> {
  const { out } = sinks;
  switch (plan.command) {
    case 'devices': {
      const devices = await client.listDevices();
      if (plan.json) out(jsonText(devices, 2));
      else if (devices.length === 0) out(`no devices in tenant ${client.tenant} (${client.discoveryMode} discovery)`);
      else deviceTable(devices).forEach((line) => out(line));
      return EXIT_OK;
    }
    case 'functions': {
      const device = await client.getDevice(plan.deviceId);
      if (plan.json) out(jsonText({ deviceId: device.deviceId, functions: device.functions, events: device.events }, 2));
      else functionListing(device).forEach((line) => out(line));
      return EXIT_OK;
    }
    case 'call': {
      const result = await client.invoke(plan.deviceId, plan.fn, plan.params);
      if (result.ok) {
        out(jsonText(result.value, 2));
        return EXIT_OK;
      }
      sinks.fail(result.error, plan.json);
      if (result.error._tag === 'NoResponders') {
        const hint = await knownDevicesHint(client, plan.deviceId);
        if (hint) sinks.notice(hint);
      }
      if (result.error._tag === 'RpcError' && result.error.code === METHOD_NOT_FOUND) {
        const suggestion = await suggestFunction(client, plan.deviceId, plan.fn);
        if (suggestion) sinks.notice(`did you mean \`${escapeControls(suggestion)}\`? (\`reachy-mini-driver functions ${plan.deviceId}\` lists them)`);
      }
      return EXIT_FAILURE;
    }
    case 'events': {
      const limit = args.eventLimit;
      const watch = client.events(plan.target, args.signal ? { signal: args.signal } : {});
      await watch.ready;
      sinks.notice(`watching ${plan.target === '*' ? 'every device' : plan.target} (${watch.subject}); one JSON line per event, Ctrl-C stops`);
      let seen = 0;
      for await (const event of watch) {
        out(jsonText({ deviceId: event.deviceId, name: event.name, params: event.params }));
        seen += 1;
        if (limit !== undefined && seen >= limit) break;
      }
      return EXIT_OK;
    }
  }
}

/**
 * Runs one client subcommand on its own connection and returns the exit code (0 ok, 1 failed, 2
 * usage, 130 interrupted: Ctrl-C abandons the wait and sends nothing to the device). Results go to
 * `out` (stdout), errors and notices to `err` (stderr); a caller that injects only `out` sees
 * everything there. With `json`, stdout carries only JSON (a failed call prints `{"error": …}`).
 */
export async function runClientCommand(args: ClientCommandArgs): Promise<number> {
  const writeOut = args.out ?? ((line: string) => void process.stdout.write(line + '\n'));
  const writeErr = args.err ?? args.out ?? ((line: string) => void process.stderr.write(line + '\n'));
  // After Ctrl-C the abandoned work may still fail late (its connection closed): that says nothing.
  let abandoned = false;
  const out = (line: string) => void (abandoned || writeOut(line));
  const err = (line: string) => void (abandoned || writeErr(line));
  const interrupted = (plan: ClientCommandPlan) => {
    err(interruptedNotice(plan));
    abandoned = true;
    return EXIT_INTERRUPTED;
  };
  const errorWord = paint('error', 'red', args.colour ?? false);
  const report = (line: string) => err(line.startsWith('error ') ? errorWord + line.slice('error'.length) : line);
  const sinks: Sinks = {
    out,
    notice: err,
    fail: (error, json) => {
      errorLines(error).forEach(report);
      if (json) out(jsonText(errorJson(error), 2));
    },
  };
  let plan: ClientCommandPlan;
  try {
    if (!TENANT_PATTERN.test(args.tenant)) throw new UsageError(`invalid tenant ${JSON.stringify(args.tenant)} (letters, digits, '_', '-')`);
    plan = planCommand(args.command, args.json ? [...args.positional, '--json'] : args.positional);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(error.message);
    return EXIT_USAGE;
  }
  if (plan.command === 'events' && args.eventLimit !== undefined && args.eventLimit <= 0) return EXIT_OK;
  // `events` ends on the signal by itself (exit 0); the other commands abandon their wait (exit 130).
  const interruptible = plan.command === 'events' ? undefined : args.signal;
  const connecting = openClientConnection(args.connectOptions);
  const opened = await unlessAborted(connecting, interruptible);
  if (opened === INTERRUPTED) {
    void connecting.then((late) => void (late.ok && late.connection.close()));
    return interrupted(plan);
  }
  if (!opened.ok) {
    const servers = args.brokerLabel ?? [args.connectOptions.servers ?? []].flat().join(', ');
    report(`error cannot connect to NATS at ${servers}: ${escapeControls(opened.reason)}`);
    err('is the driver running? `reachy-mini-driver --sim` starts one (with its own broker when none runs); or name your broker with --messaging-url / MESSAGING_URLS');
    if (plan.json) out(jsonText({ error: { _tag: 'ConnectFailed', message: opened.reason, servers } }, 2));
    return EXIT_FAILURE;
  }
  const nc = opened.connection;
  let client: MeshClient | undefined;
  try {
    client = new MeshClient(nc, {
      tenant: args.tenant,
      discoveryMode: args.discoveryMode,
      ...(args.signer ? { signer: args.signer } : {}),
      ...(args.timeoutMs === undefined ? {} : { requestTimeoutMs: args.timeoutMs }),
    });
    const code = await unlessAborted(execute(client, plan, args, sinks), interruptible);
    return code === INTERRUPTED ? interrupted(plan) : code;
  } catch (error) {
    if (isClientError(error)) {
      sinks.fail(error, 'json' in plan && plan.json);
      if (error._tag === 'DeviceNotFound' && client) {
        const hint = await knownDevicesHint(client, error.deviceId);
        if (hint) sinks.notice(hint);
      }
      return EXIT_FAILURE;
    }
    log.error('client command failed', { command: args.command, error });
    report(`error ${escapeControls(error instanceof Error ? `${error.name} ${error.message}` : String(error))}`);
    return EXIT_FAILURE;
  } finally {
    client?.close();
    await nc.close().catch(() => undefined);
  }
}
