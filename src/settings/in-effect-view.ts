// What the settings page shows as "in effect": the configuration the RUNNING driver was last
// started or successfully reconfigured with, never the saved file's. When a save could not be
// applied (restart required, invalid), each key whose saved value differs carries it as `pending`,
// so the page says "saved, not in effect yet" and agrees with Live status; a credentials file is
// compared by its fingerprint too (one replaced at the same path differs). Under --sim the saved
// daemon address is always `pending`: the driver dials its emulator. With no driver running the
// view is the saved settings' configuration and `running` is false. Pure; per key: effective-config.ts.
import type { DriverConfig, SettingsLayer } from '../config/config.ts';
import { buildEffectiveView, effectiveView, SIMULATOR_SOURCE, type ConfigInputs, type EffectiveEntry } from './effective-config.ts';
import type { AppSettings } from './settings-schema.ts';

export interface InEffectEntry extends EffectiveEntry {
  /** The saved settings' value and source where they differ from the running driver's (under --sim: the saved daemon address, always). */
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

/** `dialed`: the daemon URL the running driver dials (under --sim, its emulator's). */
export function inEffectView(running: DriverConfig | undefined, inputs: ConfigInputs, savedLayer: SettingsLayer | undefined, saved: AppSettings | undefined, dialed?: string): InEffectView {
  const candidate = buildEffectiveView(inputs, savedLayer, saved);
  if (running === undefined) return { running: false, exact: candidate.exact, view: candidate.view };
  const view: Record<string, InEffectEntry> = effectiveView(running, inputs, saved, dialed);
  for (const [key, entry] of Object.entries(view)) {
    const next = candidate.view[key];
    if (next === undefined) continue;
    // What the saved settings name: a --sim candidate's address is its `pending` (it would not dial it either).
    const savedEntry = next.source === SIMULATOR_SOURCE && next.pending ? next.pending : next;
    // A --sim driver never uses a saved daemon address: it is always pending, whatever the address it started with.
    if (entry.source === SIMULATOR_SOURCE || !sameEntry(savedEntry, entry)) view[key] = { ...entry, pending: savedEntry };
  }
  return { running: true, exact: candidate.exact, view };
}
