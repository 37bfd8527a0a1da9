// `reachy-mini-driver panorama <device_id> [--output DIR] …`: waits for the device on the mesh
// (reference-driver.md §6.5 `wait_for_device`), checks the output folder (src/adapters/panorama-output.ts)
// before the lease is taken, runs the scan (panorama-scan.ts), shows progress (a bar on a terminal's
// stderr; --json: one JSON line per event on stdout), writes the artifacts (panorama-artifacts.ts) and
// answers the reference's exit codes (runPanoramaCommand). Owns the glue and the terminal output (what
// the device sent printed with its control characters escaped, as the other client commands print it);
// does not parse the command line (client-main.ts, panorama-args.ts do); never calls process.exit.
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { resolve } from 'node:path';
import { openClientConnection } from '../adapters/client-connection.ts';
import { EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from '../cli/command-line.ts';
import { paint } from '../cli/terminal-style.ts';
import type { PanoramaArgs } from './panorama-args.ts';
import type { SavedArtifacts } from './panorama-artifacts.ts';
import { notWritable, prepareOutputDir, removePrevious } from '../adapters/panorama-output.ts';
import { advertisedPoseRanges } from './panorama-plan.ts';
import { capturePanoramaScan, type PanoramaScanResult, type ScanProgress } from './panorama-scan.ts';
import { isClientError } from './errors.ts';
import { jsonText } from './cli-format.ts';
import { escapeControls } from '../logging/control-escapes.ts';
import { MeshClient, type DiscoveryMode } from './mesh-client.ts';
import { D2D_FIRST_PEER_WAIT_MS } from './presence-collector.ts';

/** The reference polls the device list every 0.5 s (§6.5). */
export const DEVICE_POLL_MS = 500;
/** `--wait-timeout 0` still asks once: the first try may take as long as a D2D peer has to answer a probe (§2.13). */
export const FIRST_TRY_MIN_MS = D2D_FIRST_PEER_WAIT_MS;
/** Exit code when the device did not appear within --wait-timeout (the reference's TimeoutError). */
export const EXIT_DEVICE_NOT_FOUND = 2;
/** Progress bar width in cells. */
const BAR_CELLS = 30;

export interface PanoramaCommandArgs {
  readonly deviceId: string;
  readonly args: PanoramaArgs;
  readonly connectOptions: NodeConnectionOptions;
  readonly tenant: string;
  readonly discoveryMode: DiscoveryMode;
  readonly json: boolean;
  /** Draw a progress bar on `err` (stderr is a terminal). */
  readonly progressBar: boolean;
  readonly colour: boolean;
  readonly brokerLabel: string;
  readonly signal?: AbortSignal;
  readonly out?: (line: string) => void;
  readonly err?: (text: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls discovery until the device is known or the time is up; each try is bounded by what remains, the first by at least FIRST_TRY_MIN_MS. */
async function waitForDevice(client: MeshClient, deviceId: string, timeoutS: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutS * 1000;
  for (let tries = 0; ; tries += 1) {
    const remaining = deadline - Date.now();
    const bound = tries === 0 ? Math.max(remaining, FIRST_TRY_MIN_MS) : Math.max(0, remaining);
    let timer: NodeJS.Timeout | undefined;
    const found = await Promise.race([
      client.getDevice(deviceId).then(() => true, () => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), bound))),
    ]);
    clearTimeout(timer);
    if (found) return true;
    if (Date.now() + DEVICE_POLL_MS > deadline || signal?.aborted) return false;
    await sleep(DEVICE_POLL_MS);
  }
}

