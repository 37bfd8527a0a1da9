// The contract between the `SimMediaProducer` facade and its two engines — lite (wrtc, VP8) and
// wireless (node-datachannel + libx264, H.264) — plus the settings they share. An engine owns its
// sources, codecs, pump timers and one PeerConnection per consumer session (reachy-daemon-api.md
// §9.1–9.2); the facade owns signalling registration (attach/detach) and the public API.
import type { ProducerSession, ProducerSessionHandlers } from '../signalling-in-process.ts';
import type { ReceivedAudioSummary } from './audio-meter.ts';
import type { CameraScene } from './world-scene.ts';
import type { Tone } from './tone-source.ts';

/** Most simulated loss: past 50 % nothing useful is left to test. */
export const MAX_VIDEO_LOSS = 0.5;

export interface VideoGeometry {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

export interface MediaEngine {
  /** A consumer asked for a session: build its PeerConnection and make the (single) offer. */
  openSession(session: ProducerSession): ProducerSessionHandlers;
  /** Closes every PeerConnection without signalling (the sessions already ended at the server). */
  closeAllSessions(): void;
  /** Sessions whose PeerConnection exists (started and not ended). */
  sessionCount(): number;
  setTone(tone: Tone | null): void;
  setScene(scene: CameraScene): void;
  /** true: the camera stops sending frames while the session stays up (a frozen producer). */
  freezeVideo(frozen: boolean): void;
  receivedAudio(windowMs?: number): ReceivedAudioSummary;
  readonly keyframeRequests: number;
  /**
   * The camera link loses each video packet with probability `rate` (seeded, repeatable); lost
   * packets a consumer NACKs are resent as RTX, lost at the same rate. Only the h264 engine sends
   * its own packets: the vp8 one (libwebrtc) throws.
   */
  setVideoLoss(rate: number, seed: number): void;
  /** Video packets resent in answer to NACKs; null for vp8, whose libwebrtc resends on its own. */
  readonly retransmissions: number | null;
  /** How each consumer session ended: its `endSession` first, or its transport's death first. */
  readonly sessionEnds: ReadonlyArray<{ readonly sessionId: string; readonly by: 'endSession' | 'transport' }>;
  /** Stops the pump, closes every PeerConnection and frees codecs; resolves after the settle wait. */
  close(): Promise<void>;
}

/**
 * Wait after closing native PeerConnections before resolving `close()`: node-datachannel tears
 * down on its own threads, and h264-webrtc.md §5.4 measured clean shutdowns only with a short
 * pause after `pc.close()`. 100 ms covered every run; it is paid once per producer close.
 */
export const TEARDOWN_SETTLE_MS = 100;

export function settle(ms: number = TEARDOWN_SETTLE_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
