// The first flow as a person runs it in two terminals, on a "fresh machine": terminal 1 starts the
// driver, terminal 2 types client commands one by one once the driver says what to try. Runs as one
// bash script with an empty HOME and only PATH set, inside a new network namespace (`unshare -rn`)
// when the kernel allows it, so nothing answers on 127.0.0.1:4222 whatever runs on this machine.
// Owns the script, the namespace and the per-step transcript (command, exit code, stdout, stderr);
// does not judge the output (the tests do). Used by first-flow.test.ts and readme-flow.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The driver prints this line before the commands to try (src/cli/next-steps.ts). */
export const READY_LINE = 'Try it from another terminal:';
/** How long the driver may take to start (nats-server, emulator, WebRTC producer) on a loaded 2-core box. */
const DRIVER_READY_TIMEOUT_S = 60;
/** A clean stop takes well under a second; after this the driver's process group is killed (exit 137 fails the test). */
const STOP_TIMEOUT_S = 20;

export interface Step {
  readonly command: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface FlowTranscript {
  /** Whether the run had its own network namespace (then 127.0.0.1:4222 was certainly free). */
  readonly isolated: boolean;
  readonly driverOutput: string;
  readonly driverExitCode: number | null;
  readonly steps: readonly Step[];
  /** The files left in the fresh HOME's config dir after the driver stopped. */
  readonly configDirAfterStop: readonly string[];
}

export interface FlowOptions {
  /** Terminal 1, verbatim (run from `cwd`). */
  readonly driverCommand: string;
  /** Terminal 2, verbatim; `printed` takes the commands the driver printed after READY_LINE. */
  readonly clientCommands: readonly string[] | 'printed';
  readonly cwd: string;
  /** Replaces a leading `npx reachy-mini-driver` in client commands (e.g. with `node bin/…`), or keep them verbatim. */
  readonly clientPrefix?: string;
  /** Extra directories put first on PATH (the Node 24 the tests run on). */
  readonly pathFirst?: readonly string[];
}

let unshareWorks: boolean | undefined;

/** True when an unprivileged user + network namespace can be made here (root or userns enabled). */
export function canIsolateNetwork(): boolean {
  unshareWorks ??= spawnSync('unshare', ['-rn', 'true'], { stdio: 'ignore' }).status === 0;
  return unshareWorks;
}

function script(out: string): string {
  return `set -u
ip link set lo up 2>/dev/null || true
cd "$FLOW_CWD"
setsid bash -c "$FLOW_DRIVER" > "${out}/driver.log" 2>&1 < /dev/null &
DRV=$!
for _ in $(seq 1 ${DRIVER_READY_TIMEOUT_S * 4}); do
  grep -q '^${READY_LINE}' "${out}/driver.log" && break
  kill -0 $DRV 2>/dev/null || break
  sleep 0.25
done
if [ "$FLOW_CLIENTS" = printed ]; then
  sed -n '/^${READY_LINE}/,/^$/p' "${out}/driver.log" | sed -n 's/^  //p' > "${out}/commands.txt"
else
  printf '%s\\n' "$FLOW_CLIENTS" > "${out}/commands.txt"
fi
n=0
while IFS= read -r cmd; do
  [ -z "$cmd" ] && continue
  n=$((n+1))
  if [ -n "$FLOW_PREFIX" ]; then cmd="\${cmd/#npx reachy-mini-driver/$FLOW_PREFIX}"; fi
  printf '%s' "$cmd" > "${out}/step-$n.cmd"
  bash -c "$cmd" > "${out}/step-$n.out" 2> "${out}/step-$n.err" < /dev/null
  echo $? > "${out}/step-$n.rc"
done < "${out}/commands.txt"
kill -INT -- -$DRV 2>/dev/null
for _ in $(seq 1 ${STOP_TIMEOUT_S * 4}); do kill -0 $DRV 2>/dev/null || break; sleep 0.25; done
kill -KILL -- -$DRV 2>/dev/null
wait $DRV
echo $? > "${out}/driver.rc"
ls -A "$HOME/.config/reachy_mini_driver" > "${out}/after.txt" 2>/dev/null || true
`;
}

async function readSteps(out: string): Promise<Step[]> {
  const names = (await readdir(out)).filter((f) => /^step-\d+\.cmd$/.test(f));
  const count = names.length;
  const steps: Step[] = [];
  for (let n = 1; n <= count; n++) {
    const read = (ext: string) => readFile(join(out, `step-${n}.${ext}`), 'utf8').catch(() => '');
    steps.push({ command: await read('cmd'), code: Number((await read('rc')).trim() || -1), stdout: await read('out'), stderr: await read('err') });
  }
  return steps;
}

/** Runs the two terminals and returns the transcript; the HOME used is removed afterwards. */
export async function runTwoTerminals(options: FlowOptions): Promise<FlowTranscript> {
  const home = await mkdtemp(join(tmpdir(), 'rmd-flow-home-'));
  const out = await mkdtemp(join(tmpdir(), 'rmd-flow-out-'));
  try {
    const file = join(out, 'flow.sh');
    await writeFile(file, script(out));
    const isolated = canIsolateNetwork();
    const argv = isolated ? ['unshare', '-rn', 'bash', file] : ['bash', file];
    const env = {
      PATH: [...(options.pathFirst ?? []), process.env.PATH ?? ''].join(':'),
      HOME: home,
      FLOW_CWD: options.cwd,
      FLOW_DRIVER: options.driverCommand,
      FLOW_CLIENTS: options.clientCommands === 'printed' ? 'printed' : options.clientCommands.join('\n'),
      FLOW_PREFIX: options.clientPrefix ?? '',
    };
    await new Promise<void>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', () => resolve());
    });
    const read = (name: string) => readFile(join(out, name), 'utf8').catch(() => '');
    const rc = (await read('driver.rc')).trim();
    return {
      isolated,
      driverOutput: await read('driver.log'),
      driverExitCode: rc === '' ? null : Number(rc),
      steps: await readSteps(out),
      configDirAfterStop: (await read('after.txt')).split('\n').filter(Boolean),
    };
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
}