function bar(done: number, total: number): string {
  const filled = total === 0 ? BAR_CELLS : Math.round((BAR_CELLS * done) / total);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_CELLS - filled)}] ${done}/${total}`;
}

function progressPrinter(a: PanoramaCommandArgs, out: (line: string) => void, err: (text: string) => void): (event: ScanProgress) => void {
  return (event) => {
    if (a.json) {
      if (event.kind === 'frame') {
        const f = event.frame;
        out(jsonText({ event: 'frame', done: event.done, total: event.total, index: f.index, world_yaw_deg: f.worldYawDeg, pitch_deg: f.pitchDeg, body_yaw_deg: f.bodyYawDeg, ok: f.ok, look_ms: Math.round(f.lookMs), capture_ms: Math.round(f.captureMs) }));
      } else out(jsonText({ event: event.kind, ...event, kind: undefined }));
      return;
    }
    if (event.kind === 'warning') err(`${a.progressBar ? '\r\x1b[2K' : ''}${paint('warning', 'yellow', a.colour)} ${escapeControls(event.message)}\n`);
    if (!a.progressBar) return;
    if (event.kind === 'frame') err(`\r\x1b[2K${bar(event.done, event.total)}  yaw ${event.frame.worldYawDeg.toFixed(0)}° pitch ${event.frame.pitchDeg.toFixed(0)}°${event.frame.ok ? '' : ' (failed)'}`);
    if (event.kind === 'end') err(`\r\x1b[2K${bar(event.done, event.total)}${event.aborted ? ' interrupted' : ' done'}\n`);
  };
}

function summary(scan: PanoramaScanResult, paths: Record<string, string>, manifest: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const ok = scan.frames.filter((f) => f.ok).length;
  lines.push(`${ok}/${scan.frames.length} frames ok${scan.aborted ? ` (interrupted; ${scan.plannedFrames} planned)` : ''} in ${scan.durationS.toFixed(1)} s`);
  if (paths['panorama']) lines.push(`Panorama: ${paths['panorama']}`);
  if (paths['grid']) lines.push(`Pitch grid: ${paths['grid']}`);
  for (const [key, path] of Object.entries(paths).sort()) if (key.startsWith('strip')) lines.push(`Strip: ${path}`);
  if (paths['manifest']) lines.push(`Manifest: ${paths['manifest']}`);
  const coverage = manifest['world_yaw_coverage'] as Record<string, unknown> | undefined;
  if (coverage) lines.push(`World yaw coverage (frame centres): span ${String(coverage['span_deg'])}°, largest gap ${String(coverage['largest_gap_deg'])}°, full_360=${String(coverage['likely_full_360'])}`);
  return lines;
}

/** The error line on stderr and, with --json, the same failure as an `error` event on stdout. */
function reportError(a: PanoramaCommandArgs, out: (line: string) => void, err: (text: string) => void, error: { _tag: string; message: string } & Record<string, unknown>): void {
  err(`${paint('error', 'red', a.colour)} ${escapeControls(`${error._tag}: ${error.message}`)}\n`);
  if (a.json) out(jsonText({ event: 'error', error: { ...error } }));
}

/** Replaces a previous scan's files with this one's and prints the summary; a write that fails is reported (exit 1), never thrown. */
async function writeResults(a: PanoramaCommandArgs, scan: PanoramaScanResult, previous: readonly string[], out: (line: string) => void, err: (text: string) => void): Promise<number> {
  const errorWord = paint('error', 'red', a.colour);
  const dir = resolve(a.args.output);
  if (scan.failure) err(`${errorWord} ${escapeControls(scan.failure)}\n`);
  let saved: SavedArtifacts;
  try {
    // Images (sharp) load only once there is something to write.
    const { RESOLUTION_NOTE, saveScanArtifacts } = await import('./panorama-artifacts.ts');
    const deviceConnect = { tenant: a.tenant, device_id: a.deviceId, encoding: a.args.scan.encoding, max_edge: a.args.scan.maxEdge ?? null, quality: a.args.scan.quality ?? null, resolution_note: RESOLUTION_NOTE };
    await removePrevious(dir, previous);
    saved = await saveScanArtifacts(scan, dir, { extraManifest: { device_connect: deviceConnect } });
  } catch (error) {
    const failure = notWritable(dir, error);
    reportError(a, out, err, { _tag: 'ArtifactsNotWritten', message: `${failure.message}; the scan's ${scan.frames.length} frames are lost`, dir, code: failure.code });
    return EXIT_FAILURE;
  }
  const { paths, manifest } = saved;
  const written = paths['panorama'] !== undefined || paths['grid'] !== undefined || Object.keys(paths).some((k) => k.startsWith('strip'));
  const code = scan.aborted ? EXIT_INTERRUPTED : written ? EXIT_OK : EXIT_FAILURE;
  if (a.json) out(jsonText({ event: 'done', exit_code: code, output: dir, files: manifest['files'], success_count: manifest['success_count'], frame_count: manifest['frame_count'], aborted: scan.aborted, failure: scan.failure }));
  else summary(scan, paths, manifest).forEach((line) => out(line));
  if (!written && !scan.failure) err(`${errorWord} no strips written (no successful frames)\n`);
  return code;
}

