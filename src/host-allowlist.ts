// Which `Host` headers a server of this machine answers (the settings app; the inspector relay
// when bound beyond loopback): loopback names, this machine's own addresses and host names (given
// by the caller, who reads the interfaces), `reachy-mini.local` and the names the caller adds (the
// settings app's `--settings-allowed-hosts`; `*` turns the check off). Any other name is a page
// served from elsewhere whose DNS now points here (DNS rebinding): refused before anything answers.
// Pure: owns parsing the header (name and port) and the matching; not the interface list
// (src/adapters/own-addresses.ts) nor the replies (settings-http/request-protections.ts,
// inspector-relay.ts). README "Settings app", "Inspecting the state machines".
import { isIP } from 'node:net';

/** The robot's advertised mDNS name (Pollen's image), allowed whatever this machine is called. */
export const ROBOT_MDNS_NAME = 'reachy-mini.local';
/** The operator's opt-out of the check (documented as a risk). */
export const ANY_HOST = '*';

/** The host part of a Host header, lower-cased, without port, brackets or a trailing dot; undefined when malformed. */
export function hostnameOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim().toLowerCase();
  if (value === '') return undefined;
  let host: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    host = value.slice(1, end);
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return isIP(host) === 6 ? host : undefined;
  }
  const colon = value.lastIndexOf(':');
  host = colon >= 0 ? value.slice(0, colon) : value;
  if (colon >= 0 && !/^\d{1,5}$/.test(value.slice(colon + 1))) return undefined;
  host = host.replace(/\.$/, '');
  return /^[a-z0-9._-]+$/.test(host) ? host : undefined;
}

/** The port a well-formed Host header names; undefined when it names none (the scheme's default) or is malformed. */
export function portOf(header: string | undefined): number | undefined {
  if (header === undefined || hostnameOf(header) === undefined) return undefined;
  const match = /:(\d{1,5})$/.exec(header.trim());
  return match === null ? undefined : Number(match[1]);
}

/** 127.0.0.0/8, ::1, `localhost` and `*.localhost` (RFC 6761: always loopback). */
export function isLoopbackName(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  if (host.startsWith('::ffff:')) return isLoopbackName(host.slice('::ffff:'.length));
  return isIP(host) === 4 && host.startsWith('127.');
}

export interface HostAllowlist {
  /** Whether a request with this Host header may be answered. */
  allows(header: string | undefined): boolean;
}

/**
 * `ownNames` is asked on every check (addresses change with DHCP; the caller caches); `extra` are
 * the operator's names, compared case-insensitively.
 */
export function createHostAllowlist(ownNames: () => Iterable<string>, extra: ReadonlyArray<string>): HostAllowlist {
  const added = new Set(extra.map((h) => h.trim().toLowerCase().replace(/^\[|\]$/g, '')).filter(Boolean));
  const anyHost = added.has(ANY_HOST);
  return {
    allows(header) {
      if (anyHost) return true;
      const host = hostnameOf(header);
      if (host === undefined) return false;
      if (isLoopbackName(host) || host === ROBOT_MDNS_NAME || added.has(host)) return true;
      for (const name of ownNames()) if (name.toLowerCase() === host) return true;
      return false;
    },
  };
}
