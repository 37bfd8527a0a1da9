// A new safety envelope re-advertises the micro-service endpoints on the same connection, make before
// break: `.svc.stop_motion` requests sent without pause across 20 envelope changes are all answered,
// each exactly once (before 2026-12-06 the old service drained before the new one subscribed, and
// ~5 % of them got "no responders"). Underneath, on a real broker: two instances up at once serve
// each request once between them (one queue group), and a new instance that cannot start leaves the
// old one answering. Transcripts over a real nats-server; replies are read on the test's own inbox,
// so a second answer to one request would be seen.
import { Svcm } from '@nats-io/services';
import { createInbox, type Msg, type NatsConnection } from '@nats-io/nats-core';
import { afterEach, expect, test } from 'vitest';
import { MICRO_SERVICE_NAME, MICRO_SERVICE_QUEUE, replaceMicroService, startMicroService, type MicroService, type MicroServiceOptions } from '../../src/adapters/nats-micro-service.ts';
import { functionsFor } from '../../src/rpc/catalogue.ts';
import { startMeshScene, waitFor, type MeshScene } from '../harness/driver-harness.ts';
import { startNatsServer } from '../harness/nats-server.ts';
import { openClient, rpc } from '../harness/mesh-peer.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Envelope changes made while the requests run. */
const CHANGES = 20;
/** Requests kept in flight at once (the reviewer's reproduction used four). */
const SENDERS = 4;
/** A request unanswered this long counts as lost (a stop answers in milliseconds). */
const ANSWER_WITHIN_MS = 2_000;
/** After the last request, how long a second answer to any of them is waited for. */
const LATE_ANSWER_MS = 500;

/**
 * Sends requests to `subject` from SENDERS loops, one after the other, until `until` resolves; each
 * request has its own reply subject on the test's inbox, so every answer to it is counted.
 */
async function sendContinuously(nc: NatsConnection, subject: string, until: Promise<unknown>) {
  const inbox = createInbox();
  const answers = new Map<number, number>();
  const noResponders: number[] = [];
  const waiting = new Map<number, () => void>();
  nc.subscribe(`${inbox}.*`, {
    callback: (_error, msg: Msg) => {
      const n = Number(msg.subject.slice(inbox.length + 1));
      if (msg.headers?.code === 503) noResponders.push(n);
      else answers.set(n, (answers.get(n) ?? 0) + 1);
      waiting.get(n)?.();
    },
  });
  await nc.flush();
  let done = false;
  void until.then(() => (done = true));
  let next = 0;
  const sender = async (): Promise<void> => {
    while (!done) {
      const n = next++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ANSWER_WITHIN_MS);
        waiting.set(n, () => (clearTimeout(timer), resolve()));
        nc.publish(subject, '{}', { reply: `${inbox}.${n}` });
      });
      waiting.delete(n);
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  await new Promise((resolve) => setTimeout(resolve, LATE_ANSWER_MS));
  return { sent: next, answers, noResponders };
}

/** INFO answers from every instance on the local broker arrive within milliseconds of each other: stop listening 100 ms after the last. */
const INFO_STALL_MS = 100;

/** The `maximum` of goto_pose's yaw as each running instance of the device's service advertises it. */
async function advertisedYawMax(nc: NatsConnection, deviceId: string): Promise<number[]> {
  const maxima: number[] = [];
  for await (const info of await new Svcm(nc).client({ strategy: 'stall', maxWait: 2_000, stall: INFO_STALL_MS }).info(MICRO_SERVICE_NAME)) {
    const i = info as unknown as { metadata: { device_id: string }; endpoints: Array<{ name: string; metadata: { parameters: string } }> };
    if (i.metadata.device_id !== deviceId) continue;
    const goto = i.endpoints.find((e) => e.name === 'goto_pose');
    maxima.push(JSON.parse(goto!.metadata.parameters).properties.yaw.maximum);
  }
  return maxima;
}

