// Which sockets the settings server takes (threat model: "treat settings port like root"): a LAN
// peer holds at most MAX_CONNECTIONS_PER_ADDRESS sockets and the LAN together MAX_LAN_CONNECTIONS,
// while this machine (loopback — `settings-link`, an SSH tunnel — or calling its own LAN address)
// may take any slot up to MAX_CONNECTIONS — so no LAN peer can lock the operator out, and
// the process never holds more than MAX_CONNECTIONS sockets. A socket over a limit is destroyed
// before the HTTP parser sees it. Owns the counts and the rule; the wording of a refusal is
// connection-refusal-notice.ts's, the HTTP deadlines settings-server.ts's.
import type { Server, Socket } from 'node:net';
import { isLoopbackName } from '../../host-allowlist.ts';

/**
 * Sockets one LAN address may hold: a browser opens up to 6 per host (the live view's stream is one
 * of them), a second browser or a private window behind the same address (NAT) another 6, and 4
 * spare for sockets still closing. One address can so take at most a quarter of the LAN's slots.
 */
export const MAX_CONNECTIONS_PER_ADDRESS = 16;
/** Sockets all LAN peers together may hold: ~10 browsers with a live view each. */
export const MAX_LAN_CONNECTIONS = 64;
/**
 * Slots the LAN can never take, kept for this machine: `settings-link` uses one socket at a time,
 * and a browser through an SSH tunnel (`ssh -L`, arriving over loopback) up to 6.
 */
export const SAME_MACHINE_RESERVED_CONNECTIONS = 8;
/**
 * Open sockets at once, whoever holds them: the bound on file descriptors a peer can make the
 * driver's process spend here (this machine may use the LAN's free slots too).
 */
export const MAX_CONNECTIONS = MAX_LAN_CONNECTIONS + SAME_MACHINE_RESERVED_CONNECTIONS;

/** Why a socket was closed unanswered: the limit it met. */
export type ConnectionRefusalTag = 'ServerFull' | 'AddressFull' | 'LanFull';

export interface ConnectionRefusal {
  readonly _tag: ConnectionRefusalTag;
  /** The peer's address (IPv4-mapped IPv6 written as IPv4). */
  readonly address: string;
  /** The limit it met (sockets). */
  readonly limit: number;
  /** The settings port, for the `ss` command the log suggests. */
  readonly port: number | undefined;
}

export interface OpenConnections {
  readonly total: number;
  readonly lan: number;
  /** LAN addresses holding at least one socket (an address that closed its last one is forgotten). */
  readonly lanAddresses: number;
}

export interface ConnectionAdmission {
  /** The sockets open now, as counted by the rule. */
  open(): OpenConnections;
}

/** `::ffff:192.0.2.7` → `192.0.2.7`: one peer is one key whichever family the server listens on. */
export function peerKey(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice('::ffff:'.length) : lower;
}

/** Loopback, or a socket whose two ends are the same address (this machine reaching its own LAN address). */
export function isSameMachine(remote: string, local: string): boolean {
  return isLoopbackName(remote) || remote === local;
}

/** The limit a new socket would break, or undefined when it may be admitted. */
export function refusalOf(open: OpenConnections, fromAddress: number, sameMachine: boolean): { readonly _tag: ConnectionRefusalTag; readonly limit: number } | undefined {
  if (open.total >= MAX_CONNECTIONS) return { _tag: 'ServerFull', limit: MAX_CONNECTIONS };
  if (sameMachine) return undefined;
  if (fromAddress >= MAX_CONNECTIONS_PER_ADDRESS) return { _tag: 'AddressFull', limit: MAX_CONNECTIONS_PER_ADDRESS };
  if (open.lan >= MAX_LAN_CONNECTIONS) return { _tag: 'LanFull', limit: MAX_LAN_CONNECTIONS };
  return undefined;
}

export interface AdmissionOptions {
  /** Told of every refused socket (connection-refusal-notice.ts logs it). */
  readonly refused: (refusal: ConnectionRefusal) => void;
  /** Which peers share this machine's slots (default isSameMachine; tests name other loopback addresses LAN peers). */
  readonly sameMachine?: (remote: string, local: string) => boolean;
}

/**
 * Puts the rule in front of the server's own `connection` listeners (the HTTP parser): an admitted
 * socket is handed to them and counted until it closes; a refused one is destroyed and reported.
 */
export function admitConnections(server: Server, options: AdmissionOptions): ConnectionAdmission {
  const sameMachine = options.sameMachine ?? isSameMachine;
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  let total = 0;
  let lan = 0;
  const byAddress = new Map<string, number>();
  const open = (): OpenConnections => ({ total, lan, lanAddresses: byAddress.size });
  server.on('connection', (socket: Socket) => {
    // A peer that reset before we got here has no address left: nothing to admit or report.
    if (socket.remoteAddress === undefined) return void socket.destroy();
    const address = peerKey(socket.remoteAddress);
    const local = sameMachine(address, peerKey(socket.localAddress ?? ''));
    const refusal = refusalOf(open(), byAddress.get(address) ?? 0, local);
    if (refusal !== undefined) {
      const port = socket.localPort;
      socket.destroy();
      return options.refused({ ...refusal, address, port });
    }
    total += 1;
    if (!local) {
      lan += 1;
      byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
    }
    socket.once('close', () => {
      total -= 1;
      if (local) return;
      lan -= 1;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left === 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
    for (const handler of handlers) handler.call(server, socket);
  });
  return { open };
}
