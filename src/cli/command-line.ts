// The command line before anything heavy is loaded: `--version`, `help [command]`, `<command>
// --help`, unknown commands with "did you mean", the commands' usage texts and the exit codes.
// Imports nothing but version.ts and did-you-mean.ts, so `--help` and `--version` cost about one
// bare Node start (bench/cli-start.ts measures it). Does not validate options (src/config/config.ts
// does, once a command really runs) and never writes output itself. README "Command line".
import { DRIVER_VERSION } from '../version.ts';
import { closestName } from './did-you-mean.ts';

/** Exit codes, documented in `help`: the same for every command. */
export const EXIT_OK = 0;
/** The operation failed: error reply, no responders, timeout, unknown device, broker unreachable. */
export const EXIT_FAILURE = 1;
/** The command line was wrong: unknown command or option, missing argument, invalid value. */
export const EXIT_USAGE = 2;
/** Interrupted (Ctrl-C): 128 + SIGINT, the shell's convention. */
export const EXIT_INTERRUPTED = 130;

export const PROGRAM = 'reachy-mini-driver';

/** Options every client command takes (they reach the mesh like the driver does). */
const CLIENT_OPTIONS = [
  'Connection options (same flags, environment and settings file as the driver):',
  '  --messaging-url URL      the broker (MESSAGING_URLS); default: the private broker of a running',
  '                           `--sim` driver when there is one, else nats://127.0.0.1:4222',
  '  --tenant NAME            the tenant (TENANT); default `default`',
  '  --discovery-mode MODE    `infra` (registry only) or `d2d` (presence only); default: both, merged',
  '  --nats-credentials-file FILE   credentials (MESSAGING_CREDENTIALS_FILE); also NATS_JWT + NATS_NKEY_SEED',
  '  --json                   machine-readable output on stdout (errors stay on stderr)',
];

interface CommandHelp {
  readonly summary: string;
  readonly usage: string;
  readonly details: readonly string[];
}

