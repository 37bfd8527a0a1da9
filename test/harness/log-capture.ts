// Captures the driver's log lines in-process (src/logging/logger.ts writes through one sink): tests
// read what a user would see on stderr. Owns only the capture, a filter by level and text, and the
// restore of the default sink (stderr) and level (info). The line format and the redaction of
// secrets stay the logger's.
import { setLogLevel, setLogSink, type LogLevel } from '../../src/logging/logger.ts';

export interface LogCapture {
  readonly lines: string[];
  /** Lines at `level` (`WARN`, `INFO`, …) containing every one of `parts`. */
  matching(level: string, ...parts: string[]): string[];
  restore(): void;
}

export function captureLogs(level: LogLevel = 'debug'): LogCapture {
  const lines: string[] = [];
  setLogSink((line) => lines.push(line));
  setLogLevel(level);
  return {
    lines,
    matching: (lvl, ...parts) => lines.filter((l) => l.includes(` ${lvl} `) && parts.every((p) => l.includes(p))),
    restore: () => {
      setLogSink((line) => void process.stderr.write(line + '\n'));
      setLogLevel('info');
    },
  };
}
