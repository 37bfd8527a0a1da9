// `reachy-mini-driver audit tail [--follow] [--lines N] [--json]` and `audit verify [--stream]`
// (issue 13 §1): prints the audit file's records, and checks the hash chain of the file and, with
// --stream, of the device's records in the broker's JetStream stream and the two copies against each
// other (src/cli/audit-compare.ts), naming the first bad sequence number. Owns the command's options,
// output and exit code; the chain rules are src/protocol/audit-chain.ts's, the file and the stream
// reads the adapters'. README "Audit trail".
import { loadConfig } from '../adapters/config-files.ts';
import { clientTarget, simDeviceId } from '../client/client-main.ts';
import { lastAuditLines } from '../adapters/audit-file-lines.ts';
import { auditFileSize, followAuditFile, readAuditCursor, type AuditCursor } from '../adapters/audit-log.ts';
import { AUDIT_STREAM_NAME, readAuditStreamOnce, type StreamRead } from '../adapters/audit-stream.ts';
import { natsConnectionOptions } from '../adapters/nats-options.ts';
import type { DriverConfig, LoadConfigInput } from '../config/config.ts';
import { escapeControls } from '../logging/control-escapes.ts';
import { createChainVerifier, type ChainReport } from '../protocol/audit-chain.ts';
import { subjects } from '../protocol/subjects.ts';
import { compareCopies, readFileCopy, streamSeqs, type FileCopy, type StreamCopy } from './audit-compare.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, PROGRAM } from './command-line.ts';

/** Records `tail` prints without --lines. */
export const AUDIT_TAIL_DEFAULT_LINES = 20;

interface AuditArgs {
  readonly sub: 'tail' | 'verify';
  readonly follow: boolean;
  readonly stream: boolean;
  readonly json: boolean;
  readonly lines: number;
  /** The rest, for the configuration (audit file, broker, tenant, device id). */
  readonly rest: ReadonlyArray<string>;
}

type Out = (line: string) => void;

function parseAuditArgs(argv: ReadonlyArray<string>): AuditArgs | string {
  const [, sub, ...args] = argv;
  if (sub !== 'tail' && sub !== 'verify') return `audit needs a subcommand: tail or verify (got ${sub === undefined ? 'nothing' : JSON.stringify(sub)})`;
  let follow = false;
  let stream = false;
  let json = false;
  let lines = AUDIT_TAIL_DEFAULT_LINES;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--follow' || arg === '-f') follow = true;
    else if (arg === '--stream') stream = true;
    else if (arg === '--json') json = true;
    else if (arg === '--lines' || arg.startsWith('--lines=')) {
      const text = arg.includes('=') ? arg.slice('--lines='.length) : args[(i += 1)];
      lines = Number(text);
      if (!Number.isSafeInteger(lines) || lines < 0) return `--lines needs a whole number, got ${JSON.stringify(text ?? '')}`;
    } else rest.push(arg);
  }
  if (sub === 'tail' && stream) return '--stream belongs to `audit verify`';
  if (sub === 'verify' && (follow || json)) return `${follow ? '--follow' : '--json'} belongs to \`audit tail\``;
  return { sub, follow, stream, json, lines, rest };
}

/**
 * A field value that would not read back as one column unquoted: empty, `-` or `?` (which stand for
 * absent), a leading quote (it would look quoted), leading or trailing space, or a run of spaces
 * (columns are separated by two).
 */
const AMBIGUOUS_FIELD = /^$|^[-?]$|^"|^\s|\s$|\s\s/u;

/** A present field as printed: as it is, or JSON-quoted when AMBIGUOUS_FIELD; control characters escaped either way. */
function cell(value: unknown, absent: string): string {
  if (value === undefined || value === null) return absent;
  const text = String(value);
  return escapeControls(AMBIGUOUS_FIELD.test(text) ? JSON.stringify(text) : text);
}

/**
 * One record as a line: seq, time, kind, function, owner, reason (JSON-quoted); with --json the JSON
 * as stored. Function, owner and reason are a caller's text: every field (and an unreadable line) is
 * printed with its control characters escaped (src/logging/control-escapes.ts), so a record cannot
 * drive the operator's terminal, and a field that would not read as one column is JSON-quoted
 * (`cell`), so none can shift the columns; a --json line the driver wrote parses to the same record.
 */
function shown(line: string, json: boolean): string {
  if (json) return escapeControls(line);
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    const fields = [cell(r['seq'], '?'), cell(r['ts'], '?'), cell(r['kind'], '?'), cell(r['function'], '-'), cell(r['owner'], '-')];
    return `${fields.join('  ')}  ${escapeControls(JSON.stringify(r['reason'] ?? ''))}`;
  } catch {
    return `(unreadable line) ${escapeControls(line)}`;
  }
}

