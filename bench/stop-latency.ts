// `npm run bench`, stop part: how long after a stop is ANSWERED the daemon's move ends, as a caller
// on the mesh meets it — `stop_motion` over NATS `.cmd` while a `goto_pose` runs on the embedded
// emulator, the move's end taken from the emulator's own move-updates socket (`move_cancelled`).
// Reported as p50/p99 of (move end − stop reply) — negative means the move had ended before the
// reply arrived, which is what a confirmed stop promises — and the stop round trip as a ratio to a
// bare NATS echo measured in the same run. Owns only measurement; no assertions. README "Safety".
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import WebSocket from 'ws';
import { loadConfig } from '../src/adapters/config-files.ts';
import { startDriver } from '../src/driver.ts';
import { findNatsServer, startPrivateBroker } from '../src/adapters/private-nats-server.ts';
import { startEmulator } from '../src/sim/emulator.ts';
import { subjects } from '../src/protocol/subjects.ts';
import type { Stats } from './run.ts';

/** Stops measured; each waits for a running goto first, so the run stays ~15 s. */
const DEFAULT_STOPS = 60;
/** Bare echoes measured for the baseline. */
const ECHO_SAMPLES = 200;
/** How long the goto runs before the stop: well inside its duration, past its start-up. */
const RUN_BEFORE_STOP_MS = 120;
/** The goto is long enough that it is always still running when the stop comes. */
const GOTO_DURATION_S = 2;
/** A move end is matched to its stop only if it arrives within this of the reply. */
const MATCH_WINDOW_MS = 5_000;

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length), samples: sorted.length };
}

async function call(nc: NatsConnection, subject: string, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply = await nc.request(subject, JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), method, params }), { timeout: 10_000 });
  return reply.json<Record<string, unknown>>();
}

export interface StopLatencyReport {
  readonly endAfterReply: Stats;
  readonly stopRoundTrip: Stats;
  readonly bareEcho: Stats;
  readonly unmatched: number;
}

export async function runStopLatencyBench(stops = DEFAULT_STOPS): Promise<StopLatencyReport> {
  const binary = findNatsServer(process.env['PATH']);
  if (!binary) throw new Error('the stop-latency bench needs nats-server (apt-get install nats-server)');
  const broker = await startPrivateBroker(binary);
  const emulator = await startEmulator({});
  const config = loadConfig({ argv: ['--no-media', '--device-id', 'bench-stop', '--messaging-url', broker.url, '--discovery-mode', 'd2d'], env: { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', REACHY_AUDIT_LOG: 'none' } });
  const driver = await startDriver(config, { daemonBaseUrl: emulator.url });
  const nc = await connect({ servers: broker.url });
  const ends = new Map<string, number>();
  const updates = new WebSocket(`${emulator.wsUrl}/api/move/ws/updates`);
  await new Promise((resolve, reject) => updates.once('open', resolve).once('error', reject));
  updates.on('message', (data) => {
    const doc = JSON.parse(String(data)) as { type?: string; uuid?: string };
    if (doc.type === 'move_cancelled' && doc.uuid) ends.set(doc.uuid, performance.now());
  });
  try {
    const cmd = subjects.cmd(config.tenant, config.deviceId);
    nc.subscribe('bench.echo', {
      callback: (_e, m) => {
        m.respond(m.data);
      },
    });
    const echo: number[] = [];
    for (let i = 0; i < ECHO_SAMPLES; i++) {
      const t = performance.now();
      await nc.request('bench.echo', JSON.stringify({ jsonrpc: '2.0', id: i, method: 'stop_motion', params: {} }));
      echo.push(performance.now() - t);
    }
    for (let tries = 0; tries < 100 && (await call(nc, cmd, 'get_status', {}))['result'] === undefined; tries++) await new Promise((r) => setTimeout(r, 50));
    await call(nc, cmd, 'wake_up', { wait: true });
    const after: number[] = [];
    const roundTrip: number[] = [];
    let unmatched = 0;
    for (let i = 0; i < stops; i++) {
      const accepted = await call(nc, cmd, 'goto_pose', { yaw: i % 2 === 0 ? 20 : -20, duration_s: GOTO_DURATION_S });
      const uuid = (accepted['result'] as { uuid?: string } | undefined)?.uuid;
      await new Promise((r) => setTimeout(r, RUN_BEFORE_STOP_MS));
      const sent = performance.now();
      await call(nc, cmd, 'stop_motion', {});
      const replied = performance.now();
      roundTrip.push(replied - sent);
      const deadline = replied + MATCH_WINDOW_MS;
      while (uuid && !ends.has(uuid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      const end = uuid ? ends.get(uuid) : undefined;
      if (end === undefined) unmatched += 1;
      else after.push(end - replied);
    }
    return { endAfterReply: stats(after), stopRoundTrip: stats(roundTrip), bareEcho: stats(echo), unmatched };
  } finally {
    updates.close();
    await nc.close();
    await driver.stop();
    await emulator.close();
    await broker.stop();
  }
}

export function formatStopLatency(r: StopLatencyReport): string {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  return [
    `stop latency over NATS against the emulator (${r.endAfterReply.samples} stops of a running goto_pose; ${r.unmatched} without a move end)`,
    `  move end − stop reply: p50 ${ms(r.endAfterReply.p50)}, p99 ${ms(r.endAfterReply.p99)} (negative: the move ended before the reply)`,
    `  stop_motion round trip: p50 ${ms(r.stopRoundTrip.p50)}, p99 ${ms(r.stopRoundTrip.p99)}; ×bare NATS echo p50 ${(r.stopRoundTrip.p50 / r.bareEcho.p50).toFixed(1)}, p99 ${(r.stopRoundTrip.p99 / r.bareEcho.p99).toFixed(1)} (echo p50 ${ms(r.bareEcho.p50)})`,
    '',
  ].join('\n');
}
