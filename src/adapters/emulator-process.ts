// Runs --sim's daemon emulator in its own process (src/sim/emulator-child.ts), as a robot runs its
// daemon: a busy driver no longer silences its daemon's pushes, and the driver's own figures leave
// the emulator's work out. The driver binds the loopback sockets itself, so the daemon's and the
// signalling server's addresses are known at once; forks it when told (`launch`) and hands them
// over once the child has loaded (with the connections it held meanwhile).
// Owns the fork, the handing over, the requests and the child's end (closed with the driver, or
// gone with it); not the emulator (src/sim/emulator.ts) nor when to launch it (driver.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../logging/logger.ts';
import { type EmulatorChildOptions, type FromEmulatorChild, fromEmulatorChild, type ToEmulatorChild } from '../sim/emulator-child-messages.ts';
import { listenOn } from '../sim/server-listen.ts';

const log = createLogger('sim:process');

/** The emulator's address: loopback, like the Lite daemon (the driver is its only client). */
const LOOPBACK = '127.0.0.1';
/**
 * How long the child gets to close (its sockets' close grace is 500 ms, the media producer's
 * WebRTC teardown a few hundred more) before it is killed.
 */
export const EMULATOR_CLOSE_GRACE_MS = 3_000;

export interface EmulatorProcess {
  readonly host: string;
  /** `http://127.0.0.1:port`. */
  readonly url: string;
  /** `ws://127.0.0.1:port` of the WebRTC signalling server; null without media. */
  readonly signallingUrl: string | null;
  /**
   * Resolves once the emulator serves; rejects with the child's reason when it could not start. A
   * connection to the daemon made before waits for it (held here, then handed over).
   */
  readonly serving: Promise<void>;
  /** Forks the emulator's process (once; the driver does it as its daemon link starts). */
  launch(): void;
  /** Brings up the deferred media producer once the emulator serves; rejects when its WebRTC stacks cannot load. */
  startMediaProducer(): Promise<void>;
  /** Closes the emulator and waits for its process to end (killed after EMULATOR_CLOSE_GRACE_MS). */
  close(): Promise<void>;
}

/** The child's entry: the TypeScript module in a clone, its bundled chunk beside dist/cli.js. */
function childEntry(): string {
  const source = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(source ? '../sim/emulator-child.ts' : './emulator-child.js', import.meta.url));
}

/**
 * A loopback socket bound for the child. A connection this process accepts on it before the
 * handing over (the daemon link's sockets start at once) is held unread for the child, into
 * `held`; without `held` it is dropped (nothing connects to the signalling server that early).
 */
async function bindLoopback(held?: Socket[]): Promise<{ readonly server: NetServer; readonly port: number }> {
  const server = createServer({ pauseOnConnect: true }, (early) => (held ? held.push(early) : early.destroy()));
  return { server, port: await listenOn(server, { port: 0, host: LOOPBACK }) };
}

/** Hands a listening socket to the child with `message`, then closes this process's copy. */
function handOver(child: ChildProcess, message: ToEmulatorChild, server: NetServer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.send(message, server, (error) => {
      server.close();
      if (error) reject(error);
      else resolve();
    });
  });
}

