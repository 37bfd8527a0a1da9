// The dashboard launcher (packaging/dashboard-app, README "Starting from the dashboard"): the
// ReachyMiniApp starts `<driver> app`, forwards the driver's stdout/stderr lines to its logger,
// and when the dashboard sets the stop event the driver gets SIGTERM and exits; a driver that
// ignores SIGTERM is killed after the grace period. The driver is a stub (node) that prints
// lines and waits for SIGTERM; reachy_mini is a fake module (the app never touches the robot).
// Needs python3; without it the test is skipped and says so.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const PACKAGE_DIR = fileURLToPath(new URL('../../packaging/dashboard-app', import.meta.url));
const python = ['python3', 'python'].find((bin) => spawnSync(bin, ['--version']).status === 0);
if (!python) console.warn('dashboard-app.test.ts: skipped, no python3 on PATH (the launcher is a Python package)');

const FAKE_REACHY_MINI = `
import threading
from abc import ABC, abstractmethod
class ReachyMini: pass
class ReachyMiniApp(ABC):
    def __init__(self):
        self.stop_event = threading.Event()
    @abstractmethod
    def run(self, reachy_mini, stop_event): ...
    def stop(self):
        self.stop_event.set()
`;

// The SIGTERM handler goes in before "ready" is printed: the launcher may signal as soon as it reads
// the lines (before 2026-12-06 a loaded CI box once delivered SIGTERM before the handler existed).
const STUB_DRIVER = `
process.on('SIGTERM', () => {
  if (process.env.STUB_IGNORE_TERM) { console.log('ignoring SIGTERM'); return; }
  console.log('got SIGTERM, stopping'); process.exit(0);
});
console.log('ready pid=' + process.pid + ' args=' + process.argv.slice(2).join(' '));
console.error('a line on stderr');
setInterval(() => {}, 1000);
`;

// Runs the app as the dashboard would (run() in a thread, then the stop event), or the launcher
// with a short grace period; prints a transcript: every log line, then the outcome.
const HARNESS = `
import logging, os, re, sys, threading, time
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="LOG %(message)s")
lines = []
class Keep(logging.Handler):
    def emit(self, record): lines.append(record.getMessage())
logging.getLogger("reachy_mini_driver_app").addHandler(Keep())
def wait_for(pattern):
    deadline = time.time() + 8
    while time.time() < deadline:
        for line in lines:
            m = re.search(pattern, line)
            if m: return m
        time.sleep(0.05)
    raise SystemExit("never logged: " + pattern)
def alive(pid):
    try: os.kill(pid, 0); return True
    except ProcessLookupError: return False
stop = threading.Event()
if sys.argv[1] == "app":
    from reachy_mini_driver_app.main import ReachyMiniDriverApp
    app = ReachyMiniDriverApp()
    print("MEDIA", app.request_media_backend)
    worker = threading.Thread(target=app.run, args=(None, stop))
else:
    from reachy_mini_driver_app.launcher import DriverProcess, driver_command, run_until_stopped
    proc = DriverProcess(driver_command(), logging.getLogger("reachy_mini_driver_app"), stop_grace_s=0.5)
    worker = threading.Thread(target=run_until_stopped, args=(proc, stop))
worker.start()
pid = int(wait_for(r"ready pid=(\\d+)").group(1))
wait_for(r"a line on stderr")
print("FORWARDED")
stop.set()
worker.join(15)
print("RUN RETURNED", not worker.is_alive())
time.sleep(0.1)
print("CHILD ALIVE", alive(pid))
`;

function runHarness(mode: 'app' | 'launcher', extraEnv: Record<string, string> = {}): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'dashboard-app-'));
  mkdirSync(join(dir, 'reachy_mini'));
  writeFileSync(join(dir, 'reachy_mini', '__init__.py'), FAKE_REACHY_MINI);
  writeFileSync(join(dir, 'stub-driver.cjs'), STUB_DRIVER);
  writeFileSync(join(dir, 'harness.py'), HARNESS);
  const result = spawnSync(python!, [join(dir, 'harness.py'), mode], {
    encoding: 'utf8',
    timeout: 20_000,
    env: {
      PATH: process.env.PATH ?? '',
      PYTHONPATH: [dir, PACKAGE_DIR].join(':'),
      PYTHONDONTWRITEBYTECODE: '1',
      REACHY_MINI_DRIVER_COMMAND: `"${process.execPath}" "${join(dir, 'stub-driver.cjs')}"`,
      ...extraEnv,
    },
  });
  return { status: result.status, out: result.stdout + result.stderr };
}

test.skipIf(!python)('the dashboard app starts `driver app`, forwards its lines, and stops it with SIGTERM on the stop event', () => {
  const { status, out } = runHarness('app');
  expect(out, out).toContain('MEDIA no_media');
  expect(out, out).toMatch(/LOG \[driver stdout\] ready pid=\d+ args=app/);
  expect(out, out).toContain('LOG [driver stderr] a line on stderr');
  expect(out, out).toContain('FORWARDED');
  expect(out, out).toContain('LOG [driver stdout] got SIGTERM, stopping');
  expect(out, out).toContain('LOG driver exited with code 0');
  expect(out, out).toContain('RUN RETURNED True');
  expect(out, out).toContain('CHILD ALIVE False');
  expect(status, out).toBe(0);
});

test.skipIf(!python)('a driver that ignores SIGTERM is killed after the grace period', () => {
  const { status, out } = runHarness('launcher', { STUB_IGNORE_TERM: '1' });
  expect(out, out).toContain('LOG [driver stdout] ignoring SIGTERM');
  expect(out, out).toMatch(/still running 0\.5 s after SIGTERM: SIGKILL/);
  expect(out, out).toContain('LOG driver exited with code -9');
  expect(out, out).toContain('CHILD ALIVE False');
  expect(status, out).toBe(0);
});
