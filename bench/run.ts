// `npm run bench`: cost of the `capture_video_frame` encoder on 1280×720 frames (the wireless
// camera's default mode, reachy-daemon-api.md §9.3), as p50/p99 in ms and as ratios to the bare
// sharp encode of the same frame with the same settings, measured in the same process and
// interleaved so drift hits every case alike; and the H.264 decode cost per frame through the hook
// `runFrameEncodingBench({ decodeFrame })` (`h264DecodeFrames`). Also runs the other parts
// (`--only a,b`, PARTS), each measured in its own file. Owns only measurement; no assertions
// (benchmarks are never timed tests). Spec: reference-driver.md §5.1; ecosystem.md §5.3 (settings
// and earlier measurements).
import { availableParallelism } from 'node:os';
import * as Result from 'effect/Result';
import sharp from 'sharp';
import { VideoDecoder } from '../src/adapters/media-link/video-decoder.ts';
import {
  encodeVideoFrame,
  ENCODING_PRESETS,
  fitWithin,
  JPEG_CHROMA_SUBSAMPLING,
  JPEG_OPTIMISE_CODING,
  RESIZE_KERNEL,
  type VideoFrameInput,
} from '../src/media/encoding/frame-encoding.ts';
import { openH264TestEncoder } from '../test/harness/h264-test-encoder.ts';
import { formatStopLatency, runStopLatencyBench } from './stop-latency.ts';
import { formatCliStart, runCliStartBench } from './cli-start.ts';
import { formatAuditAppend, runAuditAppendBench } from './audit-append.ts';
import { formatFleetFailover, runFleetFailoverBench } from './fleet-failover.ts';
import { formatRpcBench, rpcBenchOptions, runRpcBench } from './rpc.ts';
import { formatCallerSignature, runCallerSignatureBench } from './caller-signature.ts';
import { formatPanorama, runPanoramaBench } from './panorama.ts';
import { formatStartup, runStartupBench } from './startup.ts';
import { formatFootprint, runFootprintBench } from './footprint.ts';

const WIDTH = 1280;
const HEIGHT = 720;
/** Distinct frames cycled through, so no case encodes the same bytes twice in a row (12 × 2.7 MB). */
const PATTERN_FRAMES = 12;
/** Iterations discarded first: JIT, libvips operation cache and thread start-up. */
const WARMUP_ITERATIONS = 40;
/** Timed iterations per case: p99 is the 3rd-worst of 300; the whole run stays ~10 s on 2 cores. */
const DEFAULT_ITERATIONS = 300;
/** ± noise on every sample: real sensors are noisy and noise is what makes JPEG work hard. */
const NOISE_AMPLITUDE = 24;
/** Pixels the pattern moves per frame, like a slow pan. */
const PATTERN_STEP_PX = 8;
/** H.264 frames decoded in a loop: one I-frame period of the wireless robot (60, §9.1). */
const DECODE_GOP_FRAMES = 60;
/** The robot's encoder bitrate (reachy-daemon-api.md §9.1). */
const DECODE_BITRATE_BPS = 5_000_000;
/** Baseline the decode cost is compared with: the same frame's bare sharp JPEG. */
const DECODE_BASELINE = 'bare sharp 640 q82';

/** One decoded frame per call, in whatever layout the decoder produces (I420 or interleaved). */
export type DecodeFrame = (index: number) => VideoFrameInput | Promise<VideoFrameInput>;

export interface Stats {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly samples: number;
}

interface CaseResult {
  readonly name: string;
  readonly stats: Stats;
  /** Name of the case its ratios are taken against, or null for a baseline. */
  readonly baseline: string | null;
  readonly outputBytes: number;
}

export interface BenchReport {
  readonly iterations: number;
  readonly cases: ReadonlyArray<CaseResult>;
  readonly decode: Stats | null;
  readonly identicalToBare: boolean;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Frame `k` of a moving test pattern: gradient, travelling diagonal bars, a moving box, noise. */
export function patternFrame(k: number): Buffer {
  const data = Buffer.allocUnsafe(WIDTH * HEIGHT * 3);
  const next = xorshift(0x1234 + k);
  const shift = k * PATTERN_STEP_PX;
  const boxX = (200 + shift * 3) % (WIDTH - 160);
  const boxY = 180 + Math.round(120 * Math.sin(k / 2));
  let o = 0;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const bar = ((x + y + shift) >> 5) & 1 ? 60 : 0;
      const inBox = x >= boxX && x < boxX + 160 && y >= boxY && y < boxY + 120;
      const noise = (next() % (2 * NOISE_AMPLITUDE + 1)) - NOISE_AMPLITUDE;
      const base = inBox ? [230, 40, 40] : [(x * 255) / WIDTH, (y * 255) / HEIGHT, 128];
      for (let c = 0; c < 3; c++) data[o++] = Math.max(0, Math.min(255, (base[c] as number) + bar + noise));
    }
  }
  return data;
}

