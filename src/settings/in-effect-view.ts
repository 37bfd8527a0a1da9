// What the settings page shows as "in effect": the configuration the RUNNING driver was last
// started or successfully reconfigured with, never the saved file's. When a save could not be
// applied (restart required, invalid), each key whose saved value differs carries it as `pending`,
// so the page says "saved, not in effect yet" and agrees with Live status; a credentials file is
// compared by its fingerprint too (one replaced at the same path differs). With no driver running
// (app mode before the settings are valid, or the server alone) the view is the saved settings'
// configuration and `running` is false. Pure; the per-key view itself is effective-config.ts.
import type { DriverConfig, SettingsLayer } from '../config/config.ts';
import { buildEffectiveView, effectiveView, type ConfigInputs, type EffectiveEntry } from './effective-config.ts';
import type { AppSettings } from './settings-schema.ts';

export interface InEffectEntry extends EffectiveEntry {
  /** The saved settings' value and source where they differ from the running driver's. */
  readonly pending?: EffectiveEntry;
}

export interface InEffectView {
  /** Whether `view` is the running driver's configuration (else the saved settings'). */
  readonly running: boolean;
  /** The saved settings load as a configuration (else the view is approximate; /api/validate says why). */
  readonly exact: boolean;
  readonly view: Record<string, InEffectEntry>;
}

function sameEntry(a: EffectiveEntry, b: EffectiveEntry): boolean {
  return JSON.stringify(a.value ?? null) === JSON.stringify(b.value ?? null) && a.fingerprint === b.fingerprint;
}

export function inEffectView(running: DriverConfig | undefined, inputs: ConfigInputs, savedLayer: SettingsLayer | undefined, saved: AppSettings | undefined): InEffectView {
  const candidate = buildEffectiveView(inputs, savedLayer, saved);
  if (running === undefined) return { running: false, exact: candidate.exact, view: candidate.view };
  const view: Record<string, InEffectEntry> = effectiveView(running, inputs, saved);
  for (const [key, entry] of Object.entries(view)) {
    const next = candidate.view[key];
    if (next !== undefined && !sameEntry(next, entry)) view[key] = { ...entry, pending: next };
  }
  return { running: true, exact: candidate.exact, view };
}
