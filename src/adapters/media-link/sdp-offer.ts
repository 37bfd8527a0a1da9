// Reads the robot's SDP offer (webrtcsink, reachy-daemon-api.md §9.1–9.2; RFC 8866 syntax,
// RFC 8843 BUNDLE): the m-line sections in order with their mid, direction and rtpmap/fmtp, and
// the choice of what this driver receives — the video m-line and its H.264 (packetization-mode 1)
// or VP8 payload type (with its RTX payload type, `apt=`, and whether generic NACK is offered,
// RFC 4588 §8, RFC 4585 §4.2), the audio m-line and its Opus payload type. Redundancy and FEC
// formats (red, ulpfec, flexfec) are ignored. Owns parsing and selection only; answering
// is node-datachannel's job and shaping the answer is sdp-answer.ts's.
import * as Result from 'effect/Result';
import { MediaTransportFailed } from '../../media/media-link.ts';
import type { VideoCodec } from '../../media/rtp/video-frame.ts';

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpFormat {
  readonly payloadType: number;
  /** Encoding name as written (`H264`, `VP8`, `opus`, ...); empty when the format has no rtpmap. */
  readonly encoding: string;
  readonly clockRate: number;
  readonly channels: number;
  /** `a=fmtp` parameters, keys lower-cased. */
  readonly parameters: ReadonlyMap<string, string>;
  /** `a=rtcp-fb` values for this format (`*` ones included), lower-cased: `nack`, `nack pli`, ... */
  readonly feedback: readonly string[];
}

export interface SdpSection {
  /** Position in the offer: the `sdpMLineIndex` of its ICE candidates. */
  readonly index: number;
  readonly kind: string;
  readonly mid: string;
  /** Direction as the offerer (the robot) states it. */
  readonly direction: SdpDirection;
  /** Formats in the m-line's order (the offerer's preference). */
  readonly formats: readonly SdpFormat[];
}

export interface ReceivedVideo {
  readonly mid: string;
  readonly codec: VideoCodec;
  readonly payloadType: number;
  /** The offered `rtx` format whose `apt` is `payloadType` (RFC 4588 §8.6), kept in the answer. */
  readonly rtxPayloadType: number | null;
  /** Generic NACK offered for `payloadType` (`a=rtcp-fb:<pt> nack`): we may ask for retransmissions. */
  readonly nack: boolean;
}

export interface ReceivedAudio {
  readonly mid: string;
  readonly payloadType: number;
  /** The robot asked to receive stereo (`stereo=1`); Opus always runs at 48 kHz (RFC 7587 §7). */
  readonly stereo: boolean;
  /** The robot can receive on this m-line (sendrecv/recvonly), so the speaker path is usable. */
  readonly canSend: boolean;
}

export interface OfferMedia {
  readonly sections: readonly SdpSection[];
  readonly video: ReceivedVideo | null;
  readonly audio: ReceivedAudio | null;
  /** The DataChannel m-line (`webrtc-datachannel`), when offered. */
  readonly dataMid: string | null;
}

/** Opus's RTP clock (RFC 7587 §4.1: always 48 kHz whatever the codec's internal rate). */
export const OPUS_CLOCK_RATE_HZ = 48_000;
/** Video RTP clock (RFC 6184 §8.1, RFC 7741 §6.1). */
export const VIDEO_CLOCK_RATE_HZ = 90_000;

const DIRECTIONS: readonly SdpDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

function parseParameters(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split(';')) {
    const trimmed = pair.trim();
    if (trimmed.length === 0) continue;
    const eq = trimmed.indexOf('=');
    if (eq < 0) out.set(trimmed.toLowerCase(), '');
    else out.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim());
  }
  return out;
}

interface RawSection {
  readonly kind: string;
  readonly payloadTypes: number[];
  mid: string | null;
  direction: SdpDirection;
  readonly rtpmap: Map<number, { encoding: string; clockRate: number; channels: number }>;
  readonly fmtp: Map<number, Map<string, string>>;
  /** rtcp-fb values by payload type; key -1 holds the `*` ones. */
  readonly feedback: Map<number, string[]>;
}

/** Key of `a=rtcp-fb:*` values in RawSection.feedback. */
const ANY_FORMAT = -1;