/** Every command the binary knows, with its help; test/unit/cli-command-line.test.ts keeps it in step with config.ts. */
export const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  run: {
    summary: 'run the driver (the default command; --sim: the embedded emulator)',
    usage: `${PROGRAM} [run] [options]`,
    details: ['Connects the robot\'s daemon (--target, or --sim for the embedded emulator) to the Device', 'Connect mesh.'],
  },
  app: {
    summary: 'the on-robot app: the settings app on :8842, then the driver',
    usage: `${PROGRAM} app [options]`,
    details: ['Serves the token-protected settings app (a one-time login link is printed) and starts the', 'driver once the settings are valid.'],
  },
  emulate: {
    summary: 'run the daemon emulator alone on loopback',
    usage: `${PROGRAM} emulate [--port 8000] [--sim-model lite|wireless] [--signalling-port 8443]`,
    details: ['Serves the Reachy Mini daemon API (HTTP, WebSocket, WebRTC signalling) of a simulated robot.'],
  },
  devices: {
    summary: 'list the devices on the mesh',
    usage: `${PROGRAM} devices [--json]`,
    details: ['Lists the tenant\'s devices: those the registry knows and those announcing D2D presence.', '', ...CLIENT_OPTIONS],
  },
  functions: {
    summary: 'show the functions and events of a device',
    usage: `${PROGRAM} functions <device_id> [--json]`,
    details: ['Shows every function with its parameters (type, range, default) and every event.', '', ...CLIENT_OPTIONS],
  },
  call: {
    summary: 'call a function of a device',
    usage: `${PROGRAM} call <device_id> <function> ['{"param": value}'] [--json]`,
    details: [
      'Sends one JSON-RPC request and prints the result as JSON. Parameters are one JSON object (quote it for the shell).',
      'Example: reachy-mini-driver call reachy-mini-sim-1 wake_up \'{"wait": true}\'',
      'Ctrl-C stops waiting (exit 130) and sends nothing: a call already sent carries on (`call <device_id> stop_motion` stops a move).',
      '',
      ...CLIENT_OPTIONS,
    ],
  },
  events: {
    summary: 'print a device\'s events as they come (Ctrl-C stops)',
    usage: `${PROGRAM} events [device_id] [--json]`,
    details: [
      'Without a device id, every device of the tenant. One JSON object per event and line on stdout ({"deviceId", "name", "params"}), with or without --json;',
      'what it watches goes to stderr. Ctrl-C stops (exit 0), as does a reader that goes away (`| head -1`).',
      '',
      ...CLIENT_OPTIONS,
    ],
  },
  panorama: {
    summary: 'scan the room with the head camera: frames, manifest, strips and a real panorama',
    usage: `${PROGRAM} panorama <device_id> [--output DIR] [--yaw-steps N] [--pitch-steps N] [--body-yaw-steps N] [--full-360] [--json]`,
    details: [
      'Moves the head over a grid of yaws and pitches (body steps outermost), captures one frame per pose and writes, in --output (default ./panorama-out):',
      'every frame (frame_<i>_body_<b>_pitch_<p>_yaw_<y>.jpg), manifest.json, strips/strip_pitch_<p>.jpg, panorama_grid.jpg, panorama_strip.jpg and panorama.jpg (equirectangular).',
      'Holds the motion lease (owner `panorama`) for the whole scan; Ctrl-C stops the robot, releases the lease and writes what was captured.',
      'Without a device id: --device-id, else the running `--sim` driver\'s. Each pose turns the body to its step b and the head (world frame) to world yaw b + y; a view outside the device\'s advertised head-yaw range (the safety envelope, at most ±45°) looks at the range\'s nearest edge instead, repeated views are skipped, and one warning says so.',
      '',
      'Scan options (defaults as the reference CLI):',
      '  --yaw-steps N (5, ≥2)  --pitch-steps N (3)  --body-yaw-steps N (5; 1 = body turned to 0 and kept there)  --full-360 (6 body × 4 yaw steps)',
      '  --settle-s S (0.5: the camera\'s latency allowance after a move has ended; the frame is then taken once two pictures agree)',
      '  --body-move-s S (0.8)  --home-settle-s S  --no-align-head-home',
      '  --no-verify-body  --body-drift-tolerance-deg D (3)  --encoding jpeg|thumbnail  --max-edge PX (640)  --quality Q (82)',
      '  --owner NAME (panorama)  --wait-timeout S (60: how long to wait for the device; 0 asks once)',
      'Progress: a bar on stderr at a terminal; --json: one JSON line per frame, warning and the end on stdout.',
      'Exit codes: 0 written, 1 nothing written, 2 device not found in time (or usage error, or an --output that cannot be written or holds files that are not a previous scan\'s: checked before anything moves), 130 interrupted (partial results written).',
      '',
      ...CLIENT_OPTIONS,
    ],
  },
  mcp: {
    summary: 'the MCP bridge on stdio, for AI agents (Claude Desktop, Claude Code, …)',
    usage: `${PROGRAM} mcp [options]`,
    details: [
      'Serves the Model Context Protocol on stdin/stdout: describe_fleet, list_devices, get_device_functions, invoke_device, wait_for_event and the events://devices/{device_id}/latest resource. Logs go to stderr. Stops when stdin closes.',
      'MCP_REQUEST_TIMEOUT (seconds, default 30) bounds each device call; DEVICE_CONNECT_SMALL_FLEET_THRESHOLD (default 5) fleets get full schemas in every listing.',
      '',
      ...CLIENT_OPTIONS.filter((line) => !line.includes('--json')),
    ],
  },
  'settings-link': {
    summary: 'a fresh one-time login link of the running settings app',
    usage: `${PROGRAM} settings-link [--config-dir DIR] [--settings-port N]`,
    details: ['Asks the settings app running on this machine (app, or run --settings) for a new one-time login link; any earlier unused link stops working. Needs the app token in the config dir (same user as the driver). Exit 0: link printed; 1: no settings app answers; 2: bad options.'],
  },
  audit: {
    summary: 'show or verify the audit trail (hash chain in the file and the JetStream stream)',
    usage: `${PROGRAM} audit tail [--follow] [--lines N] [--json] | audit verify [--stream]`,
    details: [
      'tail: the last records of the audit file (--audit-log, default ~/.local/state/reachy_mini_driver/audit.jsonl), one per line; --follow keeps printing new ones (Ctrl-C stops); --json prints the records as stored.',
      'verify: checks the hash chain of the file (seq, prev, hash of every record) and names the first bad sequence number: a gap (deleted record), an edited record, a broken link. --stream also reads the device\'s records from the broker\'s DC_AUDIT stream, checks that chain and that it matches the file record for record, at both ends: records the stream holds past the file\'s end, or that the stream acknowledged (the file\'s .cursor) and no longer holds, fail too.',
      'Exit 0: the chain holds; 1: a gap or an edit was found, or the stream could not be read; 2: bad options.',
      '',
      ...CLIENT_OPTIONS.filter((line) => !line.includes('--discovery-mode')),
      '  --device-id ID           the device whose trail --stream reads (DEVICE_ID)',
    ],
  },
  help: {
    summary: 'this overview, or one command\'s help',
    usage: `${PROGRAM} help [command]`,
    details: [],
  },
};

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMAND_HELP);

