// The safety policy's configuration layers (README "Safety policy"): `--envelope FILE` (or the
// settings file's `safety_envelope` object), the speed limits and their policies, `--deadman`,
// `--require-approval` / `--approval-timeout`, with the rate limits read by config.ts. Owns the
// flag syntax and the layering of these keys; the document's bounds and validation are
// src/safety/safety-policy.ts's, and function names are checked against the catalogue at start.
import { ConfigError } from './config-error.ts';
import type { PickLayer } from './config-layers.ts';
import { DEFAULT_SAFETY_POLICY, DEFAULT_SPEED_LIMITS, envelopeFrom, FUNCTION_NAME_PATTERN, MAX_DEADMAN_MS, MAX_SPEED_LIMITS, MIN_CONFIGURED_APPROVAL_TIMEOUT_S, MIN_DEADMAN_MS, MAX_APPROVAL_TIMEOUT_S, MECHANICAL_RANGES, type SafetyPolicy } from '../safety/safety-policy.ts';
import type { RateLimits } from '../rpc/rate-limits.ts';


export interface SafetyLayers {
  readonly flags: Readonly<Record<string, unknown>>;
  readonly envValue: (names: ReadonlyArray<string>) => string | undefined;
  readonly settingValue: (key: string) => unknown;
  readonly pick: PickLayer;
  /** Reads and parses a JSON file (the envelope file); throws ConfigError. */
  readonly readJson: (path: string) => unknown;
  readonly rateLimits: RateLimits;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function numberIn(raw: string | number, name: string, min: number, max: number): number {
  const n = typeof raw === 'number' ? raw : Number(raw);
  if ((typeof raw === 'string' && raw.trim() === '') || !Number.isFinite(n) || n < min || n > max) throw new ConfigError(`${name} must be a number in [${min}, ${max}] (got ${JSON.stringify(raw)})`);
  return n;
}

function settingNumber(layers: SafetyLayers, key: string): number | string | undefined {
  const v = layers.settingValue(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' && typeof v !== 'string') throw new ConfigError(`settings file key ${key} must be a number`);
  return v;
}

/** A settings-file text value: absent, or a string; anything else is a configuration error (never silently the default). */
function settingText(layers: SafetyLayers, key: string): string | undefined {
  const v = layers.settingValue(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ConfigError(`settings file key ${key} must be a string (got ${Array.isArray(v) ? 'a list' : typeof v})`);
  return str(v);
}

/** require_approval as the settings file may hold it (a comma-separated string or a list of names) as one `fn,fn` text; undefined when it is neither. */
export function approvalText(v: unknown): string | undefined {
  if (Array.isArray(v) && v.every((name) => typeof name === 'string')) return v.length === 0 ? 'none' : v.join(',');
  return typeof v === 'string' ? v : undefined;
}

/** The function names a require_approval text lists (`fn,fn`, or `none`): trimmed, blanks dropped, each once. */
export function approvalNamesListed(listed: string): string[] {
  return listed.trim().toLowerCase() === 'none' ? [] : [...new Set(listed.split(',').map((f) => f.trim()).filter(Boolean))];
}

/** require_approval in the settings file: a comma-separated string or a list of names. */
function settingNames(layers: SafetyLayers, key: string): string | undefined {
  const v = layers.settingValue(key);
  const text = approvalText(v);
  if (v !== undefined && text === undefined) throw new ConfigError(`settings file key ${key} must be a list of function names or a comma-separated string`);
  return str(text);
}

function envelope(layers: SafetyLayers) {
  // One layered choice (so its source is recorded): a file named by flag or env, else the settings object.
  const flagFile = str(layers.flags.envelope);
  const envFile = layers.envValue(['REACHY_ENVELOPE']);
  const saved = layers.settingValue('safety_envelope');
  const chosen = layers.pick<{ file?: string; doc?: unknown } | undefined>('envelopeFile', { flag: flagFile === undefined ? undefined : { file: flagFile }, env: envFile === undefined ? undefined : { file: envFile }, settings: saved === undefined ? undefined : { doc: saved } }, undefined);
  const file = chosen?.file;
  const doc = file !== undefined ? layers.readJson(file) : chosen?.doc;
  if (doc === undefined) return MECHANICAL_RANGES;
  const issues: Array<{ parameter: string; problem: string }> = [];
  const result = envelopeFrom(doc, MECHANICAL_RANGES, '', issues);
  if (issues.length > 0) throw new ConfigError(`envelope ${file ?? '(settings file safety_envelope)'}: ${issues.map((i) => `${i.parameter} ${i.problem}`).join('; ')}`);
  return result;
}

const SPEEDS = [
  { key: 'maxHeadSpeed', flag: 'max-head-speed', env: 'REACHY_MAX_HEAD_SPEED', settings: 'max_head_speed', field: 'head_deg_per_s' },
  { key: 'maxHeadTranslationSpeed', flag: 'max-head-translation-speed', env: 'REACHY_MAX_HEAD_TRANSLATION_SPEED', settings: 'max_head_translation_speed', field: 'head_translation_mm_per_s' },
  { key: 'maxBodySpeed', flag: 'max-body-speed', env: 'REACHY_MAX_BODY_SPEED', settings: 'max_body_speed', field: 'body_deg_per_s' },
  { key: 'maxAntennaSpeed', flag: 'max-antenna-speed', env: 'REACHY_MAX_ANTENNA_SPEED', settings: 'max_antenna_speed', field: 'antenna_deg_per_s' },
] as const;

function speed(layers: SafetyLayers): SafetyPolicy['speed'] {
  const out: Record<string, unknown> = { ...DEFAULT_SPEED_LIMITS };
  for (const s of SPEEDS) {
    const raw = layers.pick<string | number>(s.key, { flag: str(layers.flags[s.flag]), env: layers.envValue([s.env]), settings: settingNumber(layers, s.settings) }, DEFAULT_SPEED_LIMITS[s.field]);
    out[s.field] = numberIn(raw, `--${s.flag}`, Number.MIN_VALUE, MAX_SPEED_LIMITS[s.field]);
  }
  const gotoPolicy = layers.pick('speedPolicy', { flag: str(layers.flags['speed-policy']), env: layers.envValue(['REACHY_SPEED_POLICY']), settings: settingText(layers, 'speed_policy') }, DEFAULT_SPEED_LIMITS.goto_policy);
  if (gotoPolicy !== 'refuse' && gotoPolicy !== 'stretch') throw new ConfigError(`--speed-policy must be refuse or stretch (got ${JSON.stringify(gotoPolicy)})`);
  const realtimePolicy = layers.pick('realtimeSpeedPolicy', { flag: str(layers.flags['realtime-speed-policy']), env: layers.envValue(['REACHY_REALTIME_SPEED_POLICY']), settings: settingText(layers, 'realtime_speed_policy') }, DEFAULT_SPEED_LIMITS.realtime_policy);
  if (realtimePolicy !== 'ramp' && realtimePolicy !== 'refuse') throw new ConfigError(`--realtime-speed-policy must be ramp or refuse (got ${JSON.stringify(realtimePolicy)})`);
  return Object.freeze({ ...out, goto_policy: gotoPolicy, realtime_policy: realtimePolicy }) as SafetyPolicy['speed'];
}

function deadman(layers: SafetyLayers): number | null {
  const raw = layers.pick<string | number | undefined>('deadmanMs', { flag: str(layers.flags.deadman), env: layers.envValue(['REACHY_DEADMAN_MS']), settings: settingNumber(layers, 'deadman_ms') }, undefined);
  if (raw === undefined || raw === 'off' || raw === 'none') return null;
  return numberIn(raw, '--deadman (milliseconds)', MIN_DEADMAN_MS, MAX_DEADMAN_MS);
}

function approval(layers: SafetyLayers): SafetyPolicy['approval'] {
  const listed = layers.pick<string | undefined>('requireApproval', { flag: str(layers.flags['require-approval']), env: layers.envValue(['REACHY_REQUIRE_APPROVAL']), settings: settingNames(layers, 'require_approval') }, undefined);
  const functions = listed === undefined ? [] : approvalNamesListed(listed);
  for (const name of functions) if (!FUNCTION_NAME_PATTERN.test(name)) throw new ConfigError(`--require-approval: ${JSON.stringify(name)} is not a function name`);
  const timeout = layers.pick<string | number>('approvalTimeoutS', { flag: str(layers.flags['approval-timeout']), env: layers.envValue(['REACHY_APPROVAL_TIMEOUT']), settings: settingNumber(layers, 'approval_timeout_s') }, DEFAULT_SAFETY_POLICY.approval.timeout_s);
  return Object.freeze({ functions: Object.freeze(functions), timeout_s: numberIn(timeout, '--approval-timeout (seconds)', MIN_CONFIGURED_APPROVAL_TIMEOUT_S, MAX_APPROVAL_TIMEOUT_S) });
}

/** The policy in force at start-up, from its layers (function names are checked against the catalogue by the driver). */
export function safetyPolicyFrom(layers: SafetyLayers): SafetyPolicy {
  return Object.freeze({ envelope: envelope(layers), speed: speed(layers), rate_limits: layers.rateLimits, deadman_ms: deadman(layers), approval: approval(layers) });
}