async function tail(config: DriverConfig, args: AuditArgs, out: Out, err: Out): Promise<number> {
  const path = config.auditLogPath;
  if (!path) return (err(`${PROGRAM} audit: the audit file is disabled (--audit-log none)`), EXIT_USAGE);
  const start = auditFileSize(path);
  for (const line of lastAuditLines(path, args.lines)) out(shown(line, args.json));
  if (!args.follow) return EXIT_OK;
  const stop = followAuditFile(path, start, (line) => out(shown(line, args.json)));
  err(`following ${path} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve());
  });
  stop();
  return EXIT_OK;
}

/** The chain report of the broker's copy, where stand-ins for records over its size limit are allowed. */
function verifyStreamLines(lines: ReadonlyArray<string>): ChainReport {
  const verifier = createChainVerifier({ allowWithheld: true });
  for (const line of lines) verifier.push(line);
  return verifier.report();
}

/** One line about a chain: its extent and, when broken, the first bad seq and why. */
function describe(what: string, report: ChainReport): string {
  if (report.problem) return `${what}: BROKEN at seq ${report.problem.seq} (${report.problem.kind}, record ${report.problem.position} of ${report.records}): ${report.problem.detail}`;
  if (report.records === 0) return `${what}: no records`;
  const restarts = report.restarts.length > 0 ? `; the chain starts again at record ${report.restarts.join(', ')}` : '';
  const withheld = report.withheld.length > 0 ? `; content withheld (over the broker's size limit; in the file only) at seq ${report.withheld.join(', ')}` : '';
  return `${what}: ${report.records} records, seq ${report.firstSeq}–${report.lastSeq}, chain valid${restarts}${withheld}`;
}

/**
 * Whose stream to read, as the client commands pick their broker: the configured broker, tenant and
 * device id; where none is configured, those of the running `--sim` driver (its recorded broker).
 */
function streamTarget(config: DriverConfig): { servers: string[]; tenant: string; deviceId: string } {
  const { servers, tenant } = clientTarget(config);
  return { servers, tenant, deviceId: simDeviceId(config) ?? config.deviceId };
}

/** `audit verify` without --stream: the file's chain. */
function verifyFileOnly(path: string, out: Out): number {
  const file = readFileCopy(path, new Set());
  out(describe(`audit file ${path}`, file.report));
  return file.report.problem ? EXIT_FAILURE : EXIT_OK;
}

/** The device's records in the stream; undefined (said on `err`) when they could not be read. */
async function readStream(config: DriverConfig, servers: string[], subject: string, err: Out): Promise<StreamRead | undefined> {
  try {
    return await readAuditStreamOnce(natsConnectionOptions({ servers, name: `${PROGRAM} audit verify`, credentials: config.credentials, tls: config.tls }), subject);
  } catch (error) {
    err(`${PROGRAM} audit: cannot read the stream ${AUDIT_STREAM_NAME} from ${servers.join(', ')}: ${escapeControls((error as Error).message)}`);
    return undefined;
  }
}

/** A line of the verdict, and whether it is a failure. */
type Say = (line: string, fault: boolean) => void;

/** What the comparison of the two copies found; `hint` is said when the stream has none of the device's records (maybe the wrong id). */
function sayComparison(stream: StreamCopy, file: FileCopy, cursor: AuditCursor, hint: string, say: Say): void {
  const compared = compareCopies(stream, file, cursor);
  for (const fault of compared.faults) say(fault, true);
  if (compared.faults.length > 0 && hint) say(`the stream holds no record on this subject: ${hint}`, false);
  else if (compared.notYetSent > 0) say(`${compared.notYetSent} records of the file are not in the stream yet (the driver sends them when the broker takes them${hint ? `; ${hint}` : ''})`, false);
}

/**
 * `audit verify --stream`. Read in this order, so that a running driver raises no false alarm: the
 * cursor file (it never claims more than the stream then held), the stream, then the file (it holds
 * every record the stream got: fsynced before sending).
 */
async function verifyWithStream(config: DriverConfig, out: Out, err: Out): Promise<number> {
  const path = config.auditLogPath;
  const cursor = path ? readAuditCursor(path) : { acked: 0, stream: 0 };
  const target = streamTarget(config);
  const subject = subjects.audit(target.tenant, target.deviceId);
  const read = await readStream(config, target.servers, subject, err);
  const stream: StreamCopy = { lines: read?.lines ?? [], report: verifyStreamLines(read?.lines ?? []) };
  const file = readFileCopy(path, streamSeqs(stream.lines));
  let ok = read !== undefined;
  const say: Say = (line, fault) => {
    out(line);
    if (fault) ok = false;
  };
  if (path) say(describe(`audit file ${path}`, file.report), file.report.problem !== null);
  if (!read) return EXIT_FAILURE;
  say(describe(`stream ${AUDIT_STREAM_NAME} ${subject}`, stream.report), stream.report.problem !== null);
  if (read.lines.length !== read.expected) say(`stream ${AUDIT_STREAM_NAME}: read ${read.lines.length} of ${read.expected} records`, true);
  // The file does not name its device: an empty stream may be another device's subject.
  const hint = read.lines.length === 0 ? `if the driver runs under another id than ${target.deviceId}, pass its --device-id (or --sim for a --sim driver)` : '';
  if (path && !stream.report.problem) sayComparison(stream, file, cursor, hint, say);
  return ok ? EXIT_OK : EXIT_FAILURE;
}

async function verify(config: DriverConfig, args: AuditArgs, out: Out, err: Out): Promise<number> {
  if (args.stream) return await verifyWithStream(config, out, err);
  if (!config.auditLogPath) return (err(`${PROGRAM} audit: the audit file is disabled (--audit-log none); use --stream`), EXIT_USAGE);
  return verifyFileOnly(config.auditLogPath, out);
}

/** `audit …`: argv as given (`audit`, the subcommand, options). */
export async function runAudit(input: LoadConfigInput, out: Out, err: Out): Promise<number> {
  const args = parseAuditArgs(input.argv);
  if (typeof args === 'string') return (err(`${PROGRAM}: ${args} (\`${PROGRAM} help audit\`)`), EXIT_USAGE);
  // The driver's own configuration (flags > env > settings file > defaults) names the file and the
  // broker, read as a client command reads it: credentials are used when configured, not demanded
  // (reading the stream is a client's job; the broker's permissions decide).
  const config = loadConfig({ argv: ['devices', ...args.rest], env: input.env });
  return args.sub === 'tail' ? await tail(config, args, out, err) : await verify(config, args, out, err);
}
