// The client subcommands end to end: runClientCommand opens its own connection to a real
// nats-server, talks to fakes replaying the golden captures, and every line it prints is captured
// through `out` and compared in full, with the exit code (0 ok, 1 failed, 2 usage).
import { describe, expect, test } from 'vitest';
import { clientConnectionOptions } from '../../src/adapters/client-connection.ts';
import { runClientCommand, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type ClientCommandArgs } from '../../src/client/cli-commands.ts';
import { InvalidParams, toJsonRpcError } from '../../src/errors.ts';
import { runCapturedClientCommand } from '../harness/client-command.ts';
import { useBroker } from './broker.ts';
import { golden } from './golden-wire.ts';
import { capturedD2dDevice, capturedRegistry, capturedRng001, fakeResponder, pyJson } from './wire-fakes.ts';

const broker = useBroker();

/** A port nothing listens on (TCP port 1 is reserved and closed on loopback). */
const DEAD_BROKER = '127.0.0.1:1';

/** The exit code and every line printed, stdout and stderr in the order printed (as one terminal shows them). */
async function run(command: ClientCommandArgs['command'], positional: string[], extra: Partial<ClientCommandArgs> = {}): Promise<{ code: number; lines: string[] }> {
  const { code, lines } = await runCapturedClientCommand(broker.url, command, positional, extra);
  return { code, lines };
}

describe('devices', () => {
  test('infra: a table of id, type, availability and function count from the captured registry page', async () => {
    capturedRegistry(broker.fleet);
    await broker.fleet.flush();

    expect(await run('devices', [])).toEqual({
      code: EXIT_OK,
      lines: [
        'DEVICE_ID  TYPE              AVAILABILITY  FUNCTIONS',
        'rng-001    number_generator  available     2',
        'who-001    caller_aware      idle          3',
      ],
    });
  });

  test('--json prints the flat devices', async () => {
    capturedRegistry(broker.fleet);
    await broker.fleet.flush();

    const { code, lines } = await run('devices', ['--json']);

    expect(code).toBe(EXIT_OK);
    const devices = JSON.parse(lines.join('\n')) as { deviceId: string; labels: unknown }[];
    expect(devices.map((d) => [d.deviceId, d.labels])).toEqual([
      ['rng-001', { location: 'simulator' }],
      ['who-001', { category: 'test', location: 'lab/bench-1' }],
    ]);
  });

  test('d2d: the captured who-d2d answers the probe', async () => {
    capturedD2dDevice(broker.fleet);
    await broker.fleet.flush();

    expect(await run('devices', [], { tenant: 'lab', discoveryMode: 'd2d' })).toEqual({
      code: EXIT_OK,
      lines: ['DEVICE_ID  TYPE          AVAILABILITY  FUNCTIONS', 'who-d2d    caller_aware  idle          3'],
    });
  });

  test('an empty fleet says so', async () => {
    fakeResponder(broker.fleet, 'device-connect.default.discovery', (req) =>
      pyJson({ jsonrpc: '2.0', id: req.json['id'], result: { devices: [], next_offset: null, total_matched: 0 } }),
    );
    await broker.fleet.flush();

    expect(await run('devices', [])).toEqual({ code: EXIT_OK, lines: ['no devices in tenant default (infra discovery)'] });
  });

  test('no registry: NoResponders saying no registry answers and what to do, exit 1', async () => {
    expect(await run('devices', [])).toEqual({
      code: EXIT_FAILURE,
      lines: ['error NoResponders no registry answers on device-connect.default.discovery (infra discovery): start one, or use --discovery-mode d2d (the devices answer for themselves)'],
    });
  });

  test('no broker: the URL tried and what to do, exit 1', async () => {
    const { code, lines } = await run('devices', [], { connectOptions: { servers: DEAD_BROKER } });
    expect(code).toBe(EXIT_FAILURE);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^error cannot connect to NATS at 127\.0\.0\.1:1: /);
    expect(lines[1]).toMatch(/^is the driver running\? `reachy-mini-driver --sim` starts one/);
  });

  // Before 2026-12-06 the client's options (maxReconnectAttempts 0, nats.js's shuffled pool) dropped a
  // second server at each failed first dial: with three dead brokers listed first, about half the
  // runs never dialled the live one (all eight through by chance: 1 in 256).
  test('three dead brokers listed before the live one: every run reaches it', async () => {
    capturedRegistry(broker.fleet);
    await broker.fleet.flush();
    const servers = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', broker.url];
    const codes: number[] = [];
    for (let run_ = 0; run_ < 8; run_++) {
      codes.push((await run('devices', [], { connectOptions: clientConnectionOptions({ servers, credentials: undefined, tls: {} }) })).code);
    }
    expect(codes).toEqual(Array.from({ length: 8 }, () => EXIT_OK));
  });
});

