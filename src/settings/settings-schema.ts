// The settings file's schema: the fifteen keys of the reference settings app with its defaults
// (reference-driver.md §10, "Schema") as one Effect Schema for PUT bodies, /api/validate candidates
// and the saved file alike, plus the optional `safety_envelope` (the policy's own `envelopeFrom`),
// `media_policy` and safety keys (src/settings/safety-settings.ts), each written only when set.
// Owns the per-key shapes (enums, booleans, text) and the `{field, message}` issue shape; stricter
// than the reference on purpose (§12.15), never stricter than the driver: text meets the driver's
// own rule (src/config/settings-text.ts), ids its patterns. Not precedence or cross-key checks
// (src/config/config.ts `resolveConfig`), nor any file I/O.
import * as Effect from 'effect/Effect';
import * as Result from 'effect/Result';
import * as Schema from 'effect/Schema';
import * as SchemaIssue from 'effect/SchemaIssue';
import { SETTINGS_TEXT_PATTERN, SETTINGS_TEXT_RULE } from '../config/settings-text.ts';
import { DEVICE_ID_PATTERN, TENANT_PATTERN } from '../protocol/subjects.ts';
import { isMediaPolicyMode, MEDIA_POLICY_MODES, type MediaPolicyMode } from '../safety/media-policy.ts';
import { ENVELOPE_AXES, envelopeFrom, MECHANICAL_RANGES, type AxisRange, type EnvelopeAxis } from '../safety/safety-policy.ts';
import { SAFETY_SETTING_KEYS, safetySettings, type SafetySettings } from './safety-settings.ts';

export interface AppSettings extends SafetySettings {
  readonly use_portal: boolean;
  readonly nats_credentials_file: string;
  readonly device_id: string;
  readonly tenant: string;
  readonly reachy_target: string;
  readonly transport_mode: 'auto' | 'websocket' | 'http';
  readonly allow_insecure: boolean;
  readonly simulate: boolean;
  readonly no_media: boolean;
  readonly messaging_backend: '' | 'nats';
  readonly messaging_urls: string;
  readonly discovery_mode: '' | 'infra' | 'd2d' | 'p2p';
  readonly portal_credentials_glob: string;
  readonly portal_credentials_dir: string;
  readonly reachy_prefix: string;
  /** --media-policy: camera and microphone `allow`, `supervisor` or `deny`; absent: allow (or the flag/env). */
  readonly media_policy?: MediaPolicyMode;
  /** The operator's envelope: only the axes set, each {min, max}; absent: the mechanical ranges (or --envelope). */
  readonly safety_envelope?: Readonly<Partial<Record<EnvelopeAxis, AxisRange>>>;
}

/** The reference defaults (§10 table), newest version (`use_portal` false). */
export const SETTINGS_DEFAULTS: AppSettings = Object.freeze({
  use_portal: false,
  nats_credentials_file: '',
  device_id: '',
  tenant: '',
  reachy_target: '127.0.0.1:8000',
  transport_mode: 'websocket',
  allow_insecure: false,
  simulate: false,
  no_media: false,
  messaging_backend: '',
  messaging_urls: '',
  discovery_mode: '',
  portal_credentials_glob: '',
  portal_credentials_dir: '',
  reachy_prefix: 'reachy_mini',
});

export const SETTINGS_KEYS: ReadonlyArray<keyof AppSettings> = Object.freeze(Object.keys(SETTINGS_DEFAULTS) as Array<keyof AppSettings>);
/** Keys beyond the reference's: absent from the defaults and written only when set (the reference's file stays as it was). */
export const OPTIONAL_SETTINGS_KEYS: ReadonlyArray<keyof AppSettings> = Object.freeze(['safety_envelope', 'media_policy', ...SAFETY_SETTING_KEYS]);
const KNOWN_KEYS: ReadonlyArray<string> = [...SETTINGS_KEYS, ...OPTIONAL_SETTINGS_KEYS];

export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

