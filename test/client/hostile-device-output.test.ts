// A hostile device on the mesh cannot drive the operator's terminal through the client commands:
// its id, function and event names, descriptions, labels, parameter schemas, results, error replies
// and event payloads carry OSC/ESC/BEL, C1 CSI, newlines and U+2028, and every line `devices`,
// `functions`, `call`, `events` and `panorama` print (plain and --json) has them escaped; the --json text still
// parses to what the device sent. Real nats-server, fakes speaking the wire (wire-fakes.ts).
import { expect, test } from 'vitest';
import { EXIT_FAILURE, EXIT_OK, type ClientCommandArgs } from '../../src/client/cli-commands.ts';
import { runCapturedClientCommand } from '../harness/client-command.ts';
import { useBroker } from './broker.ts';
import { fakeResponder, pyJson } from './wire-fakes.ts';

const broker = useBroker();

/** Terminal title (OSC … BEL), clear screen (ESC [2J), the one-byte C1 CSI, a forged line, a line separator. */
const EVIL = '\u001b]0;owned\u0007\u001b[2J\u009b2J\nFORGED\u2028';
const EVIL_SHOWN = '\\u001b]0;owned\\u0007\\u001b[2J\\u009b2J\\nFORGED\\u2028';
const RAW_CONTROL = /[\p{Cc}\u2028\u2029]/u;

const hostile = {
  device_id: 'evil-1',
  capabilities: {
    description: `Evil${EVIL}`,
    functions: [
      {
        name: `get_status${EVIL}`,
        description: `Reads${EVIL}`,
        parameters: { type: 'object', properties: { [`p${EVIL}`]: { type: 'string', enum: [`a${EVIL}`], default: `d${EVIL}`, description: `x${EVIL}` } }, required: [] },
        labels: { [`k${EVIL}`]: `v${EVIL}` },
      },
      /** Two edits from `get_status`: what did-you-mean suggests for it. */
      { name: 'get_stat\u001b\u009b', description: '' },
    ],
    events: [{ name: `ev${EVIL}`, description: `e${EVIL}`, payload_schema: { type: 'object', properties: { [`f${EVIL}`]: { type: 'string', description: EVIL } } } }],
  },
  identity: { device_type: `type${EVIL}` },
  status: { availability: `up${EVIL}` },
};
const other = { ...hostile, device_id: `evil-2${EVIL}` };

function hostileFleet(): void {
  fakeResponder(
    broker.fleet,
    'device-connect.default.discovery',
    (req) => {
      const id = req.json['id'];
      if (req.json['method'] === 'discovery/listDevices') return pyJson({ jsonrpc: '2.0', id, result: { devices: [hostile, other], next_offset: null, total_matched: 2 } });
      return pyJson({ jsonrpc: '2.0', id, result: { device: hostile } });
    },
    'orch',
  );
  fakeResponder(broker.fleet, 'device-connect.default.evil-1.cmd', (req) => {
    const id = req.json['id'];
    if (req.json['method'] === 'read') return JSON.stringify({ jsonrpc: '2.0', id, result: { value: `r${EVIL}`, [`k${EVIL}`]: 1 } });
    if (req.json['method'] === 'fail') return JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message: `failed${EVIL}`, data: { _tag: `Tag${EVIL}`, detail: EVIL } } });
    return JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: `Unknown method${EVIL}` } });
  });
}

const run = (command: ClientCommandArgs['command'], positional: string[], extra: Partial<ClientCommandArgs> = {}) => runCapturedClientCommand(broker.url, command, positional, extra);

/** Every printed line, the lines of indented JSON split apart (their newlines are the indentation's). */
function expectNoRawControl(...outputs: string[][]): void {
  for (const line of outputs.flat().flatMap((text) => text.split('\n'))) expect(line).not.toMatch(RAW_CONTROL);
}

