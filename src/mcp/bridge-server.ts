// The MCP bridge (`reachy-mini-driver mcp`): an MCP server (the official TypeScript SDK) with the
// Python bridge's tools — describe_fleet, list_devices, get_device_functions, invoke_device,
// wait_for_event — and the `events://devices/{device_id}/latest` resource (subscribable), all on one
// MeshClient, so registry and D2D discovery work as in the CLI. Tool errors are `isError` results
// carrying the device's `_tag`; `llm_reasoning` travels in `_dc_meta` to the driver's audit.
// Owns the tool contracts; not discovery, the wire (src/client/) nor the transport (mcp-main.ts).
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { isClientError } from '../client/errors.ts';
import { isValidDeviceId, type MeshClient } from '../client/mesh-client.ts';
import { DRIVER_VERSION } from '../version.ts';
import { EventBuffer } from './event-buffer.ts';
import { aggregateFleet, compactDevice, fullDevice, fuzzyFilterByType, groupDevices } from './fleet-view.ts';

/** The Python bridge's `wait_for_event` default. */
export const DEFAULT_WAIT_TIMEOUT_S = 60;
/**
 * Longest `wait_for_event` wait: an hour is past any agent's own call timeout, and well under what a
 * Node timer can hold (2^31 - 1 ms: a larger one fires at once, so a huge wait returned a timeout at once).
 */
export const MAX_WAIT_TIMEOUT_S = 3_600;
/** `list_devices` page size when the agent gives none (the Python bridge's default). */
export const DEFAULT_LIST_LIMIT = 20;
export const EVENTS_URI_TEMPLATE = 'events://devices/{device_id}/latest';

export interface BridgeOptions {
  /** Fleets this small get full schemas in every listing (`DEVICE_CONNECT_SMALL_FLEET_THRESHOLD`). */
  readonly smallFleetThreshold: number;
}

export interface Bridge {
  readonly server: McpServer;
  close(): void;
}

const text = (value: unknown, isError = false): CallToolResult => ({ content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], ...(isError ? { isError: true } : {}) });

/** A failure as a tool error: the message, and the stable `_tag` (the device's own for an RpcError). */
function failure(error: unknown, extra: Record<string, unknown> = {}): CallToolResult {
  if (!isClientError(error)) throw error;
  const data = error._tag === 'RpcError' && typeof error.data === 'object' && error.data !== null ? (error.data as Record<string, unknown>) : undefined;
  const tag = typeof data?.['_tag'] === 'string' ? data['_tag'] : error._tag;
  return text({ ...extra, error: error.message, _tag: tag, ...(error._tag === 'RpcError' ? { code: error.code, data: error.data ?? null } : {}) }, true);
}

export const uriForDevice = (deviceId: string): string => `events://devices/${deviceId}/latest`;

/** `events://devices/<id>/latest` → id, or undefined for another URI or an invalid id. */
export function deviceIdFromUri(uri: string): string | undefined {
  const match = /^events:\/\/devices\/([^/]+)\/latest$/.exec(uri);
  return match?.[1] !== undefined && isValidDeviceId(match[1]) ? match[1] : undefined;
}

function parseJsonObject(raw: string, what: string): { ok: true; value: Record<string, unknown> } | { ok: false; message: string } {
  try {
    const value: unknown = raw.trim() === '' ? {} : JSON.parse(raw);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, message: `${what} must be a JSON object` };
    return { ok: true, value: value as Record<string, unknown> };
  } catch (error) {
    return { ok: false, message: `invalid JSON in ${what}: ${(error as Error).message}` };
  }
}

export function createBridge(client: MeshClient, options: BridgeOptions): Bridge {
  const server = new McpServer({ name: 'reachy-mini-driver', version: DRIVER_VERSION });
  const subscribed = new Set<string>();
  const events = new EventBuffer(client, (deviceId) => {
    const uri = uriForDevice(deviceId);
    if (subscribed.has(uri) && server.isConnected()) void server.server.sendResourceUpdated({ uri }).catch(() => undefined);
  });
  const small = (count: number) => options.smallFleetThreshold > 0 && count <= options.smallFleetThreshold;
  registerDiscoveryTools(server, client, small);
  registerInvokeTool(server, client, events);
  registerEventTools(server, events, subscribed);
  return {
    server,
    close: () => events.close(),
  };
}

