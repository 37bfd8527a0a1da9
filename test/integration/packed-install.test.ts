// Issue 10 item 7, as a user gets the package: `npm pack` (which builds dist/), `npm install` of the
// tarball in an empty folder (dependencies from the npm cache when they are there), then in that
// folder `npx reachy-mini-driver --sim` in one terminal and the commands it prints, verbatim, in
// another; the packaged audit publisher falls back to core NATS on --sim's broker (no JetStream).
// Slow by nature (~50 s on the 2-core box: pack ~10 s, install ~15 s, flow ~20 s).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';
import { runTwoTerminals } from '../harness/two-terminals.ts';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** npm itself runs on the Node the tests run on (24), as it would for a user who installed Node 24. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
let work: string | undefined;

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test('npm pack → npm install in an empty folder → npx reachy-mini-driver --sim and the printed commands work', async () => {
  work = await mkdtemp(join(tmpdir(), 'rmd-packed-'));
  const folder = join(work, 'app');
  await mkdir(folder);
  const env = { ...process.env, PATH };
  await run('npm', ['pack', '--pack-destination', work], { cwd: REPO, env, maxBuffer: 16 << 20 });
  const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball!)], { cwd: folder, env, maxBuffer: 16 << 20 });
  const installed = await readdir(join(folder, 'node_modules', 'reachy-mini-driver'));
  expect(installed.sort()).toEqual(['LICENSE', 'README.md', 'bin', 'dist', 'package.json', 'packaging']);

  const flow = await runTwoTerminals({ driverCommand: 'npx reachy-mini-driver --sim', clientCommands: 'printed', cwd: folder, pathFirst: [dirname(process.execPath)] });
  const transcript = JSON.stringify(flow, null, 2);
  expect(flow.driverOutput, transcript).toContain('reachy-mini-driver reachy-mini-sim-1 (tenant default)');
  expect(flow.steps, transcript).toHaveLength(5);
  for (const step of flow.steps) expect(step.code, `${step.command}\n${step.stderr}`).toBe(0);
  expect(flow.steps[0]!.stdout).toMatch(/^reachy-mini-sim-1\s+reachy_mini\s/m);
  expect(JSON.parse(flow.steps[4]!.stdout)).toMatchObject({ driver_state: { power_state: 'awake' } });
  expect(flow.steps.every((s) => !s.stderr.includes('EBADENGINE'))).toBe(true);
  // The driver exits 0 on Ctrl-C; npm exec, which got the same SIGINT, reports 130 (128 + SIGINT) itself.
  expect([0, 130], transcript).toContain(flow.driverExitCode);
  expect(flow.driverOutput).toContain('INFO driver:cli stopping');
  // --sim's private broker has no JetStream: the packaged audit publisher says so once and publishes
  // on core NATS. With the JetStream client loading its own copy of the NATS client, it never
  // recognised "no responders" and kept the records waiting, probing at every record.
  expect(flow.driverOutput, transcript).toContain('audit records go to core NATS');
  expect(flow.driverOutput, transcript).not.toContain('audit records wait in the local file');
}, 180_000);
