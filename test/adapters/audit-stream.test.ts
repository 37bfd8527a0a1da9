// The audit publisher (src/adapters/audit-stream.ts) against a real JetStream nats-server: records
// written while no broker was there (a driver that stopped before it could send them) go out in
// order when the file is reopened; a lost cursor re-sends nothing twice (the stream already holds
// them); two devices share DC_AUDIT, each read back on its own subject; a user denied the JetStream
// API, or a DC_AUDIT that does not capture the device's subject, falls back to core publish with one notice;
// a JetStream that does not answer means core until a later probe finds it answering again (at once
// after a reconnect), and the records sent on core NATS meanwhile (across a driver restart too) reach
// the stream first, in order, unless it captured them already (none twice); a stream that does not
// answer while the JetStream API does, or an API fallen silent after it answered, keeps the records waiting for the stream instead of sending them to core;
// a record in flight at a reconnect is sent again at once, and a settled send leaves no waiter behind;
// a record over the broker's max_payload gets one warning and a stand-in, and holds no later record back.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { openAuditLog, type AuditLog, type SafetyRecord } from '../../src/adapters/audit-log.ts';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/nats-core';
import { AUDIT_STREAM_MAX_REPLICAS, AUDIT_STREAM_NAME, AUDIT_STREAM_SUBJECTS, auditMsgId, auditStreamReplicas, readAuditStream, reconnectWatch, startAuditPublisher, subjectMatches, type AuditPublisher, type AuditPublisherOptions } from '../../src/adapters/audit-stream.ts';
import { createChainVerifier, type ChainedRecord } from '../../src/protocol/audit-chain.ts';
import { startNatsServer } from '../harness/nats-server.ts';
import { jetStreamConfig, startJetStreamBroker } from '../harness/jetstream-broker.ts';
import { openClient, recorder } from '../harness/mesh-peer.ts';
import { captureLogs } from '../harness/log-capture.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const entry = (i: number): SafetyRecord => ({ kind: 'refused', reason: `r${i}`, function: 'goto_pose', owner: 'agent', state: {}, ts: '2026-01-01T00:00:00Z' });

/** A JetStream nats-server of this test's own and a client of it, both stopped after the test. */
async function jetStreamBroker() {
  const server = await startJetStreamBroker((c) => cleanups.push(c));
  const nc = await openClient(server.url);
  cleanups.push(() => nc.close());
  return { server, nc };
}

/** A nats-server without JetStream of this test's own and a client of it, both stopped after the test; logs captured meanwhile. */
async function brokerWithoutJetStream() {
  const logs = captureLogs('info');
  cleanups.push(() => logs.restore());
  const server = await startNatsServer();
  cleanups.push(() => server.stop());
  const nc = await openClient(server.url);
  cleanups.push(() => nc.close());
  return { logs, server, nc };
}

/**
 * A publisher of `robot`'s records on `nc` (stopped after the test) that a broker keeps on core NATS,
 * with a recorder of its subject: `count` records appended, all delivered, delivery `core`.
 */
async function deliveredOnCore(nc: NatsConnection, robot: string, count: number) {
  const subject = `device-connect.lab.${robot}.audit`;
  const seen = recorder(nc, subject);
  await nc.flush();
  const log = openAuditLog(undefined);
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => robot });
  cleanups.push(() => publisher.stop());
  for (let i = 1; i <= count; i += 1) log.append(entry(i));
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('core');
  return { seen, log, publisher };
}

