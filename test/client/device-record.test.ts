// flattenDevice and matchesFilter on record shapes the captures do not show but other implementations
// send (agent-tools `flatten_device` rules, device-connect-protocol.md §4): top-level type/location,
// `status.state`, name-only function lists, records without an id. Pure functions, no broker.
import { describe, expect, test } from 'vitest';
import { flattenDevice, matchesFilter } from '../../src/client/device-record.ts';

describe('flattenDevice', () => {
  test('top-level device_type and location win over identity/status, as in flatten_device', () => {
    const device = flattenDevice({
      device_id: 'cam-1',
      device_type: 'camera',
      location: 'hall',
      identity: { device_type: 'ignored' },
      status: { location: 'ignored', state: 'streaming' },
      capabilities: { functions: ['snap', { name: 'zoom', parameters: { type: 'object', properties: { x: { type: 'number' } }, required: [] } }, { nameless: true }], events: ['motion'] },
    });
    expect(device).toMatchObject({ deviceType: 'camera', location: 'hall', availability: 'streaming', labels: { location: 'hall' }, description: null });
    expect(device?.functions.map((f) => f.name)).toEqual(['snap', 'zoom']);
    expect(device?.functions[0]?.parameters).toEqual({ type: 'object', properties: {}, required: [] });
    expect(device?.events).toEqual([{ name: 'motion', description: '', payloadSchema: null, labels: null, tags: [] }]);
  });

  test('no location anywhere: labels stay null; no availability: unknown', () => {
    expect(flattenDevice({ device_id: 'x-1' })).toMatchObject({ labels: null, location: null, deviceType: null, availability: 'unknown', functions: [], events: [] });
  });

  test('records without a device_id are dropped', () => {
    expect(flattenDevice({ identity: {} })).toBeUndefined();
    expect(flattenDevice(null)).toBeUndefined();
    expect(flattenDevice(['rng-001'])).toBeUndefined();
  });
});

test('matchesFilter: case-insensitive substrings, all named functions required', () => {
  const device = flattenDevice({ device_id: 'r', identity: { device_type: 'reachy_mini' }, status: { location: 'Lab/Bench-1' }, capabilities: { functions: ['look_at', 'play_sound'] } })!;
  expect(matchesFilter(device, undefined)).toBe(true);
  expect(matchesFilter(device, { deviceType: 'REACHY', location: 'bench' })).toBe(true);
  expect(matchesFilter(device, { location: 'kitchen' })).toBe(false);
  expect(matchesFilter(device, { capabilities: ['LOOK_AT'] })).toBe(true);
  expect(matchesFilter(device, { capabilities: ['look_at', 'dance'] })).toBe(false);
});
