// Refuses to start a second device with the same id on the same mesh (two drivers would split the
// mesh's requests between them, each answering only some; issue 10 item 3): before serving, one
// short-lived connection sends the built-in `requestRegistration` (device-connect-protocol.md §2.7)
// to this device's own `.cmd` subject; only a device's answer means the id is taken (probeDeviceId).
// When no configured broker accepts, the check is skipped (the mesh link reports the brokers). Owns
// the probe and the DuplicateDeviceId error; the CLI maps it to exit code 1, a live reconfigure
// refuses the apply.
import type { NodeConnectionOptions } from '@nats-io/transport-node';
import { connectNats } from './nats-connect.ts';
import type { Msg } from '@nats-io/nats-core';
import * as Data from 'effect/Data';
import { createLogger } from '../logging/logger.ts';
import { excerpt } from '../logging/excerpt.ts';
import { isRecord } from '../protocol/json-object.ts';
import { rpcErrorOf } from '../protocol/json-rpc.ts';
import { subjects } from '../protocol/subjects.ts';
import { serverListOf } from './nats-first-connect.ts';

const log = createLogger('mesh');

/**
 * The probe's dial of each configured broker. A reachable broker accepts in milliseconds; an
 * unreachable one is the mesh link's business (it retries and reports), so start-up is not held
 * longer: at most this much per configured broker when none answers (a refused port costs nothing).
 */
export const DUPLICATE_PROBE_CONNECT_TIMEOUT_MS = 2_000;
/**
 * How long a reply is awaited when someone listens on the subject. A device answers
 * `requestRegistration` from memory, in milliseconds; a subject nobody listens on answers "no
 * responders" at once, so this is only spent when a wildcard listener (a recorder, `nats sub '>'`)
 * receives the probe without answering, or a stream records it (its PubAck is not an answer) —
 * then it delays start-up by this much. 500 ms is still
 * ~50× a loaded machine's reply time.
 */
export const DUPLICATE_PROBE_REPLY_TIMEOUT_MS = 500;

/** Another instance already answers on this device's `.cmd` subject. */
export class DuplicateDeviceId extends Data.TaggedError('DuplicateDeviceId')<{
  readonly message: string;
  readonly deviceId: string;
  readonly tenant: string;
  readonly subject: string;
}> {}

export type ProbeResult =
  | { readonly kind: 'answered'; readonly reply: unknown }
  | { readonly kind: 'free' }
  | { readonly kind: 'unknown'; readonly reason: string };

/**
 * Whether `reply` is a device's answer to the probe `probeId`: a JSON-RPC 2.0 response echoing that
 * id, whose result is the registration of `deviceId` (§2.7), or an error (a device that refused the
 * call still serves the subject). A PubAck, a JetStream error or text from anything else is not.
 */
export function isDeviceAnswer(reply: unknown, probeId: string, deviceId: string): boolean {
  if (!isRecord(reply) || reply['jsonrpc'] !== '2.0' || reply['id'] !== probeId) return false;
  if (rpcErrorOf(reply)) return true;
  return isRecord(reply['result']) && reply['result']['device_id'] === deviceId;
}

/** A reply's JSON, or its text when it is not JSON. */
function replyDocument(reply: Msg): unknown {
  try {
    return reply.json();
  } catch {
    return reply.string();
  }
}

/**
 * Asks whether a device already answers as `deviceId` on `tenant`. Never throws. Every device answers
 * `requestRegistration` on its `.cmd` (§2.7), our driver and the Python runtime alike: a device's
 * answer (JSON-RPC, echoing the probe's id, with this id's registration or an error: isDeviceAnswer)
 * means another instance serves that id. Any other reply (a JetStream stream capturing `.cmd`
 * answers with a PubAck), "no responders" (immediate) or no reply in time (a wildcard listener, a
 * monitor) means the id is free. Each configured broker is dialed once, in order, until one accepts;
 * when none does the answer is `unknown`.
 */