/** The overview: commands, global options, exit codes. The driver's options are under `help run`. */
export function overview(): string {
  const width = Math.max(...COMMAND_NAMES.map((n) => n.length));
  return [
    `${PROGRAM} ${DRIVER_VERSION}: the Reachy Mini on a Device Connect (NATS) mesh`,
    '',
    `Usage: ${PROGRAM} <command> [options]`,
    '',
    'Commands:',
    ...COMMAND_NAMES.map((name) => `  ${name.padEnd(width)}  ${COMMAND_HELP[name]!.summary}`),
    '',
    `Run \`${PROGRAM} help <command>\` (or \`${PROGRAM} <command> --help\`) for a command's options;`,
    `\`${PROGRAM} help run\` lists every driver option with its environment variable and settings key.`,
    '',
    'Global options: --help, -h   --version, -V   --log-level debug|info|warn|error',
    'Output: results on stdout, errors and logs on stderr; NO_COLOR turns colour off.',
    'Exit codes: 0 ok, 1 the operation failed (error reply, unreachable broker or device), 2 usage error, 130 interrupted (Ctrl-C).',
  ].join('\n') + '\n';
}

/** One command's help; `optionTable` (for run/app) is the driver's option table from config.ts. */
export function commandHelp(command: string, optionTable?: string): string {
  const help = COMMAND_HELP[command];
  if (!help) return overview();
  const lines = [`Usage: ${help.usage}`, '', ...help.details];
  if (optionTable) lines.push('', optionTable.trimEnd());
  return lines.join('\n').trimEnd() + '\n';
}

export type EarlyAction =
  | { readonly kind: 'version' }
  | { readonly kind: 'help'; readonly command: string | undefined }
  | { readonly kind: 'unknown-command'; readonly message: string }
  | { readonly kind: 'proceed' };

/** The first argument when it is not an option: the command word (options may follow it). */
function commandWord(argv: readonly string[]): string | undefined {
  const first = argv[0];
  return first !== undefined && !first.startsWith('-') ? first : undefined;
}

/**
 * Decides from argv alone whether this invocation only asks for the version or help, or names an
 * unknown command; everything else proceeds to the configuration. Options after `--` are not looked at.
 */
export function earlyAction(argv: readonly string[]): EarlyAction {
  const end = argv.indexOf('--');
  const args = end === -1 ? argv : argv.slice(0, end);
  const word = commandWord(args);
  if (word === 'help') return { kind: 'help', command: args[1] };
  if (word !== undefined && !COMMAND_NAMES.includes(word)) {
    const suggestion = closestName(word, COMMAND_NAMES);
    const hint = suggestion ? `; did you mean \`${suggestion}\`?` : '';
    return { kind: 'unknown-command', message: `unknown command ${JSON.stringify(word)}${hint} (\`${PROGRAM} help\` lists the commands)` };
  }
  if (args.includes('--version') || args.includes('-V')) return { kind: 'version' };
  if (args.includes('--help') || args.includes('-h')) return { kind: 'help', command: word };
  return { kind: 'proceed' };
}

export function versionLine(): string {
  return `${PROGRAM} ${DRIVER_VERSION}\n`;
}
