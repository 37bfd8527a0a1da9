// The real CLI (`node src/cli.ts …`) as a child process, for tests that talk to it while it runs:
// stdout lines as they arrive (wait for one matching a predicate), signals, and the exit code
// with everything it printed. Runs with only PATH and an empty HOME, as a person's fresh shell.
// Owns nothing but the process plumbing.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface CliRun {
  readonly child: ChildProcessWithoutNullStreams;
  /** Stdout lines so far. */
  readonly lines: string[];
  /** Resolves with the first stdout line (past or future) for which `match` holds; rejects after `timeoutMs`. */
  line(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

export function startCli(args: readonly string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env } });
  const lines: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) if (w.match(line)) waiters.splice(waiters.indexOf(w), 1), w.resolve(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    lines,
    done,
    line(match, timeoutMs) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no stdout line matched within ${timeoutMs} ms; stderr: ${stderr.slice(-500)}`)), timeoutMs);
        waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      });
    },
  };
}
