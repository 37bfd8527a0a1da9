// The device shape the mesh client hands out, and how a raw registry record (§2.9) or D2D presence
// payload (§2.10) becomes one: the agent-tools `flatten_device` rules of device-connect-protocol.md §4
// (type from identity, location from status, capabilities dropped after functions/events/labels are
// lifted out, `location` mirrored into labels when absent). Also the client-side filters of §2.9/§4.
// Pure functions, no I/O. Lenient on input (wire records come from other implementations), strict on
// output types.
import { isRecord } from '../protocol/json-object.ts';

export type LabelValue = string | readonly string[];
export type Labels = Readonly<Record<string, LabelValue>>;
export type JsonObject = Readonly<Record<string, unknown>>;

export interface DeviceFunction {
  readonly name: string;
  readonly description: string;
  /** JSON schema `{"type":"object","properties","required"}` (§2.12), passed through unchanged. */
  readonly parameters: JsonObject;
  readonly labels: Labels | null;
  readonly tags: readonly string[];
}

export interface DeviceEvent {
  readonly name: string;
  readonly description: string;
  /** `payload_schema` on the wire. */
  readonly payloadSchema: JsonObject | null;
  readonly labels: Labels | null;
  readonly tags: readonly string[];
}

export interface MeshDevice {
  readonly deviceId: string;
  /** Top-level `device_type`, else `identity.device_type`. */
  readonly deviceType: string | null;
  /** Top-level `location`, else `status.location`. */
  readonly location: string | null;
  /** `status.availability`, else `status.state`, else `unknown` (what `list_devices` reports). */
  readonly availability: string;
  /** `capabilities.description` (the driver docstring); not part of Python's flat dict, kept for people. */
  readonly description: string | null;
  readonly status: JsonObject;
  readonly identity: JsonObject;
  readonly functions: readonly DeviceFunction[];
  readonly events: readonly DeviceEvent[];
  /** `capabilities.labels` with `location` mirrored in when absent; null when neither exists. */
  readonly labels: Labels | null;
}

export interface DeviceFilter {
  /** Case-insensitive substring of the device type (registry semantics, §2.9). */
  readonly deviceType?: string;
  /** Case-insensitive substring of the location. */
  readonly location?: string;
  /** Function names the device must all offer. */
  readonly capabilities?: readonly string[];
}

function asObject(value: unknown): JsonObject {
  return isRecord(value) ? value : {};
}

function asString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function asLabels(value: unknown): Labels | null {
  if (!isRecord(value)) return null;
  const labels: Record<string, LabelValue> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') labels[key] = v;
    else if (Array.isArray(v)) labels[key] = v.filter((x): x is string => typeof x === 'string');
  }
  return labels;
}

function asTags(value: unknown): readonly string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
}

const EMPTY_PARAMETERS: JsonObject = { type: 'object', properties: {}, required: [] };

/** A FunctionDef object; a bare string (old registries list names only) becomes a schema-less entry. */
function toFunction(raw: unknown): DeviceFunction | undefined {
  if (typeof raw === 'string') return { name: raw, description: '', parameters: EMPTY_PARAMETERS, labels: null, tags: [] };
  if (!isRecord(raw) || typeof raw['name'] !== 'string') return undefined;
  return {
    name: raw['name'],
    description: typeof raw['description'] === 'string' ? raw['description'] : '',
    parameters: isRecord(raw['parameters']) ? raw['parameters'] : EMPTY_PARAMETERS,
    labels: asLabels(raw['labels']),
    tags: asTags(raw['tags']),
  };
}

function toEvent(raw: unknown): DeviceEvent | undefined {
  if (typeof raw === 'string') return { name: raw, description: '', payloadSchema: null, labels: null, tags: [] };
  if (!isRecord(raw) || typeof raw['name'] !== 'string') return undefined;
  return {
    name: raw['name'],
    description: typeof raw['description'] === 'string' ? raw['description'] : '',
    payloadSchema: isRecord(raw['payload_schema']) ? raw['payload_schema'] : null,
    labels: asLabels(raw['labels']),
    tags: asTags(raw['tags']),
  };
}

function listOf<T>(raw: unknown, convert: (item: unknown) => T | undefined): readonly T[] {
  if (!Array.isArray(raw)) return [];
  const out: T[] = [];
  for (const item of raw) {
    const converted = convert(item);
    if (converted !== undefined) out.push(converted);
  }
  return out;
}

/**
 * `flatten_device` of agent-tools (`connection.py`, §4). Returns undefined for a record without a
 * `device_id` (the Python collector ignores those too).
 */
export function flattenDevice(raw: unknown): MeshDevice | undefined {
  if (!isRecord(raw)) return undefined;
  const deviceId = asString(raw['device_id']);
  if (deviceId === null) return undefined;
  const identity = asObject(raw['identity']);
  const status = asObject(raw['status']);
  const caps = asObject(raw['capabilities']);

  const location = asString(raw['location']) ?? asString(status['location']);
  const capsLabels = asLabels(caps['labels']);
  let labels = capsLabels;
  if (location !== null && (capsLabels === null || !('location' in capsLabels))) {
    labels = { ...(capsLabels ?? {}), location };
  }

  return {
    deviceId,
    deviceType: asString(raw['device_type']) ?? asString(identity['device_type']),
    location,
    availability: asString(status['availability']) ?? asString(status['state']) ?? 'unknown',
    description: asString(caps['description']),
    status,
    identity,
    functions: listOf(caps['functions'], toFunction),
    events: listOf(caps['events'], toEvent),
    labels,
  };
}

/** The registry's filters (§2.9), applied on the client too so both discovery modes agree. */
export function matchesFilter(device: MeshDevice, filter: DeviceFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.deviceType && !(device.deviceType ?? '').toLowerCase().includes(filter.deviceType.toLowerCase())) return false;
  if (filter.location && !(device.location ?? '').toLowerCase().includes(filter.location.toLowerCase())) return false;
  if (filter.capabilities && filter.capabilities.length > 0) {
    const offered = new Set(device.functions.map((f) => f.name.toLowerCase()));
    if (!filter.capabilities.every((name) => offered.has(name.toLowerCase()))) return false;
  }
  return true;
}