function withDefault<S extends Schema.Top>(schema: S, fallback: unknown) {
  return schema.pipe(Schema.withDecodingDefaultKey(Effect.succeed(fallback as never)));
}

/**
 * A text key: the driver's text rule, and a key's own pattern where the driver has one (the
 * identity patterns). No length of its own: the driver has none (a path, target or broker list it
 * reads is one the page takes); the JSON body limit of the settings server bounds what is sent.
 */
function text(fallback: string, rule?: { readonly pattern: RegExp; readonly text: string }) {
  const message = `must be ${SETTINGS_TEXT_RULE}${rule ? ` (${rule.text})` : ''}`;
  const base = Schema.String.annotate({ message }).check(Schema.isPattern(SETTINGS_TEXT_PATTERN, { message }));
  return withDefault(rule ? base.check(Schema.isPattern(rule.pattern, { message })) : base, fallback);
}

function flag(fallback: boolean) {
  return withDefault(Schema.Boolean.annotate({ message: 'must be true or false (a JSON boolean)' }), fallback);
}

function oneOf<const L extends readonly [string, ...string[]]>(literals: L, fallback: L[number], note = '') {
  const message = `must be one of ${literals.map((l) => JSON.stringify(l)).join(', ')}${note}`;
  return withDefault(Schema.Literals(literals).annotate({ message }), fallback);
}

const blankOr = (pattern: RegExp): RegExp => new RegExp(`^(?:|${pattern.source.replace(/^\^|\$$/g, '')})$`);

const SettingsStruct = Schema.Struct({
  use_portal: flag(SETTINGS_DEFAULTS.use_portal),
  // A relative path is the driver's too: resolved against its working directory (/api/effective shows the result).
  nats_credentials_file: text(''),
  device_id: text('', { pattern: blankOr(DEVICE_ID_PATTERN), text: 'blank, or up to 255 letters, digits, "_" and "-" starting with a letter or digit' }),
  tenant: text('', { pattern: blankOr(TENANT_PATTERN), text: 'blank, or up to 128 letters, digits, "_" and "-" starting with a letter or digit' }),
  reachy_target: text(SETTINGS_DEFAULTS.reachy_target),
  transport_mode: oneOf(['auto', 'websocket', 'http'], SETTINGS_DEFAULTS.transport_mode),
  allow_insecure: flag(SETTINGS_DEFAULTS.allow_insecure),
  simulate: flag(SETTINGS_DEFAULTS.simulate),
  no_media: flag(SETTINGS_DEFAULTS.no_media),
  messaging_backend: oneOf(['', 'nats'], SETTINGS_DEFAULTS.messaging_backend, ' (this driver speaks NATS only)'),
  messaging_urls: text(''),
  discovery_mode: oneOf(['', 'infra', 'd2d', 'p2p'], SETTINGS_DEFAULTS.discovery_mode),
  portal_credentials_glob: text(''),
  portal_credentials_dir: text(''),
  reachy_prefix: text(SETTINGS_DEFAULTS.reachy_prefix),
});

const decodeStruct = Schema.decodeUnknownResult(SettingsStruct as never, { onExcessProperty: 'error', errors: 'all' }) as (
  input: unknown,
) => Result.Result<AppSettings, Schema.SchemaError>;
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1();

/** A value the reference page offered but this driver refuses, with the reason in one sentence. */
const REFUSED_VALUES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  transport_mode: { zenoh: '"zenoh" is not supported by this driver: use "auto", "websocket" or "http" (the daemon WebSocket carries the same commands)' },
  messaging_backend: {
    zenoh: '"zenoh" is not supported: this driver speaks NATS only (use "nats" or leave it blank)',
    mqtt: '"mqtt" is not supported: this driver speaks NATS only (use "nats" or leave it blank)',
  },
};

export type SettingsDecode = { readonly ok: true; readonly settings: AppSettings } | { readonly ok: false; readonly issues: ReadonlyArray<FieldIssue> };

