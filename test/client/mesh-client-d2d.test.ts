// MeshClient in D2D mode against a real nats-server, read as a protocol transcript of the captured
// tenant `lab` session (device-connect-protocol.md §2.10, §4): the client subscribes to
// `device-connect.lab.*.presence`, publishes one `discovery.probe`, lists whoever answered, forgets a
// peer on `departing` or after 30 s of silence. The fake device replays the captured presence bodies.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { DeviceNotFound } from '../../src/client/errors.ts';
import { MeshClient } from '../../src/client/mesh-client.ts';
import { D2D_FIRST_PEER_WAIT_MS, D2D_PEER_TIMEOUT_MS } from '../../src/client/presence-collector.ts';
import { useBroker } from './broker.ts';
import { golden } from './golden-wire.ts';
import { capturedD2dDevice, listen, pyJson } from './wire-fakes.ts';

const broker = useBroker();
const clients: MeshClient[] = [];

/**
 * The first-peer wait of the nobody-answers test: the §2.13 3 s is only sat out there, so it is
 * shortened; the default is checked on its own.
 */
const TEST_FIRST_PEER_WAIT_MS = 500;

function d2dClient(options: { readonly firstPeerWaitMs?: number } = {}): MeshClient {
  const client = new MeshClient(broker.client, { tenant: 'lab', discoveryMode: 'd2d', ...options });
  clients.push(client);
  return client;
}

/** Both ends have seen everything published so far: fleet PUBs processed, client MSGs delivered. */
async function settle(): Promise<void> {
  await broker.fleet.flush();
  await broker.client.flush();
}

afterEach(() => {
  vi.useRealTimers();
  for (const c of clients.splice(0)) c.close();
});

describe('D2D discovery (§2.10)', () => {
  test('probe → presence: the captured who-d2d is listed within 1 s, flattened like a registry record', async () => {
    const device = capturedD2dDevice(broker.fleet); // answers each probe with the captured presence
    await broker.fleet.flush();

    const started = performance.now();
    const devices = await d2dClient().listDevices();
    const elapsed = performance.now() - started;

    // client → [device-connect.lab.discovery.probe] {"probe": true, "ts": <epoch s>}
    expect(device.received).toHaveLength(1);
    const probe = device.received[0]!;
    expect(probe.subject).toBe(golden.discoveryProbe.subject);
    expect(Object.keys(probe.json)).toEqual(Object.keys(JSON.parse(golden.discoveryProbe.data)));
    expect(probe.json['probe']).toBe(true);
    expect(probe.json['ts']).toBeCloseTo(Date.now() / 1000, -1);

    // device → [device-connect.lab.who-d2d.presence] (captured body) → one flat device
    expect(elapsed).toBeLessThan(1_000);
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({
      deviceId: 'who-d2d',
      deviceType: 'caller_aware',
      location: 'lab',
      availability: 'idle',
      labels: { category: 'test', location: 'lab/bench-1' },
      identity: { device_type: 'caller_aware', manufacturer: 'Test', model: 'X', serial_number: 'SN1' },
      status: { battery: 80, online: true },
    });
    expect(devices[0]!.functions.map((f) => f.name)).toEqual(['fail', 'setLevel', 'whoami']);
    expect(devices[0]!.events.map((e) => e.name)).toEqual(['level_changed']);
  });

  test('departing: the captured departure removes the device from the table', async () => {
    const device = capturedD2dDevice(broker.fleet);
    await broker.fleet.flush();
    const client = d2dClient();
    expect((await client.listDevices()).map((d) => d.deviceId)).toEqual(['who-d2d']);

    // device → [device-connect.lab.who-d2d.presence] {"device_id": "who-d2d", "tenant": "lab", "departing": true, …}
    device.depart();
    await settle();

    expect(await client.listDevices()).toEqual([]);
    device.announce(); // a later announcement brings it back
    await settle();
    expect((await client.listDevices()).map((d) => d.deviceId)).toEqual(['who-d2d']);
  });

  test('the probe is sent once per client; later presence (the 5 s cadence) updates the table', async () => {
    const device = capturedD2dDevice(broker.fleet);
    await broker.fleet.flush();
    const client = d2dClient();
    await client.listDevices();

    broker.fleet.publish(
      'device-connect.lab.cam-7.presence',
      pyJson({ device_id: 'cam-7', capabilities: { functions: [] }, identity: { device_type: 'camera' }, status: { ts: '2026-11-24T15:56:10Z', location: 'hall' }, ts: 1.0, d2d: true }),
    );
    await settle();

    expect((await client.listDevices()).map((d) => d.deviceId).sort()).toEqual(['cam-7', 'who-d2d']);
    expect((await client.listDevices({ deviceType: 'CAM' })).map((d) => d.deviceId)).toEqual(['cam-7']);
    expect(device.received).toHaveLength(1);
  });

  test('getDevice of a peer that answers late probes again and waits for that id', async () => {
    capturedD2dDevice(broker.fleet);
    let probes = 0;
    listen(broker.fleet, 'device-connect.lab.discovery.probe', () => {
      probes += 1;
      if (probes < 2) return; // misses the first probe (joined later)
      setTimeout(() => broker.fleet.publish('device-connect.lab.late-1.presence', pyJson({ device_id: 'late-1', capabilities: {}, identity: {}, status: { ts: 'x' }, d2d: true })), 50);
    });
    await broker.fleet.flush();
    const client = d2dClient();

    expect((await client.listDevices()).map((d) => d.deviceId)).toEqual(['who-d2d']);
    const late = await client.getDevice('late-1');

    expect(late.deviceId).toBe('late-1');
    expect(probes).toBe(2);
  });

  test(`peers silent for ${D2D_PEER_TIMEOUT_MS / 1000} s are dropped`, async () => {
    capturedD2dDevice(broker.fleet);
    await broker.fleet.flush();
    const client = d2dClient();
    expect(await client.listDevices()).toHaveLength(1);

    vi.useFakeTimers({ toFake: ['Date'] }); // only the clock: NATS keeps its real timers
    vi.setSystemTime(Date.now() + D2D_PEER_TIMEOUT_MS + 1_000);

    expect(await client.listDevices()).toEqual([]);
  });

  test(`the first-peer wait is ${D2D_FIRST_PEER_WAIT_MS / 1000} s (§2.13) unless a test shortens it`, () => {
    expect(D2D_FIRST_PEER_WAIT_MS).toBe(3_000);
    expect(d2dClient().firstPeerWaitMs).toBe(D2D_FIRST_PEER_WAIT_MS);
    expect(d2dClient({ firstPeerWaitMs: TEST_FIRST_PEER_WAIT_MS }).firstPeerWaitMs).toBe(TEST_FIRST_PEER_WAIT_MS);
  });

  test('nobody answers: listDevices gives [] after the first-peer wait (shortened here); getDevice waits as long again, then DeviceNotFound', async () => {
    const client = d2dClient({ firstPeerWaitMs: TEST_FIRST_PEER_WAIT_MS });

    const started = performance.now();
    expect(await client.listDevices()).toEqual([]);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(TEST_FIRST_PEER_WAIT_MS - 50);
    expect(elapsed).toBeLessThan(TEST_FIRST_PEER_WAIT_MS + 1_000);

    const asked = performance.now();
    const error = await client.getDevice('ghost').catch((e: unknown) => e);
    expect(performance.now() - asked).toBeGreaterThanOrEqual(TEST_FIRST_PEER_WAIT_MS - 50);
    expect(error).toBeInstanceOf(DeviceNotFound);
    expect(error).toMatchObject({ deviceId: 'ghost', discoveryMode: 'd2d' });
  });
});
