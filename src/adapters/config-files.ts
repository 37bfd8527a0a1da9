// The configuration's file reads (reference-driver.md §9.1–9.3, device-connect-protocol.md §3.3):
// the settings JSON, credentials files with their permission check and fingerprint, the newest
// portal credentials file in a directory, and TLS file existence, handed to the pure
// `resolveConfig` (src/config/config.ts) as its layers and reader. `loadConfig({argv, env})` is
// that composition, for the CLI, app mode and tests. Owns no precedence and no validation beyond
// "readable, JSON, known keys".
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, globPattern, processInput, resolveConfig, settingsFilePath, settingsLayerFrom, type ConfigFileReads, type DriverConfig, type LoadConfigInput, type SettingsLayer } from '../config/config.ts';
import { CredentialsError, fingerprintOf, MAX_CREDENTIALS_FILE_BYTES, parseCredentialsText, type CredentialsFileWarning, type LoadedCredentials } from '../config/credentials.ts';

/** Reads the settings JSON if present; a present but broken file is a ConfigError, not "defaults". */
export function readSettingsFile(path: string): SettingsLayer | undefined {
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read settings file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ConfigError(`settings file ${path} is not valid JSON`);
  }
  return settingsLayerFrom(path, doc);
}

/** Reads and parses a credentials file; reports group/other-readable files instead of failing. */
export function loadCredentialsFile(path: string): { credentials: LoadedCredentials; permissive?: CredentialsFileWarning } {
  let size: number;
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new CredentialsError(`credentials path is not a file: ${path}`);
    size = st.size;
    mode = st.mode & 0o777;
  } catch (error) {
    if (error instanceof CredentialsError) throw error;
    throw new CredentialsError(`cannot read credentials file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (size > MAX_CREDENTIALS_FILE_BYTES) throw new CredentialsError(`credentials file ${path} is larger than ${MAX_CREDENTIALS_FILE_BYTES} bytes`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CredentialsError(`cannot read credentials file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let credentials: LoadedCredentials;
  try {
    credentials = { ...parseCredentialsText(bytes.toString('utf8'), path), fingerprint: fingerprintOf(bytes) };
  } catch (error) {
    throw new CredentialsError(`credentials file ${path}: ${(error as Error).message}`);
  }
  return (mode & 0o077) !== 0 ? { credentials, permissive: { path, mode: mode.toString(8).padStart(4, '0') } } : { credentials };
}

/** The newest regular file in `dir` whose name matches `glob` (portal credentials); undefined when none or unreadable. */
export function newestMatch(dir: string, glob: string): string | undefined {
  const pattern = globPattern(glob);
  let best: { path: string; mtime: number } | undefined;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of entries) {
    if (!pattern.test(name)) continue;
    const path = join(dir, name);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(path);
    } catch {
      continue; // a dangling link, or a file removed since the listing (a credentials rotation)
    }
    if (st.isFile() && (!best || st.mtimeMs > best.mtime)) best = { path, mtime: st.mtimeMs };
  }
  return best?.path;
}

/** The real file system behind resolveConfig's reads. */
/** Largest JSON document read as configuration (an envelope is a few hundred bytes). */
const MAX_JSON_CONFIG_BYTES = 64 * 1024;

/** Reads a JSON configuration document (the envelope file); unreadable, too large or not JSON is a ConfigError. */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    if (statSync(path).size > MAX_JSON_CONFIG_BYTES) throw new ConfigError(`${path} is larger than ${MAX_JSON_CONFIG_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConfigError(`${path} is not valid JSON`);
  }
}

/** Reads a small text configuration file (the trusted callers' keys); unreadable or too large is a ConfigError. */
export function readTextFile(path: string): string {
  try {
    if (statSync(path).size > MAX_JSON_CONFIG_BYTES) throw new ConfigError(`${path} is larger than ${MAX_JSON_CONFIG_BYTES} bytes`);
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export const CONFIG_FILE_READS: ConfigFileReads = { credentials: loadCredentialsFile, newestMatch, exists: existsSync, readJson: readJsonFile, readText: readTextFile };

/** The configuration of this argv and env: their settings file read, then resolveConfig; throws ConfigError (exit 2). */
export function loadConfig(input: LoadConfigInput): DriverConfig {
  return resolveConfig({ ...input, settings: readSettingsFile(settingsFilePath(input)), files: CONFIG_FILE_READS });
}

/** loadConfig of the process's own argv and environment. */
export function loadConfigFromProcess(): DriverConfig {
  return loadConfig(processInput());
}
