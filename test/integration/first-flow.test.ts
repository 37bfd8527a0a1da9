// Issue 10 item 1, through the real binary: on a fresh machine (empty HOME, no environment, nothing
// on 127.0.0.1:4222 — a network namespace of its own), terminal 1 runs `reachy-mini-driver --sim`
// and terminal 2 runs exactly the commands the driver printed: `devices` lists the sim, `functions`
// shows it, `call … wake_up`, `look_at_world` and `get_status` all succeed. The client finds the
// private broker through the state file, which is gone once the driver stops.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { canIsolateNetwork, runTwoTerminals } from '../harness/two-terminals.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = `node ${fileURLToPath(new URL('../../bin/reachy-mini-driver.mjs', import.meta.url))}`;

test('the commands the --sim driver prints all work from another terminal', async () => {
  const flow = await runTwoTerminals({
    driverCommand: `${BIN} --sim`,
    clientCommands: 'printed',
    clientPrefix: BIN,
    cwd: REPO,
    pathFirst: [dirname(process.execPath)],
  });
  const transcript = JSON.stringify(flow, null, 2);
  // The network namespace guarantees the private broker; without one, 4222 may answer (then it is used).
  if (canIsolateNetwork()) expect(flow.driverOutput, transcript).toMatch(/private NATS broker for --sim: nats:\/\/127\.0\.0\.1:\d+/);
  expect(flow.steps.map((s) => s.command.replace(BIN, 'npx reachy-mini-driver'))).toEqual([
    'npx reachy-mini-driver devices',
    'npx reachy-mini-driver functions reachy-mini-sim-1',
    `npx reachy-mini-driver call reachy-mini-sim-1 wake_up '{"wait": true}'`,
    `npx reachy-mini-driver call reachy-mini-sim-1 look_at_world '{"yaw": 20}'`,
    'npx reachy-mini-driver call reachy-mini-sim-1 get_status',
  ]);
  for (const step of flow.steps) expect(step.code, `${step.command}\n${step.stderr}`).toBe(0);
  const [devices, functions, wake, look, status] = flow.steps;
  expect(devices!.stdout).toMatch(/^reachy-mini-sim-1\s+reachy_mini\s/m);
  expect(functions!.stdout).toContain('wake_up');
  expect(functions!.stdout).toContain('look_at_world');
  expect(['completed', 'already_awake']).toContain(JSON.parse(wake!.stdout).status);
  expect(JSON.parse(look!.stdout)).toMatchObject({ status: 'accepted', target: { kind: 'look_at_world', yaw: 20 } });
  expect(JSON.parse(status!.stdout)).toMatchObject({ driver_state: { power_state: 'awake' }, daemon: { available: true } });
  // Clean stop on Ctrl-C, and the record of the private broker is gone with it.
  expect(flow.driverExitCode, transcript).toBe(0);
  expect(flow.configDirAfterStop).not.toContain('sim-broker.json');
  expect(flow.driverOutput).toContain('INFO driver:cli stopping');
  // Ctrl-C reaches the driver, not its private broker: it leaves the mesh before the broker stops.
  expect(flow.driverOutput.slice(flow.driverOutput.indexOf('driver:cli stopping'))).not.toContain('broker connection lost');
}, 120_000);
