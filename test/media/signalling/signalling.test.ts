// Protocol transcripts over real sockets on port 0: the emulator's gst-webrtc-signalling v1 server
// (src/sim/signalling-server.ts), a fake webrtcsink producer (a raw ws peer with roles
// ["producer"], meta {name:"reachymini"}) or an in-process one, and the driver's consumer
// (SignallingClient, probeSignalling), as in reachy-daemon-api.md §9.2.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { setLogLevel } from '../../../src/logging/logger.ts';
import { NoProducer, SessionEnded, SignallingProtocolError, SignallingTimeout, SignallingUnreachable } from '../../../src/media/signalling/errors.ts';
import type { IcePayload } from '../../../src/media/signalling/protocol.ts';
import { PRODUCER_NAME, SignallingClient, type SessionInfo, type SignallingClientOptions, probeSignalling, signallingUrl } from '../../../src/adapters/signalling/signalling-client.ts';
import { type SignallingServer, startSignallingServer } from '../../../src/sim/signalling-server.ts';
import { failure } from '../../harness/test-cleanups.ts';
import { type Frame, WsProbe } from '../../sim/protocol-client.ts';

const OFFER = 'v=0\r\no=- 1 0 IN IP4 127.0.0.1\r\ns=reachymini\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';
const ANSWER = 'v=0\r\no=- 2 0 IN IP4 127.0.0.1\r\ns=driver\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n';
/** Short deadlines so failure paths finish in well under a second. */
const FAST = { handshakeMs: 300, replyMs: 300, offerMs: 300, answerMs: 300 } as const;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
function later<T>(value: T, close: (value: T) => Promise<unknown> | unknown): T {
  cleanups.push(() => close(value));
  return value;
}

beforeEach(() => setLogLevel('silent'));
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  setLogLevel('info');
});

async function server(): Promise<SignallingServer> {
  return later(await startSignallingServer({ host: '127.0.0.1', port: 0 }), (s) => s.close());
}

async function peer(url: string): Promise<{ probe: WsProbe; peerId: string }> {
  const probe = later(await WsProbe.open(url), (p) => p.close());
  const welcome = await probe.nextOfType('welcome');
  return { probe, peerId: welcome.peerId as string };
}

/** A webrtcsink stand-in: roles ["producer"], meta {name}; resolves once the server has recorded it. */
async function fakeProducer(url: string, name: string = PRODUCER_NAME): Promise<{ probe: WsProbe; peerId: string }> {
  const producer = await peer(url);
  producer.probe.send({ type: 'setPeerStatus', roles: ['producer'], meta: { name } });
  producer.probe.send({ type: 'list' });
  await producer.probe.nextOfType('list');
  return producer;
}

interface Recorder {
  readonly events: string[];
  readonly remote: IcePayload[];
  readonly offers: string[];
}

/** A consumer whose session with `producer` is started: the fake producer offered, the answer went out. */
async function liveSession(url: string, producer: { probe: WsProbe }): Promise<{ consumer: SignallingClient; sessionId: string; info: SessionInfo; seen: Recorder }> {
  const { client: consumer, seen } = client(url);
  const started = consumer.start();
  const { sessionId } = await producer.probe.nextOfType('startSession');
  producer.probe.send({ type: 'peer', sessionId, sdp: { type: 'offer', sdp: OFFER } });
  return { consumer, sessionId: sessionId as string, info: await started, seen };
}

function client(url: string, overrides: Partial<SignallingClientOptions> = {}): { client: SignallingClient; seen: Recorder } {
  const seen: Recorder = { events: [], remote: [], offers: [] };
  const instance = new SignallingClient({
    url,
    answer: async (offer) => {
      seen.offers.push(offer);
      seen.events.push('answer');
      return ANSWER;
    },
    onRemoteCandidate: (candidate) => {
      seen.remote.push(candidate);
      seen.events.push(`remote:${candidate.candidate}`);
    },
    timeouts: FAST,
    ...overrides,
  });
  later(instance, (c) => c.close());
  return { client: instance, seen };
}

