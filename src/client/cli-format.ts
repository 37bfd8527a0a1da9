// Text rendering for the client subcommands: the device table, a person-readable function listing
// built from the advertised JSON schemas (device-connect-protocol.md §2.5 FunctionDef/EventDef,
// §2.12 schema shape plus our `minimum`/`maximum`), and one-line error reports (§2.3 codes, `data._tag`).
// Names, descriptions, labels, error messages and JSON come from devices on the mesh: every line and
// JSON text printed goes through src/logging/control-escapes.ts, so a hostile device cannot drive
// the operator's terminal. Pure string functions returning lines; does not write anywhere, no I/O.
import { escapeControls, escapeJsonControls } from '../logging/control-escapes.ts';
import type { DeviceEvent, DeviceFunction, JsonObject, Labels, MeshDevice } from './device-record.ts';
import type { ClientError } from './errors.ts';
import { subjects } from '../protocol/subjects.ts';
import { isRecord } from '../protocol/json-object.ts';

/** Gap between table columns; two spaces keeps columns apart even when a cell is empty. */
const COLUMN_GAP = '  ';
/** Placeholder for an absent cell, so columns never collapse. */
const NONE = '-';

/** Left-aligned columns of cells with their control characters escaped; the last column is not padded (no trailing spaces). */
export function table(rawRows: readonly (readonly string[])[], indent = ''): string[] {
  const rows = rawRows.map((row) => row.map(escapeControls));
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join(COLUMN_GAP).trimEnd());
}

/** `value` as JSON text for stdout (indented by `indent`), with what JSON leaves raw (DEL, C1, line separators) escaped; `null` for undefined. */
export function jsonText(value: unknown, indent?: number): string {
  return escapeJsonControls(JSON.stringify(value, null, indent) ?? 'null');
}

export function deviceTable(devices: readonly MeshDevice[]): string[] {
  const rows = [['DEVICE_ID', 'TYPE', 'AVAILABILITY', 'FUNCTIONS']];
  for (const d of devices) rows.push([d.deviceId, d.deviceType ?? NONE, d.availability, String(d.functions.length)]);
  return table(rows);
}

