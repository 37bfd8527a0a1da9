// The route table of the emulated daemon and how a request finds its route: FastAPI-style path
// templates (`{name}` one segment, `{name:path}` the rest), 404 for unknown paths, 405 for a
// known path with another method (reachy-daemon-api.md §1). Each routes-*.ts module mirrors one
// daemon router; this module only assembles and matches them (the Route shape they share lives in
// route-types.ts, so no routes module imports this one). No I/O.
import { DAEMON_ROUTES } from './routes-daemon.ts';
import { MEDIA_ROUTES } from './routes-media.ts';
import { MISC_ROUTES } from './routes-misc.ts';
import { MOTOR_ROUTES } from './routes-motors.ts';
import { MOVE_ROUTES } from './routes-move.ts';
import { STATE_ROUTES } from './routes-state.ts';
import { VOLUME_ROUTES } from './routes-volume.ts';
import type { Route } from './route-types.ts';

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)(:path)?\}/g, (_, name: string, isPath?: string) => {
    names.push(name);
    return isPath ? '(.+)' : '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
}

const COMPILED: readonly CompiledRoute[] = [
  ...STATE_ROUTES, ...MOVE_ROUTES, ...MOTOR_ROUTES, ...DAEMON_ROUTES, ...MEDIA_ROUTES, ...MISC_ROUTES, ...VOLUME_ROUTES,
].map(compile);

export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'method-not-allowed' };

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function matchRoute(method: string, path: string): RouteMatch {
  let pathKnown = false;
  for (const compiled of COMPILED) {
    const found = compiled.pattern.exec(path);
    if (!found) continue;
    pathKnown = true;
    if (compiled.route.method !== method) continue;
    const params: Record<string, string> = {};
    compiled.names.forEach((name, i) => {
      params[name] = decodeSegment(found[i + 1] ?? '');
    });
    return { kind: 'found', route: compiled.route, params };
  }
  return pathKnown ? { kind: 'method-not-allowed' } : { kind: 'not-found' };
}
