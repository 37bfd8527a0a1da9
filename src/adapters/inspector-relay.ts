// The Stately inspector relay behind `npm run inspect`, bound to loopback by default (the package's
// own `createInspectorServer` listens on every interface and cannot be told otherwise): the driver
// (`--inspect ws://127.0.0.1:8080`) and the viewer page connect to it by WebSocket; each message is
// passed on to the other clients and the latest RELAY_BUFFER_MESSAGES are replayed to a newcomer.
// The page it serves embeds the hosted inspector (stately.ai), so it needs the internet; the
// settings app's live view (/live.html) does not. A WebSocket from a web page of another origin
// (any site open in a browser on this machine) is refused, as are Host names other than its own
// (DNS rebinding); messages and the replay buffer are bounded. Owns the HTTP/WebSocket relay only.
import type { Server } from 'node:http';
import { http } from './http-builtins.ts';
import { WebSocket, WebSocketServer } from 'ws';

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
  readonly url: string;
  readonly wsUrl: string;
  close(): Promise<void>;
}

/** Whether a Host header names this relay (its shown host, or loopback, at its port). */
function ownHost(host: string | undefined, shown: string, port: number): boolean {
  return host !== undefined && [`${shown}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}

export async function startInspectorRelay(host: string = RELAY_DEFAULT_HOST, port: number = RELAY_DEFAULT_PORT): Promise<InspectorRelay> {
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  let wsUrl = '';
  const server: Server = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(bridgePage(wsUrl));
  });
  let bound = port;
  // The driver sends no Origin; a browser does: only the relay's own page may connect.
  const verifyClient = ({ origin, req }: { origin: string; req: { headers: { host?: string | undefined } } }): boolean =>
    (origin === undefined || origin === '' || origin === `http://${shown}:${bound}`) && ownHost(req.headers.host, shown, bound);
  const wss = new WebSocketServer({ server, maxPayload: RELAY_MAX_MESSAGE_BYTES, verifyClient });
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  bound = typeof address === 'object' && address !== null ? address.port : port;
  wsUrl = `ws://${shown}:${bound}`;
  return {
    url: `http://${shown}:${bound}`,
    wsUrl,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
