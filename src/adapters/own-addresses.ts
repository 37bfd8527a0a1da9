// This machine's names as a browser on the LAN would type them: its interface addresses, its host
// name and `<hostname>.local` (mDNS). Feeds the Host allowlists of the settings app and of an
// inspector relay bound beyond loopback (inspector-relay.ts), and the URLs both print (every address
// they listen on, not only 127.0.0.1). Owns reading os.networkInterfaces and os.hostname, cached
// briefly; the matching rules are src/host-allowlist.ts.
import { hostname, networkInterfaces } from 'node:os';

/** Addresses change with DHCP or a new Wi-Fi; re-read them this often (reading costs a syscall per check otherwise). */
const OWN_NAMES_REFRESH_MS = 5_000;

export interface InterfaceAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly internal: boolean;
}

function interfaceAddresses(): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) out.push({ address: entry.address.toLowerCase(), family: entry.family, internal: entry.internal });
  }
  return out;
}

function readOwnNames(): string[] {
  const host = hostname().toLowerCase();
  const names = [host, `${host.replace(/\.local$/, '')}.local`];
  for (const entry of interfaceAddresses()) names.push(entry.address.replace(/%.*$/, ''));
  return names;
}

/** A reader of this machine's names, re-read at most every OWN_NAMES_REFRESH_MS. */
export function ownNamesReader(now: () => number = Date.now): () => ReadonlyArray<string> {
  let cached: ReadonlyArray<string> = [];
  let readAt = -Infinity;
  return () => {
    if (now() - readAt >= OWN_NAMES_REFRESH_MS) {
      cached = readOwnNames();
      readAt = now();
    }
    return cached;
  };
}

function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The URLs a browser can use for a server bound to `bindHost`: for the unspecified addresses,
 * loopback first, then every non-internal IPv4 address (and global IPv6 ones when bound to `::`),
 * then `<hostname>.local`; for a specific address, that address alone.
 */
export function listenUrls(bindHost: string, port: number): string[] {
  const wildcard4 = bindHost === '0.0.0.0' || bindHost === '';
  const wildcard6 = bindHost === '::';
  if (!wildcard4 && !wildcard6) return [urlOf(bindHost, port)];
  const urls = [urlOf('127.0.0.1', port)];
  for (const entry of interfaceAddresses()) {
    if (entry.internal) continue;
    if (entry.family === 'IPv4') urls.push(urlOf(entry.address, port));
    else if (wildcard6 && !entry.address.startsWith('fe80')) urls.push(urlOf(entry.address, port));
  }
  urls.push(urlOf(`${hostname().toLowerCase().replace(/\.local$/, '')}.local`, port));
  return [...new Set(urls)];
}