/** BT.601 limited-range RGB → I420 (2×2 chroma average), to feed the encoder what a decoder gives. */
export function rgbToI420(rgb: Buffer, width: number, height: number): Buffer {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const out = Buffer.alloc(width * height + 2 * cw * ch);
  for (let i = 0; i < width * height; i++) {
    const r = rgb[i * 3] as number;
    const g = rgb[i * 3 + 1] as number;
    const b = rgb[i * 3 + 2] as number;
    out[i] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
  }
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let n = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const x = cx * 2 + dx;
          const y = cy * 2 + dy;
          if (x >= width || y >= height) continue;
          const p = (y * width + x) * 3;
          r += rgb[p] as number;
          g += rgb[p + 1] as number;
          b += rgb[p + 2] as number;
          n++;
        }
      }
      r /= n;
      g /= n;
      b /= n;
      out[width * height + cy * cw + cx] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
      out[width * height + cw * ch + cy * cw + cx] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
    }
  }
  return out;
}

export function stats(samples: ReadonlyArray<number>): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  // Nearest-rank percentiles.
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
  return { p50: rank(0.5), p99: rank(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length, samples: sorted.length };
}

function bareJpeg(rgb: Buffer, preset: { maxEdge: number; quality: number }): Promise<Buffer> {
  const size = fitWithin(WIDTH, HEIGHT, preset.maxEdge);
  return sharp(rgb, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .resize(size.width, size.height, { fit: 'fill', kernel: RESIZE_KERNEL })
    .jpeg({ quality: preset.quality, optimiseCoding: JPEG_OPTIMISE_CODING, chromaSubsampling: JPEG_CHROMA_SUBSAMPLING })
    .toBuffer();
}

async function encoded(frame: VideoFrameInput, encoding: 'jpeg' | 'thumbnail'): Promise<number> {
  const result = await encodeVideoFrame(frame, { encoding });
  if (Result.isFailure(result)) throw new Error(`bench frame refused: ${result.failure._tag}: ${result.failure.message}`);
  return result.success.rpc_json_bytes;
}

/** Times `decodeFrame` alone over `iterations` calls (after the same warm-up as the encoder). */
export async function measureDecodeCost(decodeFrame: DecodeFrame, iterations: number, warmup = WARMUP_ITERATIONS): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + iterations; i++) {
    const start = performance.now();
    await decodeFrame(i);
    const elapsed = performance.now() - start;
    if (i >= warmup) samples.push(elapsed);
  }
  return stats(samples);
}

/**
 * Runs every case round-robin for `iterations` after a warm-up. `decodeFrame`, when given, is timed
 * on its own (decode per frame) — the hook for the H.264 decoder.
 */
