// D2D discovery for the mesh client: the peer table the Python `PresenceCollector` keeps
// (device-connect-protocol.md §2.10, §4; `device_connect_edge/discovery.py`). Subscribes to
// `device-connect.<tenant>.*.presence`, publishes one `discovery.probe` at start, keeps the newest
// presence payload per `device_id`, forgets a peer on `departing` or after 30 s of silence.
// Does not announce presence (a client is not a device) and does not own the NATS connection.
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { createLogger } from '../logging/logger.ts';
import { subjects } from '../protocol/subjects.ts';
import { flattenDevice, type MeshDevice } from './device-record.ts';

/** §2.13: a D2D client waits at most 3 s after its probe for the first peer before listing. */
export const D2D_FIRST_PEER_WAIT_MS = 3_000;
/**
 * Python polls its peer table every 0.25 s after the probe, so every peer that answers within the
 * first poll is listed together; we wait the same span after the probe once a first peer is in.
 */
export const D2D_PROBE_SETTLE_MS = 250;
/** §2.10: peers not heard for 30 s are dropped (devices re-announce at least every 5 s). */
export const D2D_PEER_TIMEOUT_MS = 30_000;

const log = createLogger('client:d2d');

interface Peer {
  readonly raw: Record<string, unknown>;
  readonly lastSeenMs: number;
}

export class PresenceCollector {
  private readonly nc: NatsConnection;
  private readonly tenant: string;
  private readonly peers = new Map<string, Peer>();
  private readonly listeners = new Set<() => void>();
  private sub: Subscription | undefined;
  private started: Promise<void> | undefined;
  private closed = false;
  /** Set when the broker refuses the presence subscription (tenant credentials of another tenant). */
  private failure: Error | undefined;

  /** How long `start` waits for the first peer after its probe (default D2D_FIRST_PEER_WAIT_MS); tests shorten it. */
  private readonly firstPeerWaitMs: number;

  constructor(nc: NatsConnection, tenant: string, firstPeerWaitMs: number = D2D_FIRST_PEER_WAIT_MS) {
    this.nc = nc;
    this.tenant = tenant;
    this.firstPeerWaitMs = firstPeerWaitMs;
  }

  /**
   * Subscribe, probe, and wait for the first peer (≤ firstPeerWaitMs, 3 s by default). Idempotent: later calls return at once.
   * Rejects with the broker's error when the presence subscription is refused (permissions).
   */
  start(): Promise<void> {
    this.started ??= this.subscribeAndProbe();
    return this.started;
  }

  private async subscribeAndProbe(): Promise<void> {
    if (this.closed) return;
    this.sub = this.nc.subscribe(subjects.allPresence(this.tenant), {
      callback: (err, msg) => {
        if (err) {
          this.failure = err;
          this.notify();
        } else {
          this.onPresence(msg);
        }
      },
    });
    // The broker must know the subscription before devices answer the probe; a refused SUB is
    // reported before the flush returns.
    await this.nc.flush();
    if (this.failure) throw this.failure;
    const probedAt = Date.now();
    this.probe();
    const found = await this.waitFor(() => this.peers.size > 0, this.firstPeerWaitMs);
    if (this.failure) throw this.failure;
    const settleLeft = probedAt + D2D_PROBE_SETTLE_MS - Date.now();
    if (found && settleLeft > 0) await new Promise((resolve) => setTimeout(resolve, settleLeft));
    log.debug('d2d discovery started', { tenant: this.tenant, peers: this.peers.size });
  }

  /** `{"probe":true,"ts":<epoch s>}`: every D2D device answers with an immediate presence publish. */
  probe(): void {
    this.nc.publish(subjects.probe(this.tenant), JSON.stringify({ probe: true, ts: Date.now() / 1000 }));
  }

  private onPresence(msg: Msg): void {
    let payload: unknown;
    try {
      payload = msg.json();
    } catch {
      log.debug('ignoring non-JSON presence', { subject: msg.subject });
      return;
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return;
    const record = payload as Record<string, unknown>;
    const deviceId = record['device_id'];
    if (typeof deviceId !== 'string' || deviceId.length === 0) return;
    if (record['departing'] === true) {
      if (this.peers.delete(deviceId)) log.debug('peer departed', { deviceId });
    } else {
      if (!this.peers.has(deviceId)) log.debug('peer discovered', { deviceId });
      this.peers.set(deviceId, { raw: record, lastSeenMs: Date.now() });
    }
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private prune(): void {
    const cutoff = Date.now() - D2D_PEER_TIMEOUT_MS;
    for (const [id, peer] of this.peers) {
      if (peer.lastSeenMs < cutoff) {
        this.peers.delete(id);
        log.debug('peer timed out', { deviceId: id });
      }
    }
  }

  devices(): MeshDevice[] {
    this.prune();
    const out: MeshDevice[] = [];
    for (const peer of this.peers.values()) {
      const device = flattenDevice(peer.raw);
      if (device) out.push(device);
    }
    return out;
  }

  device(deviceId: string): MeshDevice | undefined {
    this.prune();
    const peer = this.peers.get(deviceId);
    return peer ? flattenDevice(peer.raw) : undefined;
  }

  /** Resolves true as soon as `predicate` holds after a presence message, false after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    if (this.closed || this.failure) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (result: boolean): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(result);
      };
      const check = (): void => {
        if (this.closed || this.failure) done(false);
        else if (predicate()) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.listeners.add(check);
    });
  }

  /** Stops listening; pending waits resolve false at once. */
  close(): void {
    this.closed = true;
    if (this.sub && !this.sub.isClosed()) this.sub.unsubscribe();
    this.notify();
    this.listeners.clear();
  }
}
