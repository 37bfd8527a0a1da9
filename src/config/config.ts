// The driver's configuration: every key (the table `--help` and the README's are made from), its
// flag, what it means and how it is validated, resolved flags > environment > settings file >
// defaults by config-layers.ts, which also records the winning layer per key. `resolveConfig` is
// pure: it validates the layers it is given (argv, env, the settings object) and asks the files it
// needs (credentials, portal dir, TLS) through an injected reader; src/adapters/config-files.ts reads
// them and offers `loadConfig({argv, env})`. Owns the only read of process.env (processInput). The
// result is frozen; secrets stay inside `Secret`s in `credentials`. Keys: reference-driver.md
// §9.1–9.2, device-connect-protocol.md §3.2 (the security gate §3.5).
import { DEFAULT_RATE_LIMIT_TEXT, parseRateLimits, type RateLimits } from '../rpc/rate-limits.ts';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LogLevel } from '../logging/logger.ts';
import { DEVICE_ID_PATTERN, TENANT_PATTERN } from '../protocol/subjects.ts';
import { ConfigError } from './config-error.ts';
import { type Env, flagTrue, type LayerReader, parseNumber, readLayers, type SettingsLayer, type Source, splitUrls } from './config-layers.ts';
import { Secret } from './secret.ts';
import { safetyPolicyFrom } from './safety-config.ts';
import { parseGlobList } from '../safety/caller-allow.ts';
import { isPublicKey } from '../safety/caller-identity.ts';
import { isMediaPolicyMode, type MediaPolicyMode } from '../safety/media-policy.ts';
import type { SafetyPolicy } from '../safety/safety-policy.ts';
import { CredentialsError, inlineCredentials, type CredentialsFileWarning, type LoadedCredentials, type TlsFiles } from './credentials.ts';

export { ConfigError } from './config-error.ts';

export const DEFAULT_SETTINGS_FILE = join(homedir(), '.config', 'reachy_mini_driver', 'device_connect_app.json');
export const DEFAULT_BROKER_URL = 'nats://127.0.0.1:4222';
export const PORTAL_BROKER_URL = 'nats://portal.deviceconnect.dev:4222';
/** Reference default (`DEVICE_ID`), spec §9.2. */
export const DEFAULT_DEVICE_ID = 'reachy-mini-1';
/** A simulated robot must not pose as the real one on a shared mesh (threat model: sim registers too). */
export const DEFAULT_SIM_DEVICE_ID = 'reachy-mini-sim-1';
/** Python DeviceRuntime defaults (§2.13): ttl 15 s, register timeout 15 s, jitter 0–2 s. */
export const DEFAULT_DEVICE_TTL_S = 15;
export const DEFAULT_REGISTER_TIMEOUT_S = 15;
export const DEFAULT_REGISTER_JITTER_S = 2;
export const DEFAULT_DAEMON_PORT = 8000;
export const DEFAULT_TARGET = 'reachy-mini.local';
/** On the robot the daemon is on loopback (reference app default `127.0.0.1:8000`). */
export const APP_DEFAULT_TARGET = '127.0.0.1:8000';

export type { Source, SettingsLayer } from './config-layers.ts';
export type TransportMode = 'auto' | 'websocket' | 'http';
export type DiscoveryMode = 'infra' | 'd2d';
export type Command = 'run' | 'app' | 'emulate' | 'devices' | 'functions' | 'call' | 'events' | 'mcp' | 'panorama';

export interface DriverConfig {
  readonly command: Command;
  readonly positional: ReadonlyArray<string>;
  readonly deviceId: string;
  /** `--replace`: start even when another device already answers with this id (start-up only). */
  readonly replace: boolean;
  readonly tenant: string;
  readonly daemonHost: string;
  readonly daemonPort: number;
  /** https/wss to the daemon (an `https://` target or REACHY_DAEMON_TLS). */
  readonly daemonTls: boolean;
  /** CA of the daemon's certificate (--daemon-ca-file); the system roots when absent. */
  readonly daemonCaFile: string | undefined;
  /** REACHY_DAEMON_TOKEN, sent as `Authorization: Bearer`; env only, never logged (a Secret). */
  readonly daemonToken: Secret | undefined;
  readonly sim: boolean;
  readonly simModel: 'lite' | 'wireless';
  readonly transportMode: TransportMode;
  readonly messagingUrls: ReadonlyArray<string>;
  readonly discoveryMode: DiscoveryMode;
  readonly portal: boolean;
  readonly allowInsecure: boolean;
  readonly noMedia: boolean;
  /** The daemon's WebRTC signalling port (gst-webrtc-signalling, reachy-daemon-api.md §9.2). */
  readonly signallingPort: number;
  /** Host of the WebRTC signalling server; the daemon's host unless the media server runs elsewhere. */
  readonly signallingHost: string;
  /** play_audio_file serves files from here only. */
  readonly soundsDir: string;
  /** Development only: lets capture_video_frame calls ask for raw frames over the RPC budget. */
  readonly allowOversizeRaw: boolean;
  /** Background detectors running from start-up (set_monitors changes them at run time). */
  readonly monitors: { readonly audio: boolean; readonly motion: boolean };
  readonly reachyPrefix: string;
  readonly deviceTtlS: number;
  readonly registerTimeoutS: number;
  readonly registerJitterS: number;
  readonly logLevel: LogLevel;
  readonly settingsFile: string;
  readonly inspectUrl: string | undefined;
  readonly json: boolean;
  readonly leasePolicy: 'enforced' | 'advisory';
  readonly leaseTtlS: number;
  /** Per-caller rate limits by class of function (motion, audio, capture); null: unlimited. */
  readonly rateLimits: RateLimits;
  /** The safety policy in force at start-up (set_safety_policy changes it at run time). */
  readonly safetyPolicy: SafetyPolicy;
  readonly privilegedRpc: 'allowed' | 'supervisor_only';
  /** DEVICE_CONNECT_RPC_ALLOW globs on the asserted caller for state-changing functions; null: everyone (src/safety/caller-allow.ts). */
  readonly rpcAllow: ReadonlyArray<string> | null;
  /** DEVICE_CONNECT_ESTOP_ALLOW globs on the device ids whose `emergencyStop` events trip the interlock (empty: none do). */
  readonly estopAllow: ReadonlyArray<string>;
  /** Public nkeys whose signed calls are verified callers (user `U…`, or account / signing keys `A…` that issued the caller's JWT); empty: verification off. */
  readonly trustedCallers: ReadonlyArray<string>;
  /** Refuse unsigned state-changing calls (stops excepted); needs trustedCallers. */
  readonly requireSignedCallers: boolean;
  /** Camera and microphone: `allow`, `supervisor` (off until the supervisor enables them) or `deny`. */
  readonly mediaPolicy: MediaPolicyMode;
  /** Append-only, hash-chained JSON-lines audit trail and outbox; undefined = no file (records kept in memory until the broker takes them). */
  readonly auditLogPath: string | undefined;
  /** Emulator time scale for --sim and `emulate` (1 = real durations). */
  readonly simTimeScale: number;
  /** `emulate --port`: where the standalone emulator listens (loopback). */
  readonly emulatorPort: number;
  /** Serve the settings app (always in app mode). */
  readonly settingsServer: boolean;
  readonly settingsHost: string;
  readonly settingsPort: number;
  /** Where the settings token and uploaded credentials live (0700). */
  readonly configDir: string;
  /** The argv the config was read from (the settings app re-reads the config with it). */
  readonly argv: ReadonlyArray<string>;
  readonly tls: TlsFiles;
  /** Secrets live only here (inside `Secret`); never copy this into machine context. */
  readonly credentials: LoadedCredentials | undefined;
  readonly credentialsPath: string | undefined;
  /** Which layer each key came from, for logs and the settings page. */
  readonly sources: Readonly<Record<string, Source>>;
  /** PATH, to find helper binaries such as nats-server for the --sim broker. */
  readonly searchPath: string;
  /** Start-up warnings (insecure mode, permissive creds file, deprecated names). */
  readonly warnings: ReadonlyArray<string>;
}

/** One row per configuration key: the README table and `--help` are generated from this. */
export interface ConfigKey {
  readonly key: string;
  readonly flag?: string;
  readonly env?: ReadonlyArray<string>;
  readonly settings?: string;
  readonly default: string;
  readonly doc: string;
}

export const CONFIG_KEYS: ReadonlyArray<ConfigKey> = [
  { key: 'deviceId', flag: '--device-id', env: ['DEVICE_ID'], settings: 'device_id', default: `${DEFAULT_DEVICE_ID} (${DEFAULT_SIM_DEVICE_ID} with --sim; the portal file's device_id in portal mode)`, doc: 'Device id on the mesh; letters, digits, `_` and `-` (no dots).' },
  { key: 'replace', flag: '--replace', default: 'false', doc: 'Start even though another device already answers with this device id on the mesh (without it the driver refuses to start, exit code 1). The other instance is not stopped: stop it yourself, or requests are split between the two.' },
  { key: 'tenant', flag: '--tenant', env: ['TENANT'], settings: 'tenant', default: "the credentials file's tenant, else `default`", doc: 'Tenant (second subject token); applies to the device and the client commands.' },
  { key: 'target', flag: '--target', env: ['REACHY_TARGET', 'REACHY_HOST'], settings: 'reachy_target', default: `${DEFAULT_TARGET} (${APP_DEFAULT_TARGET} in app mode)`, doc: 'Daemon `host[:port]`, an `http://` URL, or `sim`.' },
  { key: 'host', flag: '--host', default: '—', doc: 'Overrides the host parsed from the target.' },
  { key: 'apiPort', flag: '--api-port', env: ['REACHY_PORT'], default: String(DEFAULT_DAEMON_PORT), doc: 'Daemon port when the target has none (`--api-port` overrides the target port).' },
  { key: 'daemonTls', env: ['REACHY_DAEMON_TLS'], default: 'false (true for an `https://` target)', doc: 'Reach the daemon over https/wss, verifying its certificate (never skipped).' },
  { key: 'daemonCaFile', flag: '--daemon-ca-file', env: ['REACHY_DAEMON_CA_FILE'], default: 'the system roots', doc: 'CA file (PEM) that signed the daemon\'s certificate, for https/wss targets.' },
  { key: 'daemonToken', env: ['REACHY_DAEMON_TOKEN'], default: '—', doc: 'Sent as `Authorization: Bearer <token>` on the daemon\'s REST calls and both WebSockets; env only, never logged.' },
  { key: 'sim', flag: '--sim', env: ['REACHY_SIM', 'REACHY_SIMULATE'], settings: 'simulate', default: 'false', doc: 'Run against the embedded daemon emulator, on loopback in a process of its own.' },
  { key: 'simModel', flag: '--sim-model', env: ['REACHY_SIM_MODEL'], default: 'lite', doc: 'Emulated robot: `lite` or `wireless`.' },
  { key: 'transportMode', flag: '--transport-mode', env: ['REACHY_TRANSPORT_MODE'], settings: 'transport_mode', default: 'auto (websocket in app mode)', doc: '`auto`, `websocket` or `http`; `zenoh` is refused.' },
  { key: 'messagingBackend', flag: '--messaging-backend', env: ['MESSAGING_BACKEND'], settings: 'messaging_backend', default: 'nats', doc: 'Only `nats` is supported; `zenoh`/`mqtt` are refused.' },
  { key: 'messagingUrls', flag: '--messaging-url (repeatable)', env: ['MESSAGING_URLS', 'NATS_URL', 'NATS_URLS'], settings: 'messaging_urls', default: `the credentials file's nats.urls, else ${DEFAULT_BROKER_URL} (${PORTAL_BROKER_URL} in portal mode)`, doc: 'Broker URLs (`nats://`, `tls://`), comma-separated in env/settings.' },
  { key: 'credentialsFile', flag: '--nats-credentials-file / --portal-credentials', env: ['MESSAGING_CREDENTIALS_FILE', 'NATS_CREDENTIALS_FILE', 'PORTAL_CREDENTIALS_FILE'], settings: 'nats_credentials_file', default: '—', doc: 'NATS `.creds` or portal `.creds.json`. `NATS_CREDENTIALS_FILE` is a deprecated alias.' },
  { key: 'natsJwt', env: ['NATS_JWT'], default: '—', doc: 'Inline user JWT (with `NATS_NKEY_SEED`); env only, never a flag.' },
  { key: 'natsNkeySeed', env: ['NATS_NKEY_SEED'], default: '—', doc: 'Inline user seed (with `NATS_JWT`).' },
  { key: 'tlsCaFile', flag: '--tls-ca-file', env: ['MESSAGING_TLS_CA_FILE', 'NATS_TLS_CA_FILE'], default: "the credentials file's nats.tls", doc: 'CA for `tls://` brokers (required for `tls://` unless insecure).' },
  { key: 'tlsCertFile', flag: '--tls-cert-file', env: ['MESSAGING_TLS_CERT_FILE', 'NATS_TLS_CERT_FILE'], default: '—', doc: 'Client certificate for mTLS.' },
  { key: 'tlsKeyFile', flag: '--tls-key-file', env: ['MESSAGING_TLS_KEY_FILE', 'NATS_TLS_KEY_FILE'], default: '—', doc: 'Client key for mTLS.' },
  { key: 'allowInsecure', flag: '--allow-insecure', env: ['DEVICE_CONNECT_ALLOW_INSECURE'], settings: 'allow_insecure', default: 'false (true with --sim when every broker URL is loopback)', doc: 'Start without credentials and skip the device-id/credentials check. Never disables TLS verification.' },
  { key: 'portal', flag: '--portal', env: ['DEVICE_CONNECT_PORTAL', 'REACHY_PORTAL'], settings: 'use_portal', default: 'false', doc: 'Portal mode: NATS backend, URLs and identity from the portal credentials, infra discovery.' },
  { key: 'portalCredentialsGlob', flag: '--portal-credentials-glob', env: ['PORTAL_CREDENTIALS_GLOB'], settings: 'portal_credentials_glob', default: '*.creds.json', doc: 'Portal mode without a credentials file: newest match in the credentials dir.' },
  { key: 'portalCredentialsDir', flag: '--portal-credentials-dir', env: ['PORTAL_CREDENTIALS_DIR'], settings: 'portal_credentials_dir', default: '— (no auto-discovery unless set)', doc: 'Directory searched by the glob above.' },
  { key: 'discoveryMode', flag: '--discovery-mode', env: ['DEVICE_CONNECT_DISCOVERY_MODE'], settings: 'discovery_mode', default: 'infra (d2d with --sim outside portal mode)', doc: '`infra` (registry) or `d2d` (`p2p` accepted) presence mode.' },
  { key: 'noMedia', flag: '--no-media', env: ['REACHY_NO_MEDIA'], settings: 'no_media', default: 'false', doc: 'Disable camera/microphone/speaker functions.' },
  { key: 'signallingPort', flag: '--signalling-port', env: ['REACHY_SIGNALLING_PORT'], default: '8443 (the emulator\'s own port with --sim)', doc: 'Port of the daemon\'s WebRTC signalling server (camera, microphone, speaker).' },
  { key: 'signallingHost', flag: '--signalling-host', env: ['REACHY_SIGNALLING_HOST'], default: 'the daemon\'s host', doc: 'Host of the WebRTC signalling server, for setups where the media server does not run on the daemon\'s host.' },
  { key: 'soundsDir', flag: '--sounds-dir', env: ['REACHY_SOUNDS_DIR'], default: '~/.local/share/reachy_mini_driver/sounds', doc: 'play_audio_file plays files from this directory only (no traversal, no symlinks out, audio extensions only).' },
  { key: 'allowOversizeRaw', flag: '--allow-oversize-raw', env: ['REACHY_ALLOW_OVERSIZE_RAW'], default: 'false', doc: 'Development only: a capture_video_frame call may then ask for a raw frame over the 900 000-byte RPC budget.' },
  { key: 'monitors', flag: '--monitors', env: ['REACHY_MONITORS'], default: 'none', doc: 'Background detectors at start-up: `audio`, `motion`, `audio,motion` or `none` (emit audio_event / motion_event on state changes).' },
  { key: 'reachyPrefix', env: ['REACHY_PREFIX'], settings: 'reachy_prefix', default: 'reachy_mini', doc: 'Accepted for compatibility (Zenoh topic prefix); unused because Zenoh is not supported.' },
  { key: 'deviceTtlS', flag: '--device-ttl', env: ['DEVICE_CONNECT_DEVICE_TTL'], default: String(DEFAULT_DEVICE_TTL_S), doc: 'Registry lease (s); heartbeats every ttl/3.' },
  { key: 'registerTimeoutS', env: ['DEVICE_CONNECT_REGISTER_TIMEOUT'], default: String(DEFAULT_REGISTER_TIMEOUT_S), doc: 'registerDevice request timeout (s).' },
  { key: 'registerJitterS', env: ['DEVICE_CONNECT_REGISTER_JITTER'], default: String(DEFAULT_REGISTER_JITTER_S), doc: 'Random delay before the first registration (s).' },
  { key: 'logLevel', flag: '--log-level', env: ['REACHY_MINI_DRIVER_LOG_LEVEL', 'DEVICE_CONNECT_LOG_LEVEL'], default: 'info', doc: '`debug`, `info`, `warn`, `error`.' },
  { key: 'settingsFile', flag: '--settings-file', env: ['REACHY_MINI_DRIVER_SETTINGS_FILE'], default: '~/.config/reachy_mini_driver/device_connect_app.json', doc: 'Settings JSON (the settings app writes it); read only if it exists.' },
  { key: 'leasePolicy', flag: '--lease-policy', env: ['REACHY_LEASE_POLICY'], default: 'enforced', doc: '`enforced`: motion from another owner while the lease is held is refused (LeaseHeld); `advisory`: recorded only (reference behaviour).' },
  { key: 'rateLimits', flag: '--rate-limit', env: ['REACHY_RATE_LIMIT'], default: DEFAULT_RATE_LIMIT_TEXT, doc: 'Per-caller limits: `motion=N/s,audio=N/s,capture=N/s` (a class left out keeps its default; `class=off` or `none` lifts limits). Over the limit: `RateLimited` with `retry_after_ms`; one audit record per burst.' },
  { key: 'envelopeFile', flag: '--envelope', env: ['REACHY_ENVELOPE'], settings: 'safety_envelope', default: 'the mechanical ranges', doc: 'Operator envelope: a JSON file (or the settings object `safety_envelope`) of axes `head_x_mm`, `head_y_mm`, `head_z_mm`, `head_roll_deg`, `head_pitch_deg`, `head_yaw_deg`, `body_yaw_deg`, `antenna_left_deg`, `antenna_right_deg`, each `{"min": …, "max": …}` inside the mechanical range. Calls outside it: `OutsideEnvelope`.' },
  { key: 'maxHeadSpeed', flag: '--max-head-speed', env: ['REACHY_MAX_HEAD_SPEED'], settings: 'max_head_speed', default: '200', doc: 'Head roll/pitch/yaw speed limit, degrees per second per axis.' },
  { key: 'maxHeadTranslationSpeed', flag: '--max-head-translation-speed', env: ['REACHY_MAX_HEAD_TRANSLATION_SPEED'], settings: 'max_head_translation_speed', default: '200', doc: 'Head x/y/z speed limit, mm per second per axis.' },
  { key: 'maxBodySpeed', flag: '--max-body-speed', env: ['REACHY_MAX_BODY_SPEED'], settings: 'max_body_speed', default: '120', doc: 'Body yaw speed limit, degrees per second.' },
  { key: 'maxAntennaSpeed', flag: '--max-antenna-speed', env: ['REACHY_MAX_ANTENNA_SPEED'], settings: 'max_antenna_speed', default: '600', doc: 'Antenna speed limit, degrees per second per antenna.' },
  { key: 'speedPolicy', flag: '--speed-policy', env: ['REACHY_SPEED_POLICY'], settings: 'speed_policy', default: 'refuse', doc: 'A goto above a speed limit: `refuse` (`TooFast`, with the shortest allowed duration) or `stretch` (lengthened to it, and the reply says so).' },
  { key: 'realtimeSpeedPolicy', flag: '--realtime-speed-policy', env: ['REACHY_REALTIME_SPEED_POLICY'], settings: 'realtime_speed_policy', default: 'ramp', doc: 'A realtime target farther than one 50 Hz tick at the limit: `ramp` (sent in steps at the limit) or `refuse` (`TooFast`).' },
  { key: 'deadmanMs', flag: '--deadman', env: ['REACHY_DEADMAN_MS'], settings: 'deadman_ms', default: 'off', doc: 'Dead-man time in ms (100–600000): while motion runs, if its commander has sent nothing for this long, motion is stopped (`safety_event` `deadman_stop`).' },
  { key: 'requireApproval', flag: '--require-approval', env: ['REACHY_REQUIRE_APPROVAL'], settings: 'require_approval', default: 'none', doc: 'Functions held until the supervisor approves them (`fn,fn`); the caller gets the result, or `ApprovalDenied` / `ApprovalTimeout`.' },
  { key: 'approvalTimeoutS', flag: '--approval-timeout', env: ['REACHY_APPROVAL_TIMEOUT'], settings: 'approval_timeout_s', default: '25', doc: 'Seconds a held request waits for a decision (1–3600); the default stays under the 30 s RPC timeout of the Python clients.' },
  { key: 'leaseTtlS', flag: '--lease-ttl', env: ['REACHY_LEASE_TTL'], default: '5', doc: 'Seconds a motion lease lasts after the last motion of its owner (0.5–300).' },
  { key: 'privilegedRpc', flag: '--supervisor-only', env: ['REACHY_PRIVILEGED_RPC'], default: 'allowed', doc: '`supervisor_only` (or the flag): emergency_stop and reset_interlock RPCs are refused; trip/reset/revoke are served only on the `.supervisor` subject, which broker ACLs can restrict.' },
  { key: 'rpcAllow', flag: '--rpc-allow', env: ['DEVICE_CONNECT_RPC_ALLOW'], default: 'unset (every caller; one warning at start)', doc: 'Callers allowed to change state: comma-separated globs (`safety-*,operator`) on the asserted caller (`_dc_meta.source_device`, else the owner). Others get `CallerNotAllowed` (audited); stop_motion and emergency_stop are always allowed.' },
  { key: 'estopAllow', flag: '--estop-allow', env: ['DEVICE_CONNECT_ESTOP_ALLOW'], default: 'none', doc: 'Devices whose `emergencyStop` event trips the interlock: comma-separated globs on the emitting device id. Events from other devices are ignored; both are audited.' },
  { key: 'trustedCallers', flag: '--trusted-callers', env: ['REACHY_TRUSTED_CALLERS'], default: 'none (signatures not checked)', doc: 'Public nkeys whose signed calls are verified: user keys (`U…`) and account or account signing keys (`A…`) that issued a caller\'s JWT; comma-separated, or the path of a file with one key per line (`#` comments). A verified caller is its key (lease owner, `--rpc-allow`, audit); bad signatures, untrusted keys and replays are refused (`SignatureInvalid`, `CallerNotTrusted`, `ReplayRejected`), and unsigned calls may no longer name a `U…` key.' },
  { key: 'requireSignedCallers', flag: '--require-signed-callers', env: ['REACHY_REQUIRE_SIGNED_CALLERS'], default: 'false', doc: 'With `--trusted-callers`: unsigned state-changing calls answer `SignatureRequired` (reads and stops stay open).' },
  { key: 'mediaPolicy', flag: '--media-policy', env: ['REACHY_MEDIA_POLICY'], settings: 'media_policy', default: 'allow', doc: 'Camera and microphone functions: `allow`; `supervisor` (refused with `MediaNotEnabled` until `set_media_enabled` on the supervisor subject enables them, and after it disables them); `deny` (`MediaDenied`). Every capture is audited with its caller.' },
  { key: 'auditLogPath', flag: '--audit-log', env: ['REACHY_AUDIT_LOG'], default: '~/.local/state/reachy_mini_driver/audit.jsonl', doc: 'Append-only, hash-chained JSON-lines audit trail (refusals, interlock and lease changes, accepted motion commands and captures, settings and credential changes, reconfigure), fsynced within 200 ms or 64 records; also the outbox of the `DC_AUDIT` JetStream stream on `device-connect.<tenant>.<id>.audit` (core publish when JetStream is not available). `none` disables the file. `reachy-mini-driver audit verify` checks it.' },
  { key: 'simTimeScale', flag: '--sim-time-scale', env: ['REACHY_SIM_TIME_SCALE'], default: '1', doc: 'Emulator speed-up of move durations (0.01–1; tests use 0.05).' },
  { key: 'emulatorPort', flag: '--port', default: '8000', doc: '`emulate` only: loopback port of the standalone daemon emulator.' },
  { key: 'settingsServer', flag: '--settings', default: 'false (always on in app mode)', doc: 'Serve the settings app (token-protected) next to the driver.' },
  { key: 'settingsHost', flag: '--settings-host', env: ['REACHY_SETTINGS_HOST'], default: '0.0.0.0 in app mode, 127.0.0.1 otherwise', doc: 'Bind address of the settings app.' },
  { key: 'settingsAllowedHosts', flag: '--settings-allowed-hosts', env: ['REACHY_SETTINGS_ALLOWED_HOSTS'], default: "loopback, this machine's addresses and host names, reachy-mini.local", doc: 'More host names the settings app answers to (`name,name`; `*` turns the Host check off). Other Host headers are refused (DNS rebinding).' },
  { key: 'settingsPort', flag: '--settings-port', env: ['REACHY_SETTINGS_PORT'], default: '8842', doc: 'Port of the settings app.' },
  { key: 'configDir', flag: '--config-dir', env: ['REACHY_MINI_DRIVER_CONFIG_DIR'], default: '~/.config/reachy_mini_driver', doc: 'Holds the settings token, uploaded credentials (`credentials/`) and the verified callers\' replay floors (`replay-floors/`), all 0600.' },
  { key: 'inspectUrl', flag: '--inspect', env: ['REACHY_MINI_DRIVER_INSPECT_URL'], default: '—', doc: 'Stately inspector relay (`ws://127.0.0.1:8080`); context is sanitised.' },
];

const SETTINGS_KEYS = new Set(CONFIG_KEYS.flatMap((k) => (k.settings ? [k.settings] : [])));
export const COMMANDS: ReadonlyArray<Command> = ['run', 'app', 'emulate', 'devices', 'functions', 'call', 'events', 'mcp', 'panorama'];
const SIM_ALIASES = new Set(['sim', 'simulate', 'simulation', 'simulated']);

/** A parsed settings document as a layer; anything but an object of known keys is a config error, not "defaults". */
export function settingsLayerFrom(path: string, doc: unknown): SettingsLayer {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError(`settings file ${path} must hold a JSON object`);
  const unknown = Object.keys(doc).filter((k) => !SETTINGS_KEYS.has(k));
  if (unknown.length > 0) throw new ConfigError(`settings file ${path} has unknown keys: ${unknown.join(', ')}`);
  return { path, values: doc as Record<string, unknown> };
}

/** The files resolveConfig may need, asked for by path; src/adapters/config-files.ts reads them. */
export interface ConfigFileReads {
  /** Reads and parses a credentials file (throws CredentialsError), reporting a group/other-readable one. */
  readonly credentials: (path: string) => { readonly credentials: LoadedCredentials; readonly permissive?: CredentialsFileWarning };
  /** The newest regular file in `dir` whose name matches `glob`; undefined when none or unreadable. */
  readonly newestMatch: (dir: string, glob: string) => string | undefined;
  readonly exists: (path: string) => boolean;
  /** Reads a small text file (the trusted callers' keys); throws ConfigError when unreadable. */
  readonly readText: (path: string) => string;
  /** Reads and parses a JSON document (the envelope file); throws ConfigError when unreadable or not JSON. */
  readonly readJson: (path: string) => unknown;
}

/** `*` and `?` of a portal credentials glob as a whole-name regular expression. */
export function globPattern(glob: string): RegExp {
  return new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

/** `parse_reachy_target` (spec §9.2), minus its quirks: IPv6 `[::1]:8000` works, bad ports are errors. */
export function parseTarget(raw: string, defaultPort: number): { host: string; port: number; sim: boolean; tls?: true } {
  let t = raw.trim();
  if (SIM_ALIASES.has(t.toLowerCase())) return { host: '127.0.0.1', port: defaultPort, sim: true };
  const tls = /^https:\/\//i.test(t);
  t = t.replace(/^https?:\/\//i, '');
  t = t.split('/')[0] ?? '';
  let host = t;
  let port = defaultPort;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(t);
  if (v6) {
    host = v6[1] ?? '';
    if (v6[2] !== undefined) port = parseNumber(v6[2], 'target port', 1, 65535, true);
  } else if ((t.match(/:/g) ?? []).length === 1) {
    const [h, p] = t.split(':');
    host = h ?? '';
    port = parseNumber(p ?? '', 'target port', 1, 65535, true);
  }
  if (host === '') host = DEFAULT_TARGET;
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new ConfigError(`target host ${JSON.stringify(host)} is not a host name or address`);
  return { host, port, sim: false, ...(tls ? { tls: true as const } : {}) };
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

const FLAG_OPTIONS = {
  'device-id': { type: 'string' },
  tenant: { type: 'string' },
  target: { type: 'string' },
  host: { type: 'string' },
  'api-port': { type: 'string' },
  sim: { type: 'boolean' },
  'sim-model': { type: 'string' },
  'messaging-backend': { type: 'string' },
  'messaging-url': { type: 'string', multiple: true },
  'nats-credentials-file': { type: 'string' },
  portal: { type: 'boolean' },
  'portal-credentials': { type: 'string' },
  'portal-credentials-glob': { type: 'string' },
  'portal-credentials-dir': { type: 'string' },
  'transport-mode': { type: 'string' },
  'allow-insecure': { type: 'boolean' },
  'no-media': { type: 'boolean' },
  'signalling-port': { type: 'string' },
  'signalling-host': { type: 'string' },
  'sounds-dir': { type: 'string' },
  'allow-oversize-raw': { type: 'boolean' },
  monitors: { type: 'string' },
  'discovery-mode': { type: 'string' },
  'tls-ca-file': { type: 'string' },
  'tls-cert-file': { type: 'string' },
  'tls-key-file': { type: 'string' },
  'device-ttl': { type: 'string' },
  'log-level': { type: 'string' },
  'settings-file': { type: 'string' },
  inspect: { type: 'string' },
  json: { type: 'boolean' },
  replace: { type: 'boolean' },
  'lease-policy': { type: 'string' },
  'lease-ttl': { type: 'string' },
  'rate-limit': { type: 'string' },
  envelope: { type: 'string' },
  'max-head-speed': { type: 'string' },
  'max-head-translation-speed': { type: 'string' },
  'max-body-speed': { type: 'string' },
  'max-antenna-speed': { type: 'string' },
  'speed-policy': { type: 'string' },
  'realtime-speed-policy': { type: 'string' },
  deadman: { type: 'string' },
  'require-approval': { type: 'string' },
  'approval-timeout': { type: 'string' },
  'supervisor-only': { type: 'boolean' },
  'daemon-ca-file': { type: 'string' },
  'rpc-allow': { type: 'string' },
  'estop-allow': { type: 'string' },
  'audit-log': { type: 'string' },
  'trusted-callers': { type: 'string' },
  'require-signed-callers': { type: 'boolean' },
  'media-policy': { type: 'string' },
  'sim-time-scale': { type: 'string' },
  port: { type: 'string' },
  settings: { type: 'boolean' },
  'settings-host': { type: 'string' },
  'settings-port': { type: 'string' },
  'settings-allowed-hosts': { type: 'string' },
  'config-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface LoadConfigInput {
  readonly argv: ReadonlyArray<string>;
  readonly env: Env;
}

/** Everything resolveConfig decides from: the flag and env layers, the settings layer as read, and the file reader. */
export interface ConfigLayers extends LoadConfigInput {
  /** The settings file's content, undefined when there is none. */
  readonly settings: SettingsLayer | undefined;
  readonly files: ConfigFileReads;
}

type ParsedArgs = ReturnType<typeof parseArgs<{ options: typeof FLAG_OPTIONS; allowPositionals: true; strict: true }>>;

function parseFlags(argv: ReadonlyArray<string>): ParsedArgs {
  try {
    return parseArgs({ args: [...argv], options: FLAG_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
}

/** Which settings file the flag and env layers name (the default one otherwise): the file to read for `settings`. */
export function settingsFilePath({ argv, env }: LoadConfigInput): string {
  return resolve(parseFlags(argv).values['settings-file'] ?? env.REACHY_MINI_DRIVER_SETTINGS_FILE ?? DEFAULT_SETTINGS_FILE);
}

/** What every step of resolveConfig reads from, and the start-up warnings it adds to. */
interface Resolving {
  readonly flags: ParsedArgs['values'];
  readonly env: Env;
  readonly layers: LayerReader;
  readonly files: ConfigFileReads;
  readonly warnings: string[];
  readonly command: Command;
  readonly appMode: boolean;
}

/** Builds the frozen configuration from its layers, without I/O of its own; throws ConfigError (exit 2) on anything invalid. */
export function resolveConfig({ argv, env, settings, files }: ConfigLayers): DriverConfig {
  const parsed = parseFlags(argv);
  const { command, positional } = commandOf(parsed.positionals);
  const r: Resolving = { flags: parsed.values, env, layers: readLayers(env, settings), files, warnings: [], command, appMode: command === 'app' };
  const { pick, envValue, envBool, settingString, settingBool, sources } = r.layers;
  const settingsFile = resolve(r.flags['settings-file'] ?? env.REACHY_MINI_DRIVER_SETTINGS_FILE ?? DEFAULT_SETTINGS_FILE);
  sources.settingsFile = r.flags['settings-file'] ? 'flag' : env.REACHY_MINI_DRIVER_SETTINGS_FILE ? 'env' : 'default';
  const logLevel = logLevelOf(r);
  requireNatsBackend(r);
  const robot = robotOf(r);
  const discoveryAsked = discoveryModeOf(r);
  const portal = pick<boolean>('portal', { flag: flagTrue(r.flags.portal), env: envBool(['DEVICE_CONNECT_PORTAL', 'REACHY_PORTAL']), settings: settingBool('use_portal') }, false);
  const media = mediaOf(r, robot.daemonHost);
  const reachyPrefix = pick('reachyPrefix', { env: envValue(['REACHY_PREFIX']), settings: settingString('reachy_prefix') }, 'reachy_mini');
  const allowInsecureExplicit = pick<boolean | undefined>('allowInsecure', { flag: flagTrue(r.flags['allow-insecure']), env: envBool(['DEVICE_CONNECT_ALLOW_INSECURE']), settings: settingBool('allow_insecure') }, undefined);
  const { credentials, credentialsPath } = credentialsOf(r, portal);
  const identity = identityOf(r, credentials, robot.sim);
  const messagingUrls = brokerUrlsOf(r, credentials, portal);
  const discoveryMode = discoveryModeFor(r, discoveryAsked, { portal, sim: robot.sim });
  const tls = tlsFilesOf(r, credentials);
  const allowInsecure = securityGate(r, { allowInsecureExplicit, sim: robot.sim, messagingUrls, credentials, tls, explicitDeviceId: identity.explicitDeviceId });
  const registration = registrationOf(r);
  const access = accessOf(r, media.monitors);
  const local = localServicesOf(r);
  return Object.freeze({
    command,
    positional: Object.freeze(positional),
    deviceId: identity.deviceId,
    tenant: identity.tenant,
    daemonHost: robot.daemonHost,
    daemonPort: robot.daemonPort,
    daemonTls: robot.daemonTls,
    daemonCaFile: robot.daemonCaFile,
    daemonToken: robot.daemonToken,
    sim: robot.sim,
    simModel: robot.simModel,
    transportMode: robot.transportMode,
    messagingUrls: Object.freeze(messagingUrls),
    discoveryMode,
    portal,
    allowInsecure,
    noMedia: media.noMedia,
    signallingPort: media.signallingPort,
    signallingHost: media.signallingHost,
    soundsDir: media.soundsDir,
    allowOversizeRaw: media.allowOversizeRaw,
    monitors: media.monitors,
    reachyPrefix,
    ...registration,
    logLevel,
    settingsFile,
    inspectUrl: local.inspectUrl,
    json: r.flags.json ?? false,
    replace: r.flags.replace ?? false,
    ...access,
    auditLogPath: local.auditLogPath,
    simTimeScale: local.simTimeScale,
    emulatorPort: local.emulatorPort,
    settingsServer: local.settingsServer,
    settingsHost: local.settingsHost,
    settingsPort: local.settingsPort,
    configDir: local.configDir,
    argv: Object.freeze([...argv]),
    tls: Object.freeze(tls),
    credentials,
    credentialsPath,
    sources: Object.freeze(sources),
    searchPath: env.PATH ?? '',
    warnings: Object.freeze(r.warnings),
  });
}

/** The command (`run` when none is given) and its own arguments; the device commands take none. */
function commandOf(positionals: ReadonlyArray<string>): { command: Command; positional: string[] } {
  const [first, ...rest] = positionals;
  let command: Command = 'run';
  let positional = [...positionals];
  if (first !== undefined) {
    if (!COMMANDS.includes(first as Command)) throw new ConfigError(`unknown command ${JSON.stringify(first)} (expected one of ${COMMANDS.join(', ')})`);
    command = first as Command;
    positional = rest;
  }
  if (['run', 'app', 'emulate', 'mcp'].includes(command) && positional.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(positional[0])}`);
  return { command, positional };
}

function logLevelOf({ flags, layers }: Resolving): LogLevel {
  const logLevel = layers.pick<string>('logLevel', { flag: flags['log-level'], env: layers.envValue(['REACHY_MINI_DRIVER_LOG_LEVEL', 'DEVICE_CONNECT_LOG_LEVEL']) }, 'info').toLowerCase();
  if (!['debug', 'info', 'warn', 'warning', 'error'].includes(logLevel)) throw new ConfigError(`log level must be debug, info, warn or error (got ${JSON.stringify(logLevel)})`);
  return (logLevel === 'warning' ? 'warn' : logLevel) as LogLevel;
}

function requireNatsBackend({ flags, layers }: Resolving): void {
  const backend = layers.pick('messagingBackend', { flag: flags['messaging-backend'], env: layers.envValue(['MESSAGING_BACKEND']), settings: layers.settingString('messaging_backend') }, 'nats').toLowerCase();
  if (backend !== 'nats') throw new ConfigError(`messaging backend ${JSON.stringify(backend)} is not supported: this driver speaks NATS only (set MESSAGING_BACKEND=nats or leave it unset)`);
}

/** The robot's daemon: where it is, how it is reached (TLS, its CA, its token, the transport), or the sim. */
function robotOf({ flags, layers, files, appMode }: Resolving) {
  const { pick, envValue, envBool, sources } = layers;
  const apiPortRaw = pick<string | undefined>('apiPort', { flag: flags['api-port'], env: envValue(['REACHY_PORT']) }, undefined);
  const defaultPort = apiPortRaw === undefined ? DEFAULT_DAEMON_PORT : parseNumber(apiPortRaw, 'api port', 1, 65535, true);
  const targetRaw = pick('target', { flag: flags.target, env: envValue(['REACHY_TARGET', 'REACHY_HOST']), settings: layers.settingString('reachy_target') }, appMode ? APP_DEFAULT_TARGET : DEFAULT_TARGET);
  const target = parseTarget(targetRaw, defaultPort);
  const daemonTls = pick<boolean>('daemonTls', { flag: target.tls, env: envBool(['REACHY_DAEMON_TLS']) }, false);
  const daemonCaRaw = pick<string | undefined>('daemonCaFile', { flag: flags['daemon-ca-file'], env: envValue(['REACHY_DAEMON_CA_FILE']) }, undefined);
  const daemonCaFile = daemonCaRaw === undefined ? undefined : resolve(daemonCaRaw);
  if (daemonCaFile !== undefined && !files.exists(daemonCaFile)) throw new ConfigError(`daemon CA file ${daemonCaFile} does not exist`);
  const daemonTokenRaw = envValue(['REACHY_DAEMON_TOKEN']);
  const daemonToken = daemonTokenRaw === undefined ? undefined : new Secret(daemonTokenRaw.trim());
  sources.daemonToken = daemonToken ? 'env' : 'default';
  const sim = pick<boolean>('sim', { flag: flagTrue(flags.sim), env: envBool(['REACHY_SIM', 'REACHY_SIMULATE']), settings: layers.settingBool('simulate') }, false) || target.sim;
  if (target.sim) sources.sim = sources.target ?? 'derived';
  const simModel = pick('simModel', { flag: flags['sim-model'], env: envValue(['REACHY_SIM_MODEL']) }, 'lite');
  if (simModel !== 'lite' && simModel !== 'wireless') throw new ConfigError(`sim model must be lite or wireless (got ${JSON.stringify(simModel)})`);
  const transportMode = pick('transportMode', { flag: flags['transport-mode'], env: envValue(['REACHY_TRANSPORT_MODE']), settings: layers.settingString('transport_mode') }, appMode ? 'websocket' : 'auto').toLowerCase();
  if (transportMode === 'zenoh') throw new ConfigError('transport mode "zenoh" is not supported: use auto, websocket or http (the daemon WebSocket carries the same commands)');
  if (!['auto', 'websocket', 'http'].includes(transportMode)) throw new ConfigError(`transport mode must be auto, websocket or http (got ${JSON.stringify(transportMode)})`);
  const daemonHost = flags.host ?? target.host;
  const daemonPort = flags['api-port'] !== undefined ? defaultPort : target.port;
  return { daemonHost, daemonPort, daemonTls, daemonCaFile, daemonToken, sim, simModel, transportMode: transportMode as TransportMode } as const;
}

/** The presence mode asked for (`p2p` and `auto` accepted as the reference spells them). */
function discoveryModeOf({ flags, layers }: Resolving): DiscoveryMode {
  const discoveryRaw = layers.pick('discoveryMode', { flag: flags['discovery-mode'], env: layers.envValue(['DEVICE_CONNECT_DISCOVERY_MODE']), settings: layers.settingString('discovery_mode') }, 'infra').toLowerCase();
  if (discoveryRaw === 'd2d' || discoveryRaw === 'p2p') return 'd2d';
  if (discoveryRaw === 'infra' || discoveryRaw === 'auto') return 'infra';
  throw new ConfigError(`discovery mode must be infra or d2d (got ${JSON.stringify(discoveryRaw)})`);
}

/** Left unset, the portal uses its registry, and a simulated robot off the portal announces D2D presence (no registry runs on one machine). */
function discoveryModeFor({ layers }: Resolving, asked: DiscoveryMode, { portal, sim }: { portal: boolean; sim: boolean }): DiscoveryMode {
  if (layers.sources.discoveryMode !== 'default') return asked;
  if (portal) return 'infra';
  if (!sim) return asked;
  layers.sources.discoveryMode = 'derived';
  return 'd2d';
}

/** Camera, microphone and speaker: on or off, where signalling is, what may be played and captured, the monitors. */
function mediaOf({ flags, layers, warnings }: Resolving, daemonHost: string) {
  const { pick, envValue, envBool } = layers;
  const noMedia = pick<boolean>('noMedia', { flag: flagTrue(flags['no-media']), env: envBool(['REACHY_NO_MEDIA']), settings: layers.settingBool('no_media') }, false);
  const signallingPort = parseNumber(pick('signallingPort', { flag: flags['signalling-port'], env: envValue(['REACHY_SIGNALLING_PORT']) }, '8443'), 'signalling port', 1, 65535, true);
  const signallingHost = pick('signallingHost', { flag: flags['signalling-host'], env: envValue(['REACHY_SIGNALLING_HOST']) }, daemonHost).trim();
  if (signallingHost === '' || /[\s/]/.test(signallingHost)) throw new ConfigError(`signalling host must be a host name or address, without scheme, path or spaces (got ${JSON.stringify(signallingHost)})`);
  const soundsDir = resolve(pick('soundsDir', { flag: flags['sounds-dir'], env: envValue(['REACHY_SOUNDS_DIR']) }, join(homedir(), '.local', 'share', 'reachy_mini_driver', 'sounds')));
  const allowOversizeRaw = pick<boolean>('allowOversizeRaw', { flag: flagTrue(flags['allow-oversize-raw']), env: envBool(['REACHY_ALLOW_OVERSIZE_RAW']) }, false);
  if (allowOversizeRaw) warnings.push('--allow-oversize-raw: capture_video_frame may send raw frames over the 900 000-byte RPC budget (development only)');
  const monitorsRaw = pick('monitors', { flag: flags.monitors, env: envValue(['REACHY_MONITORS']) }, 'none').toLowerCase();
  const monitorNames = monitorsRaw === 'none' || monitorsRaw === '' ? [] : monitorsRaw.split(',').map((m) => m.trim());
  for (const name of monitorNames) if (name !== 'audio' && name !== 'motion') throw new ConfigError(`monitors must be audio, motion, audio,motion or none (got ${JSON.stringify(monitorsRaw)})`);
  const monitors = Object.freeze({ audio: monitorNames.includes('audio'), motion: monitorNames.includes('motion') });
  return { noMedia, signallingPort, signallingHost, soundsDir, allowOversizeRaw, monitors } as const;
}

/** Mesh credentials: a file (the --portal-credentials alias wins over --nats-credentials-file; in portal mode the newest match in a directory), or an inline JWT and seed. */
function credentialsOf({ flags, env, layers, files, warnings }: Resolving, portal: boolean): { credentials: LoadedCredentials | undefined; credentialsPath: string | undefined } {
  const { pick, envValue, settingString, sources } = layers;
  if (env.NATS_CREDENTIALS_FILE && !env.MESSAGING_CREDENTIALS_FILE) warnings.push('NATS_CREDENTIALS_FILE is deprecated; use MESSAGING_CREDENTIALS_FILE');
  let credentialsPath = pick<string | undefined>(
    'credentialsFile',
    { flag: flags['portal-credentials'] ?? flags['nats-credentials-file'], env: envValue(['MESSAGING_CREDENTIALS_FILE', 'NATS_CREDENTIALS_FILE', 'PORTAL_CREDENTIALS_FILE']), settings: settingString('nats_credentials_file') },
    undefined,
  );
  // Read in every mode, like every other settings key: a file the settings page refuses (a
  // non-string value) is refused at start too, not only when portal mode first needs the key.
  const dirSetting = settingString('portal_credentials_dir');
  const globSetting = settingString('portal_credentials_glob');
  if (!credentialsPath && portal) {
    const dir = pick<string | undefined>('portalCredentialsDir', { flag: flags['portal-credentials-dir'], env: envValue(['PORTAL_CREDENTIALS_DIR']), settings: dirSetting }, undefined);
    const glob = pick('portalCredentialsGlob', { flag: flags['portal-credentials-glob'], env: envValue(['PORTAL_CREDENTIALS_GLOB']), settings: globSetting }, '*.creds.json');
    if (dir) {
      credentialsPath = files.newestMatch(resolve(dir), glob);
      if (credentialsPath) sources.credentialsFile = 'derived';
    }
    if (!credentialsPath) throw new ConfigError('portal mode needs a credentials file: pass --portal-credentials <file> (or set MESSAGING_CREDENTIALS_FILE, or --portal-credentials-dir with a matching file)', { reason: 'portal_credentials_missing', keys: ['credentialsFile', 'portal', 'portalCredentialsDir'] });
  }
  if (credentialsPath) credentialsPath = resolve(credentialsPath);
  const inlineJwt = envValue(['NATS_JWT']);
  const inlineSeed = envValue(['NATS_NKEY_SEED']);
  if ((inlineJwt === undefined) !== (inlineSeed === undefined)) throw new ConfigError('NATS_JWT and NATS_NKEY_SEED must be set together');
  try {
    if (credentialsPath) {
      const loaded = files.credentials(credentialsPath);
      if (loaded.permissive) warnings.push(`credentials file ${basename(loaded.permissive.path)} has mode ${loaded.permissive.mode}; chmod 600 it`);
      return { credentials: loaded.credentials, credentialsPath };
    }
    if (inlineJwt && inlineSeed) {
      const credentials = inlineCredentials(inlineJwt, inlineSeed);
      sources.credentialsFile = 'env';
      return { credentials, credentialsPath };
    }
  } catch (error) {
    if (error instanceof CredentialsError) throw new ConfigError(error.message, { reason: 'credentials_unreadable', keys: ['credentialsFile'] });
    throw error;
  }
  return { credentials: undefined, credentialsPath };
}

/** Device id and tenant: flag > env > settings > the credentials file > default. */
function identityOf({ flags, layers }: Resolving, credentials: LoadedCredentials | undefined, sim: boolean) {
  const { pick, envValue, settingString, sources } = layers;
  const explicitDeviceId = pick<string | undefined>('deviceId', { flag: flags['device-id'], env: envValue(['DEVICE_ID']), settings: settingString('device_id') }, undefined);
  let deviceId = explicitDeviceId;
  if (!deviceId && credentials?.deviceId) {
    deviceId = credentials.deviceId;
    sources.deviceId = 'credentials';
  }
  deviceId ??= sim ? DEFAULT_SIM_DEVICE_ID : DEFAULT_DEVICE_ID;
  if (!DEVICE_ID_PATTERN.test(deviceId)) throw new ConfigError(`device id ${JSON.stringify(deviceId)} is invalid: use letters, digits, "_" and "-" (no dots), starting with a letter or digit`);
  let tenant = pick<string | undefined>('tenant', { flag: flags.tenant, env: envValue(['TENANT']), settings: settingString('tenant') }, undefined);
  if (!tenant && credentials?.tenant) {
    tenant = credentials.tenant;
    sources.tenant = 'credentials';
  }
  tenant ??= 'default';
  if (!TENANT_PATTERN.test(tenant)) throw new ConfigError(`tenant ${JSON.stringify(tenant)} is invalid: use letters, digits, "_" and "-"`);
  return { explicitDeviceId, deviceId, tenant } as const;
}

/** Broker URLs: flag list > env > settings > the credentials file > the local (or portal) broker; nats:// or tls:// only. */
function brokerUrlsOf({ flags, layers }: Resolving, credentials: LoadedCredentials | undefined, portal: boolean): string[] {
  const envUrls = layers.envValue(['MESSAGING_URLS', 'NATS_URL', 'NATS_URLS']);
  const settingUrls = layers.settingString('messaging_urls');
  let messagingUrls = layers.pick<string[] | undefined>('messagingUrls', { flag: flags['messaging-url']?.flatMap(splitUrls), env: envUrls ? splitUrls(envUrls) : undefined, settings: settingUrls ? splitUrls(settingUrls) : undefined }, undefined);
  if (!messagingUrls && credentials?.urls) {
    messagingUrls = [...credentials.urls];
    layers.sources.messagingUrls = 'credentials';
  }
  messagingUrls ??= [portal ? PORTAL_BROKER_URL : DEFAULT_BROKER_URL];
  for (const url of messagingUrls) {
    let parsedUrl: URL;
    try {
      parsedUrl = new URL(url);
    } catch {
      throw new ConfigError(`broker URL ${JSON.stringify(withoutUserInfo(url))} is not a URL`);
    }
    if (!['nats:', 'tls:'].includes(parsedUrl.protocol)) throw new ConfigError(`broker URL ${JSON.stringify(withoutUserInfo(url))} must use nats:// or tls://`);
    // The NATS client does not authenticate with a URL's user info: it would only be printed (start-up log, status).
    if (parsedUrl.username !== '' || parsedUrl.password !== '') {
      throw new ConfigError(`broker URL ${JSON.stringify(withoutUserInfo(url))} carries a user name or password, which is not used to connect: give the broker credentials as a .creds file (--credentials-file)`);
    }
  }
  return messagingUrls;
}

/** A URL as it may be shown: whatever sits between `//` and the first `@` (a user name, a password) replaced. */
function withoutUserInfo(url: string): string {
  return url.replace(/^([^/]*\/\/)[^/]*@/, '$1***@');
}

/** TLS files: flags, then env, then the credentials file's section; each must exist, and mTLS needs both halves. */
function tlsFilesOf({ flags, layers, files }: Resolving, credentials: LoadedCredentials | undefined): TlsFiles {
  const fileOf = (flag: string | undefined, names: ReadonlyArray<string>, fromCredentials: string | undefined): string | undefined => {
    const v = flag ?? layers.envValue(names) ?? fromCredentials;
    return v ? resolve(v) : undefined;
  };
  const caFile = fileOf(flags['tls-ca-file'], ['MESSAGING_TLS_CA_FILE', 'NATS_TLS_CA_FILE'], credentials?.tls?.caFile);
  const certFile = fileOf(flags['tls-cert-file'], ['MESSAGING_TLS_CERT_FILE', 'NATS_TLS_CERT_FILE'], credentials?.tls?.certFile);
  const keyFile = fileOf(flags['tls-key-file'], ['MESSAGING_TLS_KEY_FILE', 'NATS_TLS_KEY_FILE'], credentials?.tls?.keyFile);
  const tls: TlsFiles = { ...(caFile ? { caFile } : {}), ...(certFile ? { certFile } : {}), ...(keyFile ? { keyFile } : {}) };
  for (const [name, file] of Object.entries(tls)) {
    if (!files.exists(file)) throw new ConfigError(`TLS ${name} ${file} does not exist`);
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) throw new ConfigError('mTLS needs both a client certificate and a key file');
  return tls;
}

interface GateInput {
  readonly allowInsecureExplicit: boolean | undefined;
  readonly sim: boolean;
  readonly messagingUrls: ReadonlyArray<string>;
  readonly credentials: LoadedCredentials | undefined;
  readonly tls: TlsFiles;
  readonly explicitDeviceId: string | undefined;
}

/**
 * The security gate (device-connect-protocol.md §3.5) for the device commands: credentials required,
 * a tls:// broker needs a CA, an explicit device id must match the credentials file's. Insecure mode
 * skips it (implied by --sim on loopback brokers) and is warned about. Answers whether it is insecure.
 */
function securityGate({ command, layers, warnings }: Resolving, gate: GateInput): boolean {
  const { credentials, explicitDeviceId } = gate;
  let allowInsecure = gate.allowInsecureExplicit ?? false;
  if (gate.allowInsecureExplicit === undefined && gate.sim && gate.messagingUrls.every(isLoopbackUrl)) {
    allowInsecure = true;
    layers.sources.allowInsecure = 'derived';
  }
  if (command !== 'run' && command !== 'app') return allowInsecure;
  if (!allowInsecure) {
    if (!credentials) throw new ConfigError('no mesh credentials configured: set MESSAGING_CREDENTIALS_FILE (or --nats-credentials-file, or NATS_JWT + NATS_NKEY_SEED), or DEVICE_CONNECT_ALLOW_INSECURE=true for a trusted dev broker', { reason: 'credentials_missing', keys: ['credentialsFile', 'allowInsecure'] });
    if (gate.messagingUrls.some((u) => u.startsWith('tls://')) && !gate.tls.caFile) throw new ConfigError('a tls:// broker URL needs a CA file: set MESSAGING_TLS_CA_FILE or --tls-ca-file', { reason: 'tls_ca_missing', keys: ['messagingUrls'] });
    if (explicitDeviceId && credentials.deviceId && explicitDeviceId !== credentials.deviceId) {
      throw new ConfigError(`device id ${JSON.stringify(explicitDeviceId)} does not match the credentials file's device_id ${JSON.stringify(credentials.deviceId)}`, { reason: 'device_id_mismatch', keys: ['deviceId', 'credentialsFile'] });
    }
    return allowInsecure;
  }
  warnings.push(
    layers.sources.allowInsecure === 'derived'
      ? 'INSECURE: --sim on a loopback broker runs without credentials checks; never use this on a shared broker'
      : 'INSECURE: DEVICE_CONNECT_ALLOW_INSECURE is on — credentials and device-id checks are skipped; never use this on a shared broker',
  );
  return allowInsecure;
}

/** The registry lease and the first registration's timing (the Python runtime's defaults, §2.13). */
function registrationOf({ flags, layers }: Resolving) {
  return {
    deviceTtlS: parseNumber(flags['device-ttl'] ?? layers.envValue(['DEVICE_CONNECT_DEVICE_TTL']) ?? String(DEFAULT_DEVICE_TTL_S), 'device ttl', 3, 3600, true),
    registerTimeoutS: parseNumber(layers.envValue(['DEVICE_CONNECT_REGISTER_TIMEOUT']) ?? String(DEFAULT_REGISTER_TIMEOUT_S), 'DEVICE_CONNECT_REGISTER_TIMEOUT', 0.1, 600, false),
    registerJitterS: parseNumber(layers.envValue(['DEVICE_CONNECT_REGISTER_JITTER']) ?? String(DEFAULT_REGISTER_JITTER_S), 'DEVICE_CONNECT_REGISTER_JITTER', 0, 60, false),
  } as const;
}

/** Who may do what: the lease, rate limits, the safety policy, the privileged functions, the caller allowlists and signatures, the media policy. */
function accessOf(r: Resolving, monitors: { readonly audio: boolean; readonly motion: boolean }) {
  const { flags, layers, warnings } = r;
  const { pick, envValue } = layers;
  const leasePolicy = pick('leasePolicy', { flag: flags['lease-policy'], env: envValue(['REACHY_LEASE_POLICY']) }, 'enforced');
  if (leasePolicy !== 'enforced' && leasePolicy !== 'advisory') throw new ConfigError(`lease policy must be enforced or advisory (got ${JSON.stringify(leasePolicy)})`);
  const leaseTtlS = parseNumber(pick('leaseTtlS', { flag: flags['lease-ttl'], env: envValue(['REACHY_LEASE_TTL']) }, '5'), 'lease ttl', 0.5, 300, false);
  const rateParsed = parseRateLimits(pick('rateLimits', { flag: flags['rate-limit'], env: envValue(['REACHY_RATE_LIMIT']) }, DEFAULT_RATE_LIMIT_TEXT));
  if (!rateParsed.ok) throw new ConfigError(`--rate-limit: ${rateParsed.problem}`);
  const safetyPolicy = safetyPolicyFrom({ flags, envValue, settingValue: layers.settingValue, pick, readJson: (path) => r.files.readJson(resolve(path)), rateLimits: rateParsed.limits });
  const privilegedRpc = pick<string>('privilegedRpc', { flag: flags['supervisor-only'] ? 'supervisor_only' : undefined, env: envValue(['REACHY_PRIVILEGED_RPC']) }, 'allowed');
  if (privilegedRpc !== 'allowed' && privilegedRpc !== 'supervisor_only') throw new ConfigError(`REACHY_PRIVILEGED_RPC must be allowed or supervisor_only (got ${JSON.stringify(privilegedRpc)})`);
  const rpcAllowRaw = pick<string | undefined>('rpcAllow', { flag: flags['rpc-allow'], env: envValue(['DEVICE_CONNECT_RPC_ALLOW']) }, undefined);
  const rpcAllow = rpcAllowRaw === undefined ? null : Object.freeze(parseGlobList(rpcAllowRaw));
  if (rpcAllow === null && (r.command === 'run' || r.command === 'app')) warnings.push('DEVICE_CONNECT_RPC_ALLOW is not set: every caller on the mesh may call state-changing functions (set it, e.g. --rpc-allow "operator,safety-*", to restrict them)');
  const estopAllow = Object.freeze(parseGlobList(pick('estopAllow', { flag: flags['estop-allow'], env: envValue(['DEVICE_CONNECT_ESTOP_ALLOW']) }, '')));
  const trustedCallers = trustedCallersFrom(pick<string | undefined>('trustedCallers', { flag: flags['trusted-callers'], env: envValue(['REACHY_TRUSTED_CALLERS']) }, undefined), r.files);
  const requireSignedCallers = pick<boolean>('requireSignedCallers', { flag: flagTrue(flags['require-signed-callers']), env: layers.envBool(['REACHY_REQUIRE_SIGNED_CALLERS']) }, false);
  if (requireSignedCallers && trustedCallers.length === 0) throw new ConfigError('--require-signed-callers needs --trusted-callers (the keys whose signatures are accepted)');
  const mediaPolicy = pick('mediaPolicy', { flag: flags['media-policy'], env: envValue(['REACHY_MEDIA_POLICY']), settings: layers.settingString('media_policy') }, 'allow').toLowerCase();
  if (!isMediaPolicyMode(mediaPolicy)) throw new ConfigError(`media policy must be allow, supervisor or deny (got ${JSON.stringify(mediaPolicy)})`);
  if (mediaPolicy !== 'allow' && (monitors.audio || monitors.motion)) throw new ConfigError(`--monitors reads the camera and microphone from start-up, which --media-policy ${mediaPolicy} does not allow: leave --monitors out (under supervisor, set_monitors once media is enabled)`);
  return { leasePolicy, leaseTtlS, rateLimits: rateParsed.limits, safetyPolicy, privilegedRpc, rpcAllow, estopAllow, trustedCallers, requireSignedCallers, mediaPolicy } as const;
}

/** What the process keeps or serves beside the driver: the audit file, the emulator, the settings app, the inspector. */
function localServicesOf({ flags, layers, appMode }: Resolving) {
  const { pick, envValue } = layers;
  const auditRaw = pick('auditLogPath', { flag: flags['audit-log'], env: envValue(['REACHY_AUDIT_LOG']) }, join(homedir(), '.local', 'state', 'reachy_mini_driver', 'audit.jsonl'));
  return {
    auditLogPath: auditRaw === 'none' ? undefined : resolve(auditRaw),
    simTimeScale: parseNumber(pick('simTimeScale', { flag: flags['sim-time-scale'], env: envValue(['REACHY_SIM_TIME_SCALE']) }, '1'), 'sim time scale', 0.01, 1, false),
    emulatorPort: parseNumber(pick('emulatorPort', { flag: flags.port }, '8000'), 'emulator port', 0, 65535, true),
    settingsServer: pick<boolean>('settingsServer', { flag: flagTrue(flags.settings) }, false) || appMode,
    settingsHost: pick('settingsHost', { flag: flags['settings-host'], env: envValue(['REACHY_SETTINGS_HOST']) }, appMode ? '0.0.0.0' : '127.0.0.1'),
    settingsPort: parseNumber(pick('settingsPort', { flag: flags['settings-port'], env: envValue(['REACHY_SETTINGS_PORT']) }, '8842'), 'settings port', 0, 65535, true),
    configDir: resolve(pick('configDir', { flag: flags['config-dir'], env: envValue(['REACHY_MINI_DRIVER_CONFIG_DIR']) }, join(homedir(), '.config', 'reachy_mini_driver'))),
    inspectUrl: pick<string | undefined>('inspectUrl', { flag: flags.inspect, env: envValue(['REACHY_MINI_DRIVER_INSPECT_URL']) }, undefined),
  } as const;
}

/**
 * --trusted-callers: a comma list of public nkeys, or the path of a file of them (one per line, `#`
 * comments). Each must be a valid user (`U…`) or account (`A…`) public key.
 */
function trustedCallersFrom(raw: string | undefined, files: ConfigFileReads): ReadonlyArray<string> {
  if (raw === undefined || raw.trim() === '') return Object.freeze([]);
  const looksLikeKeys = raw.split(',').every((k) => /^\s*[UA][A-Z2-7]{55}\s*$/.test(k));
  const text = looksLikeKeys ? raw.replace(/,/g, '\n') : files.readText(resolve(raw.trim()));
  const keys = text.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean);
  for (const key of keys) {
    if (!isPublicKey(key, 'UA')) throw new ConfigError(`--trusted-callers: ${JSON.stringify(key.slice(0, 60))} is not a user (U…) or account (A…) public nkey`);
  }
  if (keys.length === 0) throw new ConfigError(`--trusted-callers: ${raw} names no keys`);
  return Object.freeze([...new Set(keys)]);
}

/** The process's own argv and environment: the one place the driver reads process.env. */
export function processInput(): LoadConfigInput {
  return { argv: process.argv.slice(2), env: { ...process.env } };
}

export interface SettingsServerConfig {
  readonly host: string;
  readonly port: number;
  readonly configDir: string;
  readonly settingsFile: string;
  /** Host names the settings app answers to beyond its own (`*`: any). */
  readonly allowedHosts: ReadonlyArray<string>;
}

/**
 * Where the settings app listens and keeps its files, readable even when the rest of the
 * configuration is not valid yet (app mode starts the settings app first, so credentials can be
 * uploaded). Same keys and precedence as `resolveConfig`.
 */
export function loadSettingsServerConfig({ argv, env }: LoadConfigInput): SettingsServerConfig {
  const { values: flags, positionals } = parseFlags(argv);
  const appMode = positionals[0] === 'app';
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const port = parseNumber(str(flags['settings-port']) ?? str(env.REACHY_SETTINGS_PORT) ?? '8842', 'settings port', 0, 65535, true);
  return {
    host: str(flags['settings-host']) ?? str(env.REACHY_SETTINGS_HOST) ?? (appMode ? '0.0.0.0' : '127.0.0.1'),
    port,
    configDir: resolve(str(flags['config-dir']) ?? str(env.REACHY_MINI_DRIVER_CONFIG_DIR) ?? join(homedir(), '.config', 'reachy_mini_driver')),
    settingsFile: resolve(str(flags['settings-file']) ?? str(env.REACHY_MINI_DRIVER_SETTINGS_FILE) ?? DEFAULT_SETTINGS_FILE),
    allowedHosts: (str(flags['settings-allowed-hosts']) ?? str(env.REACHY_SETTINGS_ALLOWED_HOSTS) ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
  };
}

/**
 * Whether this invocation runs under the settings app (`app`, or `run --settings`), decided from
 * argv alone so the app can start before the rest of the configuration is valid.
 */
export function runsSettingsApp(argv: ReadonlyArray<string>): boolean {
  try {
    const { values, positionals } = parseFlags(argv);
    const command = positionals[0];
    return command === 'app' || (values.settings === true && (command === undefined || command === 'run'));
  } catch {
    return false;
  }
}

/** Whether `--help` was asked for (checked before full validation so help always works). */
export function wantsHelp(argv: ReadonlyArray<string>): boolean {
  return argv.includes('--help') || argv.includes('-h');
}
