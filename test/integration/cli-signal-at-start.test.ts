// A stop signal that arrives while `reachy-mini-driver --sim` (and `app --sim`: the settings app's
// first apply) is still starting, through the real binary in a network namespace of its own
// (nothing on 127.0.0.1:4222, so the driver starts its private broker): SIGTERM to the driver's
// process the moment its nats-server child exists, before the driver is ready (it then waits for
// the broker to answer, and starts; `app` prints its settings links only after that first apply).
// The `nats-server` the driver finds first on its PATH is a two-line wrapper that sends the signal
// to its parent, the driver, and then becomes the real nats-server: the signal always lands in
// start-up, however loaded the machine (a test that polled for the child from outside sometimes saw
// it only once the driver was up). Before 2026-12-06 the signal handlers were installed only once
// the driver (the settings app) was up: Node ended the process at once, without its 'exit' event,
// and the private nats-server (its own process group) was left running. Now the driver finishes
// starting, stops, and stops its broker.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { findNatsServer } from '../../src/adapters/private-nats-server.ts';
import { canIsolateNetwork } from '../harness/two-terminals.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/reachy-mini-driver.mjs', import.meta.url));
/** A stopping driver is gone well within this (its own stop is bounded by a few seconds; a start under load by a few more). */
const EXIT_TIMEOUT_S = 40;

/**
 * How each command is started, the line it prints once it is up (after it, a signal is no longer
 * "at start") and the line saying the driver runs on the private broker.
 */
const COMMANDS = [
  { command: 'run', args: '--sim --no-media', readyLine: 'Try it from another terminal:', onPrivateBroker: /private NATS broker for --sim: nats:\/\/127\.0\.0\.1:\d+/ },
  // The settings app's own port: any free one (the namespace has nothing else anyway).
  { command: 'app', args: 'app --sim --no-media --settings-port 0', readyLine: 'settings app listening on:', onPrivateBroker: /driver started .*brokers=nats:\/\/127\.0\.0\.1:\d+ .*sim=true/ },
];

/** The `nats-server` the driver spawns: notes its pid and whether the driver was already up, SIGTERMs the driver (its parent), becomes the real one. */
function brokerWrapper(out: string, readyLine: string, real: string): string {
  return `#!/bin/sh
echo $$ > "${out}/broker.pid"
grep -q '^${readyLine}' "${out}/driver.log" && echo ready > "${out}/ready-before-signal"
kill -TERM $PPID
exec "${real}" "$@"
`;
}

/** Starts the driver (signalled by its broker wrapper), waits for it to end, then reports whether that nats-server still runs (and kills it if so). */
function script(out: string, args: string): string {
  return `set -u
ip link set lo up 2>/dev/null || true
cd "$FLOW_CWD"
setsid node "$FLOW_BIN" ${args} > "${out}/driver.log" 2>&1 < /dev/null &
DRV=$!
for _ in $(seq 1 ${EXIT_TIMEOUT_S * 4}); do kill -0 $DRV 2>/dev/null || break; sleep 0.25; done
kill -0 $DRV 2>/dev/null && echo still-running > "${out}/driver.alive"
kill -KILL -- -$DRV 2>/dev/null
wait $DRV
echo $? > "${out}/driver.rc"
sleep 0.5
BROKER=$(cat "${out}/broker.pid" 2>/dev/null || true)
if [ -n "$BROKER" ] && kill -0 "$BROKER" 2>/dev/null; then
  echo left-running > "${out}/broker.txt"
  kill -KILL "$BROKER"
else
  echo "stopped" > "${out}/broker.txt"
fi
`;
}

test.skipIf(!canIsolateNetwork()).each(COMMANDS)('SIGTERM while $command --sim is starting: the driver stops and its private broker with it', async ({ args, readyLine, onPrivateBroker }) => {
  const home = await mkdtemp(join(tmpdir(), 'rmd-sigstart-home-'));
  const out = await mkdtemp(join(tmpdir(), 'rmd-sigstart-out-'));
  try {
    const real = findNatsServer(process.env.PATH);
    expect(real, 'a nats-server to start').toBeDefined();
    const wrapperDir = join(out, 'bin');
    await mkdir(wrapperDir);
    await writeFile(join(wrapperDir, 'nats-server'), brokerWrapper(out, readyLine, real!));
    await chmod(join(wrapperDir, 'nats-server'), 0o755);
    const file = join(out, 'flow.sh');
    await writeFile(file, script(out, args));
    const env = { PATH: [wrapperDir, dirname(process.execPath), process.env.PATH ?? ''].join(':'), HOME: home, FLOW_CWD: REPO, FLOW_BIN: BIN };
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
    expect(log, log).toMatch(onPrivateBroker);
    // It was stopped as a driver stops, not killed: a clean exit after its stop line.
    expect(await read('driver.rc'), log).toBe('0');
    expect(log).toContain('INFO driver:cli stopping');
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
}, 90_000);