/** The next reply of one of `types` (or the child's end, as a rejection). */
function nextReply(child: ChildProcess, types: ReadonlyArray<FromEmulatorChild['type']>): Promise<FromEmulatorChild> {
  return new Promise<FromEmulatorChild>((resolve, reject) => {
    const onMessage = (raw: unknown): void => {
      const message = fromEmulatorChild(raw);
      if (!message || !types.includes(message.type)) return;
      done();
      resolve(message);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done();
      reject(new Error(`the emulator process ended (${signal ?? `exit code ${code}`})`));
    };
    const done = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

function request(child: ChildProcess, message: ToEmulatorChild): void {
  if (child.connected) child.send(message);
}

/** Once the child has loaded: the signalling socket, then the daemon's with `start`; resolves once it serves. */
async function handOverAndStart(child: ChildProcess, options: EmulatorChildOptions, sockets: BoundSockets): Promise<void> {
  const { daemon, signalling, held } = sockets;
  try {
    await nextReply(child, ['loaded']);
    if (signalling) await handOver(child, { type: 'signalling-socket' }, signalling);
    const replied = nextReply(child, ['started', 'start-failed']);
    await handOver(child, { type: 'start', options }, daemon);
    const reply = await replied;
    if (reply.type === 'start-failed') throw new Error(`the --sim emulator did not start: ${reply.message}`);
    // Sent, each is closed here (the child has it); what the child cannot serve it drops.
    for (const socket of held.splice(0)) child.send({ type: 'connection' } satisfies ToEmulatorChild, socket);
  } finally {
    releaseSockets(sockets);
  }
}

/** This process's copies of the sockets closed, and what it held and did not hand over dropped. */
function releaseSockets({ daemon, signalling, held }: BoundSockets): void {
  daemon.close();
  signalling?.close();
  for (const socket of held.splice(0)) socket.destroy();
}

interface BoundSockets {
  readonly daemon: NetServer;
  readonly signalling: NetServer | undefined;
  /** Connections accepted on the daemon's socket before the child served it. */
  readonly held: Socket[];
}

/** Binds the emulator's sockets at once (its addresses are known from here); `launch` forks its process. */
export async function prepareEmulatorProcess(options: EmulatorChildOptions): Promise<EmulatorProcess> {
  const held: Socket[] = [];
  const daemon = await bindLoopback(held);
  const signalling = options.withMedia ? await bindLoopback() : undefined;
  const url = `http://${LOOPBACK}:${daemon.port}`;
  const signallingUrl = signalling ? `ws://${LOOPBACK}:${signalling.port}` : null;
  let child: ChildProcess | undefined;
  let closing = false;
  const { promise: serving, resolve: served, reject: failed } = Promise.withResolvers<void>();
  serving.catch((error: unknown) => {
    // A child that ended is logged once, by its exit handler.
    if (!closing && child?.exitCode === null && child.signalCode === null) log.error('the --sim emulator did not start', { error: error as Error, fix: 'restart the driver' });
  });
  const sockets = { daemon: daemon.server, signalling: signalling?.server, held };
  return {
    host: LOOPBACK,
    url,
    signallingUrl,
    serving,
    launch() {
      if (child || closing) return;
      child = forkEmulator(() => closing);
      handOverAndStart(child, options, sockets).then(served, failed);
    },
    async startMediaProducer() {
      await serving;
      const running = child as ChildProcess;
      const replied = nextReply(running, ['media-producer-started', 'media-producer-failed']);
      request(running, { type: 'start-media-producer' });
      const reply = await replied;
      if (reply.type === 'media-producer-failed') throw new Error(reply.message);
    },
    async close() {
      closing = true;
      if (!child) {
        releaseSockets(sockets);
        failed(new Error('the --sim emulator was closed before it started'));
        return;
      }
      await closeChild(child);
    },
  };
}

/** Forks the emulator's process; its unexpected end is logged once with the fix. */
function forkEmulator(closing: () => boolean): ChildProcess {
  // No inherited flags (a profiler's or a test's --import): the child is the emulator alone.
  const child = fork(childEntry(), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
  child.on('error', (error) => log.error('the --sim emulator process failed', { error, fix: 'restart the driver' }));
  child.once('exit', (code, signal) => {
    if (!closing()) log.error('the --sim emulator process ended; the driver now finds its daemon unreachable', { code, signal, fix: 'restart the driver (the lines above say why the emulator ended)' });
  });
  return child;
}

/** Asks the child to close and waits for its end (killed after EMULATOR_CLOSE_GRACE_MS). */
async function closeChild(child: ChildProcess): Promise<void> {
  const ended = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  request(child, { type: 'close' });
  const timer = setTimeout(() => child.kill('SIGKILL'), EMULATOR_CLOSE_GRACE_MS);
  await ended;
  clearTimeout(timer);
}
