// Reading what a video depacketizer (src/media/rtp/video-depacketizer.ts) gives back, for the H.264
// and VP8 receive-side tests: every event of a run of packets pushed at one arrival time, the frames
// among events, the events of one type. Owns no packets (the tests' rtp-test-packetizer.ts makes
// them) and no assertions. Test code only.
import type { DepacketizerEvent, VideoDepacketizer } from '../../src/media/rtp/video-depacketizer.ts';
import type { VideoFrame } from '../../src/media/rtp/video-frame.ts';

/** Pushes `packets` in order, all arriving at `ms`; every event they caused, in order. */
export function pushAll(d: VideoDepacketizer, packets: readonly Uint8Array[], ms: number): DepacketizerEvent[] {
  return packets.flatMap((p) => [...d.push(p, ms)]);
}

/** The frames among `events`, in order. */
export function frames(events: readonly DepacketizerEvent[]): VideoFrame[] {
  return events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
}

/** The events of one `type`, in order, typed as that event. */
export function ofType<T extends DepacketizerEvent['type']>(events: readonly DepacketizerEvent[], type: T): Extract<DepacketizerEvent, { type: T }>[] {
  return events.filter((e): e is Extract<DepacketizerEvent, { type: T }> => e.type === type);
}
