// MeshClient against a real nats-server in infra mode, read as protocol transcripts: what the client
// puts on the wire (compared with the captured Python agent-tools messages) and what it makes of the
// captured replies (device-connect-protocol.md §2.1–2.4, §2.9, §2.11, §4). Fakes replay the golden
// captures byte for byte, only swapping the JSON-RPC id.
import { describe, expect, test } from 'vitest';
import { InvalidParams, OutcomeTimeout, toJsonRpcError } from '../../src/errors.ts';
import { withIgnored } from '../../src/actors/stop-answer.ts';
import { broadcastWire } from '../../src/protocol/mesh-wire.ts';
import { setLogSink } from '../../src/logging/logger.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, LIST_PAGE_SIZE, MeshClient } from '../../src/client/mesh-client.ts';
import { DeviceNotFound, MalformedReply, NoResponders, RequestTimeout, RpcError } from '../../src/client/errors.ts';
import type { MeshEvent } from '../../src/client/event-watch.ts';
import { useBroker } from './broker.ts';
import { golden } from './golden-wire.ts';
import {
  capturedRegistry,
  capturedRng001,
  cloneRecords,
  fakeResponder,
  listen,
  pagingRegistry,
  pyJson,
  withId,
} from './wire-fakes.ts';

const broker = useBroker();
const D2D_REQUEST_ID = /^d2d-[0-9a-f]{12}$/;
const RPC_REQUEST_ID = /^rpc-[0-9a-f]{12}$/;

function infraClient(requestTimeoutMs?: number): MeshClient {
  return new MeshClient(broker.client, {
    tenant: 'default',
    discoveryMode: 'infra',
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
  });
}

/** The captured body re-serialised compactly: what a JSON encoder without Python's spacing sends. */
function compact(body: string): string {
  return JSON.stringify(JSON.parse(body));
}

