// Issue 13 §1, README "Audit trail" → Commands: `audit verify --stream` holds the file and DC_AUDIT
// against each other at their ends too, against a real nats-server with JetStream. The file cut back
// while the stream holds the records it lost, and a record forged into the stream after the real ones
// (chained on the last hash, which safety_event makes public), are records of the stream the file does
// not have: exit 1 naming them. Records the stream acknowledged (the cursor file's stream_seq) and no
// longer holds were deleted from it: exit 1 naming them; the file's records after that are only "not
// in the stream yet" (exit 0). File and stream cut back together are caught by the cursor file, and
// are not when it is deleted too (the limit README states).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { openAuditLog } from '../../src/adapters/audit-log.ts';
import { AUDIT_STREAM_NAME, startAuditPublisher } from '../../src/adapters/audit-stream.ts';
import { chainRecord, recordLine, type ChainedRecord } from '../../src/protocol/audit-chain.ts';
import type { NatsServerHandle } from '../harness/nats-server.ts';
import { startCli } from '../harness/cli-process.ts';
import { startJetStreamBroker } from '../harness/jetstream-broker.ts';
import { openClient } from '../harness/mesh-peer.ts';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** `reachy-mini-driver audit …` as a user runs it: exit code and output. */
const cli = (args: string[], env: Record<string, string>) => startCli(['audit', ...args], env).done;

interface Trail {
  readonly server: NatsServerHandle;
  readonly nc: NatsConnection;
  readonly dir: string;
  readonly auditPath: string;
  readonly subject: string;
  readonly env: Record<string, string>;
  readonly last: ChainedRecord;
}

/** A broker with JetStream, and `n` records written by the driver's log and acknowledged by DC_AUDIT; the log closed (cursor written). */
async function acknowledgedTrail(id: string, n: number): Promise<Trail> {
  const server = await startJetStreamBroker((c) => cleanups.push(c));
  const nc = await openClient(server.url);
  cleanups.push(() => nc.close());
  const dir = mkdtempSync(join(tmpdir(), 'rmd-audit-ends-'));
  const auditPath = join(dir, 'audit.jsonl');
  const subject = `device-connect.default.${id}.audit`;
  const log = openAuditLog(auditPath);
  const publisher = startAuditPublisher({ log, connection: () => nc, subject: () => subject, deviceId: () => id });
  let last: ChainedRecord | undefined;
  for (let i = 1; i <= n; i += 1) last = log.append({ kind: 'accepted', reason: `move ${i}`, function: 'goto_pose', owner: 'agent', state: {}, ts: '2026-01-01T00:00:00Z' });
  expect(await publisher.drained(10_000)).toBe(true);
  await publisher.stop();
  log.close();
  return { server, nc, dir, auditPath, subject, env: { MESSAGING_URLS: server.url, DEVICE_ID: id }, last: last! };
}

/** Deletes the stream's last `count` messages (someone allowed `$JS.API.STREAM.MSG.DELETE.DC_AUDIT`). */
async function deleteStreamTail(nc: NatsConnection, count: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(AUDIT_STREAM_NAME);
  for (let s = state.last_seq; s > state.last_seq - count; s -= 1) await jsm.streams.deleteMessage(AUDIT_STREAM_NAME, s);
}

/** A copy of the file holding only its first `keep` lines. */
function cutCopy(trail: Trail, keep: number, name: string): string {
  const cut = join(trail.dir, name);
  writeFileSync(cut, readFileSync(trail.auditPath, 'utf8').trim().split('\n').slice(0, keep).join('\n') + '\n');
  return cut;
}

test('the file cut back while DC_AUDIT holds its lost records: exit 1 naming them', async () => {
  const trail = await acknowledgedTrail('audit-file-cut', 10);
  // The records 6–10 (say, the moves someone wants to deny) are cut from the file.
  const cut = cutCopy(trail, 5, 'cut.jsonl');
  const report = await cli(['verify', '--stream', '--audit-log', cut], trail.env);
  expect(report.code, report.stdout).toBe(1);
  expect(report.stdout).toContain(`audit file ${cut}: 5 records, seq 1–5, chain valid`);
  expect(report.stdout).toContain(`stream ${AUDIT_STREAM_NAME} ${trail.subject}: 10 records, seq 1–10, chain valid`);
  expect(report.stdout).toContain("the stream holds 5 records the file does not: seq 6–10 (cut from the file — the driver never rotates nor truncates it — or published by someone else on the device's .audit subject)");
  // The whole file: nothing to say.
  const whole = await cli(['verify', '--stream', '--audit-log', trail.auditPath], trail.env);
  expect(whole.code, whole.stdout + whole.stderr).toBe(0);
  expect(whole.stdout).not.toContain('the file does not');
}, 30_000);

