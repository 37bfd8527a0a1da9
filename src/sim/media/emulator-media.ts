// The emulator's media server — what the daemon's GstMediaServer + webrtcsink are on the robot
// (reachy-daemon-api.md §9.1–9.2): the gst-webrtc-signalling server and the `reachymini` producer,
// with the emulator's lifecycle mapped onto them: media release/acquire detach/attach the producer
// (sessions end, the signalling server stays), daemon stop stops the server (sockets drop, sessions
// end) and detaches, start brings both back on the same port, close frees everything. The emulator
// imports this module lazily, so an emulator without media never loads the native WebRTC stacks.
import { createLogger } from '../../logging/logger.ts';
import { type SignallingServer, startSignallingServer } from '../signalling-server.ts';
import { type SimMediaMode, type SimMediaProducer, type SimMediaProducerOptions, createSimMediaProducer } from './sim-media-producer.ts';

export interface EmulatorMediaOptions {
  readonly host: string;
  /** Signalling port; 0 = ephemeral (kept across stop/start). The robot uses 8443. */
  readonly port: number;
  readonly mode: SimMediaMode;
  /** Start detached (media released). */
  readonly released: boolean;
  /** The head pose and camera name for the `world` scene (the emulator's default scene when given). */
  readonly camera?: SimMediaProducerOptions['camera'];
}

export class EmulatorMedia {
  readonly producer: SimMediaProducer;
  readonly signalling: SignallingServer;
  readonly #log = createLogger('sim:media');
  #released: boolean;

  private constructor(signalling: SignallingServer, producer: SimMediaProducer, released: boolean) {
    this.signalling = signalling;
    this.producer = producer;
    this.#released = released;
  }

  static async start(options: EmulatorMediaOptions): Promise<EmulatorMedia> {
    const producer = createSimMediaProducer({ mode: options.mode, ...(options.camera ? { camera: options.camera, scene: 'world' as const } : {}) });
    let signalling: SignallingServer;
    try {
      signalling = await startSignallingServer({ host: options.host, port: options.port });
    } catch (error) {
      await producer.close();
      throw error;
    }
    const media = new EmulatorMedia(signalling, producer, options.released);
    media.#apply();
    media.#log.debug('emulator media server up', { url: signalling.url, mode: options.mode });
    return media;
  }

  get url(): string {
    return this.signalling.url;
  }

  /** `/api/media/release` (true) and `/acquire` (false). */
  setReleased(released: boolean): void {
    this.#released = released;
    this.#apply();
  }

  /** The daemon died: signalling sockets drop (their sessions end), the producer leaves. */
  async stop(): Promise<void> {
    await this.signalling.stop();
    this.producer.detach();
  }

  /** The daemon is back: same port, producer attached unless media is released. */
  async start(): Promise<void> {
    await this.signalling.start();
    this.#apply();
  }

  async close(): Promise<void> {
    await this.producer.close();
    await this.signalling.close();
  }

  #apply(): void {
    if (this.signalling.running && !this.#released) this.producer.attach(this.signalling);
    else this.producer.detach();
  }
}