describe('infra discovery: discovery/* on device-connect.<tenant>.discovery (§2.9)', () => {
  test('listDevices sends the captured agent-tools request and flattens the captured records (§4)', async () => {
    const registry = capturedRegistry(broker.fleet);
    await broker.fleet.flush();

    const devices = await infraClient().listDevices();

    // client → [device-connect.default.discovery] reply=_INBOX.…
    expect(registry.received).toHaveLength(1);
    const request = registry.received[0]!;
    expect(request.subject).toBe(golden.listDevicesRequest.subject);
    expect(request.reply).toMatch(/^_INBOX\./);
    expect(request.json['id']).toMatch(RPC_REQUEST_ID);
    expect(request.data).toBe(compact(withId(golden.listDevicesRequest.data, request.json['id'])));

    // registry → captured page with rng-001 and who-001; the client hands out flat devices
    expect(devices.map((d) => d.deviceId)).toEqual(['rng-001', 'who-001']);
    const [rng, who] = devices;
    expect(rng).toMatchObject({
      deviceId: 'rng-001',
      deviceType: 'number_generator', // from identity.device_type
      location: 'simulator', // from status.location
      availability: 'available',
      description: 'Simulated number generator device.',
      labels: { location: 'simulator' }, // capabilities.labels is null: location mirrored in
    });
    expect(rng!.identity).toMatchObject({ arch: 'arm64', host_cpu: 'generic', model: 'RNG-500' });
    expect(rng!.status).toMatchObject({ ts: '2026-11-24T15:53:45Z', task_stack: null });
    expect(rng!.functions).toEqual([
      {
        name: 'generate',
        description: 'Generate a random number in [min, max].',
        parameters: { type: 'object', properties: { min: { type: 'number', default: 0 }, max: { type: 'number', default: 100 } }, required: [] },
        labels: null,
        tags: [],
      },
      { name: 'get_stats', description: 'Return generation statistics.', parameters: { type: 'object', properties: {}, required: [] }, labels: null, tags: [] },
    ]);
    expect(rng!.events).toEqual([
      {
        name: 'number_generated',
        description: 'A new number was generated.',
        payloadSchema: { type: 'object', properties: { value: { type: 'number' }, label: { type: 'string' } }, required: ['value', 'label'] },
        labels: null,
        tags: [],
      },
    ]);
    expect(rng).not.toHaveProperty('capabilities');

    expect(who).toMatchObject({
      deviceType: 'caller_aware',
      location: 'lab',
      availability: 'idle',
      labels: { category: 'test', location: 'lab/bench-1' }, // the driver's own location label wins
    });
    expect(who!.functions.map((f) => [f.name, f.labels])).toEqual([
      ['fail', null],
      ['setLevel', { direction: 'write', safety: 'critical' }],
      ['whoami', { direction: 'read' }],
    ]);
    expect(who!.events[0]).toMatchObject({ name: 'level_changed', labels: { modality: 'state' } });
  });

  test('a filter is forwarded to the registry and also applied by the client', async () => {
    const registry = capturedRegistry(broker.fleet); // ignores filters, like an older registry
    await broker.fleet.flush();

    const devices = await infraClient().listDevices({ deviceType: 'CALLER', location: 'la' });

    expect(registry.received[0]!.json['params']).toEqual({ offset: 0, limit: 100, device_type: 'CALLER', location: 'la' });
    expect(devices.map((d) => d.deviceId)).toEqual(['who-001']);
    expect((await infraClient().listDevices({ capabilities: ['setLevel', 'whoami'] })).map((d) => d.deviceId)).toEqual(['who-001']);
    expect(await infraClient().listDevices({ capabilities: ['generate', 'whoami'] })).toEqual([]);
  });

  test(`listDevices walks next_offset in pages of ${LIST_PAGE_SIZE} until it is null`, async () => {
    const registry = pagingRegistry(broker.fleet, cloneRecords(250));
    await broker.fleet.flush();

    const devices = await infraClient().listDevices();

    expect(registry.received.map((r) => r.json['params'])).toEqual([
      { offset: 0, limit: 100 },
      { offset: 100, limit: 100 },
      { offset: 200, limit: 100 },
    ]);
    expect(devices).toHaveLength(250);
    expect(devices[249]!.deviceId).toBe('rng-249');
  });

  test('a legacy registry reply without next_offset is the whole fleet', async () => {
    fakeResponder(broker.fleet, 'device-connect.default.discovery', (req) =>
      pyJson({ jsonrpc: '2.0', id: req.json['id'], result: { devices: cloneRecords(3) } }),
    );
    await broker.fleet.flush();

    expect((await infraClient().listDevices()).map((d) => d.deviceId)).toEqual(['rng-000', 'rng-001', 'rng-002']);
  });

  test('getDevice sends discovery/getDevice; {"device": null} is DeviceNotFound', async () => {
    const registry = capturedRegistry(broker.fleet);
    await broker.fleet.flush();
    const client = infraClient();

    const rng = await client.getDevice('rng-001');
    const request = registry.received[0]!;
    expect(request.data).toBe(compact(withId(golden.getDeviceRequest.data, request.json['id'])));
    expect(rng.functions.map((f) => f.name)).toEqual(['generate', 'get_stats']);

    const missing = await client.getDevice('ghost-999').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DeviceNotFound);
    expect(missing).toMatchObject({ _tag: 'DeviceNotFound', deviceId: 'ghost-999', discoveryMode: 'infra' });

    expect(await client.functions('rng-001')).toEqual({ deviceId: 'rng-001', functions: rng.functions, events: rng.events });
  });

  test('getDevice falls back to listDevices when the registry rejects discovery/getDevice', async () => {
    const registry = fakeResponder(broker.fleet, 'device-connect.default.discovery', (req) =>
      req.json['method'] === 'discovery/getDevice'
        ? pyJson({ jsonrpc: '2.0', id: req.json['id'], error: { code: -32601, message: 'method not found' } })
        : withId(golden.listDevicesReply.data, req.json['id']),
    );
    await broker.fleet.flush();

    const who = await infraClient().getDevice('who-001');

    expect(registry.received.map((r) => r.json['method'])).toEqual(['discovery/getDevice', 'discovery/listDevices']);
    expect(who.deviceType).toBe('caller_aware');
  });

  test('no registry on the broker: NoResponders at once, not retried', async () => {
    const started = performance.now();
    const error = await infraClient().listDevices().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NoResponders);
    expect(error).toMatchObject({ subject: 'device-connect.default.discovery', method: 'discovery/listDevices' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  test('a registry that times out is asked again with a new id after 1 s (agent-tools retry)', async () => {
    let calls = 0;
    const registry = fakeResponder(broker.fleet, 'device-connect.default.discovery', (req) => {
      calls += 1;
      return calls === 1 ? undefined : withId(golden.listDevicesReply.data, req.json['id']);
    });
    await broker.fleet.flush();

    const logged: string[] = [];
    setLogSink((line) => logged.push(line));
    const started = performance.now();
    const devices = await infraClient(200).listDevices().finally(() => setLogSink((line) => void process.stderr.write(line + '\n')));

    expect(devices).toHaveLength(2);
    expect(logged).toEqual([expect.stringContaining('WARN driver:client registry request timed out, retrying method=discovery/listDevices attempt=1 attempts=3 delayMs=1000')]);
    const [first, second] = registry.received;
    expect(first!.json['id']).not.toBe(second!.json['id']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_150); // 200 ms timeout + 1 s back-off
  });

  test('a registry error reply is an RpcError', async () => {
    fakeResponder(broker.fleet, 'device-connect.default.discovery', (req) =>
      pyJson({ jsonrpc: '2.0', id: req.json['id'], error: { code: -32000, message: 'etcd unavailable' } }),
    );
    await broker.fleet.flush();

    await expect(infraClient().listDevices()).rejects.toMatchObject({ _tag: 'RpcError', code: -32000, message: 'etcd unavailable' });
  });
});

describe('invoke: JSON-RPC request on device-connect.<tenant>.<id>.cmd (§2.1–2.3)', () => {
  test('success: the captured generate request goes out, the captured result comes back', async () => {
    const device = capturedRng001(broker.fleet);
    await broker.fleet.flush();

    const result = await infraClient().invoke('rng-001', 'generate', { min: 1, max: 2 });

    // client → [device-connect.default.rng-001.cmd] reply=_INBOX.…
    const request = device.received[0]!;
    expect(request.subject).toBe(golden.generateRequest.subject);
    expect(request.reply).toMatch(/^_INBOX\./);
    expect(request.json['id']).toMatch(D2D_REQUEST_ID);
    expect(Object.keys(request.json)).toEqual(['jsonrpc', 'id', 'method', 'params']);
    expect(request.data).toBe(compact(withId(golden.generateRequest.data, request.json['id'])));
    // device → {"jsonrpc": "2.0", "id": …, "result": {"value": 1.02, "total_generated": 4}}
    expect(result).toEqual({ ok: true, value: { value: 1.02, total_generated: 4 }, requestId: request.json['id'] });
  });

  test('params default to {} (the device would use {} too)', async () => {
    const device = fakeResponder(broker.fleet, 'device-connect.default.rng-001.cmd', (req) =>
      withId('{"jsonrpc": "2.0", "id": "x", "result": {"total_generated": 4, "range": [0, 100], "interval_seconds": 5.0}}', req.json['id']),
    );
    await broker.fleet.flush();

    const result = await infraClient().invoke('rng-001', 'get_stats');

    expect(device.received[0]!.json['params']).toEqual({});
    expect(result).toMatchObject({ ok: true, value: { total_generated: 4, range: [0, 100], interval_seconds: 5 } });
  });

  test('-32601: the captured "Unknown method" reply is an RpcError without data', async () => {
    const device = capturedRng001(broker.fleet);
    await broker.fleet.flush();

    const result = await infraClient().invoke('rng-001', 'nope', {});

    expect(device.received[0]!.data).toBe(compact(withId(golden.unknownMethodRequest.data, device.received[0]!.json['id'])));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(RpcError);
    expect(result.error).toMatchObject({ _tag: 'RpcError', code: -32601, message: 'Unknown method: nope', data: undefined, method: 'nope' });
  });

  test('-32000: the captured handler failure keeps its message', async () => {
    capturedRng001(broker.fleet);
    await broker.fleet.flush();

    const result = await infraClient().invoke('rng-001', 'generate', { bogus: 1 });

    expect(result).toMatchObject({
      ok: false,
      error: { _tag: 'RpcError', code: -32000, message: "Error invoking generate: NumberGeneratorDriver.generate() got an unexpected keyword argument 'bogus'" },
    });
  });

  test('-32602 from our TS device: error.data with _tag and issues reaches the caller', async () => {
    const invalid = toJsonRpcError(
      new InvalidParams({ message: 'level must be an integer in [0, 10]', issues: [{ parameter: 'level', problem: 'must be an integer in [0, 10]' }] }),
      'setLevel',
    );
    fakeResponder(broker.fleet, 'device-connect.default.who-001.cmd', (req) => JSON.stringify({ jsonrpc: '2.0', id: req.json['id'], error: invalid }));
    await broker.fleet.flush();

    const result = await infraClient().invoke('who-001', 'setLevel', { level: 42 });

    expect(result).toMatchObject({
      ok: false,
      error: {
        _tag: 'RpcError',
        code: -32602,
        message: 'level must be an integer in [0, 10]',
        data: { _tag: 'InvalidParams', issues: [{ parameter: 'level', problem: 'must be an integer in [0, 10]' }] },
      },
    });
  });

  test('no responders: the captured ghost-999 call fails at once with NoResponders', async () => {
    const started = performance.now();
    const result = await infraClient().invoke('ghost-999', 'x', {});

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(NoResponders);
    expect(result.error).toMatchObject({ subject: golden.ghostRequest.subject, method: 'x' });
  });

  test('timeout: a subscribed device that never answers gives RequestTimeout after timeoutMs', async () => {
    // The Python device stays silent on array params or a missing id (§2.3); here it stays silent on everything.
    fakeResponder(broker.fleet, 'device-connect.default.who-001.cmd', () => undefined);
    await broker.fleet.flush();

    const started = performance.now();
    const result = await infraClient().invoke('who-001', 'whoami', {}, { timeoutMs: 300 });
    const elapsed = performance.now() - started;

    expect(result).toMatchObject({ ok: false, error: { _tag: 'RequestTimeout', timeoutMs: 300, subject: 'device-connect.default.who-001.cmd' } });
    expect(result.ok || result.error instanceof RequestTimeout).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2_000);
  });

  test('the default request timeout is 30 s, and the client-wide timeout applies to invoke', async () => {
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(infraClient().requestTimeoutMs).toBe(30_000);
    fakeResponder(broker.fleet, 'device-connect.default.who-001.cmd', () => undefined);
    await broker.fleet.flush();

    const result = await infraClient(200).invoke('who-001', 'whoami');

    expect(result).toMatchObject({ ok: false, error: { _tag: 'RequestTimeout', timeoutMs: 200 } });
  });

  test('dcMeta: the captured device-to-device whoami request, _dc_meta and all', async () => {
    const device = fakeResponder(broker.fleet, 'device-connect.default.who-001.cmd', (req) => withId(golden.whoamiWithDcMetaReply.data, req.json['id']));
    await broker.fleet.flush();

    const result = await infraClient().invoke('who-001', 'whoami', {}, { dcMeta: { sourceDevice: 'ctl-001', traceId: '60ea8d5c7a804439' } });

    const request = device.received[0]!;
    expect(request.data).toBe(compact(withId(golden.whoamiWithDcMetaRequest.data, request.json['id'])));
    expect(result).toMatchObject({ ok: true, value: { caller: 'ctl-001' } });
  });

  test('a reply that is not JSON-RPC is MalformedReply', async () => {
    fakeResponder(broker.fleet, 'device-connect.default.who-001.cmd', () => '{not json');
    await broker.fleet.flush();

    const result = await infraClient().invoke('who-001', 'whoami');

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(MalformedReply);
    expect(result.error).toMatchObject({ excerpt: '{not json' });
  });

  test('an id that would break the subject is refused before anything is sent', async () => {
    await expect(infraClient().invoke('rng-*', 'generate')).rejects.toBeInstanceOf(RangeError);
    await expect(infraClient().invoke('a b', 'generate')).rejects.toBeInstanceOf(RangeError);
  });
});

describe('events: device-connect.<tenant>.<id|*>.event.> (§2.4)', () => {
  test("watching '*' yields every captured event with the device id from the subject", async () => {
    const controller = new AbortController();
    const watch = infraClient().events('*', { signal: controller.signal });
    await watch.ready;
    expect(watch.subject).toBe('device-connect.default.*.event.>');

    broker.fleet.publish(golden.numberGeneratedEvent.subject, golden.numberGeneratedEvent.data);
    broker.fleet.publish(golden.levelChangedEvent.subject, golden.levelChangedEvent.data);
    broker.fleet.publish(golden.broadcastAsyncReply.subject, golden.broadcastAsyncReply.data);
    broker.fleet.publish('device-connect.default.who-001.event.level_changed', '{not json'); // skipped
    broker.fleet.publish('device-connect.default.who-001.heartbeat', '{"device_id": "who-001", "ts": 1.0}'); // not an event
    await broker.fleet.flush();

    const seen: MeshEvent[] = [];
    for await (const event of watch) {
      seen.push(event);
      if (seen.length === 3) controller.abort();
    }

    expect(seen.map(({ deviceId, name, params }) => ({ deviceId, name, params }))).toEqual([
      {
        deviceId: 'rng-001',
        name: 'number_generated',
        params: { value: 1.02, label: 'on_demand', event_id: '35d04fbc', ts: '2026-11-24T15:53:58Z', _trace_id: '32a9fa6e1420407e' },
      },
      { deviceId: 'who-001', name: 'level_changed', params: { level: 3, event_id: '1eccacbd', ts: '2026-11-24T15:55:10Z', _trace_id: '637825fbd9bd4e4d' } },
      {
        // async replies are plain JSON on event.async_reply.<correlation_id>: the whole body is the params
        deviceId: 'who-001',
        name: 'async_reply.br-d68ef7b538d6',
        params: { correlation_id: 'br-d68ef7b538d6', device_id: 'who-001', success: true, result: { caller: null }, actually_fired_at: 1795535720.0609677 },
      },
    ]);
  });

  test('watching one device ignores the others; break ends the subscription', async () => {
    const watch = infraClient().events('who-001');
    await watch.ready;
    broker.fleet.publish(golden.numberGeneratedEvent.subject, golden.numberGeneratedEvent.data);
    broker.fleet.publish(golden.levelChangedEvent.subject, golden.levelChangedEvent.data);

    for await (const event of watch) {
      expect(event).toMatchObject({ deviceId: 'who-001', name: 'level_changed', params: { level: 3 } });
      break;
    }
  });

  test('MeshClient.close() ends every open watch', async () => {
    const client = infraClient();
    const watch = client.events('*');
    await watch.ready;
    const drained = (async () => {
      const seen: MeshEvent[] = [];
      for await (const event of watch) seen.push(event);
      return seen;
    })();
    client.close();
    expect(await drained).toEqual([]);
    expect(watch.closed).toBe(true);
  });

  test('an already-aborted signal ends the watch without waiting', async () => {
    const watch = infraClient().events('*', { signal: AbortSignal.abort() });
    const seen: MeshEvent[] = [];
    for await (const event of watch) seen.push(event);
    expect(seen).toEqual([]);
  });
});

describe('broadcast on device-connect.<tenant>.broadcast, replies on *.event.async_reply.<id> (§2.11)', () => {
  test('the captured envelope goes out and the captured async reply comes back', async () => {
    const who = listen(broker.fleet, 'device-connect.default.broadcast', (m) => {
      const correlationId = String(m.json['correlation_id']);
      const targets = m.json['targets'] as string[];
      if (targets.length === 0 || targets.includes('who-001')) {
        broker.fleet.publish(
          `device-connect.default.who-001.event.async_reply.${correlationId}`,
          golden.broadcastAsyncReply.data.replaceAll('br-d68ef7b538d6', correlationId),
        );
      }
    });
    await broker.fleet.flush();

    const started = performance.now();
    const outcome = await infraClient().broadcast('whoami', {}, ['who-001'], { waitMs: 5_000 });

    const envelope = who.received[0]!;
    expect(outcome.correlationId).toMatch(/^br-[0-9a-f]{12}$/);
    expect(envelope.data).toBe(compact(golden.broadcastEnvelope.data.replaceAll('br-d68ef7b538d6', outcome.correlationId)));
    expect(outcome.replies).toEqual([{ deviceId: 'who-001', success: true, result: { caller: null }, error: null, ignoredParams: null, actuallyFiredAt: 1795535720.0609677 }]);
    expect(performance.now() - started).toBeLessThan(2_000); // every target replied: no need to wait 5 s
  });

  test('without targets it collects for waitMs; failures keep their code', async () => {
    listen(broker.fleet, 'device-connect.default.broadcast', (m) => {
      const id = String(m.json['correlation_id']);
      broker.fleet.publish(`device-connect.default.a-1.event.async_reply.${id}`, pyJson({ correlation_id: id, device_id: 'a-1', success: true, result: 1, actually_fired_at: 1.5 }));
      broker.fleet.publish(
        `device-connect.default.b-2.event.async_reply.${id}`,
        pyJson({ correlation_id: id, device_id: 'b-2', success: false, error: { code: 'invoke_failed', message: 'boom' } }),
      );
    });
    await broker.fleet.flush();

    const outcome = await infraClient().broadcast('ping', { n: 1 }, [], { waitMs: 300 });

    expect(outcome.replies).toEqual([
      { deviceId: 'a-1', success: true, result: 1, error: null, ignoredParams: null, actuallyFiredAt: 1.5 },
      { deviceId: 'b-2', success: false, result: null, error: { code: 'invoke_failed', message: 'boom' }, ignoredParams: null, actuallyFiredAt: null },
    ]);
  });

  test("a stop's ignored_params come back typed, from the driver's result and from its failed outcome's error", async () => {
    const ignored = [{ param: 'fire_at', problem: '3600 s ahead: run at once instead of at fire_at (stopping early is safe)', handling: 'dropped' as const }];
    const timedOut = new OutcomeTimeout({ message: 'stop_motion: no outcome within 2000 ms', function: 'stop_motion', timeoutMs: 2_000 });
    listen(broker.fleet, 'device-connect.default.broadcast', (m) => {
      const ref = { correlationId: String(m.json['correlation_id']) };
      // The replies exactly as the driver encodes them (src/protocol/mesh-wire.ts, src/actors/stop-answer.ts).
      const stopped = withIgnored({ ok: true, result: { status: 'stopped', stop: 'confirmed' } }, ignored);
      const failed = withIgnored({ ok: false, error: timedOut }, ignored);
      const plain = withIgnored({ ok: true, result: { status: 'stopped', stop: 'confirmed' } }, []);
      for (const [device, answer] of [['s-1', stopped], ['s-2', failed], ['s-3', plain]] as const) {
        const wire = broadcastWire('default', device, () => 1_500);
        const reply = answer.ok ? wire.result(ref, 'stop_motion', answer.result) : wire.error(ref, answer.error, 'stop_motion');
        broker.fleet.publish(reply.subject!, reply.body);
      }
      // Entries not of the {param, problem, handling} shape are left out.
      broker.fleet.publish(
        `device-connect.default.s-4.event.async_reply.${ref.correlationId}`,
        pyJson({ correlation_id: ref.correlationId, device_id: 's-4', success: true, result: { ignored_params: [{ param: 'x' }, 'y', { ...ignored[0], handling: 'lost' }, ignored[0]] } }),
      );
    });
    await broker.fleet.flush();

    const outcome = await infraClient().broadcast('stop_motion', {}, ['s-1', 's-2', 's-3', 's-4'], { waitMs: 5_000 });

    const byDevice = new Map(outcome.replies.map((r) => [r.deviceId, r]));
    expect(byDevice.get('s-1')).toMatchObject({ success: true, ignoredParams: ignored, actuallyFiredAt: 1.5 });
    expect(byDevice.get('s-2')).toMatchObject({ success: false, error: { code: 'invoke_failed', message: timedOut.message }, ignoredParams: ignored });
    expect(byDevice.get('s-3')).toMatchObject({ success: true, ignoredParams: null });
    expect(byDevice.get('s-4')?.ignoredParams).toEqual(ignored);
  });
});