/** Splits an SDP into its m-line sections. Never throws; unknown lines are ignored. */
export function parseSdpSections(sdp: string): SdpSection[] {
  const raw: RawSection[] = [];
  let sessionDirection: SdpDirection = 'sendrecv';
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const [kind = '', , , ...formats] = line.slice(2).trim().split(/\s+/);
      raw.push({
        kind,
        payloadTypes: formats.map(Number).filter((pt) => Number.isInteger(pt) && pt >= 0 && pt <= 127),
        mid: null,
        direction: sessionDirection,
        rtpmap: new Map(),
        fmtp: new Map(),
        feedback: new Map(),
      });
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attribute = line.slice(2).trim();
    const section = raw[raw.length - 1];
    const direction = DIRECTIONS.find((d) => d === attribute);
    if (direction !== undefined) {
      if (section) section.direction = direction;
      else sessionDirection = direction;
      continue;
    }
    if (!section) continue;
    if (attribute.startsWith('mid:')) {
      section.mid = attribute.slice(4).trim();
      continue;
    }
    const rtpmap = /^rtpmap:(\d+)\s+([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(attribute);
    if (rtpmap) {
      section.rtpmap.set(Number(rtpmap[1]), { encoding: rtpmap[2] ?? '', clockRate: Number(rtpmap[3]), channels: rtpmap[4] === undefined ? 1 : Number(rtpmap[4]) });
      continue;
    }
    const fmtp = /^fmtp:(\d+)\s+(.*)$/.exec(attribute);
    if (fmtp) {
      section.fmtp.set(Number(fmtp[1]), parseParameters(fmtp[2] ?? ''));
      continue;
    }
    const feedback = /^rtcp-fb:(\d+|\*)\s+(.*)$/.exec(attribute);
    if (feedback) {
      const key = feedback[1] === '*' ? ANY_FORMAT : Number(feedback[1]);
      const values = section.feedback.get(key) ?? [];
      values.push((feedback[2] ?? '').trim().replace(/\s+/g, ' ').toLowerCase());
      section.feedback.set(key, values);
    }
  }
  return raw.map((section, index) => ({
    index,
    kind: section.kind,
    mid: section.mid ?? String(index),
    direction: section.direction,
    formats: section.payloadTypes.map((payloadType) => {
      const map = section.rtpmap.get(payloadType);
      return {
        payloadType,
        encoding: map?.encoding ?? '',
        clockRate: map?.clockRate ?? 0,
        channels: map?.channels ?? 1,
        parameters: section.fmtp.get(payloadType) ?? new Map<string, string>(),
        feedback: [...(section.feedback.get(ANY_FORMAT) ?? []), ...(section.feedback.get(payloadType) ?? [])],
      };
    }),
  }));
}

const sendsToUs = (section: SdpSection): boolean => section.direction === 'sendrecv' || section.direction === 'sendonly';

/** The video codec this driver can depacketize and decode, or null for any other format. */
function videoCodecOf(format: SdpFormat): VideoCodec | null {
  const name = format.encoding.toUpperCase();
  if (format.clockRate !== VIDEO_CLOCK_RATE_HZ) return null;
  if (name === 'VP8') return 'vp8';
  if (name !== 'H264') return null;
  // Mode 0 is a subset of mode 1 (single NAL units); mode 2 (interleaved) needs a DON-aware receiver.
  const mode = format.parameters.get('packetization-mode') ?? '0';
  return mode === '0' || mode === '1' ? 'h264' : null;
}

function pickVideo(sections: readonly SdpSection[]): ReceivedVideo | null {
  for (const section of sections) {
    if (section.kind !== 'video' || !sendsToUs(section)) continue;
    // The sender uses the first format of the answer; the answer keeps only the one picked here.
    for (const format of section.formats) {
      const codec = videoCodecOf(format);
      if (codec === null) continue;
      const rtx = section.formats.find((f) => f.encoding.toLowerCase() === 'rtx' && f.parameters.get('apt') === String(format.payloadType));
      return { mid: section.mid, codec, payloadType: format.payloadType, rtxPayloadType: rtx?.payloadType ?? null, nack: format.feedback.includes('nack') };
    }
  }
  return null;
}

function pickAudio(sections: readonly SdpSection[]): ReceivedAudio | null {
  for (const section of sections) {
    if (section.kind !== 'audio' || section.direction === 'inactive') continue;
    const opus = section.formats.find((format) => format.encoding.toLowerCase() === 'opus' && format.clockRate === OPUS_CLOCK_RATE_HZ);
    if (!opus) continue;
    return {
      mid: section.mid,
      payloadType: opus.payloadType,
      stereo: opus.parameters.get('stereo') === '1',
      canSend: section.direction === 'sendrecv' || section.direction === 'recvonly',
    };
  }
  return null;
}

/** Parses the offer and picks the media this driver takes part in; fails when there is none. */
export function readOffer(sdp: string): Result.Result<OfferMedia, MediaTransportFailed> {
  const sections = parseSdpSections(sdp);
  if (sections.length === 0) return Result.fail(new MediaTransportFailed({ stage: 'negotiate', message: 'the offer has no m-line' }));
  const video = pickVideo(sections);
  const audio = pickAudio(sections);
  if (video === null && audio === null) {
    const offered = sections.map((s) => `${s.kind}:${s.formats.map((f) => f.encoding || f.payloadType).join('/')}`).join(', ');
    return Result.fail(new MediaTransportFailed({ stage: 'negotiate', message: `the offer has no H.264/VP8 video and no Opus audio this driver can use (${offered})` }));
  }
  const data = sections.find((s) => s.kind === 'application');
  return Result.succeed({ sections, video, audio, dataMid: data?.mid ?? null });
}

/** The mid of m-line `index`, for a remote candidate's `sdpMLineIndex`. */
export function midAt(offer: OfferMedia, index: number): string | null {
  return offer.sections[index]?.mid ?? null;
}

/** The m-line index of `mid`, for a local candidate sent as `sdpMLineIndex`. */
export function indexOfMid(offer: OfferMedia, mid: string): number | null {
  return offer.sections.find((s) => s.mid === mid)?.index ?? null;
}
