// Test-only raw WebRTC consumer of the emulator's producer: the SDK's signalling flow through
// src/adapters/signalling/signalling-client.ts, a node-datachannel PeerConnection that answers (with an
// a=ssrc for its own Opus, as webrtcbin and browsers put in their answers), video RTP fed to
// src/media/rtp's depacketizers (with the raw NAL order per RTP timestamp kept for H.264), Opus
// decoded with @evan/opus, a tone sent back, PLIs on demand. It exists to test the producer; it is
// not the driver's production consumer (src/adapters/media-link/) and shares nothing with it.
import { Decoder, Encoder } from '@evan/opus';
import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { createH264Depacketizer } from '../../src/media/rtp/h264-depacketizer.ts';
import { parseRtpPacket } from '../../src/media/rtp/rtp-packet.ts';
import type { VideoDepacketizer } from '../../src/media/rtp/video-depacketizer.ts';
import type { VideoFrame } from '../../src/media/rtp/video-frame.ts';
import { createVp8Depacketizer } from '../../src/media/rtp/vp8-depacketizer.ts';
import type { SessionEnded } from '../../src/media/signalling/errors.ts';
import { SignallingClient, type SessionInfo } from '../../src/adapters/signalling/signalling-client.ts';

export type RawVideoCodec = 'h264' | 'vp8';

export interface RawMediaConsumerOptions {
  readonly url: string;
  /** Send a PLI whenever the depacketizer asks for one (awaiting a keyframe, loss), as a real consumer does. Default false. */
  readonly autoPli?: boolean;
}

export interface ReceivedVideoPacket {
  readonly timestamp: number;
  readonly marker: boolean;
  /** H.264: the NAL type carried (FU-A: the fragment's type, only on its start fragment; else -1). VP8: -1. */
  readonly nalType: number;
}

export interface RawMediaConsumer {
  readonly codec: RawVideoCodec;
  readonly info: SessionInfo;
  readonly offerSdp: string;
  /** Complete frames out of the depacketizer, in order. */
  readonly frames: VideoFrame[];
  /** Every video RTP packet (not RTCP) as received. */
  readonly videoPackets: ReceivedVideoPacket[];
  /** Depacketizer trouble: frames dropped (by reason) and packets lost. */
  readonly trouble: { readonly dropped: string[]; lost: number };
  readonly audio: { packets: number; readonly pcm: Int16Array[] };
  readonly dataChannelOpen: Promise<void>;
  readonly ended: Promise<SessionEnded>;
  sendPli(): boolean;
  /** Sends a 48 kHz stereo Opus tone (20 ms packets) until stopTone(). */
  startTone(frequencyHz: number, amplitude: number): void;
  stopTone(): void;
  close(): Promise<void>;
}

const CONSUMER_AUDIO_SSRC = 0x0c0f_fee1;
const CONSUMER_VIDEO_SSRC = 0x0c0f_fee2;
const OPUS_FRAME = 960;

interface OfferFacts {
  readonly codec: RawVideoCodec;
  readonly videoPayloadType: number;
  readonly audioPayloadType: number;
  readonly mids: (string | null)[];
  readonly audioMid: string;
}

function offerFacts(sdp: string): OfferFacts {
  const sections = sdp.split(/\r?\n(?=m=)/);
  const mids: (string | null)[] = [];
  let codec: RawVideoCodec | null = null;
  let videoPayloadType = -1;
  let audioPayloadType = -1;
  let audioMid = '';
  for (const section of sections.slice(1)) {
    const mid = /a=mid:(\S+)/.exec(section)?.[1] ?? null;
    mids.push(mid);
    if (section.startsWith('m=video')) {
      const h264 = /a=rtpmap:(\d+) H264\/90000/.exec(section);
      const vp8 = /a=rtpmap:(\d+) VP8\/90000/.exec(section);
      if (h264) [codec, videoPayloadType] = ['h264', Number(h264[1])];
      else if (vp8) [codec, videoPayloadType] = ['vp8', Number(vp8[1])];
    } else if (section.startsWith('m=audio')) {
      audioPayloadType = Number(/a=rtpmap:(\d+) opus\/48000/i.exec(section)?.[1] ?? -1);
      audioMid = mid ?? '';
    }
  }
  if (!codec) throw new Error('the offer has no H264 or VP8 video');
  return { codec, videoPayloadType, audioPayloadType, mids, audioMid };
}

function isRtcp(packet: Buffer): boolean {
  const type = packet[1] ?? 0;
  return type >= 192 && type <= 223;
}