describe('functions <device_id>', () => {
  test('the captured rng-001: every function with its parameters, then the events', async () => {
    capturedRegistry(broker.fleet);
    await broker.fleet.flush();

    const { code, lines } = await run('functions', ['rng-001']);

    expect(code).toBe(EXIT_OK);
    expect(lines).toEqual([
      'rng-001 · number_generator · Simulated number generator device.',
      '',
      'Functions (2):',
      '  generate: Generate a random number in [min, max].',
      '      PARAMETER  TYPE    RANGE  DEFAULT  DESCRIPTION',
      '      min        number  -      0',
      '      max        number  -      100',
      '  get_stats: Return generation statistics.',
      '      (no parameters)',
      '',
      'Events (1):',
      '  number_generated: A new number was generated.',
      '      FIELD    TYPE    DESCRIPTION',
      '      value *  number',
      '      label *  string',
      '',
      '* required',
    ]);
  });

  test('a device the registry answers {"device": null} for: DeviceNotFound, exit 1', async () => {
    capturedRegistry(broker.fleet);
    await broker.fleet.flush();

    expect(await run('functions', ['ghost-999'])).toEqual({
      code: EXIT_FAILURE,
      lines: [
        'error DeviceNotFound device ghost-999 not found in tenant default (infra discovery)',
        'devices in tenant default: rng-001, who-001 (`reachy-mini-driver devices` lists them)',
      ],
    });
  });

  test('ranges come from minimum/maximum, enums show their choices', async () => {
    const reachy = {
      device_id: 'reachy-mini-1',
      device_ttl: 15,
      capabilities: {
        description: 'Pollen Robotics Reachy Mini.',
        functions: [
          {
            name: 'look_at',
            description: 'Turn the head.',
            parameters: {
              type: 'object',
              properties: {
                yaw: { type: 'number', description: 'Yaw, degrees', minimum: -40, maximum: 40, default: 0 },
                duration: { type: 'number', description: 'Seconds', minimum: 0.1, maximum: 10, default: 1 },
                interpolation: { type: 'string', enum: ['linear', 'minjerk'], default: 'minjerk' },
                volume: { type: 'integer', minimum: 0 },
              },
              required: ['yaw'],
            },
            labels: { direction: 'write', safety: 'critical' },
            tags: [],
          },
        ],
        events: [],
        labels: null,
      },
      identity: { device_type: 'reachy_mini' },
      status: { ts: '2026-11-24T15:53:45Z', availability: 'ready' },
    };
    fakeResponder(broker.fleet, 'device-connect.default.discovery', (req) => pyJson({ jsonrpc: '2.0', id: req.json['id'], result: { device: reachy } }));
    await broker.fleet.flush();

    const { code, lines } = await run('functions', ['reachy-mini-1']);

    expect(code).toBe(EXIT_OK);
    expect(lines).toEqual([
      'reachy-mini-1 · reachy_mini · Pollen Robotics Reachy Mini.',
      '',
      'Functions (1):',
      '  look_at: Turn the head.  [direction=write, safety=critical]',
      '      PARAMETER      TYPE                     RANGE    DEFAULT    DESCRIPTION',
      '      yaw *          number                   -40..40  0          Yaw, degrees',
      '      duration       number                   0.1..10  1          Seconds',
      '      interpolation  string (linear|minjerk)  -        "minjerk"',
      '      volume         integer                  >= 0     -',
      '',
      'Events (0):',
      '  (none)',
      '',
      '* required',
    ]);
  });

  test('d2d: the captured presence of who-d2d, setLevel in full', async () => {
    capturedD2dDevice(broker.fleet);
    await broker.fleet.flush();

    const { code, lines } = await run('functions', ['who-d2d'], { tenant: 'lab', discoveryMode: 'd2d' });

    expect(code).toBe(EXIT_OK);
    expect(lines.slice(0, 17)).toEqual([
      'who-d2d · caller_aware · Caller-aware test device.',
      '',
      'Functions (3):',
      '  fail: Always raises.',
      '      (no parameters)',
      '  setLevel: Set the output level.  [direction=write, safety=critical]',
      '      PARAMETER  TYPE           RANGE  DEFAULT  DESCRIPTION',
      '      level *    integer        -      -        Target level, 0-10',
      "      mode       string         -      \"auto\"   Operating mode ('auto' or 'manual')",
      '      tags       array<string>  -      null     Optional tags spanning two lines',
      '      extra      object         -      null',
      '      ratio      number         -      0.5',
      '      enabled    boolean        -      true',
      '  whoami: Return the caller identity as seen by the handler.  [direction=read]',
      '      (no parameters)',
      '',
      'Events (1):',
    ]);
    expect(lines.slice(17)).toEqual(['  level_changed: Level changed.  [modality=state]', '      FIELD    TYPE     DESCRIPTION', '      level *  integer  new level', '', '* required']);
  });

  test('usage: no device id, exit 2', async () => {
    expect(await run('functions', [])).toEqual({ code: EXIT_USAGE, lines: ['usage: functions <device_id> [--json]'] });
  });
});

