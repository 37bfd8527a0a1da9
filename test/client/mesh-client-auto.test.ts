// Discovery mode `auto`, the CLI's default (README "First steps"): the registry and D2D presence
// are asked at once and merged, registry records first; with no registry (NoResponders at once) the
// D2D devices alone, so a `--sim` driver announcing presence is listed on a mesh without a registry;
// a device only presence knows is found by getDevice after the registry says it does not know it.
import { expect, test } from 'vitest';
import { MeshClient } from '../../src/client/mesh-client.ts';
import { useBroker } from './broker.ts';
import { capturedD2dDevice, capturedRegistry } from './wire-fakes.ts';

const broker = useBroker();

test('registry and presence: both lists, merged, registry first', async () => {
  capturedRegistry(broker.fleet);
  capturedD2dDevice(broker.fleet);
  await broker.fleet.flush();
  const client = new MeshClient(broker.client, { tenant: 'lab', discoveryMode: 'auto' });
  try {
    expect((await client.listDevices()).map((d) => d.deviceId)).toEqual(['rng-001', 'who-001', 'who-d2d']);
    expect((await client.getDevice('who-d2d')).deviceType).toBe('caller_aware');
    expect((await client.getDevice('rng-001')).deviceId).toBe('rng-001');
  } finally {
    client.close();
  }
});

test('no registry: the D2D devices alone, no error', async () => {
  capturedD2dDevice(broker.fleet);
  await broker.fleet.flush();
  const client = new MeshClient(broker.client, { tenant: 'lab', discoveryMode: 'auto' });
  try {
    expect((await client.listDevices()).map((d) => d.deviceId)).toEqual(['who-d2d']);
    expect((await client.getDevice('who-d2d')).deviceId).toBe('who-d2d');
    await expect(client.getDevice('ghost-1')).rejects.toMatchObject({ _tag: 'DeviceNotFound', discoveryMode: 'auto' });
  } finally {
    client.close();
  }
});

test('infra stays registry only: the D2D device is not listed', async () => {
  capturedRegistry(broker.fleet);
  capturedD2dDevice(broker.fleet);
  await broker.fleet.flush();
  const client = new MeshClient(broker.client, { tenant: 'lab', discoveryMode: 'infra' });
  try {
    expect((await client.listDevices()).map((d) => d.deviceId)).toEqual(['rng-001', 'who-001']);
  } finally {
    client.close();
  }
});
