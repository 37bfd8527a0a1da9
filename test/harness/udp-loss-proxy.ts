// A UDP relay on 127.0.0.1 between a WebRTC consumer and a producer that can drop chosen RTP
// packets — for a while (`dropRtp`) or at random at a steady rate (`loseRtp`, seeded, so a run is
// repeatable) — to make packet loss (and so NACKs and PLIs) happen on purpose in loopback tests. The consumer is
// given the proxy's port as the producer's only candidate; the producer learns the proxy as a
// peer-reflexive address from the checks it forwards. SRTP leaves the RTP header in clear
// (RFC 3711 §3.1), so packets can be told apart by payload type without decrypting anything;
// STUN, DTLS and SCTP always pass (RFC 7983 demultiplexing by first byte). Test code only.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mulberry32 } from '../../src/sim/seeded-random.ts';

interface DropRule {
  /** RTP payload type to drop (RTCP is never dropped). */
  readonly payloadType: number;
  /** Drop until this `performance.now()` time. */
  untilMs: number;
}

export class UdpLossProxy {
  /** Faces the consumer: its port is the candidate the consumer is given. */
  readonly #front: Socket;
  /** Faces the producer. */
  readonly #back: Socket;
  readonly #targetPort: number;
  #consumer: RemoteInfo | null = null;
  #rules: DropRule[] = [];
  /** Random loss: payload type → probability of dropping each packet of it. */
  #lossRates = new Map<number, number>();
  #random: () => number = Math.random;
  #droppedByType = new Map<number, number>();
  #dropped = 0;
  #forwarded = 0;

  private constructor(front: Socket, back: Socket, targetPort: number) {
    this.#front = front;
    this.#back = back;
    this.#targetPort = targetPort;
    front.on('message', (message, remote) => {
      this.#consumer = remote;
      back.send(message, targetPort, '127.0.0.1');
    });
    back.on('message', (message) => {
      const consumer = this.#consumer;
      if (consumer === null) return;
      const dropped = this.#drops(message);
      if (dropped !== null) {
        this.#dropped++;
        this.#droppedByType.set(dropped, (this.#droppedByType.get(dropped) ?? 0) + 1);
        return;
      }
      this.#forwarded++;
      front.send(message, consumer.port, consumer.address);
    });
  }

  /** Relays to the producer's UDP port on 127.0.0.1. */
  static async start(targetPort: number): Promise<UdpLossProxy> {
    const bind = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = createSocket('udp4');
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve(socket);
        });
      });
    return new UdpLossProxy(await bind(), await bind(), targetPort);
  }

  get port(): number {
    return this.#front.address().port;
  }

  get targetPort(): number {
    return this.#targetPort;
  }

  /** Packets dropped / forwarded towards the consumer. */
  get dropped(): number {
    return this.#dropped;
  }

  get forwarded(): number {
    return this.#forwarded;
  }

  /** RTP packets of `payloadType` dropped so far. */
  droppedOf(payloadType: number): number {
    return this.#droppedByType.get(payloadType) ?? 0;
  }

  /**
   * From now on drops each RTP packet of `payloadTypes` from the producer with probability `rate`
   * (0 stops), drawing from a generator seeded with `seed` (mulberry32).
   */
  loseRtp(payloadTypes: readonly number[], rate: number, seed = 1): void {
    for (const payloadType of payloadTypes) {
      if (rate > 0) this.#lossRates.set(payloadType, rate);
      else this.#lossRates.delete(payloadType);
    }
    this.#random = mulberry32(seed);
  }

  /** Drops RTP of `payloadType` from the producer for the next `durationMs` (Infinity: until `endDropsAfter`). */
  dropRtp(payloadType: number, durationMs: number): void {
    this.#rules.push({ payloadType, untilMs: performance.now() + durationMs });
  }

  /** Every drop in force ends `ms` from now. */
  endDropsAfter(ms: number): void {
    const until = performance.now() + ms;
    for (const rule of this.#rules) rule.untilMs = Math.min(rule.untilMs, until);
  }

  close(): void {
    this.#front.close();
    this.#back.close();
  }

  /** The payload type of an RTP packet to drop, or null to forward it. */
  #drops(message: Buffer): number | null {
    if ((this.#rules.length === 0 && this.#lossRates.size === 0) || message.length < 12) return null;
    const first = message[0] as number;
    const second = message[1] as number;
    // RTP/RTCP start at 128..191; RTCP packet types 192..223 sit in the second byte.
    if (first < 128 || first > 191 || (second >= 192 && second <= 223)) return null;
    const payloadType = second & 0x7f;
    const rate = this.#lossRates.get(payloadType);
    if (rate !== undefined && this.#random() < rate) return payloadType;
    const now = performance.now();
    this.#rules = this.#rules.filter((rule) => rule.untilMs > now);
    return this.#rules.some((rule) => rule.payloadType === payloadType) ? payloadType : null;
  }
}
