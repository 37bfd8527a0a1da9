// Where a `--sim` driver's private broker can be found: while the driver runs, it records the
// broker's URL (with its pid, device id and tenant) in `<config dir>/sim-broker.json`; the client
// commands read it when no broker URL is configured, so `devices`, `call`… in another terminal reach
// the simulated robot with no environment set. Removed on exit; a record whose process is gone is
// ignored (and cleaned up). Owns that one file; does not start or stop brokers
// (private-nats-server.ts) and does not decide precedence (src/client/client-main.ts). README "First steps".
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const SIM_BROKER_FILE_NAME = 'sim-broker.json';

export interface SimBrokerRecord {
  readonly url: string;
  /** The driver process that owns the broker; the record is stale once it is gone. */
  readonly pid: number;
  readonly deviceId: string;
  readonly tenant: string;
}

export function simBrokerFilePath(configDir: string): string {
  return join(configDir, SIM_BROKER_FILE_NAME);
}

/** True while a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isRecord(value: unknown): value is SimBrokerRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['url'] === 'string' && typeof v['pid'] === 'number' && typeof v['deviceId'] === 'string' && typeof v['tenant'] === 'string';
}

/**
 * Records the broker (written to a temporary name, then renamed, so a reader never sees half a
 * file). Returns the path, or the reason it could not be written (the driver then prints the URL
 * to export instead).
 */
export function writeSimBrokerRecord(configDir: string, record: SimBrokerRecord): { ok: true; path: string } | { ok: false; reason: string } {
  const path = simBrokerFilePath(configDir);
  try {
    mkdirSync(configDir, { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(record) + '\n', { mode: 0o600 });
    renameSync(temporary, path);
    return { ok: true, path };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/** The live record, or undefined (none, unreadable, or its driver is gone: then the file is removed). */
export function readSimBrokerRecord(configDir: string, alive: (pid: number) => boolean = processAlive): SimBrokerRecord | undefined {
  const path = simBrokerFilePath(configDir);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  if (!alive(parsed.pid)) {
    rmSync(path, { force: true });
    return undefined;
  }
  return parsed;
}

/** Removes the record if it is still this process's own (a newer `--sim` driver may have replaced it). */
export function removeSimBrokerRecord(configDir: string, pid: number = process.pid): void {
  const path = simBrokerFilePath(configDir);
  try {
    const current: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (isRecord(current) && current.pid !== pid) return;
  } catch {
    // unreadable or absent: remove whatever is there
  }
  rmSync(path, { force: true });
}
