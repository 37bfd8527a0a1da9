// Bench helper: a driver (or the bare echo responder baseline) as its own process on a private
// loopback nats-server, the way a user starts it, plus what the start-up and footprint benches read
// from it — time to the first answered `get_status`, RSS and CPU time from /proc/<pid>. Owns only
// process start/stop and the readings; the benches own rounds, ratios and printing. Linux only
// (/proc). Spec: reference-driver.md §3 (the `.cmd` subject), issue 11 (performance rows).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { findNatsServer, startPrivateBroker, type PrivateBroker } from '../src/adapters/private-nats-server.ts';

export const CLI_SOURCE = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
export const CLI_DIST = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
export const ECHO_RESPONDER = fileURLToPath(new URL('./echo-responder.mjs', import.meta.url));
export const TENANT = 'default';
/** Poll period while waiting for the first answer: small against a ~0.3–2 s start. */
const POLL_MS = 5;
/** One request's budget while polling; a process still loading answers nothing (no responders). */
const POLL_REQUEST_TIMEOUT_MS = 250;
/** A start slower than this is a broken start, not a slow one. */
export const START_TIMEOUT_MS = 30_000;
/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_S = 100;

export function cmdSubject(deviceId: string): string {
  return `device-connect.${TENANT}.${deviceId}.cmd`;
}

export interface Broker {
  readonly url: string;
  readonly nc: NatsConnection;
  stop(): Promise<void>;
}

export async function startBroker(): Promise<Broker> {
  const binary = findNatsServer(process.env['PATH']);
  if (!binary) throw new Error('nats-server not found on PATH (apt-get install -y nats-server)');
  const broker: PrivateBroker = await startPrivateBroker(binary);
  const nc = await connect({ servers: broker.url });
  return { url: broker.url, nc, stop: async () => (await nc.close(), await broker.stop()) };
}

export interface DriverProcessOptions {
  readonly entry: string;
  readonly deviceId: string;
  readonly url: string;
  readonly extraArgs?: readonly string[];
}

/** The driver's `run --sim` command line on the broker (d2d presence: no registry needed). */
export function driverArgs(o: DriverProcessOptions): string[] {
  return [o.entry, 'run', '--sim', '--device-id', o.deviceId, '--messaging-url', o.url, '--discovery-mode', 'd2d', ...(o.extraArgs ?? [])];
}

export function spawnNode(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, args, {
    stdio: 'ignore',
    env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent', REACHY_AUDIT_LOG: 'none', DEVICE_CONNECT_REGISTER_JITTER: '0' },
  });
}

/** Polls `get_status` on `subject` until a JSON-RPC result comes back; answers ms since `since`. */
export async function firstAnswer(nc: NatsConnection, subject: string, since: number, child: ChildProcess): Promise<number> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 'first', method: 'get_status' });
  while (performance.now() - since < START_TIMEOUT_MS) {
    if (child.exitCode !== null) throw new Error(`process exited ${child.exitCode} before answering`);
    try {
      const reply = (await nc.request(subject, body, { timeout: POLL_REQUEST_TIMEOUT_MS })).json<{ result?: unknown }>();
      if (reply.result !== undefined) return performance.now() - since;
    } catch {
      // No responder yet.
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`no get_status answer on ${subject} within ${START_TIMEOUT_MS} ms`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Resident set size of `pid` in MB (VmRSS). */
export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024;
}

/** User + system CPU seconds `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
