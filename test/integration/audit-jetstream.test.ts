// Issue 13 §1, against real nats-server processes: the audit trail is durable and tamper-evident.
// A driver (--sim --no-media) on a JetStream broker creates DC_AUDIT and publishes every record with
// its chain; 1,000 refusals go through the real gate (over NATS, and in-process while the broker is
// SIGKILLed and restarted on the same port), and afterwards the stream holds every record once, in
// order, with a valid chain, equal to the file (`audit verify --stream` exit 0). Editing or deleting
// a line of the file makes `audit verify` exit 1 naming the first bad seq, and a file rewritten with a
// recomputed chain is caught against the stream; `audit tail [--follow]`
// prints the records; a record over the broker's max_payload is reported withheld by `audit verify
// --stream`; a broker without JetStream gets one fallback notice and core publish works; JetStream
// enabled for the driver's account while it runs (no reconnect) takes the trail back within seconds.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { openAuditLog } from '../../src/adapters/audit-log.ts';
import { AUDIT_JS_REPROBE_MS, AUDIT_STREAM_NAME, readAuditStream, startAuditPublisher } from '../../src/adapters/audit-stream.ts';
import { chainRecord, createChainVerifier, recordLine, type ChainedRecord } from '../../src/protocol/audit-chain.ts';
import { startNatsServer, type NatsServerHandle, type StartNatsServerOptions } from '../harness/nats-server.ts';
import { CLI_PATH, startCli } from '../harness/cli-process.ts';
import { startJetStreamBroker } from '../harness/jetstream-broker.ts';
import { openClient, recorder, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, type TestDriver } from '../harness/driver-harness.ts';
import { captureLogs } from '../harness/log-capture.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Refusals in flight at once over NATS (the gate answers each in well under a millisecond). */
const CONCURRENCY = 25;

const jetStreamBroker = (options: StartNatsServerOptions = {}) => startJetStreamBroker((c) => cleanups.push(c), options);

async function driverOn(server: NatsServerHandle, id: string, auditPath: string): Promise<TestDriver> {
  const driver = await startTestDriver(['--sim', '--no-media', '--sim-time-scale', '0.05', '--device-id', id, '--messaging-url', server.url, '--discovery-mode', 'd2d', '--rate-limit', 'none', '--audit-log', auditPath], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  cleanups.push(() => driver.stop());
  return driver;
}

async function client(url: string): Promise<NatsConnection> {
  const nc = await openClient(url);
  cleanups.push(() => nc.close());
  return nc;
}

/**
 * Waits until the device answers on `.cmd` (the mesh connects after startDriver returns) with its
 * daemon link connected (the link starts after the mesh; until then motion is DaemonUnavailable).
 */
async function answering(nc: NatsConnection, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const reply = (await rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: 'ready', method: 'get_status', params: {} }, 1_000)) as { result?: { driver_state?: { connection_state?: string } } };
      if (reply.result?.driver_state?.connection_state === 'connected') return;
      throw new Error(`daemon link ${reply.result?.driver_state?.connection_state ?? 'unknown'}`);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** `reachy-mini-driver audit …` as a user runs it (a client: no credentials demanded): exit code and output. */
const cli = (args: string[], env: Record<string, string> = {}) => startCli(['audit', ...args], env).done;

/** `n` look_at_world calls over NATS, CONCURRENCY at a time; returns the error tags. */
async function refuseOverNats(nc: NatsConnection, id: string, n: number): Promise<string[]> {
  const tags: string[] = [];
  for (let i = 0; i < n; i += CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, n - i) }, (_, k) => rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: `r${i + k}`, method: 'look_at_world', params: { yaw: 1, owner: 'agent' } }));
    for (const reply of await Promise.all(batch)) tags.push((reply as { error?: { data?: { _tag?: string } } }).error?.data?._tag ?? 'accepted');
  }
  return tags;
}