test('a record forged into DC_AUDIT after the real ones, chained on the public last hash: exit 1 naming it', async () => {
  const trail = await acknowledgedTrail('audit-forged', 5);
  // Anyone who may publish on the device's .audit subject: the chain alone cannot tell it from a real record.
  const forged = chainRecord({ kind: 'interlock_reset', reason: 'operator reset the interlock', function: 'reset_interlock', owner: 'operator', state: {}, ts: '2026-01-01T00:00:01Z' }, trail.last.seq + 1, trail.last.hash);
  await jetstream(trail.nc).publish(trail.subject, recordLine(forged));
  const report = await cli(['verify', '--stream', '--audit-log', trail.auditPath], trail.env);
  expect(report.code, report.stdout).toBe(1);
  expect(report.stdout).toContain(`stream ${AUDIT_STREAM_NAME} ${trail.subject}: 6 records, seq 1–6, chain valid`);
  expect(report.stdout).toContain('the stream holds 1 record the file does not: seq 6 (');
}, 30_000);

test('records DC_AUDIT acknowledged (the cursor file says so) and then lost: exit 1 naming them; records after them are only not sent yet', async () => {
  const trail = await acknowledgedTrail('audit-stream-cut', 10);
  expect(JSON.parse(readFileSync(`${trail.auditPath}.cursor`, 'utf8'))).toEqual({ acked_seq: 10, stream_seq: 10 });
  // Two more records while the broker is out of reach: in the file only.
  const log = openAuditLog(trail.auditPath);
  for (const i of [11, 12]) log.append({ kind: 'refused', reason: `offline ${i}`, function: 'goto_pose', owner: 'agent', state: {}, ts: '2026-01-01T00:00:02Z' });
  log.close();
  const honest = await cli(['verify', '--stream', '--audit-log', trail.auditPath], trail.env);
  expect(honest.code, honest.stdout + honest.stderr).toBe(0);
  expect(honest.stdout).toContain('2 records of the file are not in the stream yet');

  await deleteStreamTail(trail.nc, 3);
  const report = await cli(['verify', '--stream', '--audit-log', trail.auditPath], trail.env);
  expect(report.code, report.stdout).toBe(1);
  expect(report.stdout).toContain(`stream ${AUDIT_STREAM_NAME} ${trail.subject}: 7 records, seq 1–7, chain valid`);
  expect(report.stdout).toContain("the stream acknowledged the records up to seq 10 (the audit file's .cursor) but holds them up to seq 7: seq 8–10 were deleted from it");
  expect(report.stdout).toContain('2 records of the file are not in the stream yet');
}, 30_000);

test('file and stream cut back to the same seq: caught by the cursor file; not when it is deleted too', async () => {
  const trail = await acknowledgedTrail('audit-both-cut', 10);
  await deleteStreamTail(trail.nc, 3);
  const cut = cutCopy(trail, 7, 'cut.jsonl');
  copyFileSync(`${trail.auditPath}.cursor`, `${cut}.cursor`);
  const report = await cli(['verify', '--stream', '--audit-log', cut], trail.env);
  expect(report.code, report.stdout).toBe(1);
  expect(report.stdout).toContain("the driver had sent the records up to seq 10 (the audit file's .cursor) but the file ends at seq 7: seq 8–10 were cut from it");
  expect(report.stdout).toContain('seq 8–10 were deleted from it');
  // The limit README states: with the cursor file gone as well, both copies are the same valid chain 1–7.
  rmSync(`${cut}.cursor`);
  const unseen = await cli(['verify', '--stream', '--audit-log', cut], trail.env);
  expect(unseen.code, unseen.stdout + unseen.stderr).toBe(0);
}, 30_000);