test('the unsent tail of a reopened file is published in order; a lost cursor re-sends nothing twice; devices share the stream', async () => {
  const { nc } = await jetStreamBroker();
  const path = join(mkdtempSync(join(tmpdir(), 'rmd-audit-out-')), 'audit.jsonl');
  const subject = 'device-connect.lab.robot-a.audit';
  const publish = (log: ReturnType<typeof openAuditLog>, deviceId = 'robot-a', on = subject) => startAuditPublisher({ log, connection: () => nc, subject: () => on, deviceId: () => deviceId });

  // A driver that never reached the broker: 30 records in the file, none acknowledged.
  const offline = openAuditLog(path);
  const silent = startAuditPublisher({ log: offline, connection: () => undefined, subject: () => subject, deviceId: () => 'robot-a' });
  for (let i = 1; i <= 30; i += 1) offline.append(entry(i));
  expect(await silent.drained(300)).toBe(false);
  expect(silent.delivery).toBe('waiting');
  await silent.stop();
  offline.close();

  const reopened = openAuditLog(path);
  expect(reopened.unsent(100)).toHaveLength(30);
  const publisher = publish(reopened);
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('jetstream');
  reopened.append(entry(31));
  expect(await publisher.drained(10_000)).toBe(true);
  await publisher.stop();
  reopened.close();
  const seqs = async (on = subject) => (await readAuditStream(nc, on)).lines.map((l) => (JSON.parse(l) as { seq: number }).seq);
  expect(await seqs()).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));

  // The cursor is lost (a crash before it was written): everything is unsent again, nothing lands twice.
  rmSync(`${path}.cursor`);
  const again = openAuditLog(path);
  expect(again.ackedSeq).toBe(0);
  const republisher = publish(again);
  expect(await republisher.drained(10_000)).toBe(true);
  await republisher.stop();
  again.close();
  expect(await seqs()).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));

  // Another device on the same stream: its own subject, its own chain.
  const other = openAuditLog(undefined);
  const otherSubject = 'device-connect.lab.robot-b.audit';
  const otherPublisher = publish(other, 'robot-b', otherSubject);
  for (let i = 1; i <= 3; i += 1) other.append(entry(i));
  expect(await otherPublisher.drained(10_000)).toBe(true);
  await otherPublisher.stop();
  expect(await seqs(otherSubject)).toEqual([1, 2, 3]);
  expect(await seqs()).toHaveLength(31);
  // A single server: the stream the driver created has one copy (more would be refused here).
  expect((await (await jetstreamManager(nc)).streams.info(AUDIT_STREAM_NAME)).config.num_replicas).toBe(1);
}, 30_000);

test('replicas of a stream the driver creates: 1 on a single server, one per advertised cluster node up to 3', () => {
  const urls = (n: number) => Array.from({ length: n }, (_, i) => `127.0.0.1:${4222 + i}`);
  expect(auditStreamReplicas(undefined)).toBe(1);
  expect(auditStreamReplicas({ connect_urls: urls(1) })).toBe(1);
  expect(auditStreamReplicas({ cluster: 'c', connect_urls: urls(1) })).toBe(1);
  expect(auditStreamReplicas({ cluster: 'c', connect_urls: urls(2) })).toBe(2);
  expect(auditStreamReplicas({ cluster: 'c', connect_urls: urls(3) })).toBe(3);
  expect(auditStreamReplicas({ cluster: 'c', connect_urls: urls(5) })).toBe(AUDIT_STREAM_MAX_REPLICAS);
  // The same URL twice counts once; a cluster advertising no URLs (no_advertise) gets 1.
  expect(auditStreamReplicas({ cluster: 'c', connect_urls: [...urls(2), urls(2)[0]!] })).toBe(2);
  expect(auditStreamReplicas({ cluster: 'c' })).toBe(1);
});