function fileRecords(path: string): Array<Record<string, any>> {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

test('1,000 refusals with the broker SIGKILLed and restarted: every record in DC_AUDIT once, in order, chain valid and equal to the file; edits and deletions are named', async () => {
  const server = await jetStreamBroker();
  const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-js-'));
  const auditPath = join(dir, 'audit.jsonl');
  const id = 'audit-js';
  const driver = await driverOn(server, id, auditPath);
  const nc = await client(server.url);
  await answering(nc, id);
  expect((await rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: 't', method: 'emergency_stop', params: { reason: 'audit test', owner: 'ops' } })).result).toMatchObject({ status: 'tripped' });

  const before = await refuseOverNats(nc, id, 400);
  expect(new Set(before)).toEqual(new Set(['InterlockTripped']));
  // The broker dies mid-way; refusals keep coming through the same gate in-process (the records wait in the file).
  await server.restart({
    signal: 'SIGKILL',
    whileDown: async () => {
      for (let i = 0; i < 200; i += 1) {
        const r = await driver.gate.call('look_at_world', { yaw: 1, owner: 'agent' }, { sourceDevice: null, traceId: null });
        expect(r.ok).toBe(false);
      }
      // Nothing acknowledged while the broker is down: the 200 wait in the file.
      expect(driver.audit.lastSeq - driver.audit.ackedSeq).toBeGreaterThanOrEqual(200);
    },
  });
  await answering(nc, id);
  const after = await refuseOverNats(nc, id, 400);
  expect(new Set(after)).toEqual(new Set(['InterlockTripped']));

  expect(await driver.auditPublisher.drained(20_000)).toBe(true);
  expect(driver.auditPublisher.delivery).toBe('jetstream');
  const file = fileRecords(auditPath);
  expect(file.filter((r) => r.kind === 'refused')).toHaveLength(1_000);
  const stream = await readAuditStream(nc, `device-connect.default.${id}.audit`);
  expect(stream.expected).toBe(file.length);
  const streamed = stream.lines.map((l) => JSON.parse(l) as Record<string, any>);
  expect(streamed.map((r) => r.seq)).toEqual(file.map((_, i) => i + 1));
  expect(streamed.map((r) => r.hash)).toEqual(file.map((r) => r.hash));
  const verifier = createChainVerifier();
  for (const line of stream.lines) verifier.push(line);
  expect(verifier.report().problem).toBeNull();

  const env = { MESSAGING_URLS: server.url, DEVICE_ID: id };
  const verified = await cli(['verify', '--stream', '--audit-log', auditPath], env);
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  expect(verified.stdout).toContain(`stream ${AUDIT_STREAM_NAME} device-connect.default.${id}.audit: ${file.length} records, seq 1–${file.length}, chain valid`);
  // Another device's subject is empty while the cursor file says the stream acknowledged every record: as
  // for a purge of the subject, exit 1 naming them (before 2026-12-06: "not in the stream yet", exit 0),
  // with the hint to name the driver's id.
  const other = await cli(['verify', '--stream', '--audit-log', auditPath], { MESSAGING_URLS: server.url, DEVICE_ID: 'someone-else' });
  expect(other.code, other.stdout + other.stderr).toBe(1);
  expect(other.stdout).toContain(`holds none of them: seq 1–${file.length} were deleted from it`);
  expect(other.stdout).toContain('pass its --device-id');

  // Tampering with a copy of the file: an edited reason, then a deleted line.
  const lines = readFileSync(auditPath, 'utf8').trim().split('\n');
  const edited = join(dir, 'edited.jsonl');
  writeFileSync(edited, lines.map((l, i) => (i === 99 ? l.replace('"reason":"', '"reason":"nothing happened ') : l)).join('\n') + '\n');
  const deleted = join(dir, 'deleted.jsonl');
  writeFileSync(deleted, lines.filter((_, i) => i !== 299).join('\n') + '\n');
  // A whole rewrite from seq 100 on, every hash recomputed: the file alone looks valid; the stream is the witness.
  const rewritten = join(dir, 'rewritten.jsonl');
  const forged: ChainedRecord[] = [];
  for (const [i, line] of lines.entries()) {
    const r = JSON.parse(line) as ChainedRecord;
    forged.push(i < 99 ? r : chainRecord(i === 99 ? { ...r, reason: 'nothing happened' } : r, r.seq, forged[i - 1]!.hash));
  }
  writeFileSync(rewritten, forged.map(recordLine).join('\n') + '\n');
  // (The checks run at once: each is a separate process.)
  const [editReport, deleteReport, rewriteAlone, against] = await Promise.all([
    cli(['verify', '--audit-log', edited]),
    cli(['verify', '--audit-log', deleted]),
    cli(['verify', '--audit-log', rewritten]),
    cli(['verify', '--stream', '--audit-log', rewritten], env),
  ]);
  expect(rewriteAlone.code).toBe(0);
  expect(against.stdout).toContain('file and stream differ at seq 100');
  expect(editReport.code).toBe(1);
  expect(editReport.stdout).toContain('BROKEN at seq 100 (edited');
  expect(deleteReport.code).toBe(1);
  expect(deleteReport.stdout).toContain('BROKEN at seq 300 (gap');
  expect(against.code).toBe(1);
}, 60_000);

/** A broker configured this small (nats default 1 MiB) cannot take a 6 KiB record: its stream copy is a stand-in. */
const SMALL_MAX_PAYLOAD = 4_096;

