// The mesh client: what the Python agent-tools `DeviceConnection` does, over an open NATS connection
// (device-connect-protocol.md §4): lists devices through the registry (§2.9), D2D presence (§2.10)
// or both merged (`auto`, the CLI's default), shows functions and events, invokes (§2.1–2.3),
// watches events (§2.4) and broadcasts (§2.11). Owns request ids, timeouts and typed errors for
// broker failures (errors.ts); not the connection (the caller opens it and keeps nats.js' `_INBOX.`
// prefix, §1) nor printing (cli-commands.ts). No list cache: every call asks again (agent-tools
// caches 30 s, which only delays new devices for a one-shot CLI).
import { randomBytes } from 'node:crypto';
import { errors, type NatsConnection } from '@nats-io/nats-core';
import { createLogger } from '../logging/logger.ts';
import { subjects, TENANT_PATTERN } from '../protocol/subjects.ts';
import { flattenDevice, matchesFilter, type DeviceEvent, type DeviceFilter, type DeviceFunction, type JsonObject, type MeshDevice } from './device-record.ts';
import { DeviceNotFound, MalformedReply, NoResponders, RequestTimeout, RpcError, type RequestFailure } from './errors.ts';
import { EventWatch } from './event-watch.ts';
import type { CallerSigner } from './caller-signer.ts';
import { signatureFields } from '../protocol/caller-signature.ts';
import { D2D_FIRST_PEER_WAIT_MS, PresenceCollector } from './presence-collector.ts';
import { isRecord } from '../protocol/json-object.ts';
import type { IgnoredHandling, IgnoredParam } from '../protocol/ignored-param.ts';

/** §2.13: agent-tools, the MCP bridge and `invoke_remote` all give a device 30 s to answer. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** §2.13 `DEVICE_CONNECT_LIST_PAGE_SIZE`: keeps one reply well under NATS' 1 MB default max_payload. */
export const LIST_PAGE_SIZE = 100;
/** §2.13: registry requests are tried 3 times when they time out (never on an error reply). */
export const REGISTRY_ATTEMPTS = 3;
/** Waits between those tries (1 s, then 2 s), as agent-tools' `RegistryClient._request`. */
export const REGISTRY_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000];
/** §2.13: `discovery/getDevice` is a probe capped at 5 s; an old registry that ignores it costs no more before the list fallback. */
export const GET_DEVICE_PROBE_TIMEOUT_MS = 5_000;
/** How long `broadcast` collects async replies when the caller gives no `waitMs` (agent-tools' `broadcast(timeout=5.0)`). */
export const DEFAULT_BROADCAST_WAIT_MS = 5_000;
/** Hex digits after `d2d-`, `rpc-` and `br-` in ids, as the Python senders (§2.1, §2.11). */
const ID_HEX_DIGITS = 12;
/** `trace_id` in `_dc_meta` is 16 hex digits (§2.1). */
const TRACE_ID_HEX_DIGITS = 16;
/** The Python runtime's `device_id` rule (§1); dots are legal there, wildcards and spaces are not. */
const WIRE_DEVICE_ID = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$/;

const log = createLogger('client');

export type DiscoveryMode = 'infra' | 'd2d' | 'auto';

export interface MeshClientOptions {
  readonly tenant: string;
  readonly discoveryMode: DiscoveryMode;
  /** Device and registry request timeout; default 30 s. */
  readonly requestTimeoutMs?: number;
  /** Signs every invoke (`_dc_meta.caller_key/caller_sig/caller_ts`, src/protocol/caller-signature.ts); absent: unsigned. */
  readonly signer?: CallerSigner;
  /** D2D: how long to wait for the first peer after a probe (default D2D_FIRST_PEER_WAIT_MS, §2.13); tests shorten it. */
  readonly firstPeerWaitMs?: number;
}

/** Caller metadata a device-to-device call carries in `params._dc_meta` (§2.1, §3.7); caller-asserted. */
export interface DcMeta {
  /** Absent: the call asserts no calling device (the device then goes by the `owner` param). */
  readonly sourceDevice?: string;
  /** Default `device`. */
  readonly sourceType?: string;
  /** 16 hex digits; generated when absent. */
  readonly traceId?: string;
  /** An agent's reason for the call (`llm_reasoning`), recorded by the driver's audit. */
  readonly llmReasoning?: string;
}

export interface InvokeOptions {
  readonly timeoutMs?: number;
  readonly dcMeta?: DcMeta;
}

