// The settings app's own routes over the settings file and the running driver: GET /api/health,
// GET/PUT /api/settings (the whole file), /api/effective (what the RUNNING driver uses, and what a
// saved change would), /api/status and /api/apply, plus the change routes (PATCH, validate) of
// change-routes.ts. Owns those handlers and the "apply after save" step (an upload runs it too);
// the file is settings-store.ts's, the in-effect view src/settings/in-effect-view.ts's.
// reference-driver.md §10.
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { DriverConfig, SettingsLayer } from '../../config/config.ts';
import { createLogger } from '../../logging/logger.ts';
import { messageOf } from '../../errors.ts';
import type { ConfigInputs } from '../../settings/effective-config.ts';
import { HttpFailure } from '../../settings/http-failure.ts';
import { inEffectView } from '../../settings/in-effect-view.ts';
import { decodeSettings, describeIssues, type AppSettings } from '../../settings/settings-schema.ts';
import { registerChangeRoutes } from './change-routes.ts';
import type { RequestGuard } from './request-protections.ts';
import { savedOrConflict } from './saved-or-conflict.ts';
import type { SettingsAuditSink } from './settings-audit-change.ts';
import type { SettingsStore } from './settings-store.ts';

const log = createLogger('settings');

/** `service` of /api/health, as the reference answers it (§10). */
export const HEALTH_SERVICE = 'reachy_mini_device_connect_settings';

export interface SettingsRoutesContext {
  readonly guard: RequestGuard;
  readonly store: SettingsStore;
  readonly inputs: ConfigInputs;
  readonly status: () => unknown;
  readonly apply: () => Promise<unknown>;
  readonly inEffect?: () => DriverConfig | undefined;
  /** The daemon URL the running driver dials (under --sim, its emulator's): /api/effective's `reachy_target` then. */
  readonly dialedDaemon?: () => string | undefined;
  readonly onAudit?: SettingsAuditSink<'settings_changed'>;
}

/** The `_tag` of a typed error (src/errors.ts and the adapters' own), else undefined. */
function tagOf(error: unknown): string | undefined {
  const tag = typeof error === 'object' && error !== null ? (error as { _tag?: unknown })._tag : undefined;
  return typeof tag === 'string' ? tag : undefined;
}

/**
 * A save's apply: its result goes into the save's answer (`applied`); a failure is reported there,
 * the save stands. A typed error thrown (the driver's first start refused: DuplicateDeviceId…) is
 * answered with its `error_tag`, like the same refusal of a running driver: the page and scripts
 * act on tags, never on messages.
 */
export function applyAfterSave(apply: () => Promise<unknown>): () => Promise<unknown> {
  return async () => {
    try {
      return (await apply()) ?? null;
    } catch (error) {
      log.warn('apply failed', { error: messageOf(error) });
      const tag = tagOf(error);
      return { ok: false, error: messageOf(error), ...(tag ? { issues: [], error_tag: tag, started: false } : {}) };
    }
  };
}

export function registerSettingsRoutes(app: FastifyInstance, context: SettingsRoutesContext): void {
  const { guard, store, inputs, onAudit } = context;
  const runApply = applyAfterSave(context.apply);

  app.get('/api/health', async () => ({ status: 'ok', service: HEALTH_SERVICE }));

  app.get('/api/settings', { onRequest: guard }, async () => savedOrConflict(() => store.read()));

  app.put('/api/settings', { onRequest: guard }, async (request) => {
    const decoded = decodeSettings(request.body);
    if (!decoded.ok) throw new HttpFailure(422, describeIssues(decoded.issues), decoded.issues);
    await store.exclusive(() => store.write(decoded.settings));
    log.info('settings saved', { path: store.path });
    onAudit?.({ kind: 'settings_changed', reason: 'settings file replaced', fields: { keys: Object.keys(decoded.settings).sort(), via: 'PUT /api/settings' } });
    return { saved: true, settings: decoded.settings, applied: await runApply() };
  });

  registerChangeRoutes(app, { guard, store, inputs, runApply, ...(onAudit ? { onAudit } : {}) });

  // A flat map per settings key (`{value, source}`), as the page reads it. `x-config-loaded: false`
  // says the driver's configuration does not load as saved (the view is then approximate; see
  // buildEffectiveView) and /api/validate explains why.
  // With a running driver the values are ITS configuration (x-driver-running: true) and a saved
  // value it does not use yet is the entry's `pending`: a failed apply never shows as in effect.
  // Under --sim `reachy_target` is the emulator it dials (source `simulator`), the address `pending`.
  app.get('/api/effective', { onRequest: guard }, async (_request, reply) => {
    const file = existsSync(store.path) ? savedOrConflict(() => store.readSaved()) : undefined;
    const saved: AppSettings | undefined = file?.settings;
    const layer: SettingsLayer | undefined = file?.layer;
    const { view, exact, running } = inEffectView(context.inEffect?.(), inputs, layer, saved, context.dialedDaemon?.());
    reply.header('x-config-loaded', exact ? 'true' : 'false');
    reply.header('x-driver-running', running ? 'true' : 'false');
    return view;
  });

  app.get('/api/status', { onRequest: guard }, async (_request, reply) => reply.send((await context.status()) ?? {}));

  // A failed apply (a driver start that throws) is answered as a value, as a save's `applied` is.
  app.post('/api/apply', { onRequest: guard }, async (_request, reply) => {
    const result = await runApply();
    log.info('apply requested through the settings app');
    return reply.send(result);
  });
}