function peerFrame(probe: WsProbe, predicate: (frame: Frame) => boolean = () => true): Promise<Frame> {
  return probe.next((frame) => frame.type === 'peer' && predicate(frame));
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const tcp = createTcpServer();
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const { port } = tcp.address() as AddressInfo;
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  return port;
}

/** A ws server that plays `script` to every consumer (a misbehaving signalling server). */
async function scriptedServer(script: (ws: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  later(wss, (s) => {
    for (const socket of s.clients) socket.terminate();
    return new Promise<void>((resolve) => s.close(() => resolve()));
  });
  wss.on('connection', script);
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

describe('consumer flow against the emulator server and a fake webrtcsink producer', () => {
  it('welcome → list → startSession → offer → answer → ICE both ways → endSession from the client', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const listener = await peer(srv.url);
    listener.probe.send({ type: 'list' });
    expect((await listener.probe.nextOfType('list')).producers).toEqual([{ id: producer.peerId, meta: { name: 'reachymini' } }]);

    const { client: consumer, seen } = client(srv.url);
    consumer.sendCandidate('candidate:local-early', 0); // before the answer: queued
    const started = consumer.start();

    const startSession = await producer.probe.nextOfType('startSession');
    const sessionId = startSession.sessionId as string;
    expect(startSession).toEqual({ type: 'startSession', peerId: expect.any(String), sessionId: expect.any(String) });
    // webrtcsink offers, then trickles at once: the candidate arrives while the answer is being made.
    producer.probe.send({ type: 'peer', sessionId, sdp: { type: 'offer', sdp: OFFER } });
    producer.probe.send({ type: 'peer', sessionId, ice: { candidate: 'candidate:remote-1', sdpMLineIndex: 0 } });

    const info = await started;
    expect(info).toEqual({ sessionId, producerId: producer.peerId, producerMeta: { name: 'reachymini' }, peerId: startSession.peerId });
    expect(consumer.live).toBe(true);
    expect(seen.offers).toEqual([OFFER]);
    expect(await peerFrame(producer.probe)).toEqual({ type: 'peer', sessionId, sdp: { type: 'answer', sdp: ANSWER } });
    expect(await peerFrame(producer.probe)).toEqual({ type: 'peer', sessionId, ice: { candidate: 'candidate:local-early', sdpMLineIndex: 0 } });
    await until(() => seen.remote.length === 1);
    expect(seen.events).toEqual(['answer', 'remote:candidate:remote-1']); // never a candidate before the answer

    consumer.sendCandidate('candidate:local-2', 1);
    expect(await peerFrame(producer.probe)).toEqual({ type: 'peer', sessionId, ice: { candidate: 'candidate:local-2', sdpMLineIndex: 1 } });
    producer.probe.send({ type: 'peer', sessionId, ice: { candidate: 'candidate:remote-2', sdpMLineIndex: 1 } });
    await until(() => seen.remote.length === 2);
    expect(seen.remote[1]).toEqual({ candidate: 'candidate:remote-2', sdpMLineIndex: 1 });
    expect(srv.sessions()).toEqual([{ id: sessionId, producerId: producer.peerId, consumerId: startSession.peerId }]);

    await consumer.close();
    expect(await producer.probe.nextOfType('endSession')).toEqual({ type: 'endSession', sessionId });
    const ended = await consumer.ended;
    expect(ended).toBeInstanceOf(SessionEnded);
    expect(ended).toMatchObject({ _tag: 'SessionEnded', reason: 'local-closed', sessionId });
    await until(() => srv.sessions().length === 0 && srv.peers().length === 2);
    consumer.sendCandidate('candidate:too-late', 0); // ignored, no throw
  });

  it('endSession from the producer ends the client session (SessionEnded remote-ended)', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const { consumer, sessionId } = await liveSession(srv.url, producer);
    producer.probe.send({ type: 'endSession', sessionId });
    const ended = await consumer.ended;
    expect(ended).toMatchObject({ _tag: 'SessionEnded', reason: 'remote-ended', sessionId });
    expect(consumer.live).toBe(false);
    await until(() => srv.sessions().length === 0 && srv.peers().length === 1);
  });

  it('no producer → NoProducer listing what the server had; a producer with another name is ignored', async () => {
    const srv = await server();
    const other = await fakeProducer(srv.url, 'some-other-robot');
    const error = await failure(client(srv.url).client.start());
    expect(error).toBeInstanceOf(NoProducer);
    expect(error).toMatchObject({ producerName: 'reachymini', producers: [{ id: other.peerId, meta: { name: 'some-other-robot' } }] });

    const robot = await fakeProducer(srv.url);
    const { info } = await liveSession(srv.url, robot);
    expect(info.producerId).toBe(robot.peerId);
    await expect(other.probe.nextOfType('startSession', 100)).rejects.toThrow(/no matching frame/);
  });

  it('peers whose meta is a string, a number or an array (any JSON, relayed as upstream does) neither hide the robot nor end its session', async () => {
    const srv = await server();
    const tool = await peer(srv.url);
    tool.probe.send({ type: 'setPeerStatus', roles: ['producer'], meta: 'my-tool' });
    const counter = await peer(srv.url);
    counter.probe.send({ type: 'setPeerStatus', roles: ['producer'], meta: 42 });
    const robot = await fakeProducer(srv.url);
    expect(await probeSignalling(srv.url, { timeoutMs: 1_000 })).toEqual({ reachable: true, producer_name: 'reachymini', peer_id: robot.peerId, producer_count: 3 });

    const { consumer, sessionId, info, seen } = await liveSession(srv.url, robot);
    expect(info.producerId).toBe(robot.peerId);
    // A viewer announces itself while we stream: the server relays its status to every listener, us included.
    const viewer = await peer(srv.url);
    viewer.probe.send({ type: 'setPeerStatus', roles: ['listener'], meta: [] });
    expect(await viewer.probe.next((frame) => frame.type === 'peerStatusChanged' && frame.peerId === viewer.peerId)).toMatchObject({ meta: [] });
    // A candidate relayed after that broadcast reaches the session: it read the broadcast and went on.
    robot.probe.send({ type: 'peer', sessionId, ice: { candidate: 'candidate:after-status', sdpMLineIndex: 0 } });
    await until(() => seen.remote.length === 1);
    expect(consumer.live).toBe(true);
    await expect(robot.probe.nextOfType('endSession', 100)).rejects.toThrow(/no matching frame/);
  });

  it('an empty server → NoProducer with an empty list', async () => {
    const srv = await server();
    const error = await failure(client(srv.url).client.start());
    expect(error).toMatchObject({ _tag: 'NoProducer', producers: [], producerCount: 0 });
    await until(() => srv.peers().length === 0);
  });

  it('producer disconnect mid-session: the server sends endSession, listeners see the producer go', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const listener = await peer(srv.url);
    listener.probe.send({ type: 'setPeerStatus', roles: ['listener'], meta: null });
    await listener.probe.next((frame) => frame.type === 'peerStatusChanged' && frame.peerId === listener.peerId);
    const { consumer, sessionId } = await liveSession(srv.url, producer);

    producer.probe.socket.terminate();
    expect(await consumer.ended).toMatchObject({ reason: 'remote-ended', sessionId });
    expect(await listener.probe.next((frame) => frame.type === 'peerStatusChanged' && frame.peerId === producer.peerId)).toEqual({
      type: 'peerStatusChanged',
      roles: [],
      meta: { name: 'reachymini' },
      peerId: producer.peerId,
    });
    expect(srv.sessions()).toEqual([]);
  });

  it('consumer disconnect mid-session: the producer gets endSession', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const consumer = await peer(srv.url);
    consumer.probe.send({ type: 'startSession', peerId: producer.peerId });
    const started = await consumer.probe.nextOfType('sessionStarted');
    expect(await producer.probe.nextOfType('startSession')).toMatchObject({ peerId: consumer.peerId, sessionId: started.sessionId });
    consumer.probe.socket.terminate();
    expect(await producer.probe.nextOfType('endSession')).toEqual({ type: 'endSession', sessionId: started.sessionId });
    await until(() => srv.sessions().length === 0 && srv.peers().length === 1);
  });

  it('the offer never comes → SignallingTimeout, and the producer is told endSession', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const { client: consumer } = client(srv.url, { timeouts: { ...FAST, offerMs: 100 } });
    const started = failure(consumer.start());
    const { sessionId } = await producer.probe.nextOfType('startSession');
    expect(await started).toMatchObject({ _tag: 'SignallingTimeout', stage: 'offer', timeoutMs: 100 });
    expect(await producer.probe.nextOfType('endSession')).toEqual({ type: 'endSession', sessionId });
    expect(await consumer.ended).toMatchObject({ reason: 'setup-failed' });
  });

  it("the answer callback's failure rejects start() as is and ends the session", async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const boom = new Error('codec mismatch');
    const { client: consumer } = client(srv.url, { answer: () => Promise.reject(boom) });
    const started = failure(consumer.start());
    const { sessionId } = await producer.probe.nextOfType('startSession');
    producer.probe.send({ type: 'peer', sessionId, sdp: { type: 'offer', sdp: OFFER } });
    expect(await started).toBe(boom);
    expect(await producer.probe.nextOfType('endSession')).toEqual({ type: 'endSession', sessionId });
  });

  it('close() while the answer is being made ends at once with local-closed', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const { client: consumer } = client(srv.url, { answer: () => new Promise<string>(() => {}), timeouts: { ...FAST, answerMs: 5_000 } });
    const started = failure(consumer.start());
    const { sessionId } = await producer.probe.nextOfType('startSession');
    producer.probe.send({ type: 'peer', sessionId, sdp: { type: 'offer', sdp: OFFER } });
    await until(() => srv.sessions().length === 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const t0 = performance.now();
    await consumer.close();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(await started).toMatchObject({ _tag: 'SessionEnded', reason: 'local-closed' });
    expect(await producer.probe.nextOfType('endSession')).toEqual({ type: 'endSession', sessionId });
  });

  it('an aborted signal closes the session', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const { client: consumer } = client(srv.url);
    const controller = new AbortController();
    const started = failure(consumer.start({ signal: controller.signal }));
    await producer.probe.nextOfType('startSession');
    controller.abort();
    expect(await started).toMatchObject({ _tag: 'SessionEnded', reason: 'local-closed' });
  });
});

