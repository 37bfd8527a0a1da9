// A typed view of the part of @roamhq/wrtc 0.10.0 the lite-mode producer uses (ecosystem.md §5.4):
// the standard RTCPeerConnection surface plus `nonstandard` RTCVideoSource / RTCAudioSource /
// RTCAudioSink. The package's own typings re-export DOM globals this Node-only project does not
// load, so they resolve to nothing useful; this module declares what is actually called and casts
// the module once. Owns no behaviour.
import wrtcModule from '@roamhq/wrtc';

export interface WrtcSessionDescription {
  readonly type: 'offer' | 'answer' | 'pranswer' | 'rollback';
  readonly sdp: string;
}

export interface WrtcIceCandidate {
  readonly candidate: string;
  readonly sdpMid: string | null;
  readonly sdpMLineIndex: number | null;
}

export interface WrtcMediaStreamTrack {
  readonly kind: 'audio' | 'video';
  stop(): void;
}

export interface WrtcCodecCapability {
  readonly mimeType: string;
  readonly clockRate: number;
  readonly sdpFmtpLine?: string;
}

export interface WrtcTransceiver {
  readonly receiver: { readonly track: WrtcMediaStreamTrack };
  setCodecPreferences(codecs: readonly WrtcCodecCapability[]): void;
}

export interface WrtcDataChannel {
  readonly label: string;
  readonly readyState: string;
  onopen: (() => void) | null;
  close(): void;
}

/** One entry of `getStats()` (only the fields read here). */
export interface WrtcStatsEntry {
  readonly type: string;
  readonly kind?: string;
  readonly pliCount?: number;
  readonly firCount?: number;
}

export interface WrtcPeerConnection {
  readonly connectionState: string;
  // No `localDescription`: its getter serialises the description on the JS thread while libwebrtc's
  // signalling thread may be adding gathered candidates to it, and crashed a process (SIGSEGV in
  // webrtc::SdpSerialize). The offer from createOffer is sent instead; candidates trickle.
  onicecandidate: ((event: { readonly candidate: WrtcIceCandidate | null }) => void) | null;
  onconnectionstatechange: (() => void) | null;
  addTransceiver(track: WrtcMediaStreamTrack, init: { readonly direction: 'sendrecv' }): WrtcTransceiver;
  createDataChannel(label: string): WrtcDataChannel;
  createOffer(): Promise<WrtcSessionDescription>;
  setLocalDescription(description: WrtcSessionDescription): Promise<void>;
  setRemoteDescription(description: WrtcSessionDescription): Promise<void>;
  addIceCandidate(candidate: { readonly candidate: string; readonly sdpMLineIndex: number }): Promise<void>;
  getStats(): Promise<{ forEach(callback: (entry: WrtcStatsEntry) => void): void }>;
  close(): void;
}

export interface WrtcAudioData {
  readonly samples: Int16Array;
  readonly sampleRate: number;
  readonly bitsPerSample: number;
  readonly channelCount: number;
  readonly numberOfFrames: number;
}

export interface WrtcVideoSource {
  createTrack(): WrtcMediaStreamTrack;
  onFrame(frame: { readonly width: number; readonly height: number; readonly data: Uint8Array }): void;
}

export interface WrtcAudioSource {
  createTrack(): WrtcMediaStreamTrack;
  onData(data: WrtcAudioData): void;
}

export interface WrtcAudioSink {
  ondata: ((data: WrtcAudioData) => void) | null;
  stop(): void;
}

export interface WrtcModule {
  readonly RTCPeerConnection: new (config: { readonly iceServers: readonly unknown[]; readonly bundlePolicy: 'max-bundle' }) => WrtcPeerConnection;
  readonly RTCRtpSender: { getCapabilities(kind: 'audio' | 'video'): { readonly codecs: readonly WrtcCodecCapability[] } | null };
  readonly nonstandard: {
    readonly RTCVideoSource: new () => WrtcVideoSource;
    readonly RTCAudioSource: new () => WrtcAudioSource;
    readonly RTCAudioSink: new (track: WrtcMediaStreamTrack) => WrtcAudioSink;
  };
}

export const wrtc = wrtcModule as unknown as WrtcModule;