function pli(senderSsrc: number, mediaSsrc: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[0] = 0x81;
  packet[1] = 206;
  packet.writeUInt16BE(2, 2);
  packet.writeUInt32BE(senderSsrc >>> 0, 4);
  packet.writeUInt32BE(mediaSsrc >>> 0, 8);
  return packet;
}

function h264NalType(payload: Uint8Array): number {
  const type = (payload[0] ?? 0) & 0x1f;
  if (type === 28) return ((payload[1] ?? 0) & 0x80) !== 0 ? (payload[1] ?? 0) & 0x1f : -1;
  return type;
}

export async function openRawMediaConsumer(options: RawMediaConsumerOptions): Promise<RawMediaConsumer> {
  let pc: PeerConnection | null = null;
  let facts: OfferFacts | null = null;
  let offer = '';
  let videoTrack: Track | null = null;
  let audioTrack: Track | null = null;
  let depacketizer: VideoDepacketizer | null = null;
  let videoSsrc = 0;
  let toneTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const frames: VideoFrame[] = [];
  const retained: unknown[] = [];
  const trouble = { dropped: [] as string[], lost: 0 };
  const videoPackets: ReceivedVideoPacket[] = [];
  const audio = { packets: 0, pcm: [] as Int16Array[] };
  const decoder = new Decoder({ channels: 2, sample_rate: 48_000 });
  let resolveChannel!: () => void;
  let rejectChannel!: (error: Error) => void;
  const dataChannelOpen = new Promise<void>((resolve, reject) => {
    resolveChannel = resolve;
    rejectChannel = reject;
  });
  // A connection that fails, or a session that ends, before its data channel opens says so at once
  // (a test awaiting the channel would otherwise wait for its own timeout); nobody awaiting it is no
  // unhandled rejection.
  dataChannelOpen.catch(() => undefined);

  const sendPli = (): boolean => {
    if (closed || !videoTrack || !videoTrack.isOpen() || videoSsrc === 0) return false;
    return videoTrack.sendMessageBinary(pli(CONSUMER_VIDEO_SSRC, videoSsrc));
  };

  const onVideo = (message: Buffer): void => {
    if (closed || isRtcp(message) || !depacketizer || !facts) return;
    const parsed = parseRtpPacket(message);
    if (!parsed.ok || parsed.packet.payloadType !== facts.videoPayloadType) return;
    videoSsrc = parsed.packet.ssrc;
    videoPackets.push({ timestamp: parsed.packet.timestamp, marker: parsed.packet.marker, nalType: facts.codec === 'h264' ? h264NalType(parsed.packet.payload) : -1 });
    for (const event of depacketizer.push(message, performance.now())) {
      if (event.type === 'frame') frames.push(event.frame);
      else if (event.type === 'frame-dropped') trouble.dropped.push(event.reason);
      else if (event.type === 'gap') trouble.lost += event.lost;
      else if (event.type === 'pli' && options.autoPli) sendPli();
    }
  };

  const onAudio = (message: Buffer): void => {
    if (closed || isRtcp(message) || !facts) return;
    const parsed = parseRtpPacket(message);
    if (!parsed.ok || parsed.packet.payloadType !== facts.audioPayloadType) return;
    audio.packets++;
    const bytes = decoder.decode(parsed.packet.payload);
    audio.pcm.push(new Int16Array(bytes.slice().buffer));
  };

  const answer = async (offerSdp: string): Promise<string> => {
    offer = offerSdp;
    facts = offerFacts(offerSdp);
    const known = facts;
    depacketizer = known.codec === 'h264' ? createH264Depacketizer({ payloadType: known.videoPayloadType }) : createVp8Depacketizer({ payloadType: known.videoPayloadType });
    const peer = new nodeDataChannel.PeerConnection('raw-consumer', { iceServers: [], disableAutoNegotiation: true });
    pc = peer;
    // ICE and connection states with their times since the answer began: a failure tells its story.
    const started = performance.now();
    const story: string[] = [];
    const note = (what: string) => story.push(`${Math.round(performance.now() - started)} ms ${what}`);
    peer.onIceStateChange((state) => note(`ice ${state}`));
    peer.onStateChange((state) => {
      note(`connection ${state}`);
      if (state === 'failed' || state === 'closed') rejectChannel(new Error(`the data channel never opened: the peer connection is ${state} (${story.join(', ')})`));
    });
    peer.onTrack((track) => {
      // node-datachannel closes a track or channel when any JS wrapper of it is garbage-collected:
      // keep every wrapper it hands out for the life of the connection.
      retained.push(track);
      if (track.type() === 'video') {
        videoTrack = track;
        track.onMessage(onVideo);
      } else if (track.type() === 'audio') track.onMessage(onAudio);
    });
    peer.onDataChannel((channel) => {
      retained.push(channel);
      if (channel.getLabel() !== 'data') return;
      if (channel.isOpen()) resolveChannel();
      channel.onOpen(() => resolveChannel());
    });
    peer.onLocalCandidate((candidate, mid) => {
      const index = Math.max(0, known.mids.indexOf(mid));
      client.sendCandidate(candidate.startsWith('a=') ? candidate.slice(2) : candidate, index);
    });
    const local = new Promise<string>((resolve) => peer.onLocalDescription((sdp) => resolve(sdp)));
    peer.setRemoteDescription(offerSdp, 'offer');
    // Our own send stream on the audio m-line, declared so the producer can route its RTP (a=ssrc).
    const ours = new nodeDataChannel.Audio(known.audioMid, 'SendRecv');
    ours.addOpusCodec(known.audioPayloadType);
    ours.addSSRC(CONSUMER_AUDIO_SSRC, 'raw-consumer', 'raw-consumer', 'raw-consumer-audio');
    audioTrack = peer.addTrack(ours);
    audioTrack.onMessage(onAudio);
    peer.setLocalDescription('answer');
    return local;
  };

  const client: SignallingClient = new SignallingClient({
    url: options.url,
    answer,
    onRemoteCandidate: (ice) => {
      if (closed || !pc || ice.candidate.length === 0 || !facts) return;
      pc.addRemoteCandidate(ice.candidate, facts.mids[ice.sdpMLineIndex] ?? facts.mids[0] ?? '0');
    },
  });
  // The producer ending the session first (its side of the connection failed) is the same story.
  void client.ended.then((end) => rejectChannel(new Error(`the data channel never opened: the session ended (${end.reason})`)));
  const info = await client.start();
  const known = facts as OfferFacts | null;
  if (!known) throw new Error('no offer was answered');

  const stopTone = (): void => {
    if (toneTimer) clearInterval(toneTimer);
    toneTimer = null;
  };

  return {
    codec: known.codec,
    info,
    offerSdp: offer,
    frames,
    videoPackets,
    trouble,
    audio,
    dataChannelOpen,
    ended: client.ended,
    sendPli,
    startTone: (frequencyHz, amplitude) => {
      stopTone();
      const encoder = new Encoder({ channels: 2, sample_rate: 48_000 });
      let sequence = 0;
      let sample = 0;
      toneTimer = setInterval(() => {
        const track = audioTrack;
        if (closed || !track || !track.isOpen()) return;
        const pcm = new Int16Array(OPUS_FRAME * 2);
        for (let i = 0; i < OPUS_FRAME; i++) {
          const value = Math.round(amplitude * 32_767 * Math.sin((2 * Math.PI * frequencyHz * (sample + i)) / 48_000));
          pcm[2 * i] = value;
          pcm[2 * i + 1] = value;
        }
        const payload = encoder.encode(pcm);
        const packet = Buffer.alloc(12 + payload.length);
        packet[0] = 0x80;
        packet[1] = known.audioPayloadType;
        packet.writeUInt16BE(sequence & 0xffff, 2);
        packet.writeUInt32BE(sample >>> 0, 4);
        packet.writeUInt32BE(CONSUMER_AUDIO_SSRC, 8);
        packet.set(payload, 12);
        track.sendMessageBinary(packet);
        sequence++;
        sample += OPUS_FRAME;
      }, 20);
    },
    stopTone,
    close: async () => {
      if (closed) return;
      // h264-webrtc.md §5.4: send timers first, then the PeerConnection, then a short wait.
      stopTone();
      closed = true;
      await client.close();
      pc?.close();
      retained.length = 0;
      await new Promise((resolve) => setTimeout(resolve, 50));
    },
  };
}

/** Signal level and pitch of interleaved 16-bit PCM (RMS as a fraction of full scale, rising zero crossings). */
export function analysePcm(chunks: readonly Int16Array[], channels: number, sampleRate: number): { rms: number; frequencyHz: number } {
  let sum = 0;
  let count = 0;
  let crossings = 0;
  let previous = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += channels) {
      const value = (chunk[i] ?? 0) / 32_768;
      sum += value * value;
      if (previous < 0 && value >= 0) crossings++;
      previous = value;
      count++;
    }
  }
  return { rms: count === 0 ? 0 : Math.sqrt(sum / count), frequencyHz: count === 0 ? 0 : (crossings * sampleRate) / count };
}

/** Resolves when `predicate` holds, polling every 20 ms; rejects after `timeoutMs` with `what`. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - start;
}
