// The settings app's HTTP API as a test calls it: the bearer token read from the config dir's
// `settings-token` file (what a login link stands for), a JSON body out and the JSON answer back with
// its status. Owns only that client; the app and what it answers are the test's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';

export type SettingsApi = (method: 'GET' | 'PUT' | 'PATCH' | 'POST', path: string, body?: unknown) => Promise<{ status: number; json: any }>;

export interface SettingsApiOptions {
  /** An answer that is not JSON reads as `json: null` instead of failing the call (default false). */
  readonly nonJsonAsNull?: boolean;
}

/** A client of the settings app at `baseUrl` whose token lives in `configDir` (read now: call after the app started). */
export function settingsApi(baseUrl: string, configDir: string, options: SettingsApiOptions = {}): SettingsApi {
  const token = readFileSync(join(configDir, 'settings-token'), 'utf8').trim();
  return async (method, path, body) => {
    const res = await request(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = options.nonJsonAsNull ? await res.body.json().catch(() => null) : await res.body.json();
    return { status: res.statusCode, json };
  };
}