test('audit verify --stream: a record over the broker max_payload is named as withheld (in the file only), and both chains are valid', async () => {
  const server = await jetStreamBroker({ maxPayload: SMALL_MAX_PAYLOAD });
  const nc = await client(server.url);
  const id = 'audit-withheld';
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-audit-wh-')), 'audit.jsonl');
  const log = openAuditLog(auditPath);
  cleanups.push(() => log.close());
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => `device-connect.default.${id}.audit`, deviceId: () => id });
  cleanups.push(() => publisher.stop());
  const entry = (i: number, extra: Record<string, unknown> = {}) => log.append({ kind: 'accepted', reason: `r${i}`, function: 'goto_pose', owner: 'agent', state: {}, ts: '2026-01-01T00:00:00Z', ...extra });
  entry(1);
  entry(2, { params: { notes: ['a', 'b', 'c'].map((c) => c.repeat(2_000)) } });
  entry(3);
  expect(await publisher.drained(10_000)).toBe(true);
  const verified = await cli(['verify', '--stream', '--audit-log', auditPath], { MESSAGING_URLS: server.url, DEVICE_ID: id });
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  expect(verified.stdout).toContain(`audit file ${auditPath}: 3 records, seq 1–3, chain valid`);
  expect(verified.stdout).toContain(`stream ${AUDIT_STREAM_NAME} device-connect.default.${id}.audit: 3 records, seq 1–3, chain valid; content withheld (over the broker's size limit; in the file only) at seq 2`);
  expect(verified.stdout).not.toContain('differ');
}, 30_000);

test('audit tail prints the last records and --follow the new ones; a broker without JetStream gets one notice and core publish', async () => {
  const logs = captureLogs('info');
  cleanups.push(() => logs.restore());
  const server = await startNatsServer();
  cleanups.push(() => server.stop());
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-audit-core-')), 'audit.jsonl');
  const id = 'audit-core';
  const nc = await client(server.url);
  const bus = recorder(nc, `device-connect.default.${id}.audit`);
  await nc.flush();
  const driver = await driverOn(server, id, auditPath);
  await answering(nc, id);
  const call = (method: string, params: object) => rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: method, method, params });
  await call('emergency_stop', { reason: 'tail test', owner: 'ops' });
  await call('look_at_world', { yaw: 1, owner: 'agent' });
  expect(await driver.auditPublisher.drained(10_000)).toBe(true);
  expect(driver.auditPublisher.delivery).toBe('core');
  await expect.poll(() => bus.messages.length).toBe(2);
  expect(bus.messages.map((m) => (m.body as { seq: number }).seq)).toEqual([1, 2]);

  const tail = await cli(['tail', '--lines', '1', '--audit-log', auditPath]);
  expect(tail.code).toBe(0);
  expect(tail.stdout.trim().split('\n')).toHaveLength(1);
  expect(tail.stdout).toMatch(/^2 {2}\S+Z {2}refused {2}look_at_world {2}agent {2}"/);

  const follow = spawn(process.execPath, [CLI_PATH, 'audit', 'tail', '--follow', '--json', '--lines', '0', '--audit-log', auditPath], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } });
  cleanups.push(() => follow.kill('SIGKILL'));
  let followed = '';
  let notice = '';
  follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
  follow.stderr.on('data', (d: Buffer) => (notice += d.toString()));
  await expect.poll(() => notice, { timeout: 10_000 }).toContain(`following ${auditPath}`);
  await call('look_at_world', { yaw: 2, owner: 'later' });
  await expect.poll(() => followed, { timeout: 5_000 }).toContain('"owner":"later"');
  expect(JSON.parse(followed.trim().split('\n')[0]!)).toMatchObject({ seq: 3, kind: 'refused', owner: 'later' });
  follow.kill('SIGINT');

  await call('look_at_world', { yaw: 3, owner: 'again' });
  expect(await driver.auditPublisher.drained(10_000)).toBe(true);
  expect(logs.matching('WARN', 'audit records go to core NATS')).toHaveLength(1);
}, 40_000);

/**
 * Well under AUDIT_JS_REPROBE_MS (30 s): before 2026-12-06 the stream was tried again only that long
 * after the fall-back, and only when a record was to be sent; now the tries start after 1 s and double.
 */
const BACK_ON_STREAM_WITHIN_MS = 12_000;

