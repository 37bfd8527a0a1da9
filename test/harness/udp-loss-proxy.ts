// A UDP relay on 127.0.0.1 between a WebRTC consumer and a producer that can drop chosen RTP
// packets, to make packet loss (and so PLIs) happen on purpose in loopback tests. The consumer is
// given the proxy's port as the producer's only candidate; the producer learns the proxy as a
// peer-reflexive address from the checks it forwards. SRTP leaves the RTP header in clear
// (RFC 3711 §3.1), so packets can be told apart by payload type without decrypting anything;
// STUN, DTLS and SCTP always pass (RFC 7983 demultiplexing by first byte). Test code only.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

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
      if (this.#drops(message)) {
        this.#dropped++;
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

  #drops(message: Buffer): boolean {
    if (this.#rules.length === 0 || message.length < 12) return false;
    const first = message[0] as number;
    const second = message[1] as number;
    // RTP/RTCP start at 128..191; RTCP packet types 192..223 sit in the second byte.
    if (first < 128 || first > 191 || (second >= 192 && second <= 223)) return false;
    const now = performance.now();
    this.#rules = this.#rules.filter((rule) => rule.untilMs > now);
    return this.#rules.some((rule) => rule.payloadType === (second & 0x7f));
  }
}
