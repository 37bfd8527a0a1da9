// Golden tests: for every message kind captured from the real Python Device Connect 0.2.5 runtime
// (shared/fixtures/device-connect/*.jsonl), the driver produces a message of the same shape (every
// key of the capture present, same JSON types; extra keys are allowed by the protocol) and accepts
// the captured request bodies (ids echoed, `_dc_meta` honoured, probe and broadcast answered).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startNatsServer } from '../harness/nats-server.ts';
import { openClient, recorder, rpc } from '../harness/mesh-peer.ts';
import { startMeshScene, startTestDriver, type MeshScene } from '../harness/driver-harness.ts';

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/device-connect/', import.meta.url));

interface Capture {
  readonly subject: string;
  readonly reply: string | null;
  readonly body: any;
}

function load(file: string): Capture[] {
  return readFileSync(FIXTURES + file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = JSON.parse(line) as { subject: string; reply: string | null; data: string };
      let body: unknown = m.data;
      try {
        body = JSON.parse(m.data);
      } catch {
        // keep raw text
      }
      return { subject: m.subject, reply: m.reply, body };
    });
}

const captures = [...load('wire-infra.jsonl'), ...load('wire-d2d.jsonl')];
const tail = (s: string) => s.split('.').slice(3).join('.');
function first(pred: (c: Capture) => boolean, what: string): Capture {
  const found = captures.find(pred);
  if (!found) throw new Error(`fixture has no ${what}`);
  return found;
}

/** Keys the spec marks optional, which the Python capture happens to carry and we do not send,
 * and `$.id`, whose type is the caller's (string or number), checked by equality instead. */
const OPTIONAL_PATHS = new Set(['$.params.status.location', '$.status.location', '$.status.battery', '$.identity.serial_number', '$.result.identity.serial_number', '$.result.status.location', '$.result.status.battery', '$.id']);
/** Device- or function-specific contents: only the JSON type is compared, not the keys inside. */
const OPAQUE_SUFFIXES = ['.properties', '.labels', '.required', '$.result'];

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Every key of `golden` exists in `ours` with the same JSON type (recursively; arrays by first element). */
function expectSameShape(golden: unknown, ours: unknown, opaque: ReadonlyArray<string> = OPAQUE_SUFFIXES, path = '$'): void {
  if (OPTIONAL_PATHS.has(path)) return;
  const gt = jsonType(golden);
  const ot = jsonType(ours);
  // Python sends `labels: null` when a driver declares none; ours are always filled objects.
  if (path.endsWith('.labels') && gt === 'null' && ot === 'object') return;
  expect(ot, `type at ${path}`).toBe(gt);
  if (opaque.some((suffix) => path.endsWith(suffix))) return;
  if (gt === 'object') {
    for (const key of Object.keys(golden as object)) {
      const childPath = `${path}.${key}`;
      if (OPTIONAL_PATHS.has(childPath)) continue;
      expect(ours as object, `key at ${childPath}`).toHaveProperty([key]);
      expectSameShape((golden as Record<string, unknown>)[key], (ours as Record<string, unknown>)[key], opaque, childPath);
    }
  } else if (gt === 'array' && (golden as unknown[]).length > 0 && (ours as unknown[]).length > 0) {
    expectSameShape((golden as unknown[])[0], (ours as unknown[])[0], opaque, `${path}[]`);
  }
}