test('JetStream enabled for the account while the driver runs (no reconnect): the trail is back on DC_AUDIT within seconds, said once', async () => {
  expect(BACK_ON_STREAM_WITHIN_MS).toBeLessThan(AUDIT_JS_REPROBE_MS / 2);
  const logs = captureLogs('info');
  cleanups.push(() => logs.restore());
  // A broker with JetStream, but not for the account the driver lands in (anonymous clients are `robot`).
  const server = await jetStreamBroker({ extraConfig: 'accounts { ROBOT: { users: [ { user: robot, password: robot-pw } ] } }\nno_auth_user: robot' });
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-audit-late-')), 'audit.jsonl');
  const id = 'audit-late-js';
  const nc = await client(server.url);
  const driver = await driverOn(server, id, auditPath);
  await answering(nc, id);
  const call = (method: string, params: object) => rpc(nc, `device-connect.default.${id}.cmd`, { jsonrpc: '2.0', id: method, method, params });
  expect((await call('emergency_stop', { reason: 'before JetStream', owner: 'ops' })).result).toBeDefined();
  expect(await driver.auditPublisher.drained(10_000)).toBe(true);
  expect(driver.auditPublisher.delivery).toBe('core');
  expect(logs.matching('WARN', 'audit records go to core NATS', 'not available')).toHaveLength(1);

  // The operator enables JetStream for the account and reloads the broker: the connection stays up.
  writeFileSync(server.configFile, readFileSync(server.configFile, 'utf8').replace('ROBOT: {', 'ROBOT: { jetstream: enabled,'));
  process.kill(server.pid!, 'SIGHUP');
  // With no record to send, the driver tries the stream again and says so once.
  await expect.poll(() => driver.auditPublisher.delivery, { timeout: BACK_ON_STREAM_WITHIN_MS, interval: 100 }).toBe('jetstream');
  expect(logs.matching('INFO', 'audit records go to the JetStream stream again')).toHaveLength(1);
  expect(driver.runtime.mesh.getSnapshot().context.reconnects).toBe(0);

  // The records sent on core NATS before JetStream, then the next one: DC_AUDIT holds the whole file, in order
  // (before 2026-12-06 it held only the records after JetStream came, and `audit verify --stream` said BROKEN: gap).
  expect((await call('reset_interlock', { reason: 'JetStream is on', owner: 'ops' })).result).toBeDefined();
  expect(await driver.auditPublisher.drained(10_000)).toBe(true);
  const { lines } = await readAuditStream(nc, `device-connect.default.${id}.audit`);
  const file = fileRecords(auditPath);
  expect(file.filter((r) => r['reason'] === 'JetStream is on')).toHaveLength(1);
  expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual(file);
  expect(logs.matching('WARN', 'audit records go to core NATS')).toHaveLength(1);
  const verified = await cli(['verify', '--stream', '--audit-log', auditPath], { MESSAGING_URLS: server.url, DEVICE_ID: id });
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  expect(verified.stdout).toContain(`stream ${AUDIT_STREAM_NAME} device-connect.default.${id}.audit: ${file.length} records, seq 1–${file.length}, chain valid`);
}, 40_000);

test('audit verify --stream on a stream with a hole (records that reached core NATS only) says where, exit 1', async () => {
  const server = await jetStreamBroker();
  const nc = await client(server.url);
  const id = 'audit-hole';
  const subject = `device-connect.default.${id}.audit`;
  const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-audit-hole-')), 'audit.jsonl');
  const log = openAuditLog(auditPath);
  const records = Array.from({ length: 6 }, (_, i) => log.append({ kind: 'refused', reason: `r${i + 1}`, function: 'goto_pose', owner: 'agent', state: {}, ts: '2026-01-01T00:00:00Z' }));
  log.close();
  await (await jetstreamManager(nc)).streams.add({ name: AUDIT_STREAM_NAME, subjects: [`device-connect.default.${id}.audit`] });
  const js = jetstream(nc);
  const env = { MESSAGING_URLS: server.url, DEVICE_ID: id };
  // The stream missed records 3 and 4 (sent on core NATS while it did not answer), then got 5 and 6.
  for (const r of [records[0]!, records[1]!, records[4]!, records[5]!]) await js.publish(subject, recordLine(r));
  const holed = await cli(['verify', '--stream', '--audit-log', auditPath], env);
  expect(holed.code, holed.stdout + holed.stderr).toBe(1);
  expect(holed.stdout).toContain(`stream ${AUDIT_STREAM_NAME} ${subject}: BROKEN at seq 3 (gap, record 3 of 4): records 3–4 missing before 5`);
  // A stream that missed the first records (a fresh cluster before its JetStream leader): the same.
  await (await jetstreamManager(nc)).streams.purge(AUDIT_STREAM_NAME);
  for (const r of records.slice(2)) await js.publish(subject, recordLine(r));
  const headless = await cli(['verify', '--stream', '--audit-log', auditPath], env);
  expect(headless.code, headless.stdout + headless.stderr).toBe(1);
  expect(headless.stdout).toContain(`stream ${AUDIT_STREAM_NAME} ${subject}: BROKEN at seq 1 (gap, record 1 of 4): records 1–2 missing before 3`);
}, 30_000);