function labelText(labels: Labels | null): string {
  if (!labels) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${typeof v === 'string' ? v : v.join('|')}`);
  return parts.length > 0 ? `  [${parts.join(', ')}]` : '';
}

/** `integer`, `array<string>`, `string|number` (anyOf), `string (auto|manual)` (enum). */
export function schemaType(schema: JsonObject): string {
  let type: string;
  const t = schema['type'];
  if (typeof t === 'string') type = t;
  else if (Array.isArray(t)) type = t.filter((x) => typeof x === 'string').join('|');
  else if (Array.isArray(schema['anyOf'])) type = schema['anyOf'].map((s) => (isRecord(s) ? schemaType(s) : '?')).join('|');
  else type = 'any';
  const items = schema['items'];
  if (type === 'array' && isRecord(items)) type = `array<${schemaType(items)}>`;
  const choices = schema['enum'];
  if (Array.isArray(choices)) type += ` (${choices.map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join('|')})`;
  return type;
}

/** `min..max` from `minimum`/`maximum` (exclusive bounds shown with `<`/`>`); empty when unbounded. */
export function schemaRange(schema: JsonObject): string {
  const num = (key: string): number | undefined => (typeof schema[key] === 'number' ? (schema[key] as number) : undefined);
  const min = num('minimum');
  const max = num('maximum');
  const xmin = num('exclusiveMinimum');
  const xmax = num('exclusiveMaximum');
  if (min !== undefined && max !== undefined) return `${min}..${max}`;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`>= ${min}`);
  if (xmin !== undefined) parts.push(`> ${xmin}`);
  if (max !== undefined) parts.push(`<= ${max}`);
  if (xmax !== undefined) parts.push(`< ${xmax}`);
  return parts.join(', ');
}

function parameterRows(schema: JsonObject): string[][] | undefined {
  const properties = schema['properties'];
  if (!isRecord(properties) || Object.keys(properties).length === 0) return undefined;
  const required = new Set(Array.isArray(schema['required']) ? schema['required'].filter((x) => typeof x === 'string') : []);
  const rows: string[][] = [['PARAMETER', 'TYPE', 'RANGE', 'DEFAULT', 'DESCRIPTION']];
  for (const [name, raw] of Object.entries(properties)) {
    const p = isRecord(raw) ? raw : {};
    rows.push([
      required.has(name) ? `${name} *` : name,
      schemaType(p),
      schemaRange(p) || NONE,
      'default' in p ? JSON.stringify(p['default']) : NONE,
      typeof p['description'] === 'string' ? p['description'] : '',
    ]);
  }
  return rows;
}

function hasRequired(schema: JsonObject): boolean {
  return Array.isArray(schema['required']) && schema['required'].length > 0 && isRecord(schema['properties']);
}

function functionLines(fn: DeviceFunction): string[] {
  const lines = [escapeControls(`${fn.name}${fn.description ? `: ${fn.description}` : ''}${labelText(fn.labels)}`)];
  const rows = parameterRows(fn.parameters);
  if (rows) lines.push(...table(rows, '    '));
  else lines.push('    (no parameters)');
  return lines;
}

function eventLines(ev: DeviceEvent): string[] {
  const lines = [escapeControls(`${ev.name}${ev.description ? `: ${ev.description}` : ''}${labelText(ev.labels)}`)];
  const rows = ev.payloadSchema ? parameterRows(ev.payloadSchema) : undefined;
  if (rows) lines.push(...table(rows.map((r, i) => (i === 0 ? ['FIELD', 'TYPE', 'DESCRIPTION'] : [r[0] ?? '', r[1] ?? '', r[4] ?? ''])), '    '));
  return lines;
}

/** Header, every function with a parameter table, then the events; `*` marks required parameters. */
export function functionListing(device: MeshDevice): string[] {
  const head = [device.deviceId, device.deviceType, device.description].filter((x): x is string => !!x).join(' · ');
  const lines = [escapeControls(head), '', `Functions (${device.functions.length}):`];
  if (device.functions.length === 0) lines.push('  (none)');
  for (const fn of device.functions) lines.push(...functionLines(fn).map((l) => `  ${l}`));
  lines.push('', `Events (${device.events.length}):`);
  if (device.events.length === 0) lines.push('  (none)');
  for (const ev of device.events) lines.push(...eventLines(ev).map((l) => `  ${l}`));
  const schemas = [...device.functions.map((f) => f.parameters), ...device.events.map((e) => e.payloadSchema ?? {})];
  if (schemas.some(hasRequired)) lines.push('', '* required');
  return lines;
}

/** The registry's subject (`device-connect.<tenant>.discovery`, §2.9): nobody there means no registry, not a missing device. */
function isDiscoverySubject(subject: string): boolean {
  const tokens = subject.split('.');
  return tokens.length === 3 && subject === subjects.discovery(tokens[1]!);
}

/**
 * `error <code> <message>` for a JSON-RPC error reply, then `data._tag: <tag>` and the rest of
 * `data` when the device sent one; `error <Tag> <message>` for client-side failures. The device's
 * words (message, data, a malformed reply's excerpt) with their control characters escaped.
 */
export function errorLines(error: ClientError): string[] {
  return rawErrorLines(error).map(escapeControls);
}

function rawErrorLines(error: ClientError): string[] {
  switch (error._tag) {
    case 'RpcError': {
      const lines = [`error ${error.code} ${error.message}`];
      if (isRecord(error.data)) {
        const { _tag, ...rest } = error.data;
        if (typeof _tag === 'string') lines.push(`data._tag: ${_tag}`);
        if (Object.keys(rest).length > 0) lines.push(`data: ${JSON.stringify(rest)}`);
      } else if (error.data !== undefined) {
        lines.push(`data: ${JSON.stringify(error.data)}`);
      }
      return lines;
    }
    case 'NoResponders':
      if (isDiscoverySubject(error.subject)) {
        return [`error NoResponders no registry answers on ${error.subject} (infra discovery): start one, or use --discovery-mode d2d (the devices answer for themselves)`];
      }
      return [`error NoResponders nobody is subscribed to ${error.subject} (offline device, wrong id or wrong tenant)`];
    case 'RequestTimeout':
      return [`error RequestTimeout no reply on ${error.subject} within ${error.timeoutMs} ms`];
    case 'MalformedReply':
      return [`error MalformedReply ${error.message}: ${error.excerpt}`];
    case 'DeviceNotFound':
      return [`error DeviceNotFound ${error.message} (${error.discoveryMode} discovery)`];
  }
}

/** The failure as one JSON object for `--json` stdout: `{"error": {"_tag", "message", …}}`. */
export function errorJson(error: ClientError): { error: Record<string, unknown> } {
  switch (error._tag) {
    case 'RpcError':
      return { error: { _tag: error._tag, code: error.code, message: error.message, ...(error.data === undefined ? {} : { data: error.data }), method: error.method } };
    case 'NoResponders':
      return { error: { _tag: error._tag, message: error.message, subject: error.subject } };
    case 'RequestTimeout':
      return { error: { _tag: error._tag, message: error.message, subject: error.subject, timeout_ms: error.timeoutMs } };
    case 'MalformedReply':
      return { error: { _tag: error._tag, message: error.message, excerpt: error.excerpt } };
    case 'DeviceNotFound':
      return { error: { _tag: error._tag, message: error.message, device_id: error.deviceId, discovery_mode: error.discoveryMode } };
  }
}