test('devices and functions: names, types, descriptions, labels and schemas printed escaped; --json parses to what the device sent', async () => {
  hostileFleet();
  await broker.fleet.flush();

  const devices = await run('devices', []);
  expect(devices.code).toBe(EXIT_OK);
  expectNoRawControl(devices.out, devices.err);
  expect(devices.out).toContainEqual(expect.stringContaining(`evil-2${EVIL_SHOWN}  type${EVIL_SHOWN}  up${EVIL_SHOWN}  2`));

  const functions = await run('functions', ['evil-1']);
  expect(functions.code).toBe(EXIT_OK);
  expectNoRawControl(functions.out, functions.err);
  expect(functions.out[0]).toBe(`evil-1 · type${EVIL_SHOWN} · Evil${EVIL_SHOWN}`);
  expect(functions.out).toContain(`  get_status${EVIL_SHOWN}: Reads${EVIL_SHOWN}  [k${EVIL_SHOWN}=v${EVIL_SHOWN}]`);
  expect(functions.out).toContainEqual(expect.stringContaining(`p${EVIL_SHOWN}  string (a${EVIL_SHOWN})  -      ${JSON.stringify(`d${EVIL}`).replace(/\u009b/g, '\\u009b').replace(/\u2028/g, '\\u2028')}  x${EVIL_SHOWN}`));
  expect(functions.out).toContain(`  ev${EVIL_SHOWN}: e${EVIL_SHOWN}`);

  const json = await run('functions', ['evil-1', '--json']);
  expectNoRawControl(json.out);
  const listed = JSON.parse(json.out.join('\n')) as { deviceId: string; functions: { name: string; description: string }[] };
  expect([listed.deviceId, listed.functions[0]]).toMatchObject(['evil-1', { name: `get_status${EVIL}`, description: `Reads${EVIL}` }]);
  const list = await run('devices', ['--json']);
  expectNoRawControl(list.out);
  expect((JSON.parse(list.out.join('\n')) as { deviceId: string }[]).map((d) => d.deviceId)).toEqual(['evil-1', `evil-2${EVIL}`]);
});

test('call: a result, an error reply and a did-you-mean from the device printed escaped; --json parses to the reply', async () => {
  hostileFleet();
  await broker.fleet.flush();

  const result = await run('call', ['evil-1', 'read']);
  expect(result.code).toBe(EXIT_OK);
  expectNoRawControl(result.out, result.err);
  expect(JSON.parse(result.out.join('\n'))).toEqual({ value: `r${EVIL}`, [`k${EVIL}`]: 1 });

  const failed = await run('call', ['evil-1', 'fail', '--json']);
  expect(failed.code).toBe(EXIT_FAILURE);
  expectNoRawControl(failed.out, failed.err);
  expect(failed.err).toEqual([`error -32000 failed${EVIL_SHOWN}`, `data._tag: Tag${EVIL_SHOWN}`, `data: {"detail":"${EVIL_SHOWN}"}`]);
  expect(JSON.parse(failed.out.join('\n'))).toMatchObject({ error: { message: `failed${EVIL}`, data: { _tag: `Tag${EVIL}` } } });

  const unknown = await run('call', ['evil-1', 'get_status']);
  expect(unknown.code).toBe(EXIT_FAILURE);
  expectNoRawControl(unknown.out, unknown.err);
  expect(unknown.err[0]).toBe(`error -32601 Unknown method${EVIL_SHOWN}`);
  expect(unknown.err).toContainEqual(expect.stringContaining('did you mean `get_stat\\u001b\\u009b`?'));

  const missing = await run('call', ['ghost-1', 'x']);
  expectNoRawControl(missing.out, missing.err);
  expect(missing.err).toContainEqual(expect.stringContaining(`evil-1, evil-2${EVIL_SHOWN}`));
});

test('events: a payload carrying escapes (in values and keys) comes out as one escaped JSON line that parses to it', async () => {
  const timer = setInterval(() => {
    broker.fleet.publish('device-connect.default.evil-1.event.tick', JSON.stringify({ jsonrpc: '2.0', method: `tick${EVIL}`, params: { label: `l${EVIL}`, [`k${EVIL}`]: 1 } }));
  }, 20);
  const watched = await run('events', ['evil-1'], { eventLimit: 1 }).finally(() => clearInterval(timer));

  expect(watched.code).toBe(EXIT_OK);
  expect(watched.out).toHaveLength(1);
  expectNoRawControl(watched.out, watched.err);
  expect(JSON.parse(watched.out[0]!)).toMatchObject({ deviceId: 'evil-1', params: { label: `l${EVIL}`, [`k${EVIL}`]: 1 } });
});

test('panorama: what the device answered (its refusal of the scan) printed escaped, plain and --json', async () => {
  hostileFleet();
  const { runPanoramaCommand } = await import('../../src/client/panorama-command.ts');
  const { parsePanoramaArgs } = await import('../../src/client/panorama-args.ts');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = await mkdtemp(join(tmpdir(), 'hostile-panorama-'));
  try {
    for (const json of [false, true]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runPanoramaCommand({
        deviceId: 'evil-1', args: parsePanoramaArgs(['--output', join(dir, String(json)), '--wait-timeout', '5']), connectOptions: { servers: broker.url },
        tenant: 'default', discoveryMode: 'infra', json, progressBar: false, colour: false, brokerLabel: broker.url,
        out: (line) => out.push(line), err: (text) => err.push(text),
      });
      expect(code).not.toBe(EXIT_OK);
      expect(err.join('')).toContain('Unknown method\\u001b]0;owned');
      expectNoRawControl(out, err.map((text) => text.replace(/\n$/, '')));
      if (json) expect(out.map((line) => JSON.parse(line) as unknown).length).toBeGreaterThan(0);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
