// The --sim daemon emulator's own process, forked by the driver (src/adapters/emulator-process.ts).
// Off the driver's event loop the emulator keeps the daemon's time — its 50 Hz pushes, moves and
// media producer — while the driver is busy, as a robot's daemon in its own process does, and the
// driver's CPU and memory figures are its own. Owns this process's side of the messages
// (emulator-child-messages.ts): load, serve the handed-over sockets and connections, start the
// deferred producer, close on request or when the driver is gone. Not the emulator itself (emulator.ts).
import { enableCompileCache } from 'node:module';
import type { Server as NetServer, Socket } from 'node:net';
import type { Emulator } from './emulator.ts';
import { type EmulatorChildOptions, type FromEmulatorChild, toEmulatorChild } from './emulator-child-messages.ts';

// The emulator's modules are imported below, after this: later starts reuse their compiled code.
enableCompileCache();
const { setLogLevel } = await import('../logging/logger.ts');
const { startEmulator } = await import('./emulator.ts');

let signallingSocket: NetServer | undefined;
let emulator: Emulator | undefined;
let closing: Promise<void> | undefined;

function reply(message: FromEmulatorChild): void {
  if (process.connected) process.send?.(message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Starts the emulator on the handed-over sockets. Called in the turn the daemon's socket arrives:
 * its server takes the socket before the loop polls again, so no connection is accepted unserved.
 */
function start(options: EmulatorChildOptions, daemon: NetServer): void {
  setLogLevel(options.logLevel);
  const sockets = { daemon, ...(signallingSocket ? { signalling: signallingSocket } : {}) };
  startEmulator({ timeScale: options.timeScale, model: options.model, withMedia: options.withMedia, deferMediaProducer: options.deferMediaProducer, sockets }).then(
    (started) => {
      emulator = started;
      reply({ type: 'started' });
    },
    (error: unknown) => reply({ type: 'start-failed', message: messageOf(error) }),
  );
}

/** Closes the emulator once (sockets dropped, timers cleared), then leaves (the driver waits for the exit). */
function closeAndExit(): Promise<void> {
  closing ??= (async () => {
    await emulator?.close().catch(() => undefined);
    process.exit(0);
  })();
  return closing;
}

process.on('message', (raw: unknown, handle: unknown) => {
  const message = toEmulatorChild(raw);
  if (!message) return;
  if (message.type === 'signalling-socket') signallingSocket = handle as NetServer;
  else if (message.type === 'start') start(message.options, handle as NetServer);
  else if (message.type === 'connection') {
    const socket = handle as Socket;
    if (!emulator?.acceptConnection(socket)) socket.destroy();
  }
  else if (message.type === 'start-media-producer')
    (emulator?.startMediaProducer() ?? Promise.reject(new Error('the emulator has not started'))).then(
      () => reply({ type: 'media-producer-started' }),
      (error: unknown) => reply({ type: 'media-producer-failed', message: messageOf(error) }),
    );
  else void closeAndExit();
});
// The driver gone (stopped, crashed or killed): nothing would ever close this process.
process.on('disconnect', () => void closeAndExit());
// Ctrl-C and a closed terminal reach the whole process group: the driver stops this process in its
// own order (after its link to the daemon), through the channel.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.on('SIGTERM', () => void closeAndExit());
reply({ type: 'loaded' });
