// The MCP bridge (issue 12 part 4) as an agent host sees it: the SDK's own client spawns
// `node src/cli.ts mcp` over stdio against a real broker and a `--sim` driver. Transcript: the five
// tools with their hints; list_devices finds the sim (D2D presence, no registry); get_device_functions
// shows ranges, labels and per-function hints; invoke_device takes the lease, wakes the robot and
// points the head (the emulator's applied targets are the truth); a refusal is a tool error with the
// device's `_tag`, and its `llm_reasoning` reaches the audit (the refusal's safety_event, which is the
// audit record); wait_for_event and the latest-event resource (read and subscribed) see it, and
// wait_for_event hands each event back once only. Then the registry path: a bridge in `--discovery-mode infra` lists and calls the sim through a registry.
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestDriver, waitFor, type TestDriver } from '../harness/driver-harness.ts';
import { openClient } from '../harness/mesh-peer.ts';
import { startNatsServer, type NatsServerHandle } from '../harness/nats-server.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const DEVICE = 'mcp-sim';
const TENANT = 'lab';
const AGENT = 'agent-1';
const REASONING = 'The user asked the robot to look at the door on its left.';

let server: NatsServerHandle;
let driver: TestDriver;
/** The test's own connection: it plays the registry in the last test (nothing else listens on `.discovery`). */
let nc: NatsConnection;
let presence: Record<string, unknown> | undefined;
let agent: Client;
let stderr = '';

