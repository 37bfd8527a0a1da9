// What the MCP bridge's discovery tools answer, as plain JSON built from the mesh client's devices:
// the Python bridge's shapes (device-connect-agent-tools `_normalize.py`: full and compact device,
// fleet aggregate, groups, fuzzy type filter, small-fleet expansion) plus, per function, its labels
// and the MCP tool hints they imply (read → readOnlyHint, critical write → destructiveHint).
// Pure functions, no I/O. Does not own discovery (src/client/mesh-client.ts) nor the MCP wiring
// (bridge-server.ts). README "Agents (MCP)".
import type { DeviceFunction, Labels, MeshDevice } from '../client/device-record.ts';

/** agent-tools' default: fleets of at most this many devices get full schemas with every listing. */
export const DEFAULT_SMALL_FLEET_THRESHOLD = 5;
/** agent-tools clamps `DEVICE_CONNECT_SMALL_FLEET_THRESHOLD` to 0…100 (0 turns the expansion off). */
const MAX_SMALL_FLEET_THRESHOLD = 100;

/** `DEVICE_CONNECT_SMALL_FLEET_THRESHOLD` as agent-tools reads it; anything unreadable is the default. */
export function smallFleetThreshold(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env['DEVICE_CONNECT_SMALL_FLEET_THRESHOLD'];
  const value = raw === undefined || raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isInteger(value)) return DEFAULT_SMALL_FLEET_THRESHOLD;
  return Math.min(Math.max(value, 0), MAX_SMALL_FLEET_THRESHOLD);
}

/** The MCP ToolAnnotations a device function's labels imply (MCP spec "Tool annotations"). */
export interface FunctionHints {
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
}

function label(labels: Labels | null, key: string): string | undefined {
  const value = labels?.[key];
  return typeof value === 'string' ? value : undefined;
}

/** `direction: read` is read-only; a write labelled `safety: critical` (it moves the robot) is destructive. */
export function functionHints(fn: Pick<DeviceFunction, 'labels'>): FunctionHints {
  const direction = label(fn.labels, 'direction');
  return { readOnlyHint: direction === 'read', destructiveHint: direction !== 'read' && label(fn.labels, 'safety') === 'critical' };
}

function functionEntry(fn: DeviceFunction): Record<string, unknown> {
  return { name: fn.name, description: fn.description, parameters: fn.parameters, labels: fn.labels ?? {}, annotations: functionHints(fn) };
}

/** `full_device`: id, type, location, every function with its schema, event names. */
export function fullDevice(d: MeshDevice): Record<string, unknown> {
  return { device_id: d.deviceId, device_type: d.deviceType, location: d.location, functions: d.functions.map(functionEntry), events: d.events.map((e) => e.name) };
}

/** `compact_device` with the status: function names only, schemas when `expand`. */
export function compactDevice(d: MeshDevice, expand: boolean): Record<string, unknown> {
  return {
    device_id: d.deviceId,
    device_type: d.deviceType,
    location: d.location,
    function_count: d.functions.length,
    function_names: d.functions.map((f) => f.name),
    ...(expand ? { functions: d.functions.map(functionEntry) } : {}),
    status: d.availability,
  };
}

/** `fuzzy_filter_by_type`: the query, without `_`/`-` and case, is a substring of the device type. */
export function fuzzyFilterByType(devices: readonly MeshDevice[], query: string): MeshDevice[] {
  const squash = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const q = squash(query);
  return devices.filter((d) => d.deviceType !== null && squash(d.deviceType).includes(q));
}

function sortedObject<V>(map: Map<string, V>): Record<string, V> {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `aggregate_fleet`: counts by type and by location, plus the total number of functions. */
export function aggregateFleet(devices: readonly MeshDevice[]): Record<string, unknown> {
  const byType = new Map<string, { count: number; locations: Set<string> }>();
  const byLocation = new Map<string, { count: number; types: Set<string> }>();
  let totalFunctions = 0;
  for (const d of devices) {
    const type = d.deviceType ?? 'unknown';
    const location = d.location ?? 'unknown';
    totalFunctions += d.functions.length;
    const t = byType.get(type) ?? { count: 0, locations: new Set<string>() };
    t.count += 1;
    t.locations.add(location);
    byType.set(type, t);
    const l = byLocation.get(location) ?? { count: 0, types: new Set<string>() };
    l.count += 1;
    l.types.add(type);
    byLocation.set(location, l);
  }
  return {
    total_devices: devices.length,
    total_functions: totalFunctions,
    by_type: sortedObject(new Map([...byType].map(([k, v]) => [k, { count: v.count, locations: [...v.locations].sort() }]))),
    by_location: sortedObject(new Map([...byLocation].map(([k, v]) => [k, { count: v.count, types: [...v.types].sort() }]))),
  };
}

/** `group_devices`: compact summaries grouped by `location` or `device_type`. */
export function groupDevices(devices: readonly MeshDevice[], groupBy: 'location' | 'device_type', expand: boolean): Record<string, unknown> {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const d of devices) {
    const key = (groupBy === 'location' ? d.location : d.deviceType) ?? 'unknown';
    groups.set(key, [...(groups.get(key) ?? []), compactDevice(d, expand)]);
  }
  return { groups: sortedObject(groups), total: devices.length };
}
