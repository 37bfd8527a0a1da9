// Builds what the device tells the mesh about itself: FunctionDef/EventDef lists, identity,
// status, the `registerDevice` params object (also the `requestRegistration` reply), presence,
// heartbeat and departing payloads (device-connect-protocol.md §2.5–§2.10). Pure functions of
// their inputs; timestamps come from the caller's clock.
import type { AnyRpcFunction, EventDefinition } from '../rpc/function-def.ts';
import { isoSeconds } from './json-rpc.ts';

/** Becomes `capabilities.description` (the Python driver class docstring, reference §1). */
export const DEVICE_DESCRIPTION = 'Standalone Device Connect driver for Reachy Mini.';

export const IDENTITY = Object.freeze({
  device_type: 'reachy_mini',
  manufacturer: 'Pollen Robotics',
  model: 'Reachy Mini',
  description: 'Reachy Mini Device Connect driver (TypeScript)',
});

export interface DeviceStatusInput {
  readonly availability: 'idle' | 'busy' | 'error' | 'available' | 'offline';
  readonly location?: string;
  readonly busyScore?: number;
}

export function functionDefs(functions: ReadonlyArray<AnyRpcFunction>): unknown[] {
  return functions.map((fn) => ({
    name: fn.name,
    description: fn.description,
    parameters: fn.params.jsonSchema,
    labels: { ...fn.labels },
    tags: [],
  }));
}

export function eventDefs(events: ReadonlyArray<EventDefinition>): unknown[] {
  return events.map((ev) => ({ name: ev.name, description: ev.description, payload_schema: ev.payloadSchema, labels: ev.labels ? { ...ev.labels } : null, tags: [] }));
}

export function capabilities(functions: ReadonlyArray<AnyRpcFunction>, events: ReadonlyArray<EventDefinition>): Record<string, unknown> {
  return { description: DEVICE_DESCRIPTION, functions: functionDefs(functions), events: eventDefs(events), labels: { category: 'robot' } };
}

export function statusPayload(status: DeviceStatusInput, nowMs: number): Record<string, unknown> {
  return {
    ts: isoSeconds(nowMs),
    ...(status.location ? { location: status.location } : {}),
    availability: status.availability,
    busy_score: status.busyScore ?? (status.availability === 'busy' ? 1.0 : 0.0),
    online: true,
  };
}

export interface RegistrationInput {
  readonly deviceId: string;
  readonly deviceTtlS: number;
  readonly capabilities: Record<string, unknown>;
  readonly status: DeviceStatusInput;
  readonly firmwareVersion?: string;
}

/** `registerDevice` params P (§2.5) — also the `requestRegistration` result (§2.7). */
export function registrationParams(input: RegistrationInput, nowMs: number): Record<string, unknown> {
  return {
    device_id: input.deviceId,
    device_ttl: input.deviceTtlS,
    capabilities: input.capabilities,
    identity: { ...IDENTITY, ...(input.firmwareVersion ? { firmware_version: input.firmwareVersion } : {}) },
    status: statusPayload(input.status, nowMs),
  };
}

export function presencePayload(input: RegistrationInput, nowMs: number): Record<string, unknown> {
  const { device_ttl: _ttl, ...rest } = registrationParams(input, nowMs);
  return { ...rest, ts: nowMs / 1000, d2d: true };
}

export function departingPayload(deviceId: string, tenant: string, nowMs: number): Record<string, unknown> {
  return { device_id: deviceId, tenant, departing: true, ts: nowMs / 1000 };
}

export function heartbeatPayload(deviceId: string, status: DeviceStatusInput, nowMs: number): Record<string, unknown> {
  // Extra fields merge into the registry's stored status (§2.6), so availability stays live.
  return { device_id: deviceId, ts: nowMs / 1000, availability: status.availability, busy_score: status.busyScore ?? (status.availability === 'busy' ? 1.0 : 0.0) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The registry's answer counts only when it carries a UUID `device_registration_id` (§2.5). */
export function registrationIdOf(reply: unknown): string | undefined {
  if (typeof reply !== 'object' || reply === null) return undefined;
  const result = (reply as { result?: unknown }).result;
  if (typeof result !== 'object' || result === null) return undefined;
  const id = (result as { device_registration_id?: unknown }).device_registration_id;
  return typeof id === 'string' && UUID.test(id) ? id : undefined;
}
