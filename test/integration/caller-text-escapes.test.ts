// Text a mesh caller chose reaches the operator escaped, never raw: a method name carrying a newline
// and terminal escapes cannot forge a driver log line (the logger escapes the message as it does
// field values, src/logging/logger.ts), and a method, owner or caller id carrying ESC, BEL and a C1
// control comes out of `audit tail` (plain and --json) with those escaped (src/cli/audit-command.ts).
// Found by review T (items 4 and 5). The notification warning is rate-limited per process (one per
// NOTIFICATION_LOG_INTERVAL_MS), so the log test runs first and its notification is the only one
// not run before it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';
import { openClient, rpc } from '../harness/mesh-peer.ts';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';
import { linkAndPower } from '../harness/ready-state.ts';
import { captureLogs } from '../harness/log-capture.ts';
import { startCli } from '../harness/cli-process.ts';

const DEVICE = 'esc-dev';
const CMD = `device-connect.default.${DEVICE}.cmd`;
/** Sets the terminal title (OSC … BEL), clears the screen (ESC [2J) and again with the one-byte C1 CSI. */
const ESCAPES = '\u001b]0;owned\u0007\u001b[2J\u009b2J';
const ESCAPES_SHOWN = '\\u001b]0;owned\\u0007\\u001b[2J\\u009b2J';
/** Any control character or line/paragraph separator. */
const RAW_CONTROL = /[\p{Cc}\u2028\u2029]/u;

let server: NatsServerHandle;
let nc: NatsConnection;
let driver: TestDriver;
const auditPath = join(mkdtempSync(join(tmpdir(), 'rmd-esc-')), 'audit.jsonl');

beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
  driver = await startTestDriver(['--sim', '--no-media', '--device-id', DEVICE, '--messaging-url', server.url, '--audit-log', auditPath, '--rpc-allow', 'operator'], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  const status = async () => ((await rpc(nc, CMD, { jsonrpc: '2.0', id: `s${Date.now()}`, method: 'get_status', params: {} }, 1_000).catch(() => ({}))) as { result?: unknown }).result;
  await waitFor(async () => linkAndPower(await status()) === 'connected/awake', 10_000, 'the driver is up');
});
afterAll(async () => {
  await driver?.stop();
  await nc?.close();
  await server?.stop();
});

/** `reachy-mini-driver audit … --audit-log <this file's>`: what it printed on stdout. */
async function auditCli(...args: string[]): Promise<string> {
  return (await startCli(['audit', ...args, '--audit-log', auditPath]).done).stdout;
}

test('a notification whose method carries a newline and escapes: one WARN line, the method escaped in the message, no forged line', async () => {
  const logs = captureLogs('info');
  try {
    const forged = '2026-12-06T00:00:00.000Z INFO driver:robot FORGED motion settled';
    nc.publish(CMD, JSON.stringify({ jsonrpc: '2.0', method: `x${ESCAPES}\n${forged}`, params: {} }));
    await waitFor(() => logs.matching('WARN', 'came as a JSON-RPC notification').length > 0, 10_000, 'the not-run warning');

    const [warning] = logs.matching('WARN', 'came as a JSON-RPC notification');
    expect(warning).toContain(`driver:mesh x${ESCAPES_SHOWN}\\n${forged} came as a JSON-RPC notification and was not run`);
    for (const line of logs.lines) {
      expect(line).not.toMatch(RAW_CONTROL);
      expect(line.startsWith(forged)).toBe(false);
    }
  } finally {
    logs.restore();
  }
}, 30_000);

test('audit tail prints a caller id, owner and method with their escapes escaped; --json lines are the records as written', async () => {
  const caller = { _dc_meta: { source_device: `dev${ESCAPES}` } };
  await rpc(nc, CMD, { jsonrpc: '2.0', id: 'a', method: 'goto_pose', params: { yaw: 1, ...caller } });
  await rpc(nc, CMD, { jsonrpc: '2.0', id: 'b', method: 'acquire_lease', params: caller });
  await rpc(nc, CMD, { jsonrpc: '2.0', id: 'c', method: `goto_pose${ESCAPES}`, params: caller });
  await waitFor(() => readFileSync(auditPath, 'utf8').includes('"acquire_lease"'), 10_000, 'the refusals in the audit file');
  const written = readFileSync(auditPath, 'utf8').trim().split('\n');

  const plain = (await auditCli('tail', '--lines', '50')).trimEnd().split('\n');
  expect(plain).toHaveLength(written.length);
  for (const line of plain) expect(line).not.toMatch(RAW_CONTROL);
  expect(plain).toContainEqual(expect.stringMatching(new RegExp(`^\\d+  \\S+Z  refused  goto_pose  dev${ESCAPES_SHOWN.replace(/[\\[\]]/g, '\\$&')}  "`)));
  expect(plain).toContainEqual(expect.stringContaining(`acquire_lease  dev${ESCAPES_SHOWN}  "acquire_lease: caller dev${ESCAPES_SHOWN} is not in`));

  const json = (await auditCli('tail', '--json', '--lines', '50')).trimEnd().split('\n');
  for (const line of json) expect(line).not.toMatch(RAW_CONTROL);
  expect(json.map((line) => JSON.parse(line) as unknown)).toEqual(written.map((line) => JSON.parse(line) as unknown));
}, 30_000);
