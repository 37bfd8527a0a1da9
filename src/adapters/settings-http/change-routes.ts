// The settings routes that take changes: PATCH /api/settings (the page's save: only the keys the
// user changed, merged into the file; `null` removes a key) and POST /api/validate (a full
// candidate, `{changes}` over the saved file, or the saved file alone), answering a refusal as
// advice naming the page's fields (src/settings/settings-advice.ts), never environment variables.
// Owns those two routes; merging is src/settings/settings-changes.ts, the file settings-store.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConfigError } from '../../config/config-error.ts';
import { resolveConfig, type SettingsLayer } from '../../config/config.ts';
import { createLogger } from '../../logging/logger.ts';
import { messageOf } from '../../errors.ts';
import { buildEffectiveView, layerOf, type ConfigInputs } from '../../settings/effective-config.ts';
import { HttpFailure } from '../../settings/http-failure.ts';
import { adviceForConfigError } from '../../settings/settings-advice.ts';
import { changesOf, mergeChanges } from '../../settings/settings-changes.ts';
import { decodeSettings, describeIssues, type AppSettings } from '../../settings/settings-schema.ts';
import { savedOrConflict } from './saved-or-conflict.ts';
import type { SettingsAuditSink } from './settings-audit-change.ts';
import { SettingsFileInvalid, type SettingsStore } from './settings-store.ts';

const log = createLogger('settings');

export interface ChangeRoutesContext {
  readonly guard: (request: FastifyRequest) => Promise<void>;
  readonly store: SettingsStore;
  readonly inputs: ConfigInputs;
  /** Applies the saved settings to the running driver; its result goes into the answer. */
  readonly runApply: () => Promise<unknown>;
  /** Told of a saved change for the audit trail (the changed keys, never their values). */
  readonly onAudit?: SettingsAuditSink<'settings_changed'>;
}

export function registerChangeRoutes(app: FastifyInstance, { guard, store, inputs, runApply, onAudit }: ChangeRoutesContext): void {
  /** resolveConfig of a settings layer; a refusal as advice naming the page's fields. */
  const validateLayer = (layer: SettingsLayer | undefined, candidate: AppSettings | undefined): Record<string, unknown> => {
    try {
      const config = resolveConfig({ argv: inputs.argv, env: inputs.env, settings: layer, files: inputs.files });
      return { ok: true, error: null, issues: [], warnings: config.warnings };
    } catch (error) {
      if (!(error instanceof ConfigError)) return { ok: false, error: messageOf(error), issues: [] };
      const { view } = buildEffectiveView(inputs, layer, candidate);
      const advice = adviceForConfigError(error, (key) => layerOf(view[key]));
      return { ok: false, error: advice.error, issues: advice.issues };
    }
  };

  // The page's save: only the keys the user changed (`null` removes a key), merged into the file.
  app.patch('/api/settings', { onRequest: guard }, async (request) => {
    const changes = changesOf(request.body);
    if (changes === undefined) throw new HttpFailure(400, 'expected a JSON object of the changed settings ({"key": value}, null to remove a key)');
    const merged = await store.exclusive(async () => {
      const saved = savedOrConflict(() => store.readValues());
      const result = mergeChanges(saved, changes);
      if (!result.ok) throw new HttpFailure(422, describeIssues(result.issues), result.issues);
      await store.writeValues(result.values);
      return result;
    });
    log.info('settings saved', { path: store.path, changed: Object.keys(changes).join(',') });
    onAudit?.({ kind: 'settings_changed', reason: 'settings saved', fields: { keys: Object.keys(changes).sort(), via: 'PATCH /api/settings' } });
    return { saved: true, changed: Object.keys(changes), values: merged.values, settings: merged.settings, applied: await runApply() };
  });

  app.post('/api/validate', { onRequest: guard }, async (request) => {
    let layer: SettingsLayer | undefined;
    let candidate: AppSettings | undefined;
    const body = request.body as Record<string, unknown> | undefined | null;
    if (body !== undefined && body !== null && typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 1 && 'changes' in body) {
      const changes = changesOf(body) ?? {};
      let saved: Readonly<Record<string, unknown>>;
      try {
        saved = store.readValues();
      } catch (error) {
        if (error instanceof SettingsFileInvalid) return { ok: false, error: error.message, issues: error.issues };
        throw error;
      }
      const merged = mergeChanges(saved, changes);
      if (!merged.ok) return { ok: false, error: describeIssues(merged.issues), issues: merged.issues };
      layer = { path: store.path, values: merged.values };
      candidate = merged.settings;
    } else if (request.body === undefined || request.body === null) {
      try {
        store.read();
        layer = store.readLayer();
      } catch (error) {
        if (error instanceof SettingsFileInvalid) return { ok: false, error: error.message, issues: error.issues };
        throw error;
      }
    } else {
      const decoded = decodeSettings(request.body);
      if (!decoded.ok) return { ok: false, error: describeIssues(decoded.issues), issues: decoded.issues };
      // The candidate is the settings layer as it would be saved: validated in memory, no file written.
      layer = { path: store.path, values: { ...decoded.settings } };
      candidate = decoded.settings;
    }
    return validateLayer(layer, candidate);
  });
}
