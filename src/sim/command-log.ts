// The emulator's record of everything it received, for tests to inspect: every HTTP request
// (method, path, query, parsed body) and every WebSocket text frame (as method `WS`), with the
// wall-clock receive time. Owns only the list; transports append to it. Not a daemon feature.

export interface ReceivedCommand {
  readonly transport: 'http' | 'ws';
  /** HTTP method, or `WS` for a frame received on a WebSocket. */
  readonly method: string;
  /** Path without the query string (`/api/move/goto`, `/ws/sdk`). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Parsed JSON; the raw text when it was not JSON; undefined when there was no body. */
  readonly body: unknown;
  /** `Date.now()` at receipt. */
  readonly ts: number;
}

/** Records kept before the oldest are dropped, so a long `--sim` run cannot grow without bound. */
export const MAX_RECEIVED_RECORDS = 10_000;

export class CommandLog {
  readonly #entries: ReceivedCommand[] = [];

  get entries(): readonly ReceivedCommand[] {
    return this.#entries;
  }

  record(entry: Omit<ReceivedCommand, 'ts'>): void {
    this.#entries.push({ ...entry, ts: Date.now() });
    if (this.#entries.length > MAX_RECEIVED_RECORDS) this.#entries.splice(0, this.#entries.length - MAX_RECEIVED_RECORDS);
  }

  clear(): void {
    this.#entries.length = 0;
  }
}

/** Parses a frame or body: JSON when possible, else the raw text, undefined when empty. */
export function parseLoggedBody(raw: string): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