async function openAgent(extraArgs: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', '--messaging-url', server.url, '--tenant', TENANT, ...extraArgs],
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  const client = new Client({ name: 'mcp-bridge-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

beforeAll(async () => {
  server = await startNatsServer();
  nc = await openClient(server.url);
  nc.subscribe(`device-connect.${TENANT}.${DEVICE}.presence`, { callback: (_e, msg) => { presence = msg.json(); } });
  await nc.flush();
  driver = await startTestDriver(['--sim', '--sim-time-scale', '0.05', '--no-media', '--device-id', DEVICE, '--tenant', TENANT, '--messaging-url', server.url], { DEVICE_CONNECT_ALLOW_INSECURE: 'true' });
  agent = await openAgent([]);
}, 60_000);
afterAll(async () => {
  await agent?.close();
  await driver?.stop();
  await nc?.close();
  await server?.stop();
});

/** A tool call's JSON text, parsed, with the error flag. */
async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ isError: boolean; body: any }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = result.content[0];
  if (first?.type !== 'text') throw new Error(`${name}: no text content (${JSON.stringify(result)}); bridge stderr: ${stderr}`);
  return { isError: result.isError === true, body: JSON.parse(first.text) };
}

const invoke = (fn: string, args: Record<string, unknown>, llm_reasoning = '') =>
  call(agent, 'invoke_device', { device_id: DEVICE, function: fn, arguments: JSON.stringify(args), llm_reasoning });

test('the five tools, with read-only hints on discovery and waiting, destructive on invoke', async () => {
  const { tools } = await agent.listTools();
  const byName = new Map(tools.map((t) => [t.name, t]));
  expect([...byName.keys()].sort()).toEqual(['describe_fleet', 'get_device_functions', 'invoke_device', 'list_devices', 'wait_for_event']);
  for (const name of ['describe_fleet', 'list_devices', 'get_device_functions', 'wait_for_event']) expect(byName.get(name)?.annotations?.readOnlyHint, name).toBe(true);
  expect(byName.get('invoke_device')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  expect(Object.keys(byName.get('invoke_device')?.inputSchema.properties ?? {}).sort()).toEqual(['arguments', 'device_id', 'function', 'llm_reasoning']);
  const { resourceTemplates } = await agent.listResourceTemplates();
  expect(resourceTemplates.map((r) => r.uriTemplate)).toEqual(['events://devices/{device_id}/latest']);
});

test('list_devices and describe_fleet find the sim by its D2D presence', async () => {
  const listed = await call(agent, 'list_devices', {});
  expect(listed.isError, JSON.stringify(listed.body)).toBe(false);
  expect(listed.body.devices.map((d: { device_id: string }) => d.device_id)).toContain(DEVICE);
  expect(listed.body).toMatchObject({ total: 1, offset: 0, has_more: false });
  const fleet = await call(agent, 'describe_fleet', {});
  expect(fleet.body.total_devices).toBe(1);
  expect(fleet.body.devices[0].device_id).toBe(DEVICE);
  expect((await call(agent, 'list_devices', { device_type: 'no-such-type' })).body.total).toBe(0);
});

test('get_device_functions shows ranges, labels and the hints the labels imply', async () => {
  const { isError, body } = await call(agent, 'get_device_functions', { device_id: DEVICE });
  expect(isError).toBe(false);
  const fn = (name: string) => body.functions.find((f: { name: string }) => f.name === name);
  expect(fn('look_at_world').parameters.properties.yaw).toMatchObject({ minimum: expect.any(Number), maximum: expect.any(Number) });
  expect(fn('look_at_world').labels).toMatchObject({ direction: 'write', safety: 'critical' });
  expect(fn('look_at_world').annotations).toEqual({ readOnlyHint: false, destructiveHint: true });
  expect(fn('get_status').annotations).toEqual({ readOnlyHint: true, destructiveHint: false });
  expect(body.events).toContain('safety_event');
  const missing = await call(agent, 'get_device_functions', { device_id: 'ghost-1' });
  expect(missing).toMatchObject({ isError: true, body: { _tag: 'DeviceNotFound' } });
});

test('invoke_device: lease, wake_up and look_at_world move the emulated head', async () => {
  expect(await invoke('acquire_lease', { owner: AGENT, ttl_s: 120 })).toMatchObject({ isError: false, body: { success: true, result: { status: 'held', owner: AGENT } } });
  const woke = await invoke('wake_up', { owner: AGENT, wait: true });
  expect(woke, JSON.stringify(woke.body)).toMatchObject({ isError: false, body: { success: true, result: { status: expect.stringMatching(/^(completed|already_awake)$/) } } });
  expect(await invoke('look_at_world', { yaw: 10, owner: AGENT }, REASONING)).toMatchObject({ isError: false, body: { success: true, result: { status: 'accepted' } } });
  const yawRad = (10 * Math.PI) / 180;
  await expect.poll(() => driver.emulator!.motionRecord.targets.filter((t) => t.kind === 'set_target').at(-1)?.values.head?.yaw, { timeout: 5_000 }).toBeCloseTo(yawRad, 3);
});

test('a refusal is a tool error with the _tag; its llm_reasoning reaches the audit; wait_for_event and the resource see it', async () => {
  await agent.subscribeResource({ uri: `events://devices/${DEVICE}/latest` });
  let updates = 0;
  agent.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    if (n.params.uri === `events://devices/${DEVICE}/latest`) updates += 1;
  });
  const refused = await invoke('look_at_world', { yaw: 5, owner: 'intruder' }, REASONING);
  expect(refused.isError).toBe(true);
  expect(refused.body).toMatchObject({ success: false, _tag: 'LeaseHeld', device_id: DEVICE, function: 'look_at_world', data: { _tag: 'LeaseHeld' } });
  const event = await call(agent, 'wait_for_event', { device_id: DEVICE, event_name: 'safety_event', match_params: JSON.stringify({ kind: 'refused', owner: 'intruder' }), timeout_seconds: 5 });
  expect(event.body).toMatchObject({ device_id: DEVICE, event_name: 'safety_event', params: { kind: 'refused', function: 'look_at_world', error_tag: 'LeaseHeld', llm_reasoning: REASONING } });
  await waitFor(() => updates > 0, 5_000, 'notifications/resources/updated');
  const read = await agent.readResource({ uri: `events://devices/${DEVICE}/latest` });
  const latest = JSON.parse(String((read.contents[0] as { text: string }).text));
  expect(latest).toMatchObject({ device_id: DEVICE, event_name: expect.any(String), params: expect.any(Object) });
  expect(latest.event_name).not.toBeNull();
});

