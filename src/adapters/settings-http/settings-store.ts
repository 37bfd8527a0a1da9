// The saved settings file as the settings server sees it: read (absent = the reference defaults,
// present but broken = an error naming the problem, never silent defaults as in reference-driver.md
// §10) and written atomically with mode 0600 in the reference's format. Serialises every change of
// the app's files so two requests never interleave. Also hands the file to the driver's
// configuration as its settings layer, keys as written. The page's saves write only the keys the
// user changed (`writeValues`, src/settings/settings-changes.ts); `write` (PUT) writes every key as
// the reference did. Owns nothing about HTTP or precedence.
import { ConfigError, type SettingsLayer } from '../../config/config.ts';
import { decodeSettings, describeIssues, serializeSettings, SETTINGS_DEFAULTS, type AppSettings, type FieldIssue } from '../../settings/settings-schema.ts';
import { readSettingsFile } from '../config-files.ts';
import { writePrivateFileAtomic } from '../private-files.ts';

/** The saved file exists but cannot be used; the page must PUT a full object to replace it. */
export class SettingsFileInvalid extends Error {
  override readonly name = 'SettingsFileInvalid';
  readonly _tag = 'SettingsFileInvalid';
  readonly issues: ReadonlyArray<FieldIssue>;
  constructor(message: string, issues: ReadonlyArray<FieldIssue>) {
    super(message);
    this.issues = issues;
  }
}

/** The saved file, read and decoded once. */
export interface SavedSettings {
  /** As the driver's settings layer (its keys as written); undefined when the file is absent. */
  readonly layer: SettingsLayer | undefined;
  /** Decoded (the reference defaults when the file is absent). */
  readonly settings: AppSettings;
  /** Its keys as written (empty when absent). */
  readonly values: Readonly<Record<string, unknown>>;
}

export interface SettingsStore {
  readonly path: string;
  /** The file's layer, settings and keys from one read; throws SettingsFileInvalid. */
  readSaved(): SavedSettings;
  /** The saved settings (defaults when the file does not exist); throws SettingsFileInvalid. */
  read(): AppSettings;
  /** The saved file as the driver's settings layer (its keys as written; undefined when absent); throws SettingsFileInvalid. */
  readLayer(): SettingsLayer | undefined;
  /** Writes a decoded settings object (atomic, 0600). */
  write(settings: AppSettings): Promise<void>;
  /** The saved file's keys as written (validated; empty when absent); throws SettingsFileInvalid. */
  readValues(): Readonly<Record<string, unknown>>;
  /** Writes only these keys (already decoded by mergeChanges), sorted, indent 2 (atomic, 0600). */
  writeValues(values: Readonly<Record<string, unknown>>): Promise<void>;
  /** Runs `task` after every earlier task finished: one writer of the app's files at a time. */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

export function createSettingsStore(path: string): SettingsStore {
  let queue: Promise<unknown> = Promise.resolve();
  const readLayer = (): SettingsLayer | undefined => {
    try {
      return readSettingsFile(path);
    } catch (error) {
      if (error instanceof ConfigError) throw new SettingsFileInvalid(`${error.message}; save the settings to replace it`, []);
      throw error;
    }
  };
  const readSaved = (): SavedSettings => {
    const layer = readLayer();
    if (!layer) return { layer, settings: SETTINGS_DEFAULTS, values: {} };
    const decoded = decodeSettings(layer.values);
    if (!decoded.ok) throw new SettingsFileInvalid(`settings file ${path}: ${describeIssues(decoded.issues)}; save the settings to replace it`, decoded.issues);
    return { layer, settings: decoded.settings, values: layer.values };
  };
  return {
    path,
    readLayer,
    readSaved,
    read: () => readSaved().settings,
    async write(settings) {
      await writePrivateFileAtomic(path, serializeSettings(settings));
    },
    readValues: () => readSaved().values,
    async writeValues(values) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(values).sort()) sorted[key] = values[key];
      await writePrivateFileAtomic(path, JSON.stringify(sorted, null, 2) + '\n');
    },
    exclusive<T>(task: () => Promise<T>): Promise<T> {
      const run = queue.then(task, task);
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
