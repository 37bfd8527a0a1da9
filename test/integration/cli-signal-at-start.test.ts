// A stop signal that arrives while `reachy-mini-driver --sim` is still starting, through the real
// binary in a network namespace of its own (nothing on 127.0.0.1:4222, so the driver starts its
// private broker): SIGTERM to the driver's process the moment its nats-server child exists, before
// the driver is ready (it waits for the broker to answer, then starts: ~0.1 s). Before 2026-12-06 the signal handlers were installed only once the driver was
// up: Node ended the process at once, without its 'exit' event, and the private nats-server (its
// own process group) was left running. Now the driver finishes starting, stops, and stops its broker.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { canIsolateNetwork } from '../harness/two-terminals.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/reachy-mini-driver.mjs', import.meta.url));
/** The private broker is spawned within a few seconds of the start on a loaded CI box. */
const BROKER_SPAWN_TIMEOUT_S = 30;
/** A stopping driver is gone well within this (its own stop is bounded by a few seconds). */
const EXIT_TIMEOUT_S = 20;

/** Starts the driver, SIGTERMs it once its nats-server child exists, then reports whether that nats-server still runs (and kills it if so). */
function script(out: string): string {
  return `set -u
ip link set lo up 2>/dev/null || true
cd "$FLOW_CWD"
setsid node "$FLOW_BIN" --sim --no-media > "${out}/driver.log" 2>&1 < /dev/null &
DRV=$!
# The moment its nats-server child exists: the driver is waiting for it to answer, or starting.
for _ in $(seq 1 ${BROKER_SPAWN_TIMEOUT_S * 200}); do
  pgrep -P $DRV -x nats-server > /dev/null && break
  kill -0 $DRV 2>/dev/null || break
  sleep 0.005
done
BROKER=$(pgrep -P $DRV -x nats-server)
echo "$BROKER" > "${out}/broker.pid"
grep -q '^Try it from another terminal:' "${out}/driver.log" && echo ready > "${out}/ready-before-signal"
kill -TERM $DRV 2>/dev/null
for _ in $(seq 1 ${EXIT_TIMEOUT_S * 4}); do kill -0 $DRV 2>/dev/null || break; sleep 0.25; done
kill -0 $DRV 2>/dev/null && echo still-running > "${out}/driver.alive"
wait $DRV
echo $? > "${out}/driver.rc"
sleep 0.5
if [ -n "$BROKER" ] && kill -0 "$BROKER" 2>/dev/null; then
  echo left-running > "${out}/broker.txt"
  kill -KILL "$BROKER"
else
  echo "stopped" > "${out}/broker.txt"
fi
kill -KILL -- -$DRV 2>/dev/null
`;
}

test.skipIf(!canIsolateNetwork())('SIGTERM while --sim is starting: the driver stops and its private broker with it', async () => {
  const home = await mkdtemp(join(tmpdir(), 'rmd-sigstart-home-'));
  const out = await mkdtemp(join(tmpdir(), 'rmd-sigstart-out-'));
  try {
    const file = join(out, 'flow.sh');
    await writeFile(file, script(out));
    const env = { PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(':'), HOME: home, FLOW_CWD: REPO, FLOW_BIN: BIN };
    await new Promise<void>((resolve, reject) => {
      const child = spawn('unshare', ['-rn', 'bash', file], { env, stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', () => resolve());
    });
    const read = (name: string) => readFile(join(out, name), 'utf8').then((s) => s.trim()).catch(() => '');
    const log = await read('driver.log');
    // The signal came while it was starting (else this test proves nothing).
    expect(await read('ready-before-signal'), log).toBe('');
    expect(await read('broker.pid'), 'the private broker was spawned').toMatch(/^\d+$/);
    expect(await read('broker.txt'), log).toBe('stopped');
    expect(await read('driver.alive'), log).toBe('');
    expect(log, log).toMatch(/private NATS broker for --sim: nats:\/\/127\.0\.0\.1:\d+/);
    // It was stopped as a driver stops, not killed: a clean exit after its stop line.
    expect(await read('driver.rc'), log).toBe('0');
    expect(log).toContain('INFO driver:cli stopping');
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
}, 90_000);