test('a user not allowed the JetStream API gets one notice and core publish (records still delivered, in order)', async () => {
  const logs = captureLogs('info');
  cleanups.push(() => logs.restore());
  const server = await startJetStreamBroker((c) => cleanups.push(c), { extraConfig: 'authorization { users = [ { user: robot, password: robot-pw, permissions: { publish: { deny: ["$JS.API.>"] } } } ] }' });
  const nc = await openClient(server.url, { user: 'robot', pass: 'robot-pw' });
  cleanups.push(() => nc.close());
  const { seen, log, publisher } = await deliveredOnCore(nc, 'robot-c', 5);
  log.append(entry(6));
  expect(await publisher.drained(10_000)).toBe(true);
  await expect.poll(() => seen.messages.length).toBe(6);
  expect(seen.messages.map((m) => (m.body as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(logs.matching('WARN', 'audit records go to core NATS')).toHaveLength(1);
}, 20_000);

/**
 * Restarts `server` on its port with JetStream, then appends records until the publisher sends to
 * the stream (it re-probes every jsReprobeMs) and checks the stream holds the newest.
 */
async function backWithJetStream(server: Awaited<ReturnType<typeof startNatsServer>>, nc: NatsConnection, log: AuditLog, publisher: AuditPublisher, subject: string): Promise<void> {
  await server.restart({ whileDown: () => appendFileSync(server.configFile, `\n${jetStreamConfig()}\n`) });
  await expect.poll(async () => {
    log.append(entry(log.lastSeq + 1));
    await publisher.drained(5_000);
    return publisher.delivery;
  }, { timeout: 20_000, interval: 600 }).toBe('jetstream');
  const { lines } = await readAuditStream(nc, subject);
  expect((JSON.parse(lines.at(-1)!) as { seq: number }).seq).toBe(log.lastSeq);
}

/**
 * The publisher's wait for a JetStream answer in the tests of a silent API (AUDIT_PUBLISH_TIMEOUT_MS,
 * 2 s, in production): the silences they wait for come sooner; a local broker answers in ms.
 */
const SILENT_API_TIMEOUT_MS = 500;

test('a JetStream that does not answer (a cluster electing leaders) means core for now, and the stream again once it answers', async () => {
  // No JetStream on the broker, and a peer that takes the JetStream API's requests without answering
  // them: the probes time out, as they do while a cluster has no JetStream leader.
  const { logs, server, nc } = await brokerWithoutJetStream();
  const mute = await openClient(server.url);
  mute.subscribe('$JS.API.>', { callback: () => undefined });
  await mute.flush();
  const subject = 'device-connect.lab.robot-e.audit';
  const log = openAuditLog(undefined);
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => 'robot-e', jsReprobeMs: 500, jsTimeoutMs: SILENT_API_TIMEOUT_MS });
  cleanups.push(() => publisher.stop());
  log.append(entry(1));
  expect(await publisher.drained(15_000)).toBe(true);
  expect(publisher.delivery).toBe('core');
  expect(logs.matching('WARN', 'audit records go to core NATS', 'did not answer')).toHaveLength(1);

  // JetStream comes up (the same port, the client reconnects): the next records go to the stream.
  await mute.close();
  await backWithJetStream(server, nc, log, publisher, subject);
  expect(logs.matching('INFO', 'audit records go to the JetStream stream again')).toHaveLength(1);
}, 45_000);

/**
 * A broker without JetStream and a publisher of `robot`'s records on it, its first record already
 * delivered on core NATS (the state the tests of the stream's return start from).
 */
async function onCoreWithoutJetStream(robot: string, retries: Pick<AuditPublisherOptions, 'jsReprobeFirstMs' | 'jsReprobeMs'>) {
  const { logs, server, nc } = await brokerWithoutJetStream();
  const subject = `device-connect.lab.${robot}.audit`;
  const log = openAuditLog(undefined);
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => robot, ...retries });
  cleanups.push(() => publisher.stop());
  log.append(entry(1));
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('core');
  return { logs, server, nc, subject, log, publisher };
}

test('a broker without JetStream (refused: not enabled) means core for now, and the stream once it is restarted with JetStream', async () => {
  const { logs, server, nc, subject, log, publisher } = await onCoreWithoutJetStream('robot-f', { jsReprobeMs: 500 });
  expect(logs.matching('WARN', 'audit records go to core NATS', 'not available')).toHaveLength(1);
  // The same broker comes back with JetStream (the client reconnects; nats.js keeps the connection object).
  // Before 2026-12-06 the refusal was final for the connection: core for good, DC_AUDIT never made.
  await backWithJetStream(server, nc, log, publisher, subject);
  expect(logs.matching('WARN', 'audit records go to core NATS')).toHaveLength(1);
}, 45_000);

