// The Host allowlist's rules (src/host-allowlist.ts) and the URLs app mode prints
// (src/adapters/own-addresses.ts): header parsing (ports, brackets, trailing dots, malformed
// values), loopback names, reachy-mini.local, the machine's own names, the operator's names and `*`;
// every non-internal IPv4 address of this machine appears in the printed URLs.
import { hostname, networkInterfaces } from 'node:os';
import { expect, test } from 'vitest';
import { createHostAllowlist, hostnameOf, isLoopbackName, portOf } from '../../src/host-allowlist.ts';
import { listenUrls } from '../../src/adapters/own-addresses.ts';

test('hostnameOf strips the port, brackets and a trailing dot, lower-cases, and refuses malformed headers', () => {
  expect(hostnameOf('Reachy-Mini.LOCAL:8842')).toBe('reachy-mini.local');
  expect(hostnameOf('[::1]:8842')).toBe('::1');
  expect(hostnameOf('example.com.')).toBe('example.com');
  expect(hostnameOf('192.168.1.20')).toBe('192.168.1.20');
  for (const bad of [undefined, '', '[::1', 'a b', 'host:port', '[nothex]:1', 'évil.example', 'a/b']) expect(hostnameOf(bad), String(bad)).toBeUndefined();
});

test('portOf: the explicit port of a well-formed header, none for a bare name or a malformed header', () => {
  expect(portOf('192.168.1.20:8080')).toBe(8080);
  expect(portOf('[fd00::2]:8080')).toBe(8080);
  for (const none of ['192.168.1.20', '[fd00::2]', 'host:port', '[::1', undefined]) expect(portOf(none), String(none)).toBeUndefined();
});

test('loopback names: 127/8, ::1, localhost and *.localhost; nothing else', () => {
  for (const name of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', 'app.localhost', '::ffff:127.0.0.1']) expect(isLoopbackName(name), name).toBe(true);
  for (const name of ['128.0.0.1', 'localhost.evil.example', '10.0.0.1', '::2']) expect(isLoopbackName(name), name).toBe(false);
});

test('the allowlist: own names, reachy-mini.local and the operator\'s names; `*` allows any', () => {
  const hosts = createHostAllowlist(() => ['robot-7', '192.168.1.20'], ['Lab.Example']);
  for (const ok of ['robot-7:8842', '192.168.1.20', 'reachy-mini.local', 'lab.example:1', 'localhost']) expect(hosts.allows(ok), ok).toBe(true);
  for (const no of ['evil.example', undefined, '', '192.168.1.21', 'robot-7.evil.example']) expect(hosts.allows(no), String(no)).toBe(false);
  expect(createHostAllowlist(() => [], ['*']).allows('evil.example')).toBe(true);
});

test('listenUrls: bound to all interfaces, every non-internal IPv4 address and <hostname>.local are printed', () => {
  const urls = listenUrls('0.0.0.0', 8842);
  expect(urls[0]).toBe('http://127.0.0.1:8842');
  for (const entry of Object.values(networkInterfaces()).flat()) {
    if (entry && !entry.internal && entry.family === 'IPv4') expect(urls).toContain(`http://${entry.address}:8842`);
  }
  expect(urls).toContain(`http://${hostname().toLowerCase().replace(/\.local$/, '')}.local:8842`);
  expect(listenUrls('127.0.0.1', 9000)).toEqual(['http://127.0.0.1:9000']);
});