describe('call <device_id> <function> [json-params]', () => {
  test('success: the captured result, pretty-printed', async () => {
    const device = capturedRng001(broker.fleet);
    await broker.fleet.flush();

    const { code, lines } = await run('call', ['rng-001', 'generate', '{"min": 1, "max": 2}']);

    expect(device.received[0]!.json).toMatchObject({ method: 'generate', params: { min: 1, max: 2 } });
    expect({ code, output: lines.join('\n') }).toEqual({ code: EXIT_OK, output: '{\n  "value": 1.02,\n  "total_generated": 4\n}' });
  });

  test('-32601: the captured error as "error <code> <message>", exit 1', async () => {
    capturedRng001(broker.fleet);
    await broker.fleet.flush();

    expect(await run('call', ['rng-001', 'nope'])).toEqual({ code: EXIT_FAILURE, lines: ['error -32601 Unknown method: nope'] });
  });

  test('-32602 from our TS device: code, message, data._tag and the rest of data', async () => {
    const invalid = toJsonRpcError(new InvalidParams({ message: 'level must be an integer in [0, 10]', issues: [{ parameter: 'level', problem: 'out of range' }] }));
    fakeResponder(broker.fleet, 'device-connect.default.who-001.cmd', (req) => JSON.stringify({ jsonrpc: '2.0', id: req.json['id'], error: invalid }));
    await broker.fleet.flush();

    expect(await run('call', ['who-001', 'setLevel', '{"level": 42}'])).toEqual({
      code: EXIT_FAILURE,
      lines: ['error -32602 level must be an integer in [0, 10]', 'data._tag: InvalidParams', 'data: {"issues":[{"parameter":"level","problem":"out of range"}]}'],
    });
  });

  test('invalid JSON params: one line, exit 2, before any connection', async () => {
    const { code, lines } = await run('call', ['rng-001', 'generate', '{min: 1'], { connectOptions: { servers: DEAD_BROKER } });

    expect(code).toBe(EXIT_USAGE);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^invalid JSON params: /);
  });

  test('params that are JSON but not an object: exit 2', async () => {
    expect(await run('call', ['rng-001', 'generate', '[1, 2]'], { connectOptions: { servers: DEAD_BROKER } })).toEqual({
      code: EXIT_USAGE,
      lines: [`params must be a JSON object such as '{"level": 3}', got an array`],
    });
  });

  test('no responders (the captured ghost-999): exit 1 at once', async () => {
    expect(await run('call', ['ghost-999', 'x', '{}'])).toEqual({
      code: EXIT_FAILURE,
      lines: ['error NoResponders nobody is subscribed to device-connect.default.ghost-999.cmd (offline device, wrong id or wrong tenant)'],
    });
  });

  test('timeout: exit 1 naming the subject and the budget', async () => {
    fakeResponder(broker.fleet, 'device-connect.default.who-001.cmd', () => undefined);
    await broker.fleet.flush();

    expect(await run('call', ['who-001', 'whoami'], { timeoutMs: 300 })).toEqual({
      code: EXIT_FAILURE,
      lines: ['error RequestTimeout no reply on device-connect.default.who-001.cmd within 300 ms'],
    });
  });

  test('usage: missing function, bad device id', async () => {
    expect(await run('call', ['rng-001'])).toEqual({ code: EXIT_USAGE, lines: [`usage: call <device_id> <function> ['{"param": value}'] [--json]`] });
    expect(await run('call', ['rng.*', 'x'])).toEqual({ code: EXIT_USAGE, lines: [`invalid device id "rng.*" (letters, digits, '.', '_', '-')`] });
  });
});