describe('unreachable or misbehaving signalling servers', () => {
  it('server down → SignallingUnreachable (ECONNREFUSED) quickly', async () => {
    const url = signallingUrl('127.0.0.1', await closedPort());
    const t0 = performance.now();
    const error = await failure(client(url).client.start());
    expect(performance.now() - t0).toBeLessThan(500);
    expect(error).toBeInstanceOf(SignallingUnreachable);
    expect(error).toMatchObject({ url, code: 'ECONNREFUSED' });
  });

  it('a TCP peer that never answers the upgrade → SignallingUnreachable (ETIMEDOUT) at the handshake deadline', async () => {
    const sockets: Socket[] = [];
    const tcp: TcpServer = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    later(tcp, (s) => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    });
    const url = signallingUrl('127.0.0.1', (tcp.address() as AddressInfo).port);
    const t0 = performance.now();
    const error = await failure(client(url, { timeouts: { ...FAST, handshakeMs: 150 } }).client.start());
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(error).toMatchObject({ _tag: 'SignallingUnreachable', code: 'ETIMEDOUT' });
  });

  it('an HTTP server that refuses the upgrade → SignallingUnreachable (HTTP_404)', async () => {
    const http: HttpServer = createHttpServer((_request, response) => response.writeHead(404).end());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    later(http, (s) => {
      s.closeAllConnections();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    });
    const error = await failure(client(signallingUrl('127.0.0.1', (http.address() as AddressInfo).port)).client.start());
    expect(error).toMatchObject({ _tag: 'SignallingUnreachable', code: 'HTTP_404' });
  });

  it('garbage instead of welcome → SignallingProtocolError, no crash', async () => {
    const url = await scriptedServer((ws) => ws.send('this is not json'));
    const error = await failure(client(url).client.start());
    expect(error).toBeInstanceOf(SignallingProtocolError);
    expect(error).toMatchObject({ stage: 'welcome', details: expect.stringContaining('not JSON') });
  });

  it('another message before welcome → SignallingProtocolError', async () => {
    const url = await scriptedServer((ws) => ws.send(JSON.stringify({ type: 'list', producers: [] })));
    expect(await failure(client(url).client.start())).toMatchObject({ _tag: 'SignallingProtocolError', stage: 'welcome' });
  });

  it('a malformed list reply → SignallingProtocolError naming the field', async () => {
    const url = await scriptedServer((ws) => {
      ws.send(JSON.stringify({ type: 'welcome', peerId: 'me' }));
      ws.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'list') ws.send(JSON.stringify({ type: 'list', producers: 'reachymini' }));
      });
    });
    expect(await failure(client(url).client.start())).toMatchObject({ _tag: 'SignallingProtocolError', stage: 'list', details: expect.stringContaining('"producers"') });
  });

  it('list entries without a usable id are left out: the robot listed among them is still found', async () => {
    const asked: unknown[] = [];
    const url = await scriptedServer((ws) => {
      ws.send(JSON.stringify({ type: 'welcome', peerId: 'me' }));
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as Frame;
        if (message.type === 'list') {
          const producers = ['junk', { meta: { name: 'reachymini' } }, { id: '', meta: null }, { id: 'robot', meta: { name: 'reachymini' } }];
          ws.send(JSON.stringify({ type: 'list', producers }));
        }
        if (message.type === 'startSession') {
          asked.push(message.peerId);
          ws.send(JSON.stringify({ type: 'sessionStarted', peerId: 'robot', sessionId: 's1' }));
          ws.send(JSON.stringify({ type: 'peer', sessionId: 's1', sdp: { type: 'offer', sdp: OFFER } }));
        }
      });
    });
    const { client: consumer } = client(url);
    expect(await consumer.start()).toMatchObject({ sessionId: 's1', producerId: 'robot' });
    expect(asked).toEqual(['robot']);
  });

  it('status broadcasts and lists about other peers, with a meta of any JSON or undecodable, during set-up and while live, never end the session', async () => {
    const badStatus = JSON.stringify({ type: 'peerStatusChanged', peerId: 'other', roles: ['king'], meta: null });
    const stringMeta = JSON.stringify({ type: 'peerStatusChanged', peerId: 'dashboard', roles: ['listener'], meta: 'dashboard' });
    const url = await scriptedServer((ws) => {
      ws.send(JSON.stringify({ type: 'welcome', peerId: 'me' }));
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as Frame;
        if (message.type === 'list') {
          ws.send(badStatus);
          ws.send(JSON.stringify({ type: 'list', producers: [{ id: 'robot', meta: { name: 'reachymini' } }] }));
        }
        if (message.type === 'startSession') {
          ws.send(badStatus);
          ws.send(JSON.stringify({ type: 'sessionStarted', peerId: 'robot', sessionId: 's1' }));
          ws.send(JSON.stringify({ type: 'listConsumers', consumers: 'everyone' }));
          ws.send(JSON.stringify({ type: 'peer', sessionId: 's1', sdp: { type: 'offer', sdp: OFFER } }));
        }
        if (message.type === 'peer' && (message.sdp as Frame | undefined)?.type === 'answer') {
          ws.send(stringMeta);
          ws.send(badStatus);
          ws.send(JSON.stringify({ type: 'list', producers: 7 }));
          ws.send(JSON.stringify({ type: 'peer', sessionId: 's1', ice: { candidate: 'candidate:after', sdpMLineIndex: 0 } }));
        }
      });
    });
    const { client: consumer, seen } = client(url);
    await consumer.start();
    await until(() => seen.remote.length === 1);
    expect(consumer.live).toBe(true);
  });

  it('a binary frame → SignallingProtocolError', async () => {
    const url = await scriptedServer((ws) => ws.send(Buffer.from([1, 2, 3])));
    expect(await failure(client(url).client.start())).toMatchObject({ _tag: 'SignallingProtocolError', stage: 'welcome' });
  });

  it('a server error in reply to startSession → SignallingProtocolError carrying its details', async () => {
    const url = await scriptedServer((ws) => {
      ws.send(JSON.stringify({ type: 'welcome', peerId: 'me' }));
      ws.on('message', (data) => {
        const type = JSON.parse(String(data)).type;
        if (type === 'list') ws.send(JSON.stringify({ type: 'list', producers: [{ id: 'robot', meta: { name: 'reachymini' } }] }));
        if (type === 'startSession') ws.send(JSON.stringify({ type: 'error', details: "No producer with ID: 'robot'" }));
      });
    });
    expect(await failure(client(url).client.start())).toMatchObject({
      _tag: 'SignallingProtocolError',
      stage: 'sessionStarted',
      details: expect.stringContaining("No producer with ID: 'robot'"),
    });
  });

  it('a silent server → SignallingTimeout waiting for welcome', async () => {
    const url = await scriptedServer(() => {});
    expect(await failure(client(url).client.start())).toBeInstanceOf(SignallingTimeout);
  });

  it('garbage during a live session ends it with protocol-error (and endSession is sent)', async () => {
    const received: string[] = [];
    const url = await scriptedServer((ws) => {
      ws.send(JSON.stringify({ type: 'welcome', peerId: 'me' }));
      ws.on('message', (data) => {
        const message = JSON.parse(String(data)) as Frame;
        received.push(message.type as string);
        if (message.type === 'list') ws.send(JSON.stringify({ type: 'list', producers: [{ id: 'robot', meta: { name: 'reachymini' } }] }));
        if (message.type === 'startSession') {
          ws.send(JSON.stringify({ type: 'sessionStarted', peerId: 'robot', sessionId: 's1' }));
          ws.send(JSON.stringify({ type: 'peer', sessionId: 's1', sdp: { type: 'offer', sdp: OFFER } }));
        }
        if (message.type === 'peer') ws.send('{"type":"peer","sessionId":"s1","ice":{"candidate":42}}');
      });
    });
    const { client: consumer } = client(url);
    await consumer.start();
    expect(await consumer.ended).toMatchObject({ reason: 'protocol-error', sessionId: 's1', details: expect.stringContaining('ice.candidate') });
    await until(() => received.includes('endSession'));
    expect(received).toEqual(['setPeerStatus', 'list', 'startSession', 'peer', 'endSession']);
  });
});