describe('golden wire shapes (infra mode)', () => {
  const DEVICE = 'golden-dev';
  let scene: MeshScene;
  let nc: MeshScene['nc'];
  let registry: MeshScene['registry'];
  let all: MeshScene['all'];
  let driver: MeshScene['driver'];
  const cmd = `device-connect.default.${DEVICE}.cmd`;

  beforeAll(async () => {
    scene = await startMeshScene(['--device-id', DEVICE]);
    ({ nc, registry, all, driver } = scene);
  });
  afterAll(async () => {
    await scene?.stop();
  });

  test('registerDevice request', async () => {
    const golden = first((c) => c.subject.endsWith('.registry') && c.body?.method === 'registerDevice', 'registerDevice');
    const ours = await registry.requests.next();
    expect(ours.reply).toMatch(/^_INBOX\./);
    expectSameShape(golden.body, ours.body);
  });

  test('heartbeat', async () => {
    const golden = first((c) => c.subject.endsWith('.heartbeat'), 'heartbeat');
    const ours = await all.next((m) => m.subject.endsWith(`${DEVICE}.heartbeat`));
    expectSameShape(golden.body, ours.body);
  });

  test('every captured .cmd request is accepted and answered with the same envelope', async () => {
    const requests = captures.filter((c) => tail(c.subject) === 'cmd' && typeof c.body === 'object' && c.body !== null && 'id' in c.body);
    expect(requests.length).toBeGreaterThan(10);
    const successGolden = first((c) => c.subject.startsWith('_INBOX') && c.body?.result !== undefined && c.body?.id?.startsWith?.('d2d-'), 'success reply');
    const errorGolden = first((c) => c.subject.startsWith('_INBOX') && c.body?.error?.code === -32601, 'error reply');
    for (const request of requests) {
      const { _dc_meta: meta } = (request.body.params ?? {}) as { _dc_meta?: unknown };
      const body = { ...request.body, method: 'get_status', params: meta ? { _dc_meta: meta } : {} };
      const reply = await rpc(nc, cmd, body);
      expect(reply.id).toEqual(request.body.id);
      expectSameShape(successGolden.body, reply, OPAQUE_SUFFIXES);
      const unknown = await rpc(nc, cmd, { ...request.body, method: 'nope', params: {} });
      expect(unknown.id).toEqual(request.body.id);
      expectSameShape(errorGolden.body, unknown, OPAQUE_SUFFIXES);
      expect((unknown.error as { message: string }).message).toBe(errorGolden.body.error.message);
    }
  });

  test('requestRegistration reply', async () => {
    const pull = first((c) => tail(c.subject) === 'cmd' && c.body?.method === 'requestRegistration', 'requestRegistration');
    const golden = first((c) => c.subject.startsWith('_INBOX') && c.body?.id === pull.body.id, 'requestRegistration reply');
    const ours = await rpc(nc, cmd, pull.body);
    expectSameShape(golden.body, ours, ['.properties', '.labels', '.required']);
  });

  test('event notification', async () => {
    const golden = first((c) => tail(c.subject).startsWith('event.') && !c.subject.includes('async_reply'), 'event');
    all.drain();
    driver.runtime.emitEvent('safety_event', { kind: 'golden', reason: 'shape check' });
    const ours = await all.next((m) => m.subject.includes('.event.safety_event'));
    expectSameShape(golden.body, ours.body, ['$.params']);
    const added = ['event_id', 'ts', '_trace_id'];
    expectSameShape(Object.fromEntries(added.map((k) => [k, golden.body.params[k]])), (ours.body as { params: unknown }).params);
  });

  test('broadcast accepted and async reply', async () => {
    const broadcast = first((c) => c.subject.endsWith('.broadcast'), 'broadcast');
    const golden = first((c) => c.subject.includes('.event.async_reply.'), 'async reply');
    all.drain();
    nc.publish('device-connect.default.broadcast', JSON.stringify({ ...broadcast.body, function: 'get_status', targets: [DEVICE] }));
    const ours = await all.next((m) => m.subject === `device-connect.default.${DEVICE}.event.async_reply.${broadcast.body.correlation_id}`);
    expectSameShape(golden.body, ours.body);
  });
});

describe('golden wire shapes (d2d mode)', () => {
  test('presence, probe answer and departing', async () => {
    const server = await startNatsServer();
    const nc = await openClient(server.url);
    try {
      const presence = recorder(nc, 'device-connect.lab.*.presence');
      await nc.flush();
      const driver = await startTestDriver(['--device-id', 'golden-d2d', '--tenant', 'lab', '--messaging-url', server.url, '--discovery-mode', 'd2d'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
      const golden = first((c) => c.subject.endsWith('.presence') && c.body?.d2d === true, 'presence');
      const departingGolden = first((c) => c.subject.endsWith('.presence') && c.body?.departing === true, 'departing');
      const probe = first((c) => c.subject.endsWith('.discovery.probe'), 'probe');
      expectSameShape(golden.body, (await presence.next()).body);
      presence.drain();
      nc.publish('device-connect.lab.discovery.probe', JSON.stringify(probe.body));
      expectSameShape(golden.body, (await presence.next(() => true, 1_000)).body);
      await driver.stop();
      expectSameShape(departingGolden.body, (await presence.next((m) => (m.body as { departing?: boolean }).departing === true)).body);
    } finally {
      await nc.close();
      await server.stop();
    }
  });
});
