// Entry point for the robot's H.264 video (RFC 6184, packetization-mode 1): a VideoDepacketizer
// whose frames are Annex-B access units, cleaned up and keyframe-gated as h264-webrtc.md §5.1
// item 3 and §5.2 require. Owns only the wiring of the generic receive pipeline
// (rtp-video-receiver.ts) to the H.264 access-unit assembler (h264-access-unit.ts).

import { H264AccessUnitAssembler } from './h264-access-unit.ts';
import { RtpVideoReceiver } from './rtp-video-receiver.ts';
import type { DepacketizerOptions, VideoDepacketizer } from './video-depacketizer.ts';

export function createH264Depacketizer(options: DepacketizerOptions = {}): VideoDepacketizer {
  return new RtpVideoReceiver('h264', new H264AccessUnitAssembler(), options);
}
