// The README's first flow, verbatim (issue 10 item 1 "a test runs the README's command blocks"):
// the ```sh first-flow:driver block (one command, terminal 1) and the ```sh first-flow:client block
// (one command per line, terminal 2) are run as written, from the repository root, with an empty
// HOME, only PATH set and nothing on 127.0.0.1:4222 (test/harness/two-terminals.ts). Every client
// command must exit 0 with no npm engine warning. Fails when README.md lost the blocks.
// README_FLOW_FILE runs the blocks of another Markdown file (to try a README change first).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { runTwoTerminals } from '../harness/two-terminals.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE = process.env['README_FLOW_FILE'] ?? fileURLToPath(new URL('../../README.md', import.meta.url));

/** The command lines of every ```sh first-flow:<role> block, comments and blank lines left out. */
export function flowBlocks(markdown: string, role: 'driver' | 'client'): string[] {
  const lines: string[] = [];
  for (const match of markdown.matchAll(new RegExp('^```sh first-flow:' + role + '\\n([\\s\\S]*?)^```', 'gm'))) {
    for (const line of (match[1] ?? '').split('\n')) if (line.trim() !== '' && !line.trim().startsWith('#')) lines.push(line.trim());
  }
  return lines;
}

const markdown = readFileSync(SOURCE, 'utf8');
const driver = flowBlocks(markdown, 'driver');
const clients = flowBlocks(markdown, 'client');

test('the README first flow works verbatim on a fresh machine', async () => {
  // The README must keep its tagged blocks: without them this test fails rather than skips.
  expect(driver, 'one command in the first-flow:driver block').toHaveLength(1);
  expect(clients.length).toBeGreaterThan(0);
  expect(driver[0], 'never reinstall the shared node_modules from a test').not.toMatch(/npm (ci|install)/);
  const flow = await runTwoTerminals({ driverCommand: driver[0]!, clientCommands: clients, cwd: REPO });
  const transcript = JSON.stringify(flow, null, 2);
  expect(flow.steps.map((s) => s.command), transcript).toEqual(clients);
  for (const step of flow.steps) {
    expect(step.code, `${step.command}\n${step.stderr}`).toBe(0);
    expect(step.stderr).not.toContain('EBADENGINE');
  }
  expect(flow.configDirAfterStop).not.toContain('sim-broker.json');
}, 180_000);
