// Reading one configuration key from its layers — flag > environment > settings file > default —
// and recording which layer won, per key, for the logs and the settings page (one precedence for
// every key; the reference inverted it for JSON settings, spec §9.3/§12.15). Owns the parsers the
// keys share (booleans, bounded numbers, URL lists) and the settings layer's typed reads. Does not
// know what any key means: config.ts and safety-config.ts do, and no file is read here.
import { ConfigError } from './config-error.ts';
import { isSettingsText, SETTINGS_TEXT_RULE } from './settings-text.ts';

export type Source = 'flag' | 'env' | 'settings' | 'credentials' | 'default' | 'derived';

export type Env = Readonly<Record<string, string | undefined>>;

/** The settings layer: the settings file's object (or a candidate the settings app validates). */
export interface SettingsLayer {
  /** Where it was read from (or would be saved), for messages. */
  readonly path: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/** One key's candidate values by layer; undefined where that layer does not set it. */
export interface KeyLayers<T> {
  readonly flag?: T | undefined;
  readonly env?: T | undefined;
  readonly settings?: T | undefined;
}

/** One key's layers picked (flag > env > settings > default), its source recorded under `key`. */
export type PickLayer = <T>(key: string, layers: KeyLayers<T>, fallback: T) => T;

export interface LayerReader {
  /** The winning layer of every key picked so far; callers record derived sources here too. */
  readonly sources: Record<string, Source>;
  readonly pick: PickLayer;
  /** The first of the names set to a non-empty value in the environment. */
  readonly envValue: (names: ReadonlyArray<string>) => string | undefined;
  /** The first of the names as a boolean (1/true/yes/on, 0/false/no/off); a ConfigError otherwise. */
  readonly envBool: (names: ReadonlyArray<string>) => boolean | undefined;
  /** A settings key's value; empty strings and null count as unset. */
  readonly settingValue: (key: string) => unknown;
  /** A text key: a string meeting the settings file's text rule (settings-text.ts), else a ConfigError. */
  readonly settingString: (key: string) => string | undefined;
  readonly settingBool: (key: string) => boolean | undefined;
}

const TRUTHY = new Set(['1', 'true', 'yes', 'on']);
const FALSY = new Set(['0', 'false', 'no', 'off', '']);

export function parseBool(raw: string, name: string): boolean {
  const v = raw.trim().toLowerCase();
  if (TRUTHY.has(v)) return true;
  if (FALSY.has(v)) return false;
  throw new ConfigError(`${name} must be one of 1/true/yes/on or 0/false/no/off (got ${JSON.stringify(raw)})`);
}

export function parseNumber(raw: string, name: string, min: number, max: number, integer: boolean): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new ConfigError(`${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}] (got ${JSON.stringify(raw)})`);
  }
  return n;
}

export function splitUrls(raw: string): string[] {
  return raw.split(',').map((u) => u.trim()).filter(Boolean);
}

/** A boolean flag as a layer: given (true) or not set (undefined, so the next layer decides). */
export function flagTrue(v: boolean | undefined): true | undefined {
  return v ? true : undefined;
}

/** The layer reader over one environment and one settings layer (undefined: no settings file). */
export function readLayers(env: Env, settings: SettingsLayer | undefined): LayerReader {
  const sources: Record<string, Source> = {};
  const envValue = (names: ReadonlyArray<string>): string | undefined => {
    for (const name of names) {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
  const settingValue = (key: string): unknown => {
    const v = settings?.values[key];
    return v === '' || v === null ? undefined : v;
  };
  const settingOf =
    <T>(type: 'string' | 'boolean', what: string) =>
    (key: string): T | undefined => {
      const v = settingValue(key);
      if (v === undefined) return undefined;
      if (typeof v !== type) throw new ConfigError(`settings file key ${key} must be ${what}`);
      if (typeof v === 'string' && !isSettingsText(v)) throw new ConfigError(`settings file key ${key} must be ${SETTINGS_TEXT_RULE}`);
      return v as T;
    };
  const pick: PickLayer = (key, layers, fallback) => {
    const [value, source] =
      layers.flag !== undefined ? [layers.flag, 'flag' as const]
      : layers.env !== undefined ? [layers.env, 'env' as const]
      : layers.settings !== undefined ? [layers.settings, 'settings' as const]
      : [fallback, 'default' as const];
    sources[key] = source;
    return value;
  };
  return {
    sources,
    pick,
    envValue,
    envBool: (names) => {
      const raw = envValue(names);
      return raw === undefined ? undefined : parseBool(raw, names[0] ?? 'value');
    },
    settingValue,
    settingString: settingOf<string>('string', 'a string'),
    settingBool: settingOf<boolean>('boolean', 'true or false'),
  };
}
