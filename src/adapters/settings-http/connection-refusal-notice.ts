// What the settings server says when it closes a socket over a connection limit
// (connection-admission.ts): a warning with the limit met and what to do, for the first refusal of
// an address and then at most once per interval for it, and for at most a few addresses per
// interval; refusals not warned about are counted, the count given on the next warning — so
// a peer reconnecting in a loop, from one address or many, cannot flood the log. Owns the wording
// and that throttling; the limits are connection-admission.ts's.
import { createLogger, type Logger } from '../../logging/logger.ts';
import { MAX_LAN_CONNECTIONS, SAME_MACHINE_RESERVED_CONNECTIONS, type ConnectionRefusal } from './connection-admission.ts';

/**
 * An address refused again is warned about again at most this often (its refusals in between are
 * counted): once a minute keeps a lasting refusal visible in any log window, as failure-notice.ts's
 * repeats do.
 */
export const REFUSAL_WARNING_INTERVAL_MS = 60_000;
/**
 * Addresses warned about per interval: refusals from more addresses than this at once are one peer
 * cycling through addresses (IPv6 gives each host plenty), counted instead of each warned.
 */
export const MAX_ADDRESSES_WARNED = 16;

/** The warning for a refusal: the limit met, and what the operator can do about it. */
export function refusalMessage(refusal: ConnectionRefusal): string {
  const holders = `see who holds them with \`ss -tn state established '( sport = :${refusal.port ?? '<settings port>'} )'\` on the robot`;
  switch (refusal._tag) {
    case 'AddressFull':
      return `settings connection refused: ${refusal.address} already holds ${refusal.limit} open connections, the most one address may hold — close settings tabs and live views on that machine, or stop the program there that keeps connections to the settings port open; ${holders}`;
    case 'LanFull':
      return `settings connection refused: the LAN already holds ${refusal.limit} open connections, all it may hold (${SAME_MACHINE_RESERVED_CONNECTIONS} more stay reserved for this machine) — close settings pages on other machines, or ${holders}; \`reachy-mini-driver settings-link\` on the robot still gets in`;
    case 'ServerFull':
      return `settings connection refused: all ${refusal.limit} connections the settings server takes are open (the LAN may hold ${MAX_LAN_CONNECTIONS} of them, this machine any) — ${holders}`;
  }
}

/** The settings server's reporter of refused sockets (admitConnections' `refused`). */
export function connectionRefusalNotice(log: Logger = createLogger('settings'), now: () => number = Date.now): (refusal: ConnectionRefusal) => void {
  /** Address → when it was last warned about; insertion order is time order. */
  const warnedAt = new Map<string, number>();
  let unlogged = 0;
  return (refusal) => {
    const at = now();
    for (const [address, when] of warnedAt) {
      if (at - when < REFUSAL_WARNING_INTERVAL_MS) break;
      warnedAt.delete(address);
    }
    if (warnedAt.has(refusal.address) || warnedAt.size >= MAX_ADDRESSES_WARNED) {
      unlogged += 1;
      return;
    }
    warnedAt.set(refusal.address, at);
    log.warn(refusalMessage(refusal), { address: refusal.address, cause: refusal._tag, limit: refusal.limit, ...(unlogged > 0 ? { unlogged_refusals: unlogged } : {}) });
    unlogged = 0;
  };
}