test('.svc.stop_motion sent without pause across 20 envelope re-advertises: every request answered, exactly once', async () => {
  const scene: MeshScene = await startMeshScene(['--sim', '--no-media', '--device-id', 'svc-re', '--discovery-mode', 'd2d']);
  cleanups.push(() => scene.stop());
  const { nc } = scene;
  const svc = 'device-connect.default.svc-re.svc.stop_motion';
  const supervisor = 'device-connect.default.svc-re.supervisor';
  await waitFor(async () => (await nc.request(svc, '{}', { timeout: 500 }).then(() => true, () => false)), 10_000, 'the .svc endpoints answer');
  const policy = ((await rpc(nc, 'device-connect.default.svc-re.cmd', { jsonrpc: '2.0', id: 'p', method: 'get_safety_policy', params: {} })).result as { policy: Record<string, any> }).policy;

  const changes = (async () => {
    for (let i = 1; i <= CHANGES; i++) {
      const max = 45 - i;
      const next = { ...policy, envelope: { ...policy.envelope, head_yaw_deg: { min: -40, max } } };
      const applied = await rpc(nc, supervisor, { jsonrpc: '2.0', id: `e${i}`, method: 'set_safety_policy', params: { policy: next, reason: `re-advertise ${i}`, owner: 'ops' } });
      expect((applied.result as { status?: string } | undefined)?.status, JSON.stringify(applied)).toBe('applied');
      // The swap is over once the only instance left advertises the new range.
      await expect.poll(() => advertisedYawMax(nc, 'svc-re'), { timeout: 5_000, interval: 20 }).toEqual([max]);
    }
  })();
  const { sent, answers, noResponders } = await sendContinuously(nc, svc, changes);
  await changes;

  expect(sent).toBeGreaterThan(CHANGES * SENDERS);
  expect(noResponders).toEqual([]);
  const unanswered = Array.from({ length: sent }, (_, n) => n).filter((n) => !answers.has(n));
  expect(unanswered).toEqual([]);
  expect([...answers.values()].filter((count) => count !== 1)).toEqual([]);
}, 60_000);

/** A bare micro service on `nc` whose every endpoint answers with `tag` (what serve did, counted per instance). */
function taggedService(nc: NatsConnection, tag: string, served: Map<string, number>, overrides: Partial<MicroServiceOptions> = {}): Promise<MicroService> {
  return startMicroService(nc, {
    deviceId: 'svc-pair',
    tenant: 'default',
    version: '1.0.0',
    functions: functionsFor({ media: false }).filter((fn) => fn.name === 'get_status'),
    serve: (_method, _data, sink) => {
      served.set(tag, (served.get(tag) ?? 0) + 1);
      sink.send({ body: JSON.stringify({ tag }) });
    },
    ...overrides,
  });
}

test('two instances up at once serve each request once between them; a replacement that cannot start leaves the old one answering', async () => {
  const server = await startNatsServer();
  cleanups.push(() => server.stop());
  const nc = await openClient(server.url);
  cleanups.push(() => nc.close());
  const subject = 'device-connect.default.svc-pair.svc.get_status';
  const served = new Map<string, number>();
  const first = await taggedService(nc, 'first', served);
  cleanups.push(() => first.stop());

  // A start the services library refuses (not a semantic version): nothing changes.
  const kept = await replaceMicroService(first, () => taggedService(nc, 'broken', served, { version: 'not-a-version' }));
  expect(kept).toBe(first);
  expect((await nc.request(subject, '{}', { timeout: 1_000 })).json()).toEqual({ tag: 'first' });

  // Both up, as during a swap: in the queue group each request reaches one of them.
  const second = await taggedService(nc, 'second', served);
  cleanups.push(() => second.stop());
  const [info] = await collect(await new Svcm(nc).client().info(MICRO_SERVICE_NAME));
  expect((info as unknown as { endpoints: Array<{ queue_group: string }> }).endpoints[0]?.queue_group).toBe(MICRO_SERVICE_QUEUE);
  served.clear();
  const stopped = new Promise((resolve) => setTimeout(resolve, 300));
  const { sent, answers, noResponders } = await sendContinuously(nc, subject, stopped);
  expect(noResponders).toEqual([]);
  expect([...answers.values()].filter((count) => count !== 1)).toEqual([]);
  expect(answers.size).toBe(sent);
  expect((served.get('first') ?? 0) + (served.get('second') ?? 0)).toBe(sent);
  expect(served.get('first')).toBeGreaterThan(0);
  expect(served.get('second')).toBeGreaterThan(0);

  // The swap completes: the first drains, the second answers everything.
  expect(await replaceMicroService(first, async () => second)).toBe(second);
  expect((await nc.request(subject, '{}', { timeout: 1_000 })).json()).toEqual({ tag: 'second' });
});

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterator) out.push(item);
  return out;
}