test('wait_for_event returns each event once: two refusals, two waits, two events; of two pending waits one gets the next', async () => {
  const refusedFor = (owner: string) => ({ device_id: DEVICE, event_name: 'safety_event', match_params: JSON.stringify({ kind: 'refused', owner }) });
  for (let i = 0; i < 2; i += 1) expect((await invoke('look_at_world', { yaw: 5, owner: 'intruder-2' })).body._tag).toBe('LeaseHeld');
  const first = await call(agent, 'wait_for_event', { ...refusedFor('intruder-2'), timeout_seconds: 5 });
  const second = await call(agent, 'wait_for_event', { ...refusedFor('intruder-2'), timeout_seconds: 5 });
  expect(first.body.params.seq).toBeLessThan(second.body.params.seq);
  // Before 2026-12-07: the first refusal again, at once.
  expect((await call(agent, 'wait_for_event', { ...refusedFor('intruder-2'), timeout_seconds: 0.3 })).body).toEqual({ timeout: true, device_id: DEVICE });
  // Whether the refusal lands before or after the waits begin, exactly one of them gets it.
  const waits = [0, 1].map(() => call(agent, 'wait_for_event', { ...refusedFor('intruder-3'), timeout_seconds: 1.5 }));
  expect((await invoke('look_at_world', { yaw: 5, owner: 'intruder-3' })).body._tag).toBe('LeaseHeld');
  const bodies = (await Promise.all(waits)).map((w) => w.body);
  expect(bodies.filter((b) => b.timeout === true)).toHaveLength(1);
  expect(bodies.filter((b) => b.params?.owner === 'intruder-3')).toHaveLength(1);
});

test('wait_for_event times out with {timeout: true}; bad JSON arguments are a tool error', async () => {
  expect((await call(agent, 'wait_for_event', { device_id: DEVICE, event_name: 'never_emitted', timeout_seconds: 0.2 })).body).toEqual({ timeout: true, device_id: DEVICE });
  expect(await call(agent, 'invoke_device', { device_id: DEVICE, function: 'get_status', arguments: '{nope' })).toMatchObject({ isError: true, body: { _tag: 'InvalidArguments' } });
  expect(await invoke('no_such_function', {})).toMatchObject({ isError: true, body: { _tag: 'UnknownMethod', code: -32601 } });
});

test('a wait beyond MAX_WAIT_TIMEOUT_S is refused, not a timeout at once; an invalid device id is refused at once by get_device_functions too', async () => {
  const started = Date.now();
  const huge = await agent.callTool({ name: 'wait_for_event', arguments: { device_id: DEVICE, timeout_seconds: 1e10 } }).then(
    (result) => ({ result: result as CallToolResult, thrown: null }),
    (error: unknown) => ({ result: null, thrown: error as Error }),
  );
  // Before 2026-12-06: {"timeout": true} after ~4 ms (a Node timer over 2^31 - 1 ms fires at once).
  const said = huge.thrown?.message ?? JSON.stringify(huge.result);
  expect(huge.thrown !== null || huge.result?.isError === true, said).toBe(true);
  expect(said).toContain('timeout_seconds');
  expect(said).not.toContain('"timeout": true');
  expect(await call(agent, 'get_device_functions', { device_id: 'bad id*' })).toMatchObject({ isError: true, body: { _tag: 'InvalidArguments' } });
  expect(Date.now() - started, 'both answered at once (no discovery wait)').toBeLessThan(1_000);
});

test('registry mode: a bridge with --discovery-mode infra lists and calls the sim through the registry', async () => {
  // The registry's record of the sim: what it announces (its presence payload is its registration).
  await waitFor(() => presence !== undefined, 5_000, 'the sim presence');
  const record = presence!;
  const asked: string[] = [];
  nc.subscribe(`device-connect.${TENANT}.discovery`, {
    callback: (_e, msg) => {
      const request = msg.json<{ id: string; method: string; params: { device_id?: string } }>();
      asked.push(request.method);
      const result = request.method === 'discovery/getDevice' ? { device: request.params.device_id === DEVICE ? record : null } : { devices: [record] };
      msg.respond(JSON.stringify({ jsonrpc: '2.0', id: request.id, result }));
    },
  });
  await nc.flush();
  const viaRegistry = await openAgent(['--discovery-mode', 'infra']);
  try {
    const listed = await call(viaRegistry, 'list_devices', {});
    expect(listed.body.devices.map((d: { device_id: string }) => d.device_id)).toEqual([DEVICE]);
    expect(asked).toContain('discovery/listDevices');
    expect((await call(viaRegistry, 'get_device_functions', { device_id: DEVICE })).body.device_id).toBe(DEVICE);
    const status = await call(viaRegistry, 'invoke_device', { device_id: DEVICE, function: 'get_status', arguments: '{}' });
    expect(status).toMatchObject({ isError: false, body: { success: true, result: { driver_state: { rig: 'reachy_mini' } } } });
  } finally {
    await viaRegistry.close();
  }
});
