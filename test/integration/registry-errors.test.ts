// A registry that answers but does not register (issue 10 item 2): a JSON-RPC error (-32603 while
// its etcd is down) on several attempts in a row is said once at warn — code, subject, what to do —
// and the recovery once at info when a registration id finally comes; a reply without a
// registration id is said once too, its body cut to an excerpt. Real nats-server, the harness's
// fake registry (or a hand-written one), a real driver in infra discovery, its log lines captured.
import type { NatsConnection } from '@nats-io/nats-core';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { LOG_EXCERPT_MAX_CHARS } from '../../src/logging/excerpt.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import { captureLogs, type LogCapture } from '../harness/log-capture.ts';
import { fakeRegistry, openClient } from '../harness/mesh-peer.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

/** Failed attempts before the registry recovers: enough to see repeats, short of the 4 s back-off step. */
const FAILED_ATTEMPTS = 3;
/** Three failures back off at most 1 + 2 + 4 s (full jitter), plus the requests themselves. */
const REGISTERED_WITHIN_MS = 15_000;

let server: NatsServerHandle;
let nc: NatsConnection;
let logs: LogCapture;
let driver: TestDriver | undefined;

beforeEach(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
  logs = captureLogs('info');
});
afterEach(async () => {
  await driver?.stop();
  driver = undefined;
  logs.restore();
  await nc.close();
  await server.stop();
});

async function startInfraDriver(id: string): Promise<TestDriver> {
  await nc.flush();
  driver = await startTestDriver(['--sim', '--no-media', '--discovery-mode', 'infra', '--device-id', id, '--messaging-url', server.url], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  return driver;
}

test('a registry answering -32603 on several attempts is said once, then its recovery once', async () => {
  const registry = fakeRegistry(nc);
  registry.failNext(FAILED_ATTEMPTS);
  await startInfraDriver('reg-error');
  await expect.poll(() => logs.matching('INFO', 'registered with the registry').length, { timeout: REGISTERED_WITHIN_MS }).toBe(1);
  expect(registry.requests.messages).toHaveLength(FAILED_ATTEMPTS + 1);
  const warned = logs.matching('WARN', 'driver:mesh');
  expect(warned).toHaveLength(1);
  expect(warned[0]).toContain('the registry on device-connect.default.registry answered error -32603 (registry busy)');
  expect(warned[0]).toContain("check the registry's log");
  expect(logs.matching('INFO', 'the registry answers; registered', `failed_attempts=${FAILED_ATTEMPTS}`)).toHaveLength(1);
});

test('a reply without a registration id is said once, cut to an excerpt', async () => {
  let left = FAILED_ATTEMPTS;
  nc.subscribe('device-connect.*.registry', {
    callback: (_e, msg) => {
      const id = (msg.json() as { id?: unknown }).id ?? null;
      const result = left-- > 0 ? { status: 'ok', blob: 'x'.repeat(100_000) } : { status: 'registered', device_registration_id: randomUUID() };
      msg.respond(JSON.stringify({ jsonrpc: '2.0', id, result }));
    },
  });
  await startInfraDriver('reg-garbage');
  await expect.poll(() => logs.matching('INFO', 'registered with the registry').length, { timeout: REGISTERED_WITHIN_MS }).toBe(1);
  const warned = logs.matching('WARN', 'driver:mesh');
  expect(warned).toHaveLength(1);
  expect(warned[0]).toContain('the registry on device-connect.default.registry answered without a registration id');
  expect(warned[0]?.length).toBeLessThan(LOG_EXCERPT_MAX_CHARS + 1_000);
  expect(logs.matching('INFO', 'the registry answers; registered')).toHaveLength(1);
});
