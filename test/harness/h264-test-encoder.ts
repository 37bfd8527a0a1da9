// An H.264 source for tests and the benchmark, shaped like the wireless robot's stream
// (reachy-daemon-api.md §9.1, h264-webrtc.md §5.2): node-av's libx264, constrained baseline, no
// B-frames, a fixed I-frame period, two slices per picture and SPS/PPS repeated before every IDR.
// `rtph264payPackets` then packetizes access units the way GStreamer's rtph264pay config-interval=-1
// does (SPS/PPS in front of each IDR slice, FU-A above the MTU). Options are set with setOption,
// not a Dictionary passed to open2Sync (that crashed node-av 6.1.1 at process exit). Test code only.
import { AV_LOG_ERROR, AV_PIX_FMT_YUV420P, Codec, CodecContext, FF_ENCODER_LIBX264, Frame, Log, Packet, Rational } from 'node-av';
import { framePackets, packetizeH264 } from '../media/rtp/rtp-test-packetizer.ts';

export interface H264TestEncoderOptions {
  readonly width: number;
  readonly height: number;
  readonly fps?: number;
  /** Frames from one IDR to the next (the robot: 60). */
  readonly keyframeInterval?: number;
  readonly slices?: number;
  /** Target bitrate (the robot: 5 Mbit/s); default lets x264 pick by quality. */
  readonly bitRate?: number;
}

export interface H264TestEncoder {
  /** Encodes one packed I420 picture; answers the Annex-B access units that came out. */
  encode(i420: Uint8Array): Uint8Array[];
  close(): void;
}

export function openH264TestEncoder(options: H264TestEncoderOptions): H264TestEncoder {
  const codec = Codec.findEncoderByName(FF_ENCODER_LIBX264);
  if (codec === null) throw new Error('node-av has no libx264 encoder');
  // libx264 prints its statistics at close on FFmpeg's info level.
  Log.setLevel(AV_LOG_ERROR);
  const fps = options.fps ?? 30;
  const gop = options.keyframeInterval ?? 60;
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = options.width;
  ctx.height = options.height;
  ctx.pixelFormat = AV_PIX_FMT_YUV420P;
  ctx.timeBase = new Rational(1, fps);
  ctx.framerate = new Rational(fps, 1);
  ctx.gopSize = gop;
  ctx.maxBFrames = 0;
  if (options.bitRate !== undefined) ctx.bitRate = BigInt(options.bitRate);
  const settings: Record<string, string> = {
    profile: 'baseline',
    preset: 'veryfast',
    tune: 'zerolatency',
    slices: String(options.slices ?? 2),
    'x264-params': `repeat-headers=1:annexb=1:keyint=${gop}:min-keyint=${gop}:scenecut=0`,
  };
  for (const [key, value] of Object.entries(settings)) {
    const ret = ctx.setOption(key, value);
    if (ret < 0) throw new Error(`libx264 option ${key}=${value} refused (${ret})`);
  }
  const opened = ctx.open2Sync(codec, null);
  if (opened < 0) throw new Error(`libx264 did not open (${opened})`);
  const packet = new Packet();
  packet.alloc();
  let pts = 0n;
  const drain = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    while (ctx.receivePacketSync(packet) >= 0) {
      const data = packet.data;
      if (data) out.push(Uint8Array.from(data));
      packet.unref();
    }
    return out;
  };
  return {
    encode(i420) {
      const frame = new Frame();
      frame.alloc();
      frame.width = options.width;
      frame.height = options.height;
      frame.format = AV_PIX_FMT_YUV420P;
      frame.getBuffer(0);
      frame.fromBuffer(Buffer.from(i420.buffer, i420.byteOffset, i420.byteLength));
      frame.pts = pts++;
      const sent = ctx.sendFrameSync(frame);
      frame.free();
      if (sent < 0) throw new Error(`libx264 refused a frame (${sent})`);
      return drain();
    },
    close() {
      packet.free();
      ctx.freeContext();
    },
  };
}

/** NAL units of an Annex-B access unit (3- or 4-byte start codes), without start codes. */
export function splitAnnexB(au: Uint8Array): Uint8Array[] {
  const starts: Array<{ at: number; length: number }> = [];
  for (let i = 0; i + 2 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
      const four = i > 0 && au[i - 1] === 0;
      starts.push({ at: four ? i - 1 : i, length: four ? 4 : 3 });
      i += 2;
    }
  }
  return starts.map((s, n) => {
    const end = n + 1 < starts.length ? (starts[n + 1] as { at: number }).at : au.length;
    return au.subarray(s.at + s.length, end);
  });
}

const nalType = (nal: Uint8Array): number => (nal[0] ?? 0) & 0x1f;

/**
 * RTP packets for one access unit as rtph264pay config-interval=-1 sends them: SEI/AUD dropped,
 * the last SPS and PPS put again in front of every IDR slice, FU-A above `mtu`, marker on the last.
 */
export function rtph264payPackets(au: Uint8Array, sequence: number, timestamp: number, payloadType: number, mtu = 1200): Uint8Array[] {
  const nals = splitAnnexB(au).filter((nal) => nalType(nal) !== 6 && nalType(nal) !== 9);
  const sps = nals.find((nal) => nalType(nal) === 7);
  const pps = nals.find((nal) => nalType(nal) === 8);
  const ordered: Uint8Array[] = [];
  for (const nal of nals) {
    const type = nalType(nal);
    if (type === 7 || type === 8) continue;
    if (type === 5 && sps && pps) ordered.push(sps, pps);
    ordered.push(nal);
  }
  return framePackets(packetizeH264(ordered, 'fu-a', mtu), sequence, timestamp, { payloadType });
}