export async function runFrameEncodingBench(options: { readonly iterations?: number; readonly decodeFrame?: DecodeFrame } = {}): Promise<BenchReport> {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  const rgbFrames = Array.from({ length: PATTERN_FRAMES }, (_, k) => patternFrame(k));
  const i420Frames = rgbFrames.map((rgb) => rgbToI420(rgb, WIDTH, HEIGHT));
  const rgbInput = (k: number): VideoFrameInput => ({ data: rgbFrames[k % PATTERN_FRAMES] as Buffer, width: WIDTH, height: HEIGHT, channels: 3 });
  const i420Input = (k: number): VideoFrameInput => ({ pixelFormat: 'i420', data: i420Frames[k % PATTERN_FRAMES] as Buffer, width: WIDTH, height: HEIGHT });

  // Same work, same bytes: the wrapper must produce exactly what the bare encode produces.
  const check = await encodeVideoFrame(rgbInput(0), { encoding: 'jpeg' });
  const bareCheck = await bareJpeg(rgbFrames[0] as Buffer, ENCODING_PRESETS.jpeg);
  const identicalToBare = Result.isSuccess(check) && check.success.encoding === 'jpeg' && Buffer.from(check.success.data_b64, 'base64').equals(bareCheck);

  const cases: ReadonlyArray<{ name: string; baseline: string | null; run: (k: number) => Promise<number> }> = [
    { name: 'bare sharp 640 q82', baseline: null, run: async (k) => (await bareJpeg(rgbFrames[k % PATTERN_FRAMES] as Buffer, ENCODING_PRESETS.jpeg)).length },
    { name: 'encode jpeg (RGB in)', baseline: 'bare sharp 640 q82', run: (k) => encoded(rgbInput(k), 'jpeg') },
    { name: 'encode jpeg (I420 in)', baseline: 'bare sharp 640 q82', run: (k) => encoded(i420Input(k), 'jpeg') },
    { name: 'bare sharp 320 q75', baseline: null, run: async (k) => (await bareJpeg(rgbFrames[k % PATTERN_FRAMES] as Buffer, ENCODING_PRESETS.thumbnail)).length },
    { name: 'encode thumbnail (RGB in)', baseline: 'bare sharp 320 q75', run: (k) => encoded(rgbInput(k), 'thumbnail') },
    { name: 'encode thumbnail (I420 in)', baseline: 'bare sharp 320 q75', run: (k) => encoded(i420Input(k), 'thumbnail') },
  ];
  const samples = cases.map(() => [] as number[]);
  const outputBytes = cases.map(() => 0);
  for (let i = 0; i < WARMUP_ITERATIONS + iterations; i++) {
    for (const [c, entry] of cases.entries()) {
      const start = performance.now();
      const bytes = await entry.run(i);
      const elapsed = performance.now() - start;
      if (i >= WARMUP_ITERATIONS) {
        (samples[c] as number[]).push(elapsed);
        outputBytes[c] = bytes;
      }
    }
  }
  const decode = options.decodeFrame ? await measureDecodeCost(options.decodeFrame, iterations) : null;
  return {
    iterations,
    identicalToBare,
    decode,
    cases: cases.map((entry, c) => ({ name: entry.name, baseline: entry.baseline, stats: stats(samples[c] as number[]), outputBytes: outputBytes[c] as number })),
  };
}

/**
 * `decodeFrame` for the hook, as `npm run bench` feeds it: H.264 720p access units like the robot's
 * (constrained baseline, two slices, SPS/PPS before each IDR, 5 Mbit/s; h264-webrtc.md §3.1, §5.2),
 * encoded once up front with libx264, then decoded in order by the media link's decoder
 * (src/adapters/media-link/video-decoder.ts), back to the IDR after each I-frame period, each call
 * answering the packed I420 picture: a sample is decode + copy-out, reported as a ratio to the bare
 * sharp encode.
 */
export function h264DecodeFrames(): { readonly decodeFrame: DecodeFrame; close(): void } {
  const encoder = openH264TestEncoder({ width: WIDTH, height: HEIGHT, keyframeInterval: DECODE_GOP_FRAMES, slices: 2, bitRate: DECODE_BITRATE_BPS });
  const accessUnits: Uint8Array[] = [];
  for (let k = 0; accessUnits.length < DECODE_GOP_FRAMES; k++) accessUnits.push(...encoder.encode(rgbToI420(patternFrame(k), WIDTH, HEIGHT)));
  encoder.close();
  const opened = VideoDecoder.open('h264');
  if (Result.isFailure(opened)) throw new Error(opened.failure.message);
  const decoder = opened.success;
  const decodeFrame: DecodeFrame = (index) => {
    const at = index % DECODE_GOP_FRAMES;
    if (at === 0) decoder.reset();
    const fed = decoder.decode(accessUnits[at] as Uint8Array);
    if (Result.isFailure(fed)) throw new Error(`bench frame ${at} did not decode: ${fed.failure.message}`);
    const picture = decoder.picture();
    if (picture === null || Result.isFailure(picture)) throw new Error(`bench frame ${at} gave no picture`);
    return { pixelFormat: 'i420', data: picture.success.data, width: picture.success.width, height: picture.success.height };
  };
  return { decodeFrame, close: () => decoder.close() };
}