test('on core, a reconnect to a broker that now has JetStream brings the stream back at once, not at the next scheduled try', async () => {
  // The scheduled tries are a minute apart: only the reconnect can bring the stream back within the test.
  const { logs, server, nc, subject, log, publisher } = await onCoreWithoutJetStream('robot-g', { jsReprobeFirstMs: 60_000, jsReprobeMs: 60_000 });
  await server.restart({ whileDown: () => appendFileSync(server.configFile, `\n${jetStreamConfig()}\n`) });
  // No record waits: the stream is tried right after the reconnect, and said once.
  await expect.poll(() => publisher.delivery, { timeout: 10_000, interval: 100 }).toBe('jetstream');
  expect(logs.matching('INFO', 'audit records go to the JetStream stream again')).toHaveLength(1);
  log.append(entry(2));
  expect(await publisher.drained(10_000)).toBe(true);
  // Record 1, sent on core NATS before, reached the stream first (before 2026-12-06 the stream held [2] only).
  const { lines } = await readAuditStream(nc, subject);
  expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2]);
}, 30_000);

/** The stream's chain report and seqs for `subject`. */
async function streamChain(nc: NatsConnection, subject: string) {
  const { lines } = await readAuditStream(nc, subject);
  const verifier = createChainVerifier();
  for (const line of lines) verifier.push(line);
  return { seqs: lines.map((l) => (JSON.parse(l) as { seq: number }).seq), report: verifier.report(), records: lines.map((l) => JSON.parse(l) as ChainedRecord) };
}

test('records sent on core NATS before JetStream came up (a driver restarted meanwhile) reach the stream first, in order, with their Msg-Id: the chain 1..N unbroken', async () => {
  const { logs, server, nc } = await brokerWithoutJetStream();
  const subject = 'device-connect.lab.robot-late.audit';
  const path = join(mkdtempSync(join(tmpdir(), 'rmd-audit-late-')), 'audit.jsonl');
  // The mesh's connection as the publisher sees it (the test takes it away while the broker restarts).
  let connected = true;
  const publish = (log: AuditLog) => startAuditPublisher({ log, connection: () => (connected ? nc : undefined), subject: () => subject, deviceId: () => 'robot-late', jsReprobeFirstMs: 60_000, jsReprobeMs: 60_000 });

  // A broker without JetStream: five records go to core NATS; the driver stops and starts again, three more.
  const before = openAuditLog(path);
  const first = publish(before);
  for (let i = 1; i <= 5; i += 1) before.append(entry(i));
  expect(await first.drained(10_000)).toBe(true);
  expect(first.delivery).toBe('core');
  await first.stop();
  before.close();
  const log = openAuditLog(path);
  cleanups.push(() => log.close());
  expect(log.unsent(100)).toEqual([]);
  const publisher = publish(log);
  cleanups.push(() => publisher.stop());
  for (let i = 6; i <= 8; i += 1) log.append(entry(i));
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('core');

  // No connection for the publisher: 9 and 10 wait. The broker restarts on its port with JetStream.
  connected = false;
  log.append(entry(9));
  log.append(entry(10));
  expect(publisher.delivery).toBe('waiting');
  await server.restart({ whileDown: () => appendFileSync(server.configFile, `\n${jetStreamConfig()}\n`) });
  await expect.poll(() => reconnectWatch(nc).reconnects, { timeout: 10_000, interval: 50 }).toBe(1);
  // The connection back with records waiting: the stream is tried (a reconnect), and gets 1..8 before 9 and 10.
  connected = true;
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('jetstream');
  const stream = await streamChain(nc, subject);
  // Before 2026-12-06: [9, 10], a chain whose first record's prev is the hash of a record the stream never got.
  expect(stream.seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  expect(stream.report).toMatchObject({ problem: null, restarts: [] });
  const file = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as ChainedRecord);
  expect(stream.records).toEqual(file);
  // Each re-sent record carries the Msg-Id the stream de-duplicates on.
  const firstStored = await (await jetstreamManager(nc)).streams.getMessage(AUDIT_STREAM_NAME, { seq: 1 });
  expect(firstStored?.header?.get('Nats-Msg-Id')).toBe(auditMsgId('robot-late', file[0]!));
  expect(logs.matching('INFO', 'audit records sent on core NATS only go to the stream now')).toHaveLength(1);
}, 40_000);