export type InvokeResult =
  | { readonly ok: true; readonly value: unknown; readonly requestId: string }
  | { readonly ok: false; readonly error: RequestFailure; readonly requestId: string };

export interface DeviceFunctions {
  readonly deviceId: string;
  readonly functions: readonly DeviceFunction[];
  readonly events: readonly DeviceEvent[];
}

export interface EventsOptions {
  readonly signal?: AbortSignal;
}

export interface BroadcastOptions {
  /** How long to collect replies; returns earlier once every named target replied. Default 5 s. */
  readonly waitMs?: number;
}

/** One `…event.async_reply.<correlation_id>` body (§2.11). */
export interface BroadcastReply {
  readonly deviceId: string;
  readonly success: boolean;
  readonly result: unknown;
  /** `{"code":"invoke_failed","message":…}` when `success` is false. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /**
   * What a stop ran without (README "Stops in every wire form"): the driver's `ignored_params`, in its
   * result or, when the stop's outcome failed, in its error; null when the reply has none. Entries
   * not of the `{param, problem, handling}` shape are left out.
   */
  readonly ignoredParams: readonly IgnoredParam[] | null;
  readonly actuallyFiredAt: number | null;
}

export interface BroadcastOutcome {
  readonly correlationId: string;
  readonly replies: readonly BroadcastReply[];
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: RequestFailure };

const HANDLINGS: ReadonlySet<string> = new Set<IgnoredHandling>(['dropped', 'default', 'truncated']);

/** `ignored_params` off a broadcast reply's result or error: its well-formed entries, null when there are none. */
function ignoredParamsIn(result: unknown, error: unknown): IgnoredParam[] | null {
  const list = (isRecord(error) ? error['ignored_params'] : undefined) ?? (isRecord(result) ? result['ignored_params'] : undefined);
  if (!Array.isArray(list)) return null;
  const entries = list.filter(
    (e): e is IgnoredParam => isRecord(e) && typeof e['param'] === 'string' && typeof e['problem'] === 'string' && typeof e['handling'] === 'string' && HANDLINGS.has(e['handling']),
  );
  return entries.length > 0 ? entries.map(({ param, problem, handling }) => ({ param, problem, handling })) : null;
}

