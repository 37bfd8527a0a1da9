// A stand-in for the robot's webrtcsink producer in loopback tests (ecosystem.md §5.4: @roamhq/wrtc
// can be a test peer, not the robot path): registered in-process with the emulator's signalling
// server under meta {name: "reachymini"}, it OFFERS per consumer session, like webrtcsink
// (reachy-daemon-api.md §9.2, h264-webrtc.md §2): max-bundle, VP8 video (the moving test pattern),
// Opus audio sendrecv (a tone of known amplitude) and a `data` DataChannel. It records the audio it
// receives and reports PLIs, NACKs, retransmissions and our receiver reports from its stats;
// optionally a UdpLossProxy loses video on purpose. wrtc cannot send H.264 (§5.4); the H.264 path
// is tested offline. Test code only.
import wrtc from '@roamhq/wrtc';
import type { IcePayload } from '../../src/media/signalling/protocol.ts';
import type { ProducerRegistration, ProducerSession, SignallingServer } from '../../src/sim/signalling-server.ts';
import { patternI420 } from './test-pattern.ts';
import { UdpLossProxy } from './udp-loss-proxy.ts';

// ---- the parts of wrtc used here (its typings refer to DOM types this project does not load) ----

interface WrtcIceCandidate {
  readonly candidate: string;
  readonly sdpMLineIndex: number | null;
}
interface WrtcTrack {
  readonly kind: string;
  stop(): void;
}
interface WrtcStatsReport {
  forEach(callback: (report: Record<string, unknown>) => void): void;
}
interface WrtcPeerConnection {
  // No `localDescription` (src/sim/media/wrtc-api.ts says why: reading it crashed the process).
  readonly connectionState: string;
  onicecandidate: ((event: { readonly candidate: WrtcIceCandidate | null }) => void) | null;
  ontrack: ((event: { readonly track: WrtcTrack }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  addTransceiver(track: WrtcTrack, init: { direction: string }): unknown;
  createDataChannel(label: string): { close(): void; readyState: string; onopen: (() => void) | null };
  createOffer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(description: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(description: { type: string; sdp: string }): Promise<void>;
  addIceCandidate(candidate: { candidate: string; sdpMLineIndex: number }): Promise<void>;
  getStats(): Promise<WrtcStatsReport>;
  close(): void;
}
interface WrtcAudioData {
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly channelCount: number;
  readonly numberOfFrames: number;
}
interface WrtcApi {
  RTCPeerConnection: new (config: { iceServers: never[]; bundlePolicy: string }) => WrtcPeerConnection;
  nonstandard: {
    RTCVideoSource: new () => { createTrack(): WrtcTrack; onFrame(frame: { width: number; height: number; data: Uint8Array }): void };
    RTCAudioSource: new () => {
      createTrack(): WrtcTrack;
      onData(data: { samples: Int16Array; sampleRate: number; bitsPerSample: number; channelCount: number; numberOfFrames: number }): void;
    };
    RTCAudioSink: new (track: WrtcTrack) => { stop(): void; ondata: ((data: WrtcAudioData) => void) | null };
  };
}
const api = wrtc as unknown as WrtcApi;

/** The sources' rate: wrtc takes 10 ms chunks of 48 kHz, Opus's native rate. */
const SOURCE_RATE_HZ = 48_000;
const CHUNK_MS = 10;
const CHUNK_SAMPLES = (SOURCE_RATE_HZ * CHUNK_MS) / 1000;
/** Audio kept per session from what the consumer sends (first channel). */
const RECORD_MAX_SECONDS = 20;

export interface WrtcTestProducerOptions {
  readonly server: SignallingServer;
  readonly name?: string;
  readonly width?: number;
  readonly height?: number;
  readonly fps?: number;
  readonly toneHz?: number;
  /** Peak of the tone, 0..1 of full scale. */
  readonly toneAmplitude?: number;
  /** Route every session's media through a UdpLossProxy. */
  readonly lossProxy?: boolean;
  /** With lossProxy: drop all video RTP until this long after the session connected (join mid-GOP). */
  readonly withholdVideoMs?: number;
}

/** What the consumer sent us, first channel only. */
export class AudioRecording {
  sampleRate = SOURCE_RATE_HZ;
  #chunks: Int16Array[] = [];
  #length = 0;

  add(data: WrtcAudioData): void {
    this.sampleRate = data.sampleRate;
    const mono = new Int16Array(data.numberOfFrames);
    for (let i = 0; i < data.numberOfFrames; i++) mono[i] = data.samples[i * data.channelCount] as number;
    this.#chunks.push(mono);
    this.#length += mono.length;
    while (this.#length > RECORD_MAX_SECONDS * this.sampleRate && this.#chunks.length > 1) this.#length -= (this.#chunks.shift() as Int16Array).length;
  }

  /** Everything recorded, as float32 in −1..1. */
  samples(): Float32Array {
    const out = new Float32Array(this.#length);
    let offset = 0;
    for (const chunk of this.#chunks) {
      for (let i = 0; i < chunk.length; i++) out[offset + i] = (chunk[i] as number) / 32_768;
      offset += chunk.length;
    }
    return out;
  }
}

export interface TestProducerSession {
  readonly sessionId: string;
  readonly videoPayloadType: number;
  /** The offer's RTX payload type for the video one (`apt=`), -1 if none. */
  readonly rtxPayloadType: number;
  readonly audioPayloadType: number;
  readonly proxy: UdpLossProxy | null;
  readonly received: AudioRecording;
  /** Resolves when the producer's PeerConnection is connected. */
  readonly connected: Promise<void>;
  readonly closed: boolean;
  /** PLIs the video sender received (outbound-rtp stats). */
  pliCount(): Promise<number>;
  /**
   * The video sender's counters: PLIs and NACKs received, packets retransmitted (outbound-rtp), and
   * from the consumer's receiver reports (remote-inbound-rtp) how many gave an RTT and the loss
   * they report.
   */
  videoSenderStats(): Promise<{
    readonly pliCount: number;
    readonly nackCount: number;
    readonly retransmittedPacketsSent: number;
    readonly receiverReports: number;
    readonly reportedLost: number;
  }>;
  /** Ends this session from the producer's side (endSession to the consumer). */
  end(): void;
  /** Closes only the PeerConnection, no endSession: like a producer whose media pipeline died. */
  closeMedia(): void;
}

export interface WrtcTestProducer {
  readonly registration: ProducerRegistration;
  readonly sessions: readonly TestProducerSession[];
  /** Sessions whose PeerConnection is still open. */
  openSessions(): number;
  close(): Promise<void>;
}

/** Video payload type of the offer's first VP8 rtpmap. */
function vp8PayloadType(sdp: string): number {
  const match = /a=rtpmap:(\d+) VP8\/90000/.exec(sdp);
  return match ? Number(match[1]) : -1;
}

/** The RTX payload type paired with `payloadType` (`a=fmtp:<rtx> apt=<payloadType>`). */
function rtxPayloadTypeFor(sdp: string, payloadType: number): number {
  const match = new RegExp(`a=fmtp:(\\d+) apt=${payloadType}\\r?$`, 'm').exec(sdp);
  return match ? Number(match[1]) : -1;
}

function opusPayloadType(sdp: string): number {
  const match = /a=rtpmap:(\d+) opus\/48000/i.exec(sdp);
  return match ? Number(match[1]) : -1;
}

export function startWrtcTestProducer(options: WrtcTestProducerOptions): WrtcTestProducer {
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const fps = options.fps ?? 30;
  const toneHz = options.toneHz ?? 440;
  const amplitude = options.toneAmplitude ?? 0.25;
  const videoSource = new api.nonstandard.RTCVideoSource();
  const audioSource = new api.nonstandard.RTCAudioSource();
  const sessions: Array<TestProducerSession & { close(): void }> = [];

  let frameIndex = 0;
  const videoTimer = setInterval(() => {
    videoSource.onFrame({ width, height, data: patternI420(width, height, frameIndex++) });
  }, 1000 / fps);
  // Audio chunks on the wall clock (a setInterval alone drifts), so the tone is continuous.
  const audioStart = performance.now();
  let chunksSent = 0;
  const audioTimer = setInterval(() => {
    const due = Math.floor((performance.now() - audioStart) / CHUNK_MS);
    for (; chunksSent < due; chunksSent++) {
      const samples = new Int16Array(CHUNK_SAMPLES);
      for (let i = 0; i < CHUNK_SAMPLES; i++) {
        samples[i] = Math.round(amplitude * 32_767 * Math.sin((2 * Math.PI * toneHz * (chunksSent * CHUNK_SAMPLES + i)) / SOURCE_RATE_HZ));
      }
      audioSource.onData({ samples, sampleRate: SOURCE_RATE_HZ, bitsPerSample: 16, channelCount: 1, numberOfFrames: CHUNK_SAMPLES });
    }
  }, CHUNK_MS);

  // Each consumer session: VP8 video from `nonstandard.RTCVideoSource`, Opus audio sendrecv from
  // `nonstandard.RTCAudioSource`, and a `data` DataChannel created before the offer (libwebrtc's
  // default offer: VP8 first, with RTX and NACK feedback); the audio the consumer sends is recorded
  // through `RTCAudioSink`.
  const openSession = (session: ProducerSession) => {
    const pc = new api.RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    const tracks = [videoSource.createTrack(), audioSource.createTrack()];
    pc.addTransceiver(tracks[0] as WrtcTrack, { direction: 'sendonly' });
    pc.addTransceiver(tracks[1] as WrtcTrack, { direction: 'sendrecv' });
    const channel = pc.createDataChannel('data');
    const received = new AudioRecording();
    let sink: { stop(): void } | null = null;
    let proxy: UdpLossProxy | null = null;
    let closed = false;
    let videoPayloadType = -1;
    let rtxPayloadType = -1;
    let audioPayloadType = -1;
    // Offer, answer and candidates are applied in order.
    let ops: Promise<unknown> = Promise.resolve();
    const serial = (step: () => Promise<unknown>): void => {
      ops = ops.then(step).catch(() => undefined);
    };
    let markConnected!: () => void;
    const connected = new Promise<void>((resolve) => {
      markConnected = resolve;
    });

    pc.ontrack = (event) => {
      if (event.track.kind !== 'audio' || sink !== null) return;
      const audioSink = new api.nonstandard.RTCAudioSink(event.track);
      audioSink.ondata = (data) => received.add(data);
      sink = audioSink;
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState !== 'connected') return;
      markConnected();
      if (proxy !== null && options.withholdVideoMs !== undefined) proxy.endDropsAfter(options.withholdVideoMs);
    };
    pc.onicecandidate = (event) => {
      const candidate = event.candidate;
      if (candidate === null || closed) return;
      const index = candidate.sdpMLineIndex ?? 0;
      if (!options.lossProxy) {
        session.sendCandidate(candidate.candidate, index);
        return;
      }
      // Only the loopback UDP host candidate, pointed at a proxy in front of it.
      const parts = candidate.candidate.split(' ');
      if (proxy !== null || parts[2]?.toLowerCase() !== 'udp' || parts[4] !== '127.0.0.1') return;
      const port = Number(parts[5]);
      serial(async () => {
        if (proxy !== null || closed) return;
        proxy = await UdpLossProxy.start(port);
        if (options.withholdVideoMs !== undefined) proxy.dropRtp(videoPayloadType, Number.POSITIVE_INFINITY);
        parts[5] = String(proxy.port);
        session.sendCandidate(parts.join(' '), index);
      });
    };
    serial(async () => {
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const sdp = offer.sdp;
      videoPayloadType = vp8PayloadType(sdp);
      rtxPayloadType = rtxPayloadTypeFor(sdp, videoPayloadType);
      audioPayloadType = opusPayloadType(sdp);
      session.sendOffer(sdp.replace(/^a=candidate:.*\r?\n/gm, ''));
    });

    const close = () => {
      if (closed) return;
      closed = true;
      sink?.stop();
      channel.close();
      for (const track of tracks) track.stop();
      pc.close();
      proxy?.close();
    };
    const videoSenderStats = async () => {
      const totals = { pliCount: 0, nackCount: 0, retransmittedPacketsSent: 0, receiverReports: 0, reportedLost: 0 };
      if (closed) return totals;
      (await pc.getStats()).forEach((report) => {
        if (report['type'] === 'remote-inbound-rtp' && report['kind'] === 'video') {
          totals.receiverReports += Number(report['roundTripTimeMeasurements'] ?? 0);
          totals.reportedLost += Number(report['packetsLost'] ?? 0);
        }
        if (report['type'] !== 'outbound-rtp' || report['kind'] !== 'video') return;
        totals.pliCount += Number(report['pliCount'] ?? 0);
        totals.nackCount += Number(report['nackCount'] ?? 0);
        totals.retransmittedPacketsSent += Number(report['retransmittedPacketsSent'] ?? 0);
      });
      return totals;
    };
    const entry: TestProducerSession & { close(): void } = {
      sessionId: session.sessionId,
      get videoPayloadType() {
        return videoPayloadType;
      },
      get rtxPayloadType() {
        return rtxPayloadType;
      },
      get audioPayloadType() {
        return audioPayloadType;
      },
      get proxy() {
        return proxy;
      },
      received,
      connected,
      get closed() {
        return closed;
      },
      pliCount: async () => (await videoSenderStats()).pliCount,
      videoSenderStats,
      end: () => {
        session.end();
        close();
      },
      closeMedia: close,
      close,
    };
    sessions.push(entry);
    return {
      onAnswer: (sdp: string) => {
        // In proxy mode the consumer must reach us only through the proxy: no candidates of its own.
        const answer = options.lossProxy ? sdp.replace(/^a=candidate:.*\r?\n/gm, '') : sdp;
        serial(() => pc.setRemoteDescription({ type: 'answer', sdp: answer }));
      },
      onRemoteCandidate: (ice: IcePayload) => {
        if (options.lossProxy || ice.candidate.length === 0) return;
        serial(() => pc.addIceCandidate({ candidate: ice.candidate, sdpMLineIndex: ice.sdpMLineIndex }));
      },
      onEnded: close,
    };
  };

  const registration = options.server.registerProducer({ meta: { name: options.name ?? 'reachymini' }, onStartSession: openSession });
  return {
    registration,
    sessions,
    openSessions: () => sessions.filter((s) => !s.closed).length,
    close: async () => {
      clearInterval(videoTimer);
      clearInterval(audioTimer);
      for (const session of sessions) session.close();
      registration.unregister();
      // wrtc's threads wind down asynchronously after close().
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}