/** The stream's duplicate window in the next test: past it, only the publisher's own check keeps a record from landing twice. */
const SHORT_DUPLICATE_WINDOW_MS = 200;

test('a stream that already captured the records published on core NATS (its API refused meanwhile) gets none of them twice', async () => {
  const denied = 'permissions: { publish: { deny: ["$JS.API.>"] } }';
  const server = await startJetStreamBroker((c) => cleanups.push(c), { extraConfig: `authorization { users = [ { user: robot, password: robot-pw, ${denied} }, { user: admin, password: admin-pw } ] }` });
  const admin = await openClient(server.url, { user: 'admin', pass: 'admin-pw' });
  cleanups.push(() => admin.close());
  // The operator made DC_AUDIT (with a short duplicate window); the driver's user may not use the JetStream API yet.
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: AUDIT_STREAM_NAME, subjects: [...AUDIT_STREAM_SUBJECTS], duplicate_window: SHORT_DUPLICATE_WINDOW_MS * 1_000_000 });
  const nc = await openClient(server.url, { user: 'robot', pass: 'robot-pw' });
  cleanups.push(() => nc.close());
  const subject = 'device-connect.lab.robot-dup.audit';
  const path = join(mkdtempSync(join(tmpdir(), 'rmd-audit-dup-')), 'audit.jsonl');
  const log = openAuditLog(path);
  cleanups.push(() => log.close());
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => 'robot-dup', jsReprobeFirstMs: 200, jsReprobeMs: 200 });
  cleanups.push(() => publisher.stop());
  for (let i = 1; i <= 5; i += 1) log.append(entry(i));
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('core');
  // The stream captured the core publishes (a publish on the subject is one), each with its Msg-Id.
  await expect.poll(async () => (await streamChain(admin, subject)).seqs).toEqual([1, 2, 3, 4, 5]);
  await new Promise((resolve) => setTimeout(resolve, 2 * SHORT_DUPLICATE_WINDOW_MS));

  // The operator allows the API: the publisher turns to the stream, finds its records there, sends none again.
  writeFileSync(server.configFile, readFileSync(server.configFile, 'utf8').replace(denied, ''));
  process.kill(server.pid!, 'SIGHUP');
  await expect.poll(() => publisher.delivery, { timeout: 10_000, interval: 100 }).toBe('jetstream');
  log.append(entry(6));
  expect(await publisher.drained(10_000)).toBe(true);
  const stream = await streamChain(admin, subject);
  expect(stream.seqs).toEqual([1, 2, 3, 4, 5, 6]);
  expect(stream.report).toMatchObject({ problem: null, restarts: [] });
}, 30_000);

/** Requests the test's JetStream stand-in has taken without answering, by API subject. */
function muteStreamApi(nc: NatsConnection): string[] {
  const heard: string[] = [];
  nc.subscribe('$JS.API.STREAM.>', { callback: (_e, msg) => void heard.push(msg.subject) });
  return heard;
}

