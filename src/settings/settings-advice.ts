// What the settings page says when the driver cannot use the saved settings: the advice names the
// page's fields ("tick Allow insecure"), never the environment variables or flags a web user cannot
// set (the CLI keeps those messages). Built from ConfigError's `problem` (a stable reason and the
// config keys involved), RestartRequired's and SimulatorInUse's `fields` and PolicyConflict's axis and
// ranges, never by matching message text; also the answer fields of an apply that left parts out.
// Pure; owns the field labels and the wording; not the rules themselves (src/config/config.ts).
// README "Settings app".
import { CONFIG_KEYS, type Source } from '../config/config.ts';
import type { ConfigError } from '../config/config-error.ts';
import type { PolicyConflict, SimulatorInUse } from '../errors.ts';
import type { FieldIssue } from './settings-schema.ts';

/** The page's label of each settings key (index.html); an unlisted key is shown as its name. */
export const FIELD_LABELS: Readonly<Record<string, string>> = {
  use_portal: 'Use the Device Connect portal',
  nats_credentials_file: 'Credentials path',
  device_id: 'Device ID',
  tenant: 'Tenant',
  reachy_target: 'Reachy daemon',
  transport_mode: 'Realtime transport',
  allow_insecure: 'Allow insecure',
  simulate: 'Simulated target',
  no_media: 'Disable SDK media',
  media_policy: 'Camera and microphone',
  messaging_backend: 'Messaging backend',
  messaging_urls: 'Messaging URLs',
  discovery_mode: 'Discovery mode',
  portal_credentials_dir: 'Portal credentials directory',
  portal_credentials_glob: 'Portal credentials glob',
  reachy_prefix: 'NATS subject prefix',
};

export function fieldLabel(settingsKey: string): string {
  return `“${FIELD_LABELS[settingsKey] ?? settingsKey}”`;
}

/** The settings key of a config key (`sim` → `simulate`), or the name itself when it is already one. */
function settingsKeyOf(name: string): string | undefined {
  const row = CONFIG_KEYS.find((k) => k.key === name || k.settings === name);
  return row?.settings;
}

export interface Advice {
  readonly error: string;
  readonly issues: ReadonlyArray<FieldIssue>;
}

/** Per reason: the sentence for the page and what to do in each field. */
const REASONS: Readonly<Record<string, { readonly error: string; readonly fields: Readonly<Record<string, string>> }>> = {
  credentials_missing: {
    error: `the driver has no mesh credentials: upload a credentials file (or fill in ${fieldLabel('nats_credentials_file')}), or tick ${fieldLabel('allow_insecure')} for a trusted development broker`,
    fields: {
      nats_credentials_file: 'upload a credentials file above, or enter the path of one on this machine',
      allow_insecure: 'or tick this to run without credentials on a trusted development broker',
    },
  },
  portal_credentials_missing: {
    error: `portal mode needs the portal's credentials file: upload the .creds.json from the portal (or fill in ${fieldLabel('nats_credentials_file')} or ${fieldLabel('portal_credentials_dir')}), or untick ${fieldLabel('use_portal')}`,
    fields: {
      nats_credentials_file: "upload the portal's .creds.json above, or enter its path",
      portal_credentials_dir: 'or a directory holding it',
      use_portal: 'or untick this to use a broker of your own',
    },
  },
  tls_ca_missing: {
    error: `a tls:// broker needs a CA file, which cannot be set on this page: use a nats:// URL in ${fieldLabel('messaging_urls')}, or ask whoever starts the driver to give it the CA file`,
    fields: { messaging_urls: 'use nats:// URLs here, or have the CA file configured where the driver is started' },
  },
  device_id_mismatch: {
    error: `${fieldLabel('device_id')} differs from the device id in the credentials file: clear ${fieldLabel('device_id')} (the file's id is used) or upload this device's credentials`,
    fields: { device_id: "clear it to use the credentials file's device id", nats_credentials_file: "or upload this device's credentials" },
  },
};

/** Where a layer above the settings file sets a key, the page cannot change it: say so. */
function fixedNote(source: Source | undefined): string {
  if (source === 'flag') return ' (note: a command-line flag of the driver sets this, so a value saved here has no effect)';
  if (source === 'env') return " (note: the driver's environment sets this, so a value saved here has no effect)";
  return '';
}

/** Advice for a configuration the driver refused; `sourceOf` tells which layer sets each settings key. */
export function adviceForConfigError(error: ConfigError, sourceOf: (settingsKey: string) => Source | undefined = () => undefined): Advice {
  const problem = error.problem;
  const reason = problem ? REASONS[problem.reason] : undefined;
  if (problem && reason) {
    const issues = Object.entries(reason.fields).map(([field, message]) => ({ field, message: message + fixedNote(sourceOf(field)) }));
    return { error: reason.error, issues };
  }
  if (problem) {
    const fields = problem.keys.flatMap((k) => settingsKeyOf(k) ?? []);
    return { error: `${fields.map(fieldLabel).join(', ')}: ${error.message}`, issues: fields.map((field) => ({ field, message: error.message + fixedNote(sourceOf(field)) })) };
  }
  return { error: `the driver cannot use these settings: ${error.message}`, issues: [] };
}