describe('events [device_id]', () => {
  /** Publishes the captured events every 20 ms until stopped: the command subscribes at an unknown moment. */
  function keepEmitting(): () => void {
    const timer = setInterval(() => {
      broker.fleet.publish(golden.numberGeneratedEvent.subject, golden.numberGeneratedEvent.data);
      broker.fleet.publish(golden.levelChangedEvent.subject, golden.levelChangedEvent.data);
    }, 20);
    return () => clearInterval(timer);
  }

  test('one JSON line per event until eventLimit', async () => {
    const stop = keepEmitting();
    const notices: string[] = [];
    const result = await run('events', [], { eventLimit: 2, err: (line) => notices.push(line) }).finally(stop);

    expect(result.code).toBe(EXIT_OK);
    expect(notices).toEqual(['watching every device (device-connect.default.*.event.>); one JSON line per event, Ctrl-C stops']);
    expect(result.lines).toHaveLength(2);
    const events = result.lines.map((l) => JSON.parse(l) as { deviceId: string; name: string; params: Record<string, unknown> });
    expect(events.map((e) => Object.keys(e))).toEqual([
      ['deviceId', 'name', 'params'],
      ['deviceId', 'name', 'params'],
    ]);
    for (const e of events) {
      if (e.deviceId === 'rng-001') expect(e).toEqual({ deviceId: 'rng-001', name: 'number_generated', params: (JSON.parse(golden.numberGeneratedEvent.data) as { params: unknown }).params });
      else expect(e).toEqual({ deviceId: 'who-001', name: 'level_changed', params: (JSON.parse(golden.levelChangedEvent.data) as { params: unknown }).params });
    }
  });

  test('one device only, until the signal aborts', async () => {
    const stop = keepEmitting();
    const controller = new AbortController();
    const lines: string[] = [];
    const code = await runClientCommand({
      command: 'events',
      positional: ['who-001'],
      connectOptions: { servers: broker.url },
      tenant: 'default',
      discoveryMode: 'infra',
      signal: controller.signal,
      err: () => undefined,
      out: (line) => {
        lines.push(line);
        if (lines.length === 3) controller.abort();
      },
    }).finally(stop);

    expect(code).toBe(EXIT_OK);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ deviceId: 'who-001', name: 'level_changed' });
  });
});