test('the JetStream API answers but the stream does not (created, electing its leader): the records wait for it, none go to core, then all reach DC_AUDIT', async () => {
  // A broker whose JetStream account answers `$JS.API.INFO` while every stream request goes unanswered,
  // as a loaded cluster does while the stream another driver just created has no leader yet.
  const { logs, server, nc } = await brokerWithoutJetStream();
  const standIn = await openClient(server.url, { maxReconnectAttempts: 0 });
  cleanups.push(() => standIn.close());
  standIn.subscribe('$JS.API.INFO', { callback: (_e, msg) => void msg.respond(JSON.stringify({ type: 'io.nats.jetstream.api.v1.account_info_response', memory: 0, storage: 0, streams: 0, consumers: 0 })) });
  const unanswered = muteStreamApi(standIn);
  await standIn.flush();
  const subject = 'device-connect.lab.robot-h.audit';
  const onCore = recorder(nc, subject);
  await nc.flush();
  const log = openAuditLog(undefined);
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => 'robot-h', jsTimeoutMs: SILENT_API_TIMEOUT_MS });
  cleanups.push(() => publisher.stop());
  for (let i = 1; i <= 3; i += 1) log.append(entry(i));
  // Three stream requests timed out (SILENT_API_TIMEOUT_MS each; 2 s in production), and still asked again; before 2026-12-06 the second
  // timeout sent the records to core NATS (and the stream was asked no more for 30 s).
  await expect.poll(() => ({ streamAskedThrice: unanswered.length >= 3, recordsOnCore: onCore.messages.length }), { timeout: 15_000, interval: 100 }).toEqual({ streamAskedThrice: true, recordsOnCore: 0 });
  expect(unanswered.every((s) => s === `$JS.API.STREAM.INFO.${AUDIT_STREAM_NAME}`)).toBe(true);
  expect(publisher.delivery).not.toBe('core');
  expect(log.ackedSeq).toBe(0);
  expect(logs.matching('WARN', 'audit records go to core NATS')).toEqual([]);

  // The stream answers (here: the broker back with JetStream): every record is in DC_AUDIT, in order.
  await standIn.close();
  await server.restart({ whileDown: () => appendFileSync(server.configFile, `\n${jetStreamConfig()}\n`) });
  expect(await publisher.drained(15_000)).toBe(true);
  expect(publisher.delivery).toBe('jetstream');
  const { lines } = await readAuditStream(nc, subject);
  expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2, 3]);
}, 45_000);

/**
 * The test's JetStream for DC_AUDIT on a broker without its own: it answers the API (account info,
 * the stream's info, "no message" to the stored-tail read) and acknowledges each publish on `subject`,
 * keeping the seqs it stored. `electing()`: the next publish is answered "JetStream system temporarily
 * unavailable" (10008), then no API request at all, as while a cluster elects the meta leader it lost
 * with a node; `elected()` ends that. A record published without a reply subject came by core NATS.
 */