/**
 * Decodes a full settings object. Absent keys take the reference defaults (a PUT replaces the whole
 * object, as the reference's Pydantic model did; it is never a partial update); unknown keys,
 * wrong types, out-of-set enum values and text the driver would refuse are all reported, one issue per field.
 */
export function decodeSettings(input: unknown): SettingsDecode {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ field: '(body)', message: 'must be a JSON object of settings' }] };
  }
  const record = input as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.includes(key)) issues.push({ field: key, message: `is not a settings key (known: ${KNOWN_KEYS.join(', ')})` });
  }
  for (const [field, refused] of Object.entries(REFUSED_VALUES)) {
    const value = record[field];
    if (typeof value === 'string' && refused[value.toLowerCase()] !== undefined) issues.push({ field, message: refused[value.toLowerCase()] ?? '' });
  }
  if (issues.length > 0) return { ok: false, issues };
  const { safety_envelope: envelopeDoc, media_policy: mediaDoc, ...rest } = record;
  const envelope = envelopeSetting(envelopeDoc, issues);
  const media = mediaPolicySetting(mediaDoc, issues);
  const safety = safetySettings(rest, issues);
  const reference = Object.fromEntries(Object.entries(rest).filter(([key]) => !(SAFETY_SETTING_KEYS as readonly string[]).includes(key)));
  const result = decodeStruct(reference);
  if (Result.isSuccess(result) && issues.length === 0) return { ok: true, settings: Object.freeze({ ...result.success, ...safety, ...(envelope ? { safety_envelope: envelope } : {}), ...(media ? { media_policy: media } : {}) }) };
  if (Result.isSuccess(result)) return { ok: false, issues };
  const seen = new Set<string>();
  for (const issue of formatIssues(result.failure.issue).issues) {
    const field = issue.path?.map(String).join('.') || '(body)';
    if (seen.has(field)) continue;
    seen.add(field);
    issues.push({ field, message: issue.message });
  }
  return { ok: false, issues };
}

/**
 * The `safety_envelope` setting through the policy's own validation (issues named
 * `safety_envelope.<axis>`): the axes given, or undefined when absent, null or empty.
 */
function envelopeSetting(doc: unknown, issues: FieldIssue[]): AppSettings['safety_envelope'] {
  if (doc === undefined || doc === null) return undefined;
  const found: Array<{ parameter: string; problem: string }> = [];
  const envelope = envelopeFrom(doc, MECHANICAL_RANGES, 'safety_envelope.', found);
  issues.push(...found.map((i) => ({ field: i.parameter, message: i.problem })));
  if (found.length > 0) return undefined;
  const given = ENVELOPE_AXES.filter((axis) => (doc as Record<string, unknown>)[axis] !== undefined);
  return given.length === 0 ? undefined : Object.freeze(Object.fromEntries(given.map((axis) => [axis, envelope[axis]])));
}

/** The `media_policy` setting: one of the modes, or undefined when absent, null or blank. */
function mediaPolicySetting(doc: unknown, issues: FieldIssue[]): MediaPolicyMode | undefined {
  if (doc === undefined || doc === null || doc === '') return undefined;
  if (typeof doc === 'string' && isMediaPolicyMode(doc)) return doc;
  issues.push({ field: 'media_policy', message: `must be one of ${MEDIA_POLICY_MODES.map((m) => JSON.stringify(m)).join(', ')}` });
  return undefined;
}

/** One line naming every offending field, for the `error` member of a refusal. */
export function describeIssues(issues: ReadonlyArray<FieldIssue>): string {
  return `invalid settings: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`;
}

/** The reference's on-disk format: indent 2, sorted keys, trailing newline (§10). */
export function serializeSettings(settings: AppSettings): string {
  const sorted: Record<string, unknown> = {};
  for (const key of [...KNOWN_KEYS].sort() as Array<keyof AppSettings>) if (settings[key] !== undefined) sorted[key] = settings[key];
  return JSON.stringify(sorted, null, 2) + '\n';
}
