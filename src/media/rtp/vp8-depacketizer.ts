// Entry point for VP8 video (RFC 7741), the codec webrtcsink may pick instead of H.264 on some
// robots (h264-webrtc.md §1): a VideoDepacketizer whose frames are whole VP8 frames, gated on key
// frames like the H.264 one. Owns only the wiring of the generic receive pipeline
// (rtp-video-receiver.ts) to the VP8 frame assembler (vp8-frame.ts).

import { RtpVideoReceiver } from './rtp-video-receiver.ts';
import type { DepacketizerOptions, VideoDepacketizer } from './video-depacketizer.ts';
import { Vp8FrameAssembler } from './vp8-frame.ts';

export function createVp8Depacketizer(options: DepacketizerOptions = {}): VideoDepacketizer {
  return new RtpVideoReceiver('vp8', new Vp8FrameAssembler(), options);
}
