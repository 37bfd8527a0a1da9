// Keeps the verified callers' replay floors across a restart: per key, the newest `caller_ts` of a
// call accepted dated ahead of the driver's clock (src/safety/caller-identity.ts, PERSIST_AHEAD_MS),
// in one owner-only JSON file per device in --config-dir, read once at start and rewritten whole
// (private-files.ts, synchronously) before such a call runs. Owns the file and its format; not the
// replay rules nor how floors are pruned (caller-identity.ts). No fsync: a process restart keeps the
// page cache, and a power cut takes longer than the 30 s window (README "Verified callers"). A file
// it cannot read or write is logged, then the driver goes on as without it (the start floor holds).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, type Logger } from '../logging/logger.ts';
import { rateLimited } from '../logging/rate-limited.ts';
import { isRecord } from '../protocol/json-object.ts';
import { pruneFloors, REPLAY_CACHE_SIZE, REPLAY_WINDOW_MS } from '../safety/caller-identity.ts';
import { writePrivateFileSync } from './private-files.ts';

const log = createLogger('callers');

/** At most one warning a minute about a floor that could not be written (a caller ahead writes on every call). */
export const FLOOR_WRITE_WARNING_INTERVAL_MS = 60_000;

/** The file of one device's floors: `<config dir>/replay-floors/<tenant>.<device id>.json`. */
export function replayFloorPath(configDir: string, tenant: string, deviceId: string): string {
  return join(configDir, 'replay-floors', `${tenant}.${deviceId}.json`);
}

/** The floors still inside the window at `nowMs`; a missing file is none, an unreadable one is logged and none. */
export function readReplayFloors(path: string, nowMs: number, windowMs = REPLAY_WINDOW_MS, logger: Logger = log): Map<string, number> {
  const floors = new Map<string, number>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn('the replay floors of the last run cannot be read; calls it accepted dated ahead of its clock may be replayed once', { path, error: (error as Error).message, fix: 'make the file readable by the driver, or remove it' });
    return floors;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed) || !isRecord(parsed.floors)) {
    logger.warn('the replay floors of the last run are not valid JSON; ignored', { path, fix: 'remove the file' });
    return floors;
  }
  for (const [key, ts] of Object.entries(parsed.floors)) if (typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= nowMs - windowMs) floors.set(key, ts);
  return floors;
}

export interface ReplayFloorWriterOptions {
  readonly now?: () => number;
  readonly windowMs?: number;
  readonly maxKeys?: number;
  readonly logger?: Logger;
}

/**
 * `(key, ts)` → the key's floor raised to `ts` and the file rewritten, synchronously (the call runs
 * after). Floors older than the window are dropped (they refuse nothing the window does not); past
 * `maxKeys` the lowest go first, as in the replay cache.
 */
export function createReplayFloorWriter(path: string, initial: ReadonlyMap<string, number>, options: ReplayFloorWriterOptions = {}): (key: string, ts: number) => void {
  const { now = Date.now, windowMs = REPLAY_WINDOW_MS, maxKeys = REPLAY_CACHE_SIZE, logger = log } = options;
  const floors = new Map(initial);
  const warn = rateLimited(logger, 'warn', FLOOR_WRITE_WARNING_INTERVAL_MS, now);
  return (key, ts) => {
    floors.set(key, Math.max(floors.get(key) ?? Number.NEGATIVE_INFINITY, ts));
    pruneFloors(floors, now() - windowMs, maxKeys);
    try {
      writePrivateFileSync(path, JSON.stringify({ floors: Object.fromEntries(floors) }) + '\n');
    } catch (error) {
      warn('a replay floor cannot be kept across a restart: a call accepted dated ahead of the clock may be replayed once after one', { path, error: (error as Error).message, fix: 'make --config-dir writable by the driver, and keep signing clients on NTP' });
    }
  };
}
