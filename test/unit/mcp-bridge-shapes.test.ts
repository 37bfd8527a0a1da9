// The MCP bridge's pure parts: the hints a function's labels imply, the small-fleet threshold as
// agent-tools reads it, the fuzzy type filter and fleet aggregate, the event match of wait_for_event,
// the resource URI, and `_dc_meta.llm_reasoning` read (bounded) as the caller's reason for the audit.
import { expect, test } from 'vitest';
import { flattenDevice, type MeshDevice } from '../../src/client/device-record.ts';
import { deviceIdFromUri, uriForDevice } from '../../src/mcp/bridge-server.ts';
import { matches } from '../../src/mcp/event-buffer.ts';
import { aggregateFleet, functionHints, fuzzyFilterByType, groupDevices, smallFleetThreshold } from '../../src/mcp/fleet-view.ts';
import { callerMeta, MAX_REASONING_CHARS } from '../../src/protocol/json-rpc.ts';

const device = (id: string, type: string, location: string | null, functions: string[]): MeshDevice =>
  flattenDevice({ device_id: id, device_type: type, ...(location ? { location } : {}), capabilities: { functions: functions.map((name) => ({ name })) } })!;

test('labels → hints: reads are read-only, critical writes destructive, informational writes neither', () => {
  expect(functionHints({ labels: { direction: 'read', safety: 'informational' } })).toEqual({ readOnlyHint: true, destructiveHint: false });
  expect(functionHints({ labels: { direction: 'write', safety: 'critical' } })).toEqual({ readOnlyHint: false, destructiveHint: true });
  expect(functionHints({ labels: { direction: 'write', safety: 'informational' } })).toEqual({ readOnlyHint: false, destructiveHint: false });
  expect(functionHints({ labels: null })).toEqual({ readOnlyHint: false, destructiveHint: false });
});

test('DEVICE_CONNECT_SMALL_FLEET_THRESHOLD: default 5, clamped to 0…100, junk is the default', () => {
  expect(smallFleetThreshold({})).toBe(5);
  expect(smallFleetThreshold({ DEVICE_CONNECT_SMALL_FLEET_THRESHOLD: '0' })).toBe(0);
  expect(smallFleetThreshold({ DEVICE_CONNECT_SMALL_FLEET_THRESHOLD: '500' })).toBe(100);
  expect(smallFleetThreshold({ DEVICE_CONNECT_SMALL_FLEET_THRESHOLD: '-3' })).toBe(0);
  expect(smallFleetThreshold({ DEVICE_CONNECT_SMALL_FLEET_THRESHOLD: 'many' })).toBe(5);
});

test('fuzzy type filter ignores case, _ and -; the aggregate and groups count by type and location', () => {
  const fleet = [device('r1', 'reachy_mini', 'lab', ['a', 'b']), device('s1', 'environment-sensor', null, ['c'])];
  expect(fuzzyFilterByType(fleet, 'ReachyMini').map((d) => d.deviceId)).toEqual(['r1']);
  expect(fuzzyFilterByType(fleet, 'sensor').map((d) => d.deviceId)).toEqual(['s1']);
  expect(aggregateFleet(fleet)).toEqual({
    total_devices: 2,
    total_functions: 3,
    by_type: { 'environment-sensor': { count: 1, locations: ['unknown'] }, reachy_mini: { count: 1, locations: ['lab'] } },
    by_location: { lab: { count: 1, types: ['reachy_mini'] }, unknown: { count: 1, types: ['environment-sensor'] } },
  });
  expect(Object.keys((groupDevices(fleet, 'location', false) as { groups: object }).groups)).toEqual(['lab', 'unknown']);
});

test('wait_for_event matching: name when given, every match_params key equal as JSON', () => {
  const event = { device_id: 'd', event_name: 'safety_event', params: { kind: 'refused', state: { interlock: 'safe' } } };
  expect(matches(event, { eventName: '', matchParams: {} })).toBe(true);
  expect(matches(event, { eventName: 'safety_event', matchParams: { kind: 'refused' } })).toBe(true);
  expect(matches(event, { eventName: 'safety_event', matchParams: { state: { interlock: 'safe' } } })).toBe(true);
  expect(matches(event, { eventName: 'other', matchParams: {} })).toBe(false);
  expect(matches(event, { eventName: '', matchParams: { kind: 'refused', owner: null } })).toBe(false);
});

test('the latest-event URI round-trips; other URIs and invalid ids are refused', () => {
  expect(deviceIdFromUri(uriForDevice('reachy-mini-1'))).toBe('reachy-mini-1');
  expect(deviceIdFromUri('events://devices/a/b/latest')).toBeUndefined();
  expect(deviceIdFromUri('events://devices/*/latest')).toBeUndefined();
  expect(deviceIdFromUri('file:///etc/passwd')).toBeUndefined();
});

test('_dc_meta.llm_reasoning becomes the caller\'s reason, bounded; absent, the caller has none', () => {
  expect(callerMeta({ llm_reasoning: 'look at the door' })).toEqual({ sourceDevice: null, traceId: null, reasoning: 'look at the door' });
  expect(callerMeta({ llm_reasoning: 'x'.repeat(MAX_REASONING_CHARS + 50) }).reasoning).toHaveLength(MAX_REASONING_CHARS);
  expect(callerMeta({ source_device: 'ctl-1', llm_reasoning: 42 })).toEqual({ sourceDevice: 'ctl-1', traceId: null });
  expect('reasoning' in callerMeta({})).toBe(false);
});
