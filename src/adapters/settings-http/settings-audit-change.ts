// What the settings app tells the audit trail about a change it saved: the record's kind, a reason
// and the fields (setting names, file names and fingerprints — never values or secrets).
// Owns only the type, shared by the server and the routes that save; the audit trail itself is
// src/adapters/audit-log.ts's, and app-mode.ts hands the server its sink.
// Follows reference-driver.md §10 (the settings routes) and the threat model's "Repudiation".

/** A change the settings app made, as the audit trail records it. */
export interface SettingsAuditChange {
  readonly kind: 'settings_changed' | 'credentials_uploaded';
  readonly reason: string;
  readonly fields: Record<string, unknown>;
}

/** The audit sink one route is given, narrowed to the kind of change that route saves. */
export type SettingsAuditSink<Kind extends SettingsAuditChange['kind']> = (change: SettingsAuditChange & { readonly kind: Kind }) => void;