/** Once the device is there: the output folder checked (exit 2 before anything moves), the scan, the files. */
async function scanAndWrite(a: PanoramaCommandArgs, client: MeshClient, out: (line: string) => void, err: (text: string) => void): Promise<number> {
  const ready = await prepareOutputDir(resolve(a.args.output));
  if (!ready.ok) {
    const { _tag, message, dir } = ready.error;
    reportError(a, out, err, { _tag, message: `${message}; nothing moved (choose another --output)`, dir, ...('code' in ready.error ? { code: ready.error.code } : {}) });
    return EXIT_USAGE;
  }
  // The advertised ranges carry the operator's envelope: the plan stays inside them (no refused moves).
  const ranges = advertisedPoseRanges((await client.functions(a.deviceId)).functions);
  const scan = await capturePanoramaScan((fn, params) => client.invoke(a.deviceId, fn, params, { dcMeta: { llmReasoning: `Reachy panorama scan via Device Connect: ${fn}` } }), {
    ...a.args.scan,
    ranges,
    signal: a.signal,
    onProgress: progressPrinter(a, out, err),
  });
  return await writeResults(a, scan, ready.previous, out, err);
}

/**
 * Runs the command; returns the reference's exit code: 0 written, 1 nothing written (a failed write
 * is reported, never thrown), 2 device not found in time (polled every DEVICE_POLL_MS up to
 * --wait-timeout) or an unwritable --output (a bad command line is 2 too, in client-main.ts); 130
 * when interrupted (Ctrl-C, stdout closed: partial results written first).
 */
export async function runPanoramaCommand(a: PanoramaCommandArgs): Promise<number> {
  const out = a.out ?? ((line: string) => void process.stdout.write(line + '\n'));
  const err = a.err ?? ((text: string) => void process.stderr.write(text));
  const errorWord = paint('error', 'red', a.colour);
  const opened = await openClientConnection(a.connectOptions);
  if (!opened.ok) {
    err(`${errorWord} cannot connect to NATS at ${a.brokerLabel}: ${escapeControls(opened.reason)}\n`);
    if (a.json) out(jsonText({ event: 'error', error: { _tag: 'ConnectFailed', message: opened.reason } }));
    return EXIT_FAILURE;
  }
  const nc = opened.connection;
  const client = new MeshClient(nc, { tenant: a.tenant, discoveryMode: a.discoveryMode });
  try {
    if (!(await waitForDevice(client, a.deviceId, a.args.waitTimeoutS, a.signal))) {
      err(`${errorWord} device ${a.deviceId} not found in tenant ${a.tenant} within ${a.args.waitTimeoutS} s (\`reachy-mini-driver devices\` lists the devices)\n`);
      if (a.json) out(jsonText({ event: 'error', error: { _tag: 'DeviceNotFound', deviceId: a.deviceId, waited_s: a.args.waitTimeoutS } }));
      return a.signal?.aborted ? EXIT_INTERRUPTED : EXIT_DEVICE_NOT_FOUND;
    }
    return await scanAndWrite(a, client, out, err);
  } catch (error) {
    if (!isClientError(error)) throw error;
    err(`${errorWord} ${escapeControls(`${error._tag}: ${error.message}`)}\n`);
    return EXIT_FAILURE;
  } finally {
    client.close();
    await nc.close().catch(() => undefined);
  }
}

export { EXIT_OK, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE };
