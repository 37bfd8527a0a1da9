// The configuration the driver would run with, seen from the settings app: the pure `resolveConfig`
// of the caller's argv and env with the saved file's or a candidate's settings as the settings
// layer (in memory: no file is written to validate), so the precedence is the product's one (flags >
// env > settings > defaults, README "Configuration"; the reference inverted it, reference-driver.md
// §9.3/§12.15). Owns the per-settings-key `{value, source}` view of /api/effective, where a --sim
// driver's `reachy_target` is what it dials (its emulator, source `simulator`) with the configured
// address as not used; does not own precedence itself (src/config/config.ts), the settings schema
// (settings-schema.ts) nor any I/O (the caller reads the saved file and passes the file reader).
import { CONFIG_KEYS, resolveConfig, type ConfigFileReads, type DriverConfig, type SettingsLayer, type Source } from '../config/config.ts';
import { OPTIONAL_SETTINGS_KEYS, SETTINGS_DEFAULTS, SETTINGS_KEYS, type AppSettings } from './settings-schema.ts';
import { narrowedAxes } from '../safety/envelope-view.ts';
import { DEFAULT_SAFETY_POLICY } from '../safety/safety-policy.ts';

/** Turns the credentials gate off for the fallback view only (see buildEffectiveView). */
const INSECURE_ENV = 'DEVICE_CONNECT_ALLOW_INSECURE';

/** The driver's argv and env, and the reader of the files they name (credentials, portal dir, TLS). */
export interface ConfigInputs {
  readonly argv: ReadonlyArray<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly files: ConfigFileReads;
}

export type ConfigAttempt = { readonly ok: true; readonly config: DriverConfig } | { readonly ok: false; readonly error: string };

/** Where an entry's value comes from: a configuration layer, or `simulator` (a --sim driver dials its embedded emulator, whatever the layers say). */
export type EffectiveSource = Source | typeof SIMULATOR_SOURCE;

export interface EffectiveEntry {
  readonly value: unknown;
  readonly source: EffectiveSource;
  /** nats_credentials_file only: the loaded file's fingerprint (`sha256:…` of its bytes), never its content. */
  readonly fingerprint?: string;
  /**
   * A configured value the driver does not use: under --sim, `reachy_target`'s address (the value is
   * the emulator's); in the in-effect view also a saved value the running driver does not use yet.
   */
  readonly pending?: EffectiveEntry;
}

/** The source of `reachy_target` on a --sim driver: it dials its embedded emulator, the configured address is not used. */
export const SIMULATOR_SOURCE = 'simulator';
/** What a --sim driver that is not running yet will dial: the target naming the embedded emulator (config.ts parseTarget), whose port is chosen at start. */
const SIM_TARGET = 'sim';

/** resolveConfig with this settings layer (the saved file's, or a candidate's) in place of the file the argv/env name. */
export function resolveEffectiveConfig(inputs: ConfigInputs, settings: SettingsLayer | undefined): ConfigAttempt {
  try {
    return { ok: true, config: resolveConfig({ argv: inputs.argv, env: inputs.env, settings, files: inputs.files }) };
  } catch (error) {
    // ConfigError is the expected case; anything else (an unreadable directory…) is still an answer, not a 500.
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** DriverConfig field behind each config key that has one; the others are resolved by layer below. */
const CONFIG_VALUES: Readonly<Record<string, (c: DriverConfig) => unknown>> = {
  portal: (c) => c.portal,
  credentialsFile: (c) => c.credentialsPath ?? null,
  deviceId: (c) => c.deviceId,
  tenant: (c) => c.tenant,
  target: (c) => hostPort(c.daemonHost, c.daemonPort),
  transportMode: (c) => c.transportMode,
  allowInsecure: (c) => c.allowInsecure,
  sim: (c) => c.sim,
  noMedia: (c) => c.noMedia,
  messagingBackend: () => 'nats',
  messagingUrls: (c) => c.messagingUrls.join(','),
  discoveryMode: (c) => c.discoveryMode,
  reachyPrefix: (c) => c.reachyPrefix,
  // The configured envelope's narrowed axes; the one in force may differ since (set_safety_policy).
  envelopeFile: (c) => narrowedAxes(c.safetyPolicy.envelope),
  mediaPolicy: (c) => c.mediaPolicy,
  maxHeadSpeed: (c) => c.safetyPolicy.speed.head_deg_per_s,
  maxHeadTranslationSpeed: (c) => c.safetyPolicy.speed.head_translation_mm_per_s,
  maxBodySpeed: (c) => c.safetyPolicy.speed.body_deg_per_s,
  maxAntennaSpeed: (c) => c.safetyPolicy.speed.antenna_deg_per_s,
  speedPolicy: (c) => c.safetyPolicy.speed.goto_policy,
  realtimeSpeedPolicy: (c) => c.safetyPolicy.speed.realtime_policy,
  deadmanMs: (c) => c.safetyPolicy.deadman_ms ?? 'off',
  requireApproval: (c) => c.safetyPolicy.approval.functions,
  approvalTimeoutS: (c) => c.safetyPolicy.approval.timeout_s,
};

/** Driver defaults per settings key for the layer fallback (null where the default depends on other keys). */
const LAYER_DEFAULTS: Readonly<Record<keyof AppSettings, unknown>> = {
  use_portal: false,
  nats_credentials_file: null,
  device_id: null,
  tenant: null,
  reachy_target: null,
  transport_mode: null,
  allow_insecure: false,
  simulate: false,
  no_media: false,
  messaging_backend: 'nats',
  messaging_urls: null,
  discovery_mode: 'infra',
  portal_credentials_glob: '*.creds.json',
  portal_credentials_dir: null,
  reachy_prefix: 'reachy_mini',
  safety_envelope: null,
  media_policy: 'allow',
  max_head_speed: DEFAULT_SAFETY_POLICY.speed.head_deg_per_s,
  max_head_translation_speed: DEFAULT_SAFETY_POLICY.speed.head_translation_mm_per_s,
  max_body_speed: DEFAULT_SAFETY_POLICY.speed.body_deg_per_s,
  max_antenna_speed: DEFAULT_SAFETY_POLICY.speed.antenna_deg_per_s,
  speed_policy: DEFAULT_SAFETY_POLICY.speed.goto_policy,
  realtime_speed_policy: DEFAULT_SAFETY_POLICY.speed.realtime_policy,
  deadman_ms: 'off',
  require_approval: [],
  approval_timeout_s: DEFAULT_SAFETY_POLICY.approval.timeout_s,
};
/** Every key the view answers: the reference's and the optional ones. */
const VIEW_KEYS: ReadonlyArray<keyof AppSettings> = [...SETTINGS_KEYS, ...OPTIONAL_SETTINGS_KEYS];
const TRUTHY = new Set(['1', 'true', 'yes', 'on']);

/** The last `--flag value` / `--flag=value` (or a bare boolean `--flag`) of any of the key's flag names. */
function flagLayer(argv: ReadonlyArray<string>, names: ReadonlyArray<string>, boolean: boolean): unknown {
  let value: unknown;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') break;
    for (const name of names) {
      if (arg === name) value = boolean ? true : argv[i + 1];
      else if (arg.startsWith(`${name}=`)) value = boolean ? TRUTHY.has(arg.slice(name.length + 1).toLowerCase()) : arg.slice(name.length + 1);
    }
  }
  return value;
}

/**
 * flag > env > settings > default by layer alone, over CONFIG_KEYS' flag and env names: for the
 * keys the DriverConfig does not expose (the portal glob and dir are read only in portal mode
 * without a credentials file), and for every key when the configuration does not load at all.
 */
function resolveByLayer(settingsKey: keyof AppSettings, inputs: ConfigInputs, saved: AppSettings | undefined): EffectiveEntry {
  const key = CONFIG_KEYS.find((k) => k.settings === settingsKey);
  const boolean = typeof SETTINGS_DEFAULTS[settingsKey] === 'boolean';
  const flag = flagLayer(inputs.argv, key?.flag?.match(/--[a-z][a-z0-9-]*/g) ?? [], boolean);
  if (flag !== undefined) return { value: flag, source: 'flag' };
  for (const name of key?.env ?? []) {
    const v = inputs.env[name];
    if (v !== undefined && v !== '') return { value: boolean ? TRUTHY.has(v.trim().toLowerCase()) : v, source: 'env' };
  }
  const fromFile = saved?.[settingsKey];
  if (fromFile !== undefined && fromFile !== '') return { value: fromFile, source: 'settings' };
  return { value: LAYER_DEFAULTS[settingsKey], source: 'default' };
}

/**
 * `reachy_target` of a --sim driver: the address it dials (its emulator's, from `dialed`, the running
 * driver's daemon URL; the `sim` target before it runs), the configured address as not used.
 */
function simulatorEntry(configured: EffectiveEntry, dialed: string | undefined): EffectiveEntry {
  return { value: dialed === undefined ? SIM_TARGET : new URL(dialed).host, source: SIMULATOR_SOURCE, pending: configured };
}

/** The layer that sets an entry's configured value (for a --sim `reachy_target`, its address's, not `simulator`). */
export function layerOf(entry: EffectiveEntry | undefined): Source | undefined {
  if (entry === undefined) return undefined;
  return entry.source === SIMULATOR_SOURCE ? layerOf(entry.pending) : entry.source;
}

/**
 * Per settings key: the value the driver uses and the layer it came from (`sources` of
 * resolveConfig). `dialed`: the running driver's daemon URL (under --sim, its emulator's).
 */
export function effectiveView(config: DriverConfig, inputs: ConfigInputs, saved: AppSettings | undefined, dialed?: string): Record<string, EffectiveEntry> {
  const view: Record<string, EffectiveEntry> = {};
  for (const settingsKey of VIEW_KEYS) {
    const key = CONFIG_KEYS.find((k) => k.settings === settingsKey);
    const read = key ? CONFIG_VALUES[key.key] : undefined;
    const source = key ? config.sources[key.key] : undefined;
    if (read) view[settingsKey] = { value: read(config), source: source ?? 'default' };
    else {
      const byLayer = resolveByLayer(settingsKey, inputs, saved);
      view[settingsKey] = { value: byLayer.value, source: source ?? byLayer.source };
    }
  }
  // A file replaced at the same path is another file: the entry names which one by its fingerprint.
  const fingerprint = config.credentials?.fingerprint;
  if (fingerprint !== undefined && view.nats_credentials_file) view.nats_credentials_file = { ...view.nats_credentials_file, fingerprint };
  if (config.sim && view.reachy_target) view.reachy_target = simulatorEntry(view.reachy_target, dialed);
  return view;
}

/**
 * The /api/effective answer, always a full per-key map. When the configuration does not load (a
 * fresh robot has no credentials yet) it is loaded again without the credentials gate
 * (DEVICE_CONNECT_ALLOW_INSECURE only for this view; its own entry is then resolved by layer), and
 * when even that fails every key is resolved by layer. /api/validate says what is wrong.
 */
export function buildEffectiveView(inputs: ConfigInputs, savedLayer: SettingsLayer | undefined, saved: AppSettings | undefined): { readonly exact: boolean; readonly view: Record<string, EffectiveEntry>; readonly error: string | null } {
  const strict = resolveEffectiveConfig(inputs, savedLayer);
  if (strict.ok) return { exact: true, view: effectiveView(strict.config, inputs, saved), error: null };
  const relaxed = resolveEffectiveConfig({ ...inputs, env: { ...inputs.env, [INSECURE_ENV]: 'true' } }, savedLayer);
  if (relaxed.ok) {
    const view = effectiveView(relaxed.config, inputs, saved);
    view.allow_insecure = resolveByLayer('allow_insecure', inputs, saved);
    return { exact: false, view, error: strict.error };
  }
  const view: Record<string, EffectiveEntry> = {};
  for (const settingsKey of VIEW_KEYS) view[settingsKey] = resolveByLayer(settingsKey, inputs, saved);
  return { exact: false, view, error: strict.error };
}
