// The remaining read-only routes a client may touch, answered with the values the mockup daemon
// gave (reachy-daemon-api.md §1.5, §1.7; fixtures/daemon/get1.txt, move2.txt): kinematics info,
// app manager idle state, HF auth logged out, and the deprecated dashboard page at `/`. Owns
// nothing else; the many app/HF/wireless-only routes of the OpenAPI document are not emulated.
import { okJson, type HttpReply } from './fastapi-errors.ts';
import type { Route } from './route-types.ts';

const DASHBOARD_HTML = '<!doctype html><html><body><p>The dashboard moved to the Reachy Mini desktop app.</p></body></html>';

export const MISC_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/kinematics/info',
    needsBackend: false,
    body: 'none',
    handle: () => okJson({ info: { engine: 'AnalyticalKinematics', 'collision check': false } }),
  },
  { method: 'GET', path: '/api/apps/current-app-status', needsBackend: false, body: 'none', handle: () => okJson(null) },
  { method: 'GET', path: '/api/apps/startup-app', needsBackend: false, body: 'none', handle: () => okJson({ startup_app: null }) },
  { method: 'GET', path: '/api/apps/list-available/{source_kind}', needsBackend: false, body: 'none', handle: () => okJson([]) },
  {
    method: 'GET',
    path: '/api/hf-auth/status',
    needsBackend: false,
    body: 'none',
    handle: () => okJson({ is_logged_in: false, username: null }),
  },
  {
    method: 'GET',
    path: '/',
    needsBackend: false,
    body: 'none',
    handle: (): HttpReply => ({ status: 200, text: DASHBOARD_HTML, contentType: 'text/html; charset=utf-8' }),
  },
];