describe('probeSignalling (get_media_stream_access probe_signaling=true)', () => {
  it('reachable: names the producer, its peer id and the producer count, without starting a session', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    await fakeProducer(srv.url, 'another');
    expect(await probeSignalling(srv.url, { timeoutMs: 1_000 })).toEqual({
      reachable: true,
      producer_name: 'reachymini',
      peer_id: producer.peerId,
      producer_count: 2,
    });
    await expect(producer.probe.nextOfType('startSession', 50)).rejects.toThrow(/no matching frame/);
    expect(srv.sessions()).toEqual([]);
    await until(() => srv.peers().length === 2); // the probe closed its socket
  });

  it('unreachable: reachable false with the reason', async () => {
    const t0 = performance.now();
    const result = await probeSignalling(signallingUrl('127.0.0.1', await closedPort()), { timeoutMs: 1_000 });
    expect(performance.now() - t0).toBeLessThan(500);
    expect(result).toEqual({ reachable: false, reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('no producer: reachable false naming the producer it looked for', async () => {
    const srv = await server();
    await fakeProducer(srv.url, 'other');
    expect(await probeSignalling(srv.url, { timeoutMs: 1_000 })).toEqual({ reachable: false, reason: expect.stringMatching(/no WebRTC producer named "reachymini".*1 producer\(s\): "other"/) });
  });

  it('a silent server: reachable false within the probe budget', async () => {
    const url = await scriptedServer(() => {});
    const t0 = performance.now();
    const result = await probeSignalling(url, { timeoutMs: 200 });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(result).toMatchObject({ reachable: false, reason: expect.stringContaining('welcome') });
  });
});

describe('the emulator signalling server', () => {
  it('welcomes, broadcasts peer status to listeners and lists producers and consumers', async () => {
    const srv = await server();
    const listener = await peer(srv.url);
    listener.probe.send({ type: 'setPeerStatus', roles: ['listener'], meta: { name: 'viewer' } });
    expect(await listener.probe.nextOfType('peerStatusChanged')).toEqual({ type: 'peerStatusChanged', roles: ['listener'], meta: { name: 'viewer' }, peerId: listener.peerId });
    const producer = await fakeProducer(srv.url);
    expect(await listener.probe.nextOfType('peerStatusChanged')).toEqual({ type: 'peerStatusChanged', roles: ['producer'], meta: { name: 'reachymini' }, peerId: producer.peerId });
    const consumer = await peer(srv.url);
    consumer.probe.send({ type: 'setPeerStatus', roles: ['consumer'], meta: null });
    consumer.probe.send({ type: 'listConsumers' });
    expect(await consumer.probe.nextOfType('listConsumers')).toEqual({ type: 'listConsumers', consumers: [{ id: consumer.peerId, meta: null }] });
    expect(new Set(srv.peers().map((p) => p.id))).toEqual(new Set([listener.peerId, producer.peerId, consumer.peerId]));
  });

  it('rejects bad requests with error {details} and survives garbage frames', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const rude = await peer(srv.url);
    const bad: [unknown, RegExp][] = [
      ['not json at all', /not JSON/],
      ['[]', /JSON object/],
      [{ type: 'teleport' }, /unknown peer message type "teleport"/],
      [{ type: 'setPeerStatus', roles: ['king'], meta: null }, /roles/],
      [{ type: 'startSession', peerId: 'nobody' }, /No producer with ID: 'nobody'/],
      [{ type: 'startSession', peerId: rude.peerId }, /not registered as a producer/],
      [{ type: 'peer', sessionId: 'nope', ice: { candidate: 'c', sdpMLineIndex: 0 } }, /Session nope doesn't exist/],
      [{ type: 'endSession', sessionId: 'nope' }, /Session nope doesn't exist/],
      [{ type: 'peer', sessionId: 's' }, /exactly one of "sdp" or "ice"/],
    ];
    for (const [frame, details] of bad) {
      rude.probe.send(frame);
      expect(await rude.probe.nextOfType('error')).toEqual({ type: 'error', details: expect.stringMatching(details) });
    }
    rude.probe.socket.send(Buffer.from([0xde, 0xad]), { binary: true });
    expect(await rude.probe.nextOfType('error')).toEqual({ type: 'error', details: expect.stringContaining('binary') });

    // A session the peer is not part of, and an offer from the consumer, are refused too.
    const consumer = await peer(srv.url);
    consumer.probe.send({ type: 'startSession', peerId: producer.peerId });
    const { sessionId } = await consumer.probe.nextOfType('sessionStarted');
    rude.probe.send({ type: 'endSession', sessionId });
    expect(await rude.probe.nextOfType('error')).toEqual({ type: 'error', details: expect.stringContaining('is not part of session') });
    consumer.probe.send({ type: 'peer', sessionId, sdp: { type: 'offer', sdp: OFFER } });
    expect(await consumer.probe.nextOfType('error')).toEqual({ type: 'error', details: expect.stringContaining('is not the producer') });

    // An oversized frame closes that socket only (1009); the server keeps serving.
    const huge = await peer(srv.url);
    huge.probe.send('x'.repeat(300 * 1024));
    expect(await huge.probe.closed()).toBe(1009);
    rude.probe.send({ type: 'list' });
    expect((await rude.probe.nextOfType('list')).producers).toEqual([{ id: producer.peerId, meta: { name: 'reachymini' } }]);
    expect(srv.sessions()).toHaveLength(1);
  });

  it('relays peer messages verbatim within a session, and endSession from the producer reaches the consumer', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const consumer = await peer(srv.url);
    consumer.probe.send({ type: 'startSession', peerId: producer.peerId });
    const started = await consumer.probe.nextOfType('sessionStarted');
    expect(started).toEqual({ type: 'sessionStarted', peerId: producer.peerId, sessionId: expect.any(String) });
    const sessionId = started.sessionId as string;
    const offer = { type: 'peer', sessionId, sdp: { type: 'offer', sdp: OFFER } };
    producer.probe.send(offer);
    expect(await consumer.probe.nextOfType('peer')).toEqual(offer);
    const answer = { type: 'peer', sessionId, sdp: { type: 'answer', sdp: ANSWER } };
    consumer.probe.send(answer);
    expect(await producer.probe.nextOfType('peer')).toEqual(answer);
    producer.probe.send({ type: 'endSession', sessionId });
    expect(await consumer.probe.nextOfType('endSession')).toEqual({ type: 'endSession', sessionId });
    expect(srv.sessions()).toEqual([]);
  });

  it('a producer that stops producing ends its sessions', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const consumer = await peer(srv.url);
    consumer.probe.send({ type: 'startSession', peerId: producer.peerId });
    const { sessionId } = await consumer.probe.nextOfType('sessionStarted');
    producer.probe.send({ type: 'setPeerStatus', roles: [], meta: null });
    expect(await consumer.probe.nextOfType('endSession')).toEqual({ type: 'endSession', sessionId });
  });

  it('stop() drops every socket and start() comes back on the same port', async () => {
    const srv = await server();
    const producer = await fakeProducer(srv.url);
    const { consumer, sessionId } = await liveSession(srv.url, producer);
    const port = srv.port;
    await srv.stop();
    expect(srv.running).toBe(false);
    expect(await consumer.ended).toMatchObject({ reason: 'connection-lost' });
    expect(srv.peers()).toEqual([]);
    expect(await probeSignalling(srv.url, { timeoutMs: 500 })).toMatchObject({ reachable: false });
    await srv.start();
    expect(srv.port).toBe(port);
    expect(await probeSignalling(srv.url, { timeoutMs: 500 })).toMatchObject({ reachable: false, reason: expect.stringContaining('no producer at all') });
  });
});

describe('in-process producer (the emulator WebRTC producer registers without a socket)', () => {
  it('runs the same consumer flow and learns the answer, candidates and the end', async () => {
    const srv = await server();
    const log: string[] = [];
    const registration = srv.registerProducer({
      meta: { name: 'reachymini' },
      onStartSession: (session) => {
        log.push(`start:${session.consumerOffer ?? 'no-offer'}`);
        session.sendOffer(OFFER);
        session.sendCandidate('candidate:robot-1', 0);
        return {
          onAnswer: (sdp) => log.push(`answer:${sdp === ANSWER}`),
          onRemoteCandidate: (ice) => log.push(`ice:${ice.candidate}`),
          onEnded: () => log.push('ended'),
        };
      },
    });
    expect(srv.peers()).toEqual([{ id: registration.peerId, roles: ['producer'], meta: { name: 'reachymini' }, transport: 'in-process' }]);
    expect(await probeSignalling(srv.url, { timeoutMs: 1_000 })).toMatchObject({ reachable: true, peer_id: registration.peerId, producer_count: 1 });

    const { client: consumer, seen } = client(srv.url);
    consumer.sendCandidate('candidate:driver-1', 0);
    const info = await consumer.start();
    expect(info.producerId).toBe(registration.peerId);
    await until(() => log.includes('ice:candidate:driver-1') && seen.remote.length === 1);
    expect(log).toEqual(['start:no-offer', 'answer:true', 'ice:candidate:driver-1']);
    expect(seen.remote).toEqual([{ candidate: 'candidate:robot-1', sdpMLineIndex: 0 }]);

    await consumer.close();
    await until(() => log.includes('ended'));
    expect(srv.sessions()).toEqual([]);

    registration.unregister();
    expect(await probeSignalling(srv.url, { timeoutMs: 1_000 })).toMatchObject({ reachable: false });
  });

  it('end() from the in-process producer ends the client session; a throwing callback ends it too', async () => {
    const srv = await server();
    let end: (() => void) | null = null;
    let calls = 0;
    srv.registerProducer({
      meta: { name: 'reachymini' },
      onStartSession: (session) => {
        calls += 1;
        if (calls === 2) throw new Error('pipeline failed');
        session.sendOffer(OFFER);
        end = () => session.end();
      },
    });
    const { client: first } = client(srv.url);
    await first.start();
    end!();
    expect(await first.ended).toMatchObject({ reason: 'remote-ended' });

    const second = client(srv.url).client;
    expect(await failure(second.start())).toMatchObject({ _tag: 'SessionEnded', reason: 'remote-ended' });
    expect(srv.sessions()).toEqual([]);
  });
});