export function formatReport(report: BenchReport): string {
  const byName = new Map(report.cases.map((c) => [c.name, c]));
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (v: number, n = 8) => v.toFixed(2).padStart(n);
  const lines = [
    `frame encoding, ${WIDTH}×${HEIGHT} moving pattern + noise, ${report.iterations} iterations after ${WARMUP_ITERATIONS} warm-up, cases interleaved`,
    `node ${process.version}, sharp ${sharp.versions.sharp ?? '?'}, libvips ${sharp.versions.vips}, sharp.concurrency ${sharp.concurrency()}, ${availableParallelism()} CPUs`,
    `settings: optimiseCoding ${String(JPEG_OPTIMISE_CODING)}, chroma ${JPEG_CHROMA_SUBSAMPLING}, kernel ${RESIZE_KERNEL}; wrapper output identical to bare sharp: ${report.identicalToBare ? 'yes' : 'NO'}`,
    '',
    `${pad('case', 28)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(8)}${'mean ms'.padStart(9)}${'p50 ×bare'.padStart(11)}${'p99 ×bare'.padStart(11)}   bytes (rpc JSON / bare JPEG)`,
  ];
  for (const c of report.cases) {
    const base = c.baseline ? byName.get(c.baseline) : c;
    const r50 = base ? c.stats.p50 / base.stats.p50 : Number.NaN;
    const r99 = base ? c.stats.p99 / base.stats.p99 : Number.NaN;
    lines.push(`${pad(c.name, 28)}${num(c.stats.p50)}${num(c.stats.p99)}${num(c.stats.mean, 9)}${num(r50, 11)}${num(r99, 11)}   ${c.outputBytes}`);
  }
  lines.push('');
  const decodeBase = byName.get(DECODE_BASELINE);
  lines.push(
    report.decode
      ? `decode H.264 + I420 copy: p50 ${report.decode.p50.toFixed(2)} ms, p99 ${report.decode.p99.toFixed(2)} ms, mean ${report.decode.mean.toFixed(2)} ms per frame` +
          (decodeBase ? `; p50 ×bare ${(report.decode.p50 / decodeBase.stats.p50).toFixed(2)}, p99 ×bare ${(report.decode.p99 / decodeBase.stats.p99).toFixed(2)} (${DECODE_BASELINE})` : '')
      : 'decode: not measured (no decoder given)',
  );
  return `${lines.join('\n')}\n`;
}

/** Parts `npm run bench -- --only a,b` may pick (all by default). */
const PARTS = ['frames', 'stop', 'cli', 'rpc', 'fleet', 'signature', 'panorama', 'startup', 'footprint', 'audit'] as const;

/** The parts named by `--only` (comma-separated), else all of them. */
function partsToRun(argv: ReadonlyArray<string>): ReadonlySet<string> {
  const at = argv.indexOf('--only');
  if (at < 0) return new Set(PARTS);
  const named = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = named.filter((p) => !(PARTS as ReadonlyArray<string>).includes(p));
  if (named.length === 0 || unknown.length > 0) throw new Error(`--only takes a comma-separated list of: ${PARTS.join(', ')}`);
  return new Set(named);
}

if (import.meta.main) {
  const started = performance.now();
  const argv = process.argv.slice(2);
  const parts = partsToRun(argv);
  if (parts.has('frames')) {
    const h264 = h264DecodeFrames();
    const report = await runFrameEncodingBench({ decodeFrame: h264.decodeFrame }).finally(() => h264.close());
    process.stdout.write(formatReport(report));
  }
  if (parts.has('stop')) process.stdout.write(formatStopLatency(await runStopLatencyBench()));
  if (parts.has('cli')) process.stdout.write(formatCliStart(runCliStartBench()));
  if (parts.has('rpc')) process.stdout.write(formatRpcBench(await runRpcBench(rpcBenchOptions(argv), (line) => process.stderr.write(`${line}\n`))));
  if (parts.has('fleet')) process.stdout.write(formatFleetFailover(await runFleetFailoverBench()));
  if (parts.has('signature')) process.stdout.write(formatCallerSignature(await runCallerSignatureBench()));
  if (parts.has('panorama')) process.stdout.write(formatPanorama(await runPanoramaBench()));
  if (parts.has('startup')) process.stdout.write(formatStartup(await runStartupBench()));
  if (parts.has('footprint')) process.stdout.write(formatFootprint(await runFootprintBench()));
  if (parts.has('audit')) process.stdout.write(formatAuditAppend(runAuditAppendBench()));
  process.stdout.write(`total ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  // node-datachannel's threads (the panorama part's --sim driver) keep a process alive after every
  // peer is closed, and its global cleanup() is never called (src/sim/media/h264-peer.ts): exit as the CLI does.
  process.exit(0);
}