function registerDiscoveryTools(server: McpServer, client: MeshClient, small: (count: number) => boolean): void {
  const readOnly = { readOnlyHint: true, openWorldHint: true } as const;
  server.registerTool(
    'describe_fleet',
    {
      description: 'Summary of the devices on the mesh: counts by device type and by location. Small fleets come with every device\'s functions, so you can go straight to invoke_device. Call this first.',
      annotations: { title: 'Describe the fleet', ...readOnly },
    },
    async () => {
      try {
        const devices = await client.listDevices();
        const result = aggregateFleet(devices);
        if (small(devices.length)) Object.assign(result, { devices: devices.map(fullDevice), hint: 'Every device\'s functions are included: no need for list_devices or get_device_functions, call invoke_device.' });
        return text(result);
      } catch (error) {
        return failure(error);
      }
    },
  );
  server.registerTool(
    'list_devices',
    {
      description: 'List devices, filtered (device_type: fuzzy substring; location; status) and paged (offset, limit), or grouped (group_by: location or device_type). Small fleets include function schemas; otherwise use get_device_functions(device_id).',
      inputSchema: {
        device_type: z.string().default(''),
        location: z.string().default(''),
        status: z.string().default(''),
        group_by: z.string().default(''),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).default(DEFAULT_LIST_LIMIT),
      },
      annotations: { title: 'List devices', ...readOnly },
    },
    async ({ device_type, location, status, group_by, offset, limit }) => {
      try {
        let devices = await client.listDevices(location ? { location } : undefined);
        if (device_type) devices = fuzzyFilterByType(devices, device_type);
        if (status) devices = devices.filter((d) => d.availability.toLowerCase().includes(status.toLowerCase()));
        const expand = small(devices.length);
        if (group_by === 'location' || group_by === 'device_type') return text(groupDevices(devices, group_by, expand));
        const page = devices.slice(offset, offset + limit).map((d) => compactDevice(d, expand));
        return text({ devices: page, total: devices.length, offset, limit, has_more: offset + limit < devices.length });
      } catch (error) {
        return failure(error);
      }
    },
  );
  server.registerTool(
    'get_device_functions',
    {
      description: 'Every function of one device with its parameter schema (types, ranges, defaults), labels and hints (annotations.readOnlyHint: only reads; annotations.destructiveHint: moves the robot or changes its safety state), and its event names. Call before invoke_device.',
      inputSchema: { device_id: z.string() },
      annotations: { title: 'Get a device\'s functions', ...readOnly },
    },
    async ({ device_id }) => {
      if (!isValidDeviceId(device_id)) return text({ device_id, error: `invalid device id ${JSON.stringify(device_id)}`, _tag: 'InvalidArguments' }, true);
      try {
        return text(fullDevice(await client.getDevice(device_id)));
      } catch (error) {
        return failure(error, { device_id });
      }
    },
  );
}

function registerInvokeTool(server: McpServer, client: MeshClient, events: EventBuffer): void {
  server.registerTool(
    'invoke_device',
    {
      description:
        'Call a function of a device. arguments: the named parameters as one JSON object string (see get_device_functions). llm_reasoning: why you make this call, in one or two sentences; the device records it in its audit. A refusal (for example the robot is asleep, outside its safety envelope, or stopped) is an error result with a stable _tag and the fields that explain it. For work that finishes later, wait with wait_for_event instead of polling.',
      inputSchema: {
        device_id: z.string(),
        function: z.string(),
        arguments: z.string().default('{}'),
        llm_reasoning: z.string().default(''),
      },
      annotations: { title: 'Invoke a device function', readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    async ({ device_id, function: fn, arguments: raw, llm_reasoning }) => {
      const args = parseJsonObject(raw, 'arguments');
      if (!args.ok) return text({ success: false, error: args.message, _tag: 'InvalidArguments' }, true);
      if (!isValidDeviceId(device_id)) return text({ success: false, error: `invalid device id ${JSON.stringify(device_id)}`, _tag: 'InvalidArguments' }, true);
      // Events the call causes land in the buffer even if they fire before the agent's wait_for_event.
      await events.watch(device_id);
      const outcome = await client.invoke(device_id, fn, args.value, llm_reasoning ? { dcMeta: { llmReasoning: llm_reasoning } } : {});
      return outcome.ok ? text({ success: true, result: outcome.value }) : failure(outcome.error, { success: false, device_id, function: fn });
    },
  );
}

function registerEventTools(server: McpServer, events: EventBuffer, subscribed: Set<string>): void {
  server.registerTool(
    'wait_for_event',
    {
      description:
        'Wait for an event of a device (for example safety_event, approval_requested, approval_decided or audio_event; moves end in the answer of a call with wait=true, not in an event), instead of polling a status function. Each event is returned once: returns at once the oldest matching event that arrived since the bridge began watching the device (invoke_device starts watching) and that no earlier wait_for_event returned; otherwise waits up to timeout_seconds for the next one. event_name: empty for any; match_params: a JSON object string every key of which the event\'s params must equal. Returns {device_id, event_name, params} or {"timeout": true}.',
      inputSchema: {
        device_id: z.string(),
        timeout_seconds: z.number().min(0).max(MAX_WAIT_TIMEOUT_S).default(DEFAULT_WAIT_TIMEOUT_S),
        event_name: z.string().default(''),
        match_params: z.string().default('{}'),
      },
      annotations: { title: 'Wait for a device event', readOnlyHint: true, openWorldHint: true },
    },
    async ({ device_id, timeout_seconds, event_name, match_params }, extra) => {
      const params = parseJsonObject(match_params, 'match_params');
      if (!params.ok) return text({ error: params.message, _tag: 'InvalidArguments' }, true);
      if (!isValidDeviceId(device_id)) return text({ error: `invalid device id ${JSON.stringify(device_id)}`, _tag: 'InvalidArguments' }, true);
      const event = await events.waitFor(device_id, { eventName: event_name, matchParams: params.value }, timeout_seconds * 1000, extra.signal);
      return text(event ?? { timeout: true, device_id });
    },
  );
  server.registerResource(
    'latest_event',
    new ResourceTemplate(EVENTS_URI_TEMPLATE, { list: undefined }),
    {
      mimeType: 'application/json',
      description: 'The latest event of a device since the bridge began watching it (reading or subscribing starts watching). Subscribe (resources/subscribe) to be told of each new event.',
    },
    async (uri) => {
      const deviceId = deviceIdFromUri(uri.href);
      if (deviceId === undefined) throw new Error(`not a device event URI: ${uri.href}`);
      await events.watch(deviceId);
      const latest = events.latest(deviceId) ?? { device_id: deviceId, event_name: null, params: {} };
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(latest) }] };
    },
  );
  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const deviceId = deviceIdFromUri(request.params.uri);
    if (deviceId === undefined) throw new Error(`not a device event URI: ${request.params.uri}`);
    subscribed.add(request.params.uri);
    await events.watch(deviceId);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
}