function jetStreamStandIn(nc: NatsConnection, subject: string) {
  let electing = false;
  let refuseNext = false;
  const stored: number[] = [];
  const onCore: number[] = [];
  const unanswered: string[] = [];
  const answer = (msg: Msg, body: unknown) => void (electing ? unanswered.push(msg.subject) : msg.respond(JSON.stringify(body)));
  nc.subscribe('$JS.API.INFO', { callback: (_e, msg) => answer(msg, { type: 'io.nats.jetstream.api.v1.account_info_response', memory: 0, storage: 0, streams: 1, consumers: 0 }) });
  nc.subscribe(`$JS.API.STREAM.INFO.${AUDIT_STREAM_NAME}`, { callback: (_e, msg) => answer(msg, { type: 'io.nats.jetstream.api.v1.stream_info_response', config: { name: AUDIT_STREAM_NAME, subjects: [...AUDIT_STREAM_SUBJECTS], max_msg_size: -1 }, state: { messages: stored.length } }) });
  nc.subscribe(`$JS.API.STREAM.MSG.GET.${AUDIT_STREAM_NAME}`, { callback: (_e, msg) => answer(msg, { error: { code: 404, err_code: 10037, description: 'no message found' } }) });
  nc.subscribe(subject, {
    callback: (_e, msg) => {
      const seq = (msg.json() as { seq: number }).seq;
      if (!msg.reply) return void onCore.push(seq);
      if (refuseNext) return void ((refuseNext = false), msg.respond(JSON.stringify({ error: { code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' } })));
      if (electing) return void unanswered.push(msg.subject);
      stored.push(seq);
      msg.respond(JSON.stringify({ stream: AUDIT_STREAM_NAME, seq: stored.length }));
    },
  });
  return { stored, onCore, unanswered, electing: () => void ((electing = true), (refuseNext = true)), elected: () => void (electing = false) };
}

test('the JetStream API falls silent after it has answered (a meta leader lost with its node): the records wait for the stream, none go to core', async () => {
  const { logs, server, nc } = await brokerWithoutJetStream();
  const subject = 'device-connect.lab.robot-i.audit';
  const standInNc = await openClient(server.url);
  cleanups.push(() => standInNc.close());
  const js = jetStreamStandIn(standInNc, subject);
  await standInNc.flush();
  const log = openAuditLog(undefined);
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => 'robot-i', jsTimeoutMs: SILENT_API_TIMEOUT_MS });
  cleanups.push(() => publisher.stop());
  log.append(entry(1));
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('jetstream');

  js.electing();
  log.append(entry(2));
  log.append(entry(3));
  // The publish refused (10008), then `$JS.API.INFO` unanswered three times (SILENT_API_TIMEOUT_MS each) and still asked;
  // before 2026-12-06 the second silence sent the records to core NATS, out of the stream's reach.
  await expect.poll(() => ({ apiAskedThrice: js.unanswered.filter((s) => s === '$JS.API.INFO').length >= 3, recordsOnCore: js.onCore }), { timeout: 15_000, interval: 100 }).toEqual({ apiAskedThrice: true, recordsOnCore: [] });
  expect(publisher.delivery).not.toBe('core');
  expect(logs.matching('WARN', 'audit records go to core NATS')).toEqual([]);

  js.elected();
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('jetstream');
  expect(js.stored).toEqual([1, 2, 3]);
  expect(js.onCore).toEqual([]);
}, 30_000);

test('a DC_AUDIT made by someone else that does not capture the device subject: one notice naming it, core publish', async () => {
  expect(subjectMatches('device-connect.*.*.audit', 'device-connect.lab.robot-d.audit')).toBe(true);
  expect(subjectMatches('device-connect.>', 'device-connect.lab.robot-d.audit')).toBe(true);
  expect(subjectMatches('device-connect.lab.*.audit', 'device-connect.other.robot-d.audit')).toBe(false);
  expect(subjectMatches('device-connect.*.audit', 'device-connect.lab.robot-d.audit')).toBe(false);
  const logs = captureLogs('info');
  cleanups.push(() => logs.restore());
  const { nc } = await jetStreamBroker();
  await (await jetstreamManager(nc)).streams.add({ name: AUDIT_STREAM_NAME, subjects: ['elsewhere.>'] });
  const { seen } = await deliveredOnCore(nc, 'robot-d', 3);
  await expect.poll(() => seen.messages.length).toBe(3);
  expect(logs.matching('WARN', 'audit records go to core NATS', 'captures elsewhere.>, not device-connect.lab.robot-d.audit')).toHaveLength(1);
}, 20_000);

test('the reconnect watch: a send in flight at a reconnect fails at once; settled sends leave nothing waiting', async () => {
  const { server, nc } = await jetStreamBroker();
  const path = join(mkdtempSync(join(tmpdir(), 'rmd-audit-out-')), 'audit.jsonl');
  const log = openAuditLog(path);
  cleanups.push(() => log.close());
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => 'device-connect.lab.robot-w.audit', deviceId: () => 'robot-w' });
  cleanups.push(() => publisher.stop());
  for (let i = 1; i <= 40; i += 1) {
    log.append(entry(i));
    if (i % 10 === 0) expect(await publisher.drained(10_000)).toBe(true);
  }
  expect(publisher.delivery).toBe('jetstream');
  // 40 records and their rounds raced the reconnect watch: none is still registered on it.
  const watch = reconnectWatch(nc);
  expect(watch.waiting()).toBe(0);

  const never = new Promise<never>(() => undefined);
  const inFlight = watch.race(never);
  const answered = watch.race(Promise.resolve('acked'));
  expect(await answered).toBe('acked');
  expect(watch.waiting()).toBe(1);
  await server.restart();
  await expect(inFlight).rejects.toThrow(/reconnected/);
  expect(watch.waiting()).toBe(0);
  log.append(entry(41));
  expect(await publisher.drained(10_000)).toBe(true);
}, 30_000);

/** A broker configured this small (nats default 1 MiB) cannot take a 6 KiB record. */
const SMALL_MAX_PAYLOAD = 4_096;

test('a record over the broker max_payload: one PayloadTooLarge warning, a stand-in on the broker, later records not held back (JetStream, then core)', async () => {
  const logs = captureLogs('info');
  cleanups.push(() => logs.restore());
  const server = await startJetStreamBroker((c) => cleanups.push(c), { maxPayload: SMALL_MAX_PAYLOAD });
  const nc = await openClient(server.url);
  cleanups.push(() => nc.close());
  expect(nc.info?.max_payload).toBe(SMALL_MAX_PAYLOAD);
  const big = (i: number): SafetyRecord => ({ ...entry(i), kind: 'accepted', params: { notes: ['a', 'b', 'c'].map((c) => c.repeat(2_000)) } });
  const warnings = () => logs.matching('WARN', "audit record over the broker's max_payload", 'PayloadTooLarge', 'raise max_payload');

  const subject = 'device-connect.lab.robot-big.audit';
  const log = openAuditLog(undefined);
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => 'robot-big' });
  cleanups.push(() => publisher.stop());
  log.append(entry(1));
  const tooBig = log.append(big(2));
  log.append(entry(3));
  expect(await publisher.drained(10_000)).toBe(true);
  expect(publisher.delivery).toBe('jetstream');
  log.append(big(4));
  log.append(entry(5));
  expect(await publisher.drained(10_000)).toBe(true);
  const { lines } = await readAuditStream(nc, subject);
  const stored = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(stored.map((r) => r['seq'])).toEqual([1, 2, 3, 4, 5]);
  expect(stored[1]).toEqual({ seq: 2, prev: tooBig.prev, hash: tooBig.hash, withheld: { reason: 'over_max_payload', bytes: expect.any(Number), limit: SMALL_MAX_PAYLOAD } });
  expect(stored[2]).toMatchObject({ seq: 3, reason: 'r3' });
  // The stream's chain holds with the stand-ins named; a file holding a stand-in would not.
  const stream = createChainVerifier({ allowWithheld: true });
  const file = createChainVerifier();
  for (const line of lines) (stream.push(line), file.push(line));
  expect(stream.report()).toMatchObject({ records: 5, problem: null, withheld: [2, 4] });
  expect(file.report().problem).toMatchObject({ kind: 'edited', seq: 2 });
  // Two oversized records, one warning (rate-limited).
  expect(warnings()).toHaveLength(1);

  const coreSubject = 'device-connect.lab.robot-core.audit';
  const seen = recorder(nc, coreSubject);
  await nc.flush();
  const coreLog = openAuditLog(undefined);
  const core = startAuditPublisher({ log: coreLog, connection: () => nc, subject: () => coreSubject, deviceId: () => 'robot-core', stream: null });
  cleanups.push(() => core.stop());
  coreLog.append(entry(1));
  coreLog.append(big(2));
  coreLog.append(entry(3));
  expect(await core.drained(10_000)).toBe(true);
  expect(core.delivery).toBe('core');
  await expect.poll(() => seen.messages.length).toBe(3);
  expect(seen.messages.map((m) => m.body)).toMatchObject([{ seq: 1, reason: 'r1' }, { seq: 2, withheld: { reason: 'over_max_payload' } }, { seq: 3, reason: 'r3' }]);
  expect(warnings()).toHaveLength(2);
}, 30_000);
