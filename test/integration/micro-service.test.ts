// The function surface as a NATS micro service (ecosystem §3.3): `$SRV.PING/INFO/STATS` answer for
// the driver, INFO lists one endpoint per function with its parameter schema, a call through an
// endpoint runs the same gate as `.cmd`, and STATS counts requests and errors per endpoint.
import { Svcm } from '@nats-io/services';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startMeshScene, type MeshScene } from '../harness/driver-harness.ts';

const DEVICE = 'svc-dev';
let scene: MeshScene;
let nc: MeshScene['nc'];

beforeAll(async () => {
  scene = await startMeshScene(['--device-id', DEVICE]);
  nc = scene.nc;
});
afterAll(async () => {
  await scene?.stop();
});

test('PING, INFO and per-endpoint STATS', async () => {
  const client = new Svcm(nc).client();
  await expect.poll(async () => (await collect(await client.ping('reachy-mini-driver'))).length, { timeout: 5_000 }).toBe(1);
  const [info] = await collect(await client.info('reachy-mini-driver'));
  expect(info).toMatchObject({ name: 'reachy-mini-driver', metadata: { device_id: DEVICE, device_type: 'reachy_mini' } });
  const endpoint = (info as { endpoints: Array<{ name: string; subject: string; metadata: Record<string, string> }> }).endpoints.find((e) => e.name === 'get_status')!;
  expect(endpoint.subject).toBe(`device-connect.default.${DEVICE}.svc.get_status`);
  expect(JSON.parse(endpoint.metadata.parameters!)).toEqual({ type: 'object', properties: {}, required: [] });

  const ok = await nc.request(endpoint.subject, '{}', { timeout: 2_000 });
  expect(ok.json<{ driver_state: unknown }>().driver_state).toBeDefined();
  const bad = await nc.request(endpoint.subject, '{"bogus":1}', { timeout: 2_000 });
  expect(bad.headers?.get('Nats-Service-Error-Code')).toBe('-32602');
  expect(bad.json<{ data: { _tag: string } }>().data._tag).toBe('InvalidParams');

  const [stats] = await collect(await client.stats('reachy-mini-driver'));
  const counted = (stats as { endpoints: Array<{ name: string; num_requests: number; data: { errors: number; last_error_tag: string } }> }).endpoints.find((e) => e.name === 'get_status')!;
  expect(counted.num_requests).toBe(2);
  expect(counted.data).toEqual({ errors: 1, last_error_tag: 'InvalidParams' });
});

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterator) out.push(item);
  return out;
}