function hexId(digits: number): string {
  return randomBytes(Math.ceil(digits / 2)).toString('hex').slice(0, digits);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True for ids that make a valid one-token subject (`*` is only meaningful for `events`). */
export function isValidDeviceId(deviceId: string): boolean {
  return WIRE_DEVICE_ID.test(deviceId);
}

function assertDeviceId(deviceId: string): void {
  if (!isValidDeviceId(deviceId)) throw new RangeError(`invalid device id ${JSON.stringify(deviceId)}: expected ${WIRE_DEVICE_ID.source}`);
}

export class MeshClient {
  readonly tenant: string;
  readonly discoveryMode: DiscoveryMode;
  readonly requestTimeoutMs: number;
  /** D2D: the wait for the first peer after a probe (`firstPeerWaitMs`). */
  readonly firstPeerWaitMs: number;
  private readonly nc: NatsConnection;
  private readonly presence: PresenceCollector | undefined;
  private readonly watches = new Set<EventWatch>();
  private readonly signer: CallerSigner | undefined;

  constructor(nc: NatsConnection, options: MeshClientOptions) {
    if (!TENANT_PATTERN.test(options.tenant)) throw new RangeError(`invalid tenant ${JSON.stringify(options.tenant)}: expected ${TENANT_PATTERN.source}`);
    const timeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!Number.isFinite(timeout) || timeout <= 0) throw new RangeError(`requestTimeoutMs must be a positive number, got ${timeout}`);
    this.nc = nc;
    this.tenant = options.tenant;
    this.discoveryMode = options.discoveryMode;
    this.requestTimeoutMs = timeout;
    this.firstPeerWaitMs = options.firstPeerWaitMs ?? D2D_FIRST_PEER_WAIT_MS;
    this.signer = options.signer;
    this.presence = options.discoveryMode === 'infra' ? undefined : new PresenceCollector(nc, options.tenant, this.firstPeerWaitMs);
  }

  // ── request/reply ────────────────────────────────────────────────────────────

  /** One NATS request carrying a JSON-RPC body; never throws for the failures of `RequestFailure`. */
  private async request(subject: string, method: string, payload: JsonObject, timeoutMs: number): Promise<Outcome> {
    let body: string;
    try {
      const msg = await this.nc.request(subject, JSON.stringify(payload), { timeout: timeoutMs });
      body = msg.string();
    } catch (err) {
      if (err instanceof errors.RequestError && err.isNoResponders()) {
        return { ok: false, error: new NoResponders({ message: `no responders on ${subject}`, subject, method }) };
      }
      if (err instanceof errors.TimeoutError || (err instanceof errors.RequestError && err.cause instanceof errors.TimeoutError)) {
        return { ok: false, error: new RequestTimeout({ message: `no reply on ${subject} within ${timeoutMs} ms`, subject, method, timeoutMs }) };
      }
      throw err;
    }
    const malformed = (why: string): Outcome => ({
      ok: false,
      error: new MalformedReply({ message: `${why} from ${subject}`, subject, method, excerpt: body.slice(0, 200) }),
    });
    let reply: unknown;
    try {
      reply = JSON.parse(body);
    } catch {
      return malformed('non-JSON reply');
    }
    if (!isRecord(reply)) return malformed('reply is not a JSON object');
    if ('error' in reply && reply['error'] !== null && reply['error'] !== undefined) {
      const error = reply['error'];
      if (!isRecord(error) || typeof error['code'] !== 'number') return malformed('error reply without a numeric code');
      const message = typeof error['message'] === 'string' ? error['message'] : JSON.stringify(error['message'] ?? '');
      return { ok: false, error: new RpcError({ message, code: error['code'], data: error['data'], subject, method }) };
    }
    if (!('result' in reply)) return malformed('reply without result or error');
    return { ok: true, value: reply['result'] };
  }

  /** Registry request (§2.9) with agent-tools' retry-on-timeout; throws the typed failure. */
  private async registryCall(method: string, params: JsonObject, timeoutMs: number, attempts: number): Promise<unknown> {
    const subject = subjects.discovery(this.tenant);
    for (let attempt = 1; ; attempt++) {
      const payload = { jsonrpc: '2.0', id: `rpc-${hexId(ID_HEX_DIGITS)}`, method, params };
      const outcome = await this.request(subject, method, payload, timeoutMs);
      if (outcome.ok) return outcome.value;
      if (outcome.error._tag !== 'RequestTimeout' || attempt >= attempts) throw outcome.error;
      const delay = REGISTRY_RETRY_DELAYS_MS[Math.min(attempt - 1, REGISTRY_RETRY_DELAYS_MS.length - 1)] ?? 0;
      log.warn('registry request timed out, retrying', { method, attempt, attempts, delayMs: delay });
      await sleep(delay);
    }
  }

  // ── discovery ────────────────────────────────────────────────────────────────

  /** Every device of the tenant, flattened (§4), filtered by type/location substring and function names. */
  async listDevices(filter?: DeviceFilter): Promise<MeshDevice[]> {
    if (this.discoveryMode === 'd2d') return await this.presenceDevices(filter);
    if (this.discoveryMode === 'auto') return await this.mergedDevices(filter);
    return await this.registryDevices(filter);
  }

  private async presenceDevices(filter?: DeviceFilter): Promise<MeshDevice[]> {
    if (!this.presence) return [];
    await this.presence.start();
    return this.presence.devices().filter((d) => matchesFilter(d, filter));
  }

  /**
   * Registry and presence asked at once; the registry's records first, then the devices only
   * presence knows. One side failing (no registry: NoResponders at once) is fine while the other answers.
   */
  private async mergedDevices(filter?: DeviceFilter): Promise<MeshDevice[]> {
    const [registry, presence] = await Promise.allSettled([this.registryDevices(filter), this.presenceDevices(filter)]);
    if (registry.status === 'rejected' && presence.status === 'rejected') throw registry.reason;
    if (registry.status === 'rejected') log.debug('registry unavailable, listing D2D presence only', { error: registry.reason as Error });
    if (presence.status === 'rejected') log.debug('D2D presence unavailable, listing the registry only', { error: presence.reason as Error });
    const devices = registry.status === 'fulfilled' ? [...registry.value] : [];
    const known = new Set(devices.map((d) => d.deviceId));
    if (presence.status === 'fulfilled') for (const d of presence.value) if (!known.has(d.deviceId)) devices.push(d);
    return devices;
  }

  private async registryDevices(filter?: DeviceFilter): Promise<MeshDevice[]> {
    const records: unknown[] = [];
    let offset = 0;
    for (;;) {
      const params: Record<string, unknown> = { offset, limit: LIST_PAGE_SIZE };
      if (filter?.deviceType) params['device_type'] = filter.deviceType;
      if (filter?.location) params['location'] = filter.location;
      if (filter?.capabilities && filter.capabilities.length > 0) params['capabilities'] = [...filter.capabilities];
      const result = await this.registryCall('discovery/listDevices', params, this.requestTimeoutMs, REGISTRY_ATTEMPTS);
      if (!isRecord(result) || !Array.isArray(result['devices'])) {
        throw new MalformedReply({
          message: 'discovery/listDevices result has no devices array',
          subject: subjects.discovery(this.tenant),
          method: 'discovery/listDevices',
          excerpt: JSON.stringify(result)?.slice(0, 200) ?? '',
        });
      }
      records.push(...result['devices']);
      const next = result['next_offset'];
      // Legacy registries answer without `next_offset`: one page is everything.
      if (typeof next !== 'number') break;
      if (next <= offset) {
        log.warn('registry returned a non-advancing next_offset; stopping the page walk', { offset, next });
        break;
      }
      offset = next;
    }
    const devices: MeshDevice[] = [];
    for (const record of records) {
      const device = flattenDevice(record);
      if (device && matchesFilter(device, filter)) devices.push(device);
    }
    return devices;
  }

  /** One device, flattened; throws `DeviceNotFound` when discovery does not know it. */
  async getDevice(deviceId: string): Promise<MeshDevice> {
    const notFound = (): DeviceNotFound =>
      new DeviceNotFound({ message: `device ${deviceId} not found in tenant ${this.tenant}`, deviceId, discoveryMode: this.discoveryMode });
    if (this.discoveryMode === 'auto') {
      try {
        return await this.registryDevice(deviceId, notFound);
      } catch (err) {
        if (!(err instanceof NoResponders || err instanceof DeviceNotFound || err instanceof RequestTimeout || err instanceof RpcError || err instanceof MalformedReply)) throw err;
        log.debug('not in the registry, asking D2D presence', { deviceId, error: err });
        return await this.presenceDevice(deviceId, notFound);
      }
    }
    if (this.discoveryMode === 'd2d') return await this.presenceDevice(deviceId, notFound);
    return await this.registryDevice(deviceId, notFound);
  }

  private async presenceDevice(deviceId: string, notFound: () => DeviceNotFound): Promise<MeshDevice> {
    if (!this.presence) throw notFound();
    await this.presence.start();
    let device = this.presence.device(deviceId);
    if (!device) {
      // Joined after the first peer answered: probe again and wait for this id only.
      this.presence.probe();
      await this.presence.waitFor(() => this.presence?.device(deviceId) !== undefined, this.firstPeerWaitMs);
      device = this.presence.device(deviceId);
    }
    if (!device) throw notFound();
    return device;
  }

  private async registryDevice(deviceId: string, notFound: () => DeviceNotFound): Promise<MeshDevice> {
    try {
      const result = await this.registryCall(
        'discovery/getDevice',
        { device_id: deviceId },
        Math.min(this.requestTimeoutMs, GET_DEVICE_PROBE_TIMEOUT_MS),
        1,
      );
      if (isRecord(result) && 'device' in result) {
        const device = flattenDevice(result['device']);
        if (!device) throw notFound();
        return device;
      }
    } catch (err) {
      // As agent-tools: an error reply or silence means "old registry", fall back to listing.
      const fallback = err instanceof RpcError || err instanceof RequestTimeout || err instanceof MalformedReply;
      if (!fallback) throw err;
      log.debug('discovery/getDevice unavailable, falling back to listDevices', { error: err });
    }
    const device = (await this.registryDevices()).find((d) => d.deviceId === deviceId);
    if (!device) throw notFound();
    return device;
  }

  /** The functions (name, description, parameters schema, labels) and events a device advertises. */
  async functions(deviceId: string): Promise<DeviceFunctions> {
    const device = await this.getDevice(deviceId);
    return { deviceId: device.deviceId, functions: device.functions, events: device.events };
  }

  // ── invoke ───────────────────────────────────────────────────────────────────

  /**
   * `{"jsonrpc":"2.0","id":"d2d-<12 hex>","method","params"}` on `<id>.cmd`. Never throws for a
   * device-side error, a missing device or a timeout: those come back as `{ok:false, error}`.
   */
  async invoke(deviceId: string, fn: string, params: JsonObject = {}, options: InvokeOptions = {}): Promise<InvokeResult> {
    assertDeviceId(deviceId);
    if (!isRecord(params)) throw new TypeError('params must be a JSON object (named arguments, §2.1)');
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const requestId = `d2d-${hexId(ID_HEX_DIGITS)}`;
    const subject = subjects.cmd(this.tenant, deviceId);
    const wireParams: Record<string, unknown> = { ...params };
    const signer = this.signer;
    if (options.dcMeta || signer) {
      const meta = options.dcMeta ?? {};
      wireParams['_dc_meta'] = {
        ...(meta.sourceDevice === undefined ? {} : { source_device: meta.sourceDevice, source_type: meta.sourceType ?? 'device' }),
        trace_id: meta.traceId ?? hexId(TRACE_ID_HEX_DIGITS),
        ...(meta.llmReasoning ? { llm_reasoning: meta.llmReasoning } : {}),
        ...(signer ? signatureFields(signer.pair, { subject, requestId, method: fn, params, ts: Date.now() }, signer.jwt) : {}),
      };
    }
    const payload = { jsonrpc: '2.0', id: requestId, method: fn, params: wireParams };
    const outcome = await this.request(subject, fn, payload, timeoutMs);
    log.debug('invoke', { deviceId, fn, requestId, ok: outcome.ok, error: outcome.ok ? undefined : outcome.error._tag });
    return outcome.ok ? { ok: true, value: outcome.value, requestId } : { ok: false, error: outcome.error, requestId };
  }

  // ── events ───────────────────────────────────────────────────────────────────

  /** Subscribes `device-connect.<tenant>.<id|*>.event.>`; iterate the result, stop with the signal or `break`. */
  events(deviceId: string, options: EventsOptions = {}): EventWatch {
    if (deviceId !== '*') assertDeviceId(deviceId);
    const watch = new EventWatch(this.nc, subjects.events(this.tenant, deviceId), options.signal, (w) => this.watches.delete(w));
    if (!watch.closed) this.watches.add(watch);
    return watch;
  }

  // ── broadcast ────────────────────────────────────────────────────────────────

  /**
   * Publishes `{"correlation_id":"br-<12 hex>","function","params","targets"}` on `.broadcast` and
   * collects `…*.event.async_reply.<correlation_id>` bodies (subscribed first, §6 pitfall). Empty
   * `targets` means every device.
   */
  async broadcast(fn: string, params: JsonObject, targets: readonly string[], options: BroadcastOptions = {}): Promise<BroadcastOutcome> {
    const waitMs = options.waitMs ?? DEFAULT_BROADCAST_WAIT_MS;
    const correlationId = `br-${hexId(ID_HEX_DIGITS)}`;
    const replies: BroadcastReply[] = [];
    const pending = new Set(targets);
    let allIn: () => void = () => undefined;
    const everyTargetReplied = new Promise<void>((resolve) => {
      allIn = resolve;
    });
    const sub = this.nc.subscribe(subjects.asyncReply(this.tenant, '*', correlationId), {
      callback: (err, msg) => {
        if (err) return;
        let body: unknown;
        try {
          body = msg.json();
        } catch {
          return;
        }
        if (!isRecord(body)) return;
        const deviceId = typeof body['device_id'] === 'string' ? body['device_id'] : (msg.subject.split('.')[2] ?? '');
        const error = body['error'];
        replies.push({
          deviceId,
          success: body['success'] === true,
          result: body['result'] ?? null,
          error: isRecord(error) ? { code: String(error['code'] ?? ''), message: String(error['message'] ?? '') } : null,
          ignoredParams: ignoredParamsIn(body['result'], error),
          actuallyFiredAt: typeof body['actually_fired_at'] === 'number' ? body['actually_fired_at'] : null,
        });
        pending.delete(deviceId);
        if (targets.length > 0 && pending.size === 0) allIn();
      },
    });
    try {
      await this.nc.flush();
      const subject = subjects.broadcast(this.tenant);
      // The signature covers the envelope as published (targets; no where, fire_at or on_late): nobody can re-address it.
      const envelope = { targets: [...targets] };
      const signed = this.signer ? { ...params, _dc_meta: signatureFields(this.signer.pair, { subject, requestId: correlationId, method: fn, params, ts: Date.now(), envelope }, this.signer.jwt) } : params;
      this.nc.publish(subject, JSON.stringify({ correlation_id: correlationId, function: fn, params: signed, ...envelope }));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([everyTargetReplied, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    } finally {
      sub.unsubscribe();
    }
    return { correlationId, replies };
  }

  /** Ends D2D listening and every open event watch. The connection stays open (the caller owns it). */
  close(): void {
    this.presence?.close();
    for (const watch of [...this.watches]) watch.close();
  }
}
