// Fuzz of the `.cmd` subject (fast-check): 10 000 random and malformed requests. The process must
// stay up and every request that carries an id must get exactly one reply; bodies without an id
// (notifications) and bodies published without a reply subject get silence. Checked with a
// recorder on the reply subjects so duplicates would be seen.
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { rpc } from '../harness/mesh-peer.ts';
import { startMeshScene, type MeshScene } from '../harness/driver-harness.ts';

const DEVICE = 'fuzz-dev';
const CMD = `device-connect.default.${DEVICE}.cmd`;
const RUNS = 10_000;
/** Requests in flight at once: enough to exercise concurrency, bounded for a 2-core box. */
const BATCH = 200;

let scene: MeshScene;
let nc: MeshScene['nc'];

beforeAll(async () => {
  scene = await startMeshScene(['--device-id', DEVICE, '--log-level', 'error']);
  nc = scene.nc;
  await vi.waitFor(() => expect(scene.driver.runtime.registrationCount()).toBeGreaterThan(0), { timeout: 5_000 });
});

afterAll(async () => {
  await scene?.stop();
});

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const idArb = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const methodArb = fc.oneof(fc.constantFrom('get_status', 'requestRegistration', 'nope', '', 'get_status '), fc.string({ maxLength: 40 }));
const paramsArb = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.oneof(fc.constantFrom('_dc_meta', 'owner', 'x'), fc.string({ maxLength: 8 })), jsonValue, { maxKeys: 4 }),
  fc.array(jsonValue, { maxLength: 3 }),
  jsonValue,
);
/** A body and whether it carries a valid id (so a reply is owed). */
const bodyArb: fc.Arbitrary<{ text: string; owesReply: boolean }> = fc.oneof(
  fc.record({ id: idArb, method: methodArb, params: paramsArb }).map((r) => ({ text: JSON.stringify({ jsonrpc: '2.0', ...r }), owesReply: true })),
  fc.record({ method: methodArb, params: paramsArb }).map((r) => ({ text: JSON.stringify({ jsonrpc: '2.0', ...r }), owesReply: false })),
  fc.string({ maxLength: 60 }).map((s) => ({ text: s, owesReply: true })),
  jsonValue.map((v) => ({ text: JSON.stringify(v), owesReply: true })),
  fc.uint8Array({ maxLength: 64 }).map((b) => ({ text: Buffer.from(b).toString('latin1'), owesReply: true })),
);

function expectsReply(text: string, owesReply: boolean): boolean {
  // Decide what the protocol owes from the body itself: JSON objects without an id are notifications.
  try {
    const doc: unknown = JSON.parse(text);
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
      const id = (doc as { id?: unknown }).id;
      return id !== undefined && id !== null;
    }
    return true;
  } catch {
    return owesReply;
  }
}

test(`${RUNS} random requests: one reply per request with an id, silence otherwise, process alive`, async () => {
  const samples = fc.sample(bodyArb, { numRuns: RUNS, seed: 20261124 });
  const replyCounts = new Map<string, number>();
  const inbox = `_INBOX.fuzz.${Date.now()}`;
  nc.subscribe(`${inbox}.*`, { callback: (_e, msg) => {
      replyCounts.set(msg.subject, (replyCounts.get(msg.subject) ?? 0) + 1);
    } });
  await nc.flush();
  const owed: string[] = [];
  const silent: string[] = [];
  for (let i = 0; i < samples.length; i += BATCH) {
    for (let j = i; j < Math.min(i + BATCH, samples.length); j++) {
      const sample = samples[j]!;
      const replyTo = `${inbox}.${j}`;
      (expectsReply(sample.text, sample.owesReply) ? owed : silent).push(replyTo);
      nc.publish(CMD, sample.text, { reply: replyTo });
    }
    await nc.flush();
    // Let the batch drain before the next one (bounded in-flight work).
    await expect.poll(() => owed.filter((s) => replyCounts.has(s)).length, { timeout: 10_000, interval: 20 }).toBe(owed.length);
  }
  // Requests published without a reply subject must not produce anything either.
  for (const sample of samples.slice(0, 500)) nc.publish(CMD, sample.text);
  await nc.flush();
  await new Promise((r) => setTimeout(r, 300));
  for (const subject of owed) expect(replyCounts.get(subject)).toBe(1);
  for (const subject of silent) expect(replyCounts.has(subject)).toBe(false);
  // Still alive and correct afterwards.
  const after = await rpc(nc, CMD, { jsonrpc: '2.0', id: 'alive', method: 'get_status' });
  expect(after.result).toBeDefined();
}, 120_000);
