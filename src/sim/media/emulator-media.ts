// The emulator's media server — what the daemon's GstMediaServer + webrtcsink are on the robot
// (reachy-daemon-api.md §9.1–9.2): the gst-webrtc-signalling server and the `reachymini` producer,
// with the emulator's lifecycle mapped onto them: media release/acquire detach/attach the producer
// (sessions end, the signalling server stays), daemon stop stops the server (sockets drop, sessions
// end) and detaches, start brings both back on the same port, close frees everything. The producer
// (the native WebRTC stacks and encoders) may come up after the signalling server (`deferProducer`,
// then `startProducer()`); this module and the producer's are imported lazily, so an emulator
// without media never loads them.
import type { Server as NetServer } from 'node:net';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { createLogger } from '../../logging/logger.ts';
import { type SignallingServer, startSignallingServer } from '../signalling-server.ts';
import type { SimMediaMode, SimMediaProducer, SimMediaProducerOptions } from './sim-media-producer.ts';

export interface EmulatorMediaOptions {
  readonly host: string;
  /** Signalling port; 0 = ephemeral (kept across stop/start). The robot uses 8443. */
  readonly port: number;
  /** A listening socket handed over by the driver, served by the first start instead of binding `port`. */
  readonly socket?: NetServer;
  readonly mode: SimMediaMode;
  /** Start detached (media released). */
  readonly released: boolean;
  /** The head pose and camera name for the `world` scene (the emulator's default scene when given). */
  readonly camera?: SimMediaProducerOptions['camera'];
  /** Only the signalling server now; the producer when `startProducer()` is called. */
  readonly deferProducer?: boolean;
}

export class EmulatorMedia {
  readonly signalling: SignallingServer;
  readonly #options: EmulatorMediaOptions;
  readonly #log = createLogger('sim:media');
  #producer: SimMediaProducer | null = null;
  #producerStarting: Promise<void> | null = null;
  #released: boolean;
  #closed = false;

  private constructor(signalling: SignallingServer, options: EmulatorMediaOptions) {
    this.signalling = signalling;
    this.#options = options;
    this.#released = options.released;
  }

  static async start(options: EmulatorMediaOptions): Promise<EmulatorMedia> {
    const signalling = await startSignallingServer({ host: options.host, port: options.port, ...(options.socket ? { socket: options.socket } : {}) });
    const media = new EmulatorMedia(signalling, options);
    if (!options.deferProducer) {
      try {
        await media.startProducer();
      } catch (error) {
        await signalling.close();
        throw error;
      }
    }
    media.#log.debug('emulator media server up', { url: signalling.url, mode: options.mode, producer: media.#producer !== null });
    return media;
  }

  get url(): string {
    return this.signalling.url;
  }

  /** The `reachymini` producer; null until `startProducer()` has finished. */
  get producer(): SimMediaProducer | null {
    return this.#producer;
  }

  /** Loads and attaches the producer (unless media is released or the daemon stopped); once. */
  startProducer(): Promise<void> {
    this.#producerStarting ??= this.#createProducer();
    return this.#producerStarting;
  }

  async #createProducer(): Promise<void> {
    const { createSimMediaProducer } = await import('./sim-media-producer.ts');
    // Loading blocks the event loop: what arrived meanwhile runs before the engine's own load.
    await yieldToEventLoop();
    if (this.#closed) return;
    const { mode, camera } = this.#options;
    const producer = await createSimMediaProducer({ mode, ...(camera ? { camera, scene: 'world' as const } : {}) });
    if (this.#closed) return void (await producer.close());
    this.#producer = producer;
    this.#apply();
    this.#log.debug('emulator media producer up', { mode });
  }

  /** `/api/media/release` (true) and `/acquire` (false). */
  setReleased(released: boolean): void {
    this.#released = released;
    this.#apply();
  }

  /** The daemon died: signalling sockets drop (their sessions end), the producer leaves. */
  async stop(): Promise<void> {
    await this.signalling.stop();
    this.#producer?.detach();
  }

  /** The daemon is back: same port, producer attached unless media is released. */
  async start(): Promise<void> {
    await this.signalling.start();
    this.#apply();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#producerStarting?.catch(() => undefined);
    await this.#producer?.close();
    await this.signalling.close();
  }

  #apply(): void {
    const producer = this.#producer;
    if (!producer) return;
    if (this.signalling.running && !this.#released) producer.attach(this.signalling);
    else producer.detach();
  }
}
