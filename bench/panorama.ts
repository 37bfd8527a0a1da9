// `npm run bench`, panorama part: the time per frame of a panorama scan (reachy-mini-driver
// panorama's library, src/client/panorama-scan.ts: a wait:true head move, the settle, a pose read
// and a fresh capture) against a plain capture_video_frame of the same frame (same encoding,
// max_edge, quality), both over NATS against a `--sim` driver in the same run, printed as a ratio;
// plus the projection into panorama.jpg per frame. Owns only measurement; no assertions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { loadConfig } from '../src/adapters/config-files.ts';
import { findNatsServer, startPrivateBroker } from '../src/adapters/private-nats-server.ts';
import { startDriver } from '../src/driver.ts';
import { MeshClient } from '../src/client/mesh-client.ts';
import { capturePanoramaScan, defaultYawSteps } from '../src/client/panorama-scan.ts';
import { saveScanArtifacts } from '../src/client/panorama-artifacts.ts';
import type { Stats } from './run.ts';

/** Head yaws of the measured scan (one pitch, body fixed): the reference's default 5, twice over. */
const SCAN_YAW_STEPS = 10;
/** Plain captures measured for the baseline. */
const PLAIN_CAPTURES = 40;
/** The scan's settle after each move has ended; the CLI default is 0.5 s (the reference's), this measures the mechanism. */
const SETTLE_S = 0.1;
/** The CLI's frame settings (reference-driver.md §6.3). */
const FRAME = { encoding: 'jpeg', max_edge: 640, quality: 82 } as const;
const DEVICE = 'bench-pano';

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length), samples: sorted.length };
}

export interface PanoramaBenchReport {
  readonly perFrameMs: number;
  readonly lookMs: Stats;
  readonly captureInScanMs: Stats;
  readonly plainCaptureMs: Stats;
  readonly projectionPerFrameMs: number;
  readonly frames: number;
  readonly okFrames: number;
}

export async function runPanoramaBench(yawSteps = SCAN_YAW_STEPS): Promise<PanoramaBenchReport> {
  const binary = findNatsServer(process.env['PATH']);
  if (!binary) throw new Error('the panorama bench needs nats-server (apt-get install nats-server)');
  const broker = await startPrivateBroker(binary);
  const config = loadConfig({ argv: ['--sim', '--sim-model', 'wireless', '--device-id', DEVICE, '--messaging-url', broker.url, '--discovery-mode', 'd2d'], env: { DEVICE_CONNECT_ALLOW_INSECURE: 'true', DEVICE_CONNECT_REGISTER_JITTER: '0', HOME: '/nonexistent', REACHY_MINI_DRIVER_SETTINGS_FILE: '/nonexistent/settings.json', REACHY_AUDIT_LOG: 'none' } });
  const driver = await startDriver(config);
  const nc = await connect({ servers: broker.url });
  const client = new MeshClient(nc, { tenant: config.tenant, discoveryMode: 'd2d' });
  const dir = await mkdtemp(join(tmpdir(), 'bench-pano-'));
  try {
    const invoke = (fn: string, params: Record<string, unknown>) => client.invoke(DEVICE, fn, params as never, { timeoutMs: 15_000 });
    for (let tries = 0; tries < 300; tries++) {
      const media = await invoke('get_media_status', {});
      if (media.ok && (media.value as { session_state?: string }).session_state === 'streaming') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const plain: number[] = [];
    for (let i = 0; i < PLAIN_CAPTURES; i++) {
      const t = performance.now();
      await invoke('capture_video_frame', FRAME);
      plain.push(performance.now() - t);
    }
    const scan = await capturePanoramaScan(invoke, {
      yawSteps: defaultYawSteps(yawSteps), pitchSteps: [0], bodyYawSteps: [0], bodyMoveDurationS: 0.8, rollDeg: 0, settleS: SETTLE_S,
      encoding: FRAME.encoding, maxEdge: FRAME.max_edge, quality: FRAME.quality, owner: 'panorama', alignHeadHomeAtStart: true, verifyBodyPose: true, bodyDriftToleranceDeg: 3,
    });
    const projection = performance.now();
    await saveScanArtifacts(scan, dir);
    const artifactsMs = performance.now() - projection;
    const okFrames = scan.frames.filter((f) => f.ok).length;
    return {
      perFrameMs: (scan.durationS * 1000) / Math.max(1, scan.frames.length),
      lookMs: stats(scan.frames.map((f) => f.lookMs)),
      captureInScanMs: stats(scan.frames.map((f) => f.captureMs)),
      plainCaptureMs: stats(plain),
      projectionPerFrameMs: artifactsMs / Math.max(1, okFrames),
      frames: scan.frames.length,
      okFrames,
    };
  } finally {
    client.close();
    await nc.close();
    await driver.stop();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatPanorama(r: PanoramaBenchReport): string {
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  return [
    `panorama scan over NATS against the --sim driver (wireless 720p camera; ${r.okFrames}/${r.frames} frames ok, settle ${SETTLE_S * 1000} ms, jpeg 640 q82)`,
    `  per frame: ${ms(r.perFrameMs)} = ${(r.perFrameMs / r.plainCaptureMs.mean).toFixed(1)}× a plain capture_video_frame of the same frame (mean ${ms(r.plainCaptureMs.mean)}, p50 ${ms(r.plainCaptureMs.p50)}, p99 ${ms(r.plainCaptureMs.p99)})`,
    `  of which: head move answered when done p50 ${ms(r.lookMs.p50)}; settle ${SETTLE_S * 1000} ms; capture of a picture at rest (two agreeing pictures after the move) p50 ${ms(r.captureInScanMs.p50)} (${(r.captureInScanMs.p50 / r.plainCaptureMs.p50).toFixed(1)}× the plain capture's p50)`,
    `  artifacts (decode, strips, grid, panorama.jpg projection): ${ms(r.projectionPerFrameMs)} per frame`,
    '',
  ].join('\n');
}

if (import.meta.main) process.stdout.write(formatPanorama(await runPanoramaBench()));