/** Advice for a save the running driver can only take at its next start. */
export function adviceForRestart(fields: ReadonlyArray<string>): Advice {
  const keys = fields.map((f) => settingsKeyOf(f) ?? f);
  return {
    error: `${keys.map(fieldLabel).join(', ')} can only change when the driver restarts: the driver keeps the values marked "in effect" until then`,
    issues: keys.map((field) => ({ field, message: 'saved; takes effect when the driver restarts' })),
  };
}

/** Advice for a daemon address saved while the driver runs on its embedded emulator (SimulatorInUse). */
export function adviceForSimulator(fields: ReadonlyArray<string>): Advice {
  return {
    error: `${fields.map(fieldLabel).join(', ')} is not in effect: the driver runs on its embedded emulator (--sim or “Simulated target”) and always uses it; a daemon address takes effect when the driver starts without simulation`,
    issues: fields.map((field) => ({ field, message: 'saved; not in effect while the driver runs on its emulator' })),
  };
}

/** Advice for a saved envelope that, with the supervisor's range in force, would leave an axis with no range (PolicyConflict). */
export function adviceForPolicyConflict(error: PolicyConflict): Advice {
  const { axis, saved, in_force: inForce, set_by: setBy } = error;
  const ranges = `saved ${axis} [${saved.min}, ${saved.max}], in force [${inForce.min}, ${inForce.max}] (set by ${setBy})`;
  return {
    error: `${fieldLabel('safety_envelope')} not applied: ${ranges} leave no range, and a save never widens a bound it did not change; nothing changed`,
    issues: [{ field: `safety_envelope.${axis}`, message: `saved; not in effect: save a range that overlaps [${inForce.min}, ${inForce.max}], or have the supervisor widen it first` }],
  };
}

/**
 * Advice for a save's safety-policy fields left out while the rest of it was applied: the range in
 * force was changed while the apply ran (PolicyConflict), so the policy in force stayed as it was.
 * `fields` are the save's safety-policy fields; the conflicting axis gets its own issue.
 */
export function adviceForPolicyLeftOut(error: PolicyConflict, fields: ReadonlyArray<string>): Advice {
  const { axis, saved, in_force: inForce, set_by: setBy } = error;
  const ranges = `saved ${axis} [${saved.min}, ${saved.max}], in force [${inForce.min}, ${inForce.max}] (set by ${setBy} while the save was applied)`;
  const others = fields.filter((field) => field !== 'safety_envelope');
  return {
    error: `${[...new Set(['safety_envelope', ...fields])].map(fieldLabel).join(', ')} not in effect: ${ranges} leave no range, so the safety policy in force was not changed; the rest of the save was applied`,
    issues: [
      { field: `safety_envelope.${axis}`, message: `saved; not in effect: save a range that overlaps [${inForce.min}, ${inForce.max}], or have the supervisor widen it first` },
      ...others.map((field) => ({ field, message: 'saved; not in effect: left out with the safety envelope (the policy in force was not changed)' })),
    ],
  };
}

/** A part of an apply left out while the rest was applied: why, and the settings fields it names (src/driver.ts LeftOut). */
export interface LeftOutPart {
  readonly error: SimulatorInUse | PolicyConflict;
  readonly fields: ReadonlyArray<string>;
}

/**
 * The fields of an applied answer (`ok: true`) for the parts left out, each kind at most once (a
 * --sim daemon address, a late policy conflict): `not_in_effect` names every field, `message` and
 * `issues` word them for the page, `error_tag` is the first part's tag (what a reader of one kind
 * expects) and `left_out` lists each part with its tag, fields and message (a PolicyConflict also
 * with its axis, ranges and who set the range in force).
 */
export function leftOutAnswer(leftOut: ReadonlyArray<LeftOutPart>): Record<string, unknown> {
  const advice = leftOut.map(({ error, fields }) => (error._tag === 'SimulatorInUse' ? adviceForSimulator(fields) : adviceForPolicyLeftOut(error, fields)));
  const parts = leftOut.map(({ error, fields }) => {
    const conflict = error._tag === 'PolicyConflict' ? { axis: error.axis, saved: error.saved, in_force: error.in_force, set_by: error.set_by } : {};
    return { error_tag: error._tag, fields, message: error.message, ...conflict };
  });
  return {
    message: advice.map((part) => part.error).join('; '),
    issues: advice.flatMap((part) => part.issues),
    error_tag: leftOut[0]?.error._tag,
    not_in_effect: [...new Set(leftOut.flatMap((one) => one.fields))],
    left_out: parts,
  };
}
