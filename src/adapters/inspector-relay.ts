// The Stately inspector relay behind `npm run inspect`, bound to loopback by default (the package's
// own `createInspectorServer` listens on every interface and cannot be told otherwise): the driver
// (`--inspect ws://127.0.0.1:8080`) and the viewer page connect to it by WebSocket; each message is
// passed on to the other clients and the latest RELAY_BUFFER_MESSAGES replayed to a newcomer. Its
// page embeds the hosted inspector (stately.ai; the settings app's /live.html works offline) and
// connects back to the name the browser used. Only its own Host names at its port are answered (DNS
// rebinding; bound beyond loopback, this machine's names: src/host-allowlist.ts), and only its own
// page's Origin; messages and the replay buffer are bounded. Owns the HTTP/WebSocket relay only.
import type { Server } from 'node:http';
import { http } from './http-builtins.ts';
import { WebSocket, WebSocketServer } from 'ws';
import { createHostAllowlist, hostnameOf, isLoopbackName, portOf, type HostAllowlist } from '../host-allowlist.ts';
import { listenUrls, ownNamesReader } from './own-addresses.ts';

/** Replayed to a viewer that connects late: the same as the package's relay. */
export const RELAY_BUFFER_MESSAGES = 200;
/** Largest message relayed: an inspection event (a sanitised snapshot) is tens of KiB; ws's default would be 100 MiB. */
export const RELAY_MAX_MESSAGE_BYTES = 1024 * 1024;
/** The replay buffer also holds at most this many bytes (200 messages at the largest would be 200 MiB). */
export const RELAY_BUFFER_BYTES = 8 * 1024 * 1024;
/** Loopback: the inspection stream shows the robot's inner state; widen it only on purpose (`--host`). */
export const RELAY_DEFAULT_HOST = '127.0.0.1';
export const RELAY_DEFAULT_PORT = 8080;
const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
/** What a Host header or Origin without a port means for plain http (RFC 9110). */
const HTTP_DEFAULT_PORT = 80;

function bridgePage(wsUrl: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Stately Inspector (relay)</title>
<style>*{margin:0;padding:0}html,body{height:100%}iframe{width:100%;height:100%;border:none}</style></head>
<body><iframe id="inspector" src="${STATELY_INSPECTOR_URL}"></iframe>
<script>
const iframe = document.getElementById('inspector');
const buffer = [];
let connected = false;
window.addEventListener('message', (e) => {
  if (e.data && e.data.type === '@statelyai.connected') { connected = true; buffer.forEach((m) => iframe.contentWindow.postMessage(m, '*')); buffer.length = 0; }
});
const ws = new WebSocket(${JSON.stringify(wsUrl)});
ws.onmessage = (event) => { const data = JSON.parse(event.data); if (connected) iframe.contentWindow.postMessage(data, '*'); else buffer.push(data); };
</script></body></html>`;
}

export interface InspectorRelay {
  /** The page on this machine (loopback for a wildcard bind). */
  readonly url: string;
  readonly wsUrl: string;
  /** Every URL a browser can open it at: for 0.0.0.0 / `::` also this machine's LAN addresses and `<hostname>.local`. */
  readonly urls: ReadonlyArray<string>;
  close(): Promise<void>;
}

/**
 * The names a relay bound to `bindHost` answers to: loopback names for a loopback bind (nothing
 * else can reach it); otherwise this machine's own names too, which the LAN reaches it by.
 */
function relayNames(bindHost: string): HostAllowlist {
  const bound = bindHost.toLowerCase().replace(/^\[|\]$/g, '');
  if (isLoopbackName(bound)) {
    return {
      allows: (header) => {
        const name = hostnameOf(header);
        return name !== undefined && (isLoopbackName(name) || name === bound);
      },
    };
  }
  const wildcard = bound === '0.0.0.0' || bound === '::' || bound === '';
  return createHostAllowlist(ownNamesReader(), wildcard ? [] : [bound]);
}

/** `name:port` of a Host header naming this relay (an allowed name at its port); undefined for any other. */
function ownAuthority(names: HostAllowlist, header: string | undefined, port: number): string | undefined {
  const name = hostnameOf(header);
  if (name === undefined || !names.allows(header) || (portOf(header) ?? HTTP_DEFAULT_PORT) !== port) return undefined;
  return `${name.includes(':') ? `[${name}]` : name}:${port}`;
}

/** The driver sends no Origin; a browser does: only the relay's own page, at any name it answers to, may connect. */
function ownOrigin(names: HostAllowlist, origin: string | undefined, port: number): boolean {
  if (origin === undefined || origin === '') return true;
  return origin.startsWith('http://') && ownAuthority(names, origin.slice('http://'.length), port) !== undefined;
}

export async function startInspectorRelay(host: string = RELAY_DEFAULT_HOST, port: number = RELAY_DEFAULT_PORT): Promise<InspectorRelay> {
  const names = relayNames(host);
  let bound = port;
  const server: Server = http.createServer((request, response) => {
    const authority = ownAuthority(names, request.headers.host, bound);
    if (authority === undefined) {
      // A foreign name is a rebinding page (or a typo): nothing of the relay, and no URL back to it.
      response.writeHead(421, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      response.end('this inspector relay does not answer to that host name\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(bridgePage(`ws://${authority}`));
  });
  const verifyClient = ({ origin, req }: { origin: string; req: { headers: { host?: string | undefined } } }): boolean =>
    ownOrigin(names, origin, bound) && ownAuthority(names, req.headers.host, bound) !== undefined;
  const wss = new WebSocketServer({ server, maxPayload: RELAY_MAX_MESSAGE_BYTES, verifyClient });
  relayMessages(wss);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  bound = typeof address === 'object' && address !== null ? address.port : port;
  const urls = listenUrls(host, bound);
  const url = urls[0] ?? `http://127.0.0.1:${bound}`;
  return {
    url,
    wsUrl: url.replace(/^http:/, 'ws:'),
    urls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

/** Each message to every other client; the latest (bounded) replayed to a newcomer. */
function relayMessages(wss: WebSocketServer): void {
  const buffer: string[] = [];
  let bufferedBytes = 0;
  wss.on('connection', (ws) => {
    // A client's protocol error (a message over RELAY_MAX_MESSAGE_BYTES…): ws closes it; unheard, the error would end the relay.
    ws.on('error', () => ws.terminate());
    for (const message of buffer) ws.send(message);
    ws.on('message', (data) => {
      const message = data.toString();
      buffer.push(message);
      bufferedBytes += message.length;
      while (buffer.length > RELAY_BUFFER_MESSAGES || bufferedBytes > RELAY_BUFFER_BYTES) bufferedBytes -= buffer.shift()!.length;
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });
}