export async function probeDeviceId(
  options: NodeConnectionOptions,
  tenant: string,
  deviceId: string,
  replyTimeoutMs: number = DUPLICATE_PROBE_REPLY_TIMEOUT_MS,
  connectTimeoutMs: number = DUPLICATE_PROBE_CONNECT_TIMEOUT_MS,
): Promise<ProbeResult> {
  let nc;
  try {
    // One pass over the servers in the order configured, each dialed once (nats.js drops a server
    // from the pool at its failed first dial). Not maxReconnectAttempts 0: nats.js then drops a second
    // server (the pool's last) at each failure, so with several brokers a dead one made the probe skip
    // a live one where a twin answers (broker-reach.ts dials the same way).
    nc = await connectNats({ ...options, servers: [...serverListOf(options)], name: `${String(options.name ?? 'reachy-mini-driver')} (duplicate-id probe)`, waitOnFirstConnect: false, reconnect: false, maxReconnectAttempts: -1, noRandomize: true, timeout: connectTimeoutMs });
  } catch (error) {
    return { kind: 'unknown', reason: `broker not reachable for the duplicate-id check: ${(error as Error).message}` };
  }
  const subject = subjects.cmd(tenant, deviceId);
  const probeId = `duplicate-id-probe-${Date.now()}`;
  try {
    const body = JSON.stringify({ jsonrpc: '2.0', id: probeId, method: 'requestRegistration', params: {} });
    // Every reply until the first device answer, not just the first reply: a stream's PubAck
    // usually arrives before a device's answer and must not hide it.
    const replies = await nc.requestMany(subject, body, { strategy: 'timer', maxWait: replyTimeoutMs, noMux: true });
    for await (const reply of replies) {
      const doc = replyDocument(reply);
      if (isDeviceAnswer(doc, probeId, deviceId)) return { kind: 'answered', reply: doc };
      log.debug('duplicate device id check: a reply that is not a device\'s answer (a stream capturing the subject?); ignored', { subject, reply: excerpt(doc) });
    }
    // No reply in time from a device (nobody but listeners that do not answer like one): the id is free.
    return { kind: 'free' };
  } catch {
    // No responders (nobody subscribes): the id is free.
    return { kind: 'free' };
  } finally {
    await nc.close().catch(() => undefined);
  }
}

export function duplicateDeviceError(tenant: string, deviceId: string): DuplicateDeviceId {
  const subject = subjects.cmd(tenant, deviceId);
  return new DuplicateDeviceId({
    message:
      `device id "${deviceId}" is already in use on this mesh (tenant "${tenant}"): another driver answers on ${subject}. ` +
      `Two devices with one id would split the mesh's requests. Stop the other driver, give this one another id with --device-id (DEVICE_ID), ` +
      `or start with --replace to take over deliberately.`,
    deviceId,
    tenant,
    subject,
  });
}

/**
 * Refuses (throws DuplicateDeviceId) when the id answers, unless `replace`; then it warns and goes on.
 * `connectTimeoutMs` bounds each dial (default DUPLICATE_PROBE_CONNECT_TIMEOUT_MS); tests of a hung broker shorten it.
 */
export async function refuseDuplicateDevice(options: NodeConnectionOptions, tenant: string, deviceId: string, replace: boolean, connectTimeoutMs: number = DUPLICATE_PROBE_CONNECT_TIMEOUT_MS): Promise<void> {
  const result = await probeDeviceId(options, tenant, deviceId, DUPLICATE_PROBE_REPLY_TIMEOUT_MS, connectTimeoutMs);
  if (result.kind === 'unknown') {
    log.debug('duplicate device id check skipped', { reason: result.reason });
    return;
  }
  if (result.kind === 'free') return;
  if (!replace) throw duplicateDeviceError(tenant, deviceId);
  log.warn(
    `--replace: device id "${deviceId}" already answers on ${subjects.cmd(tenant, deviceId)}; starting anyway. Stop the other instance now: until it stops, the mesh's requests are split between the two`,
    { device_id: deviceId, tenant },
  );
}
