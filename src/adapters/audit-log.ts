// The safety trail: every refusal and every interlock/lease transition as one JSON line appended
// to a file (opened for append only, never rewritten or truncated) and handed to a publisher (the
// device runtime puts it on `device-connect.<tenant>.<device_id>.audit` so a broker-side stream can
// keep it). Owns the file; does not decide what is audited (the robot runtime does).
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createLogger } from '../logging/logger.ts';

const log = createLogger('audit');

export interface SafetyRecord {
  readonly kind: string;
  readonly reason: string;
  readonly function: string | null;
  readonly owner: string | null;
  readonly state: Record<string, unknown>;
  readonly ts: string;
  readonly [extra: string]: unknown;
}

export interface AuditLog {
  append(record: SafetyRecord): void;
}

export function openAuditLog(path: string | undefined, publish: (record: SafetyRecord) => void): AuditLog {
  if (path) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return {
    append(record) {
      if (path) {
        try {
          // One write per line with O_APPEND: lines from one process never interleave or overwrite.
          appendFileSync(path, JSON.stringify(record) + '\n', { flag: 'a', mode: 0o600 });
        } catch (error) {
          log.error('cannot append to the audit log', { path, error: error as Error });
        }
      }
      publish(record);
    },
  };
}
