// The robot's media RPC functions (reference-driver.md §2.3–2.4 names and parameters; issue
// "media"): camera frames, microphone and speaker, sound files, detectors and monitors. Each call
// becomes one `rpc.media` driver event naming what it needs (a live stream, the daemon, media not
// released, audio input/output started) so the root machine gates it with `can()`; the media
// session machine starts one call actor per event (src/machines/media-session.machine.ts). Owns the
// agent-facing descriptions, the parameter ranges and the typed parameters of each call; no I/O, no state.
import { FRAME_AGE_RANGE, DEFAULT_MAX_FRAME_AGE_MS } from '../media/frame-freshness.ts';
import { FRAME_ENCODINGS, MAX_EDGE_RANGE, MAX_RPC_PAYLOAD_BYTES, QUALITY_RANGE } from '../media/encoding/frame-encoding.ts';
import { defineFunction, type CallContext } from './function-def.ts';
import { booleanParam, defineParams, enumParam, integerParam, numberParam, optionalParam, stringParam } from './params.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, SOUND_UPLOAD_TIMEOUT_MS } from '../adapters/daemon-http.ts';

/** play_audio_file: the upload may take its whole deadline, then the play request, plus a margin. */
export const PLAY_AUDIO_TIMEOUT_MS = SOUND_UPLOAD_TIMEOUT_MS + DEFAULT_REQUEST_TIMEOUT_MS + 5_000;

/**
 * Longest `data_b64` accepted by push_audio_sample: the reference's NATS budget (900 000 bytes of
 * JSON) minus the envelope; 880 000 base64 characters are 660 000 bytes (20 s of 16 kHz float32).
 */
export const MAX_PUSH_AUDIO_B64_CHARS = 880_000;
/** capture_audio_sample window: 10 ms (one detector frame) to the 10 s the microphone ring holds. */
export const CAPTURE_AUDIO_MS_RANGE = { min: 10, max: 10_000 } as const;
/** Sound file names: a name or relative path, no control characters; checked again on disk. */
export const MAX_SOUND_FILE_CHARS = 255;

/** What a media function needs before it may run; the root machine's guard reads it. */
export interface MediaRequirement {
  /** A streaming WebRTC session (frames, microphone, speaker stream). */
  readonly stream?: true;
  /** A connected daemon link (HTTP calls). */
  readonly daemon?: true;
  /** The daemon's media hardware not released (its camera/audio are ours to use). */
  readonly notReleased?: true;
  readonly audioInput?: true;
  readonly audioOutput?: true;
}

export type MediaFunctionName =
  | 'get_media_status'
  | 'get_media_stream_access'
  | 'release_media_hardware'
  | 'acquire_media_hardware'
  | 'capture_video_frame'
  | 'push_video_frame'
  | 'start_audio_input'
  | 'stop_audio_input'
  | 'capture_audio_sample'
  | 'start_audio_output'
  | 'stop_audio_output'
  | 'push_audio_sample'
  | 'play_audio_file'
  | 'detect_audio_activity'
  | 'detect_motion'
  | 'set_monitors';

/** One media call as the root machine receives it: the function, its decoded parameters, what it needs. */
export interface MediaRpcEventOf<F extends MediaFunctionName, P extends object> {
  readonly type: 'rpc.media';
  readonly requestId: string;
  readonly function: F;
  readonly params: Readonly<P>;
  readonly requires: MediaRequirement;
  /** Who called (the verified key, else the asserted source device), for the capture audit. */
  readonly caller: string | null;
  readonly verified: boolean;
}

function mediaEvent<F extends MediaFunctionName, P extends object>(call: CallContext, fn: F, params: P, requires: MediaRequirement): MediaRpcEventOf<F, P> {
  return { type: 'rpc.media', requestId: call.requestId, function: fn, params: { ...params }, requires, caller: call.caller.sourceDevice, verified: call.caller.verified !== undefined };
}

const READ = { direction: 'read', safety: 'informational', modality: 'media' } as const;
const WRITE = { direction: 'write', safety: 'informational', modality: 'media' } as const;
const STREAM: MediaRequirement = { stream: true };

export const getMediaStatus = defineFunction({
  name: 'get_media_status',
  description:
    'Media session state: status (available|unavailable|released), session_state (idle|signalling|negotiating|streaming|reconnecting|released|closed), video codec, input/output audio rates and channels, whether audio input and output are started, monitor settings, the live link\'s stats (video packets/frames/keyframes, PLIs sent, NACK/RTX loss repair: nackSent, nackedPackets, rtxReceived, recoveredPackets, unrecoveredPackets; audio packets), and the last error. Read-only.',
  labels: READ,
  params: defineParams({}),
  toEvent: (p, call) => mediaEvent(call, 'get_media_status', p, {}),
  timeoutMs: 2_000,
});

export const getMediaStreamAccess = defineFunction({
  name: 'get_media_stream_access',
  description:
    'How to reach the robot\'s audio/video directly (never bulk media over RPC): the daemon media status, the WebRTC signalling URL (port 8443, producer "reachymini"), local IPC and direct-hardware options, and the recommended backend. probe_signaling=true really runs the signalling handshake and reports the producer (peer_id, producer_count) or why it failed.',
  labels: READ,
  params: defineParams({ probe_signaling: booleanParam({ description: 'Run the gst-webrtc-signalling handshake against the robot and report the producer.', default: false }) }),
  toEvent: (p, call) => mediaEvent(call, 'get_media_stream_access', p, {}),
  timeoutMs: 8_000,
});

export const releaseMediaHardware = defineFunction({
  name: 'release_media_hardware',
  description:
    'Ask the daemon to release the camera and audio devices (POST /api/media/release) so another program can open them directly. The driver\'s media session closes; media RPCs then answer MediaReleased until acquire_media_hardware.',
  labels: WRITE,
  params: defineParams({}),
  toEvent: (p, call) => mediaEvent(call, 'release_media_hardware', p, { daemon: true }),
  timeoutMs: 10_000,
});

export const acquireMediaHardware = defineFunction({
  name: 'acquire_media_hardware',
  description: 'Give the camera and audio back to the daemon (POST /api/media/acquire); the driver reopens its media session and the answer says whether it is streaming again.',
  labels: WRITE,
  params: defineParams({}),
  toEvent: (p, call) => mediaEvent(call, 'acquire_media_hardware', p, { daemon: true }),
  timeoutMs: 15_000,
});

export const captureVideoFrame = defineFunction({
  name: 'capture_video_frame',
  description: `The newest camera picture. encoding: jpeg (longest side 640 px, quality 82), thumbnail (320 px, quality 75) or raw (RGB bytes, dtype uint8, shape [h, w, 3]). max_edge (${MAX_EDGE_RANGE.min}–${MAX_EDGE_RANGE.max} px, never upscaled) and quality (${QUALITY_RANGE.min}–${QUALITY_RANGE.max}) override the preset. Every reply's JSON stays under ${MAX_RPC_PAYLOAD_BYTES} bytes: a raw frame over it is refused with PayloadTooLarge (use jpeg or thumbnail) unless the operator enabled allow_oversize_raw and the call sets allow_oversize_raw=true. A picture older than max_age_ms (default ${DEFAULT_MAX_FRAME_AGE_MS} ms) is refused with FrameTooOld {age_ms, max_age_ms} (the camera stream is frozen). Returns data_b64 with width, height, byte_size, captured_at, age_ms and rpc_json_bytes.`,
  labels: READ,
  params: defineParams({
    encoding: enumParam(FRAME_ENCODINGS, { description: 'jpeg, thumbnail or raw.', default: 'jpeg' }),
    max_edge: optionalParam(integerParam({ description: 'Longest output side in pixels (jpeg/thumbnail).', minimum: MAX_EDGE_RANGE.min, maximum: MAX_EDGE_RANGE.max, unit: 'px' })),
    quality: optionalParam(integerParam({ description: 'JPEG quality (jpeg/thumbnail).', minimum: QUALITY_RANGE.min, maximum: QUALITY_RANGE.max })),
    allow_oversize_raw: booleanParam({ description: 'Ask for a raw frame over the RPC budget (honoured only when the operator allows it; development only).', default: false }),
    max_age_ms: integerParam({ description: 'Refuse (FrameTooOld) a picture older than this.', minimum: FRAME_AGE_RANGE.min, maximum: FRAME_AGE_RANGE.max, unit: 'ms', default: DEFAULT_MAX_FRAME_AGE_MS }),
  }),
  toEvent: (p, call) => mediaEvent(call, 'capture_video_frame', p, STREAM),
  timeoutMs: 10_000,
});

export const pushVideoFrame = defineFunction({
  name: 'push_video_frame',
  description: 'The Reachy Mini has no display: always refused with Unsupported (never a fake "accepted").',
  labels: WRITE,
  params: defineParams({
    data_b64: optionalParam(stringParam({ description: 'Frame bytes (ignored: the robot has no display).', maxLength: MAX_PUSH_AUDIO_B64_CHARS })),
    width: optionalParam(integerParam({ description: 'Frame width.', minimum: 1, maximum: 4096 })),
    height: optionalParam(integerParam({ description: 'Frame height.', minimum: 1, maximum: 4096 })),
    channels: optionalParam(integerParam({ description: 'Channels.', minimum: 1, maximum: 4 })),
    dtype: optionalParam(enumParam(['uint8'], { description: 'Sample type.' })),
  }),
  toEvent: (p, call) => mediaEvent(call, 'push_video_frame', p, {}),
  timeoutMs: 2_000,
});

export const startAudioInput = defineFunction({
  name: 'start_audio_input',
  description: 'Start serving the robot microphone (on by default): capture_audio_sample and detect_audio_activity read the last seconds of audio, 16 kHz mono.',
  labels: WRITE,
  params: defineParams({}),
  toEvent: (p, call) => mediaEvent(call, 'start_audio_input', p, {}),
  timeoutMs: 2_000,
});

export const stopAudioInput = defineFunction({
  name: 'stop_audio_input',
  description: 'Stop serving the microphone: the buffered audio is dropped and capture_audio_sample is refused until start_audio_input.',
  labels: WRITE,
  params: defineParams({}),
  toEvent: (p, call) => mediaEvent(call, 'stop_audio_input', p, {}),
  timeoutMs: 2_000,
});

export const captureAudioSample = defineFunction({
  name: 'capture_audio_sample',
  description: `The last duration_ms (${CAPTURE_AUDIO_MS_RANGE.min}–${CAPTURE_AUDIO_MS_RANGE.max}) of microphone audio, 16 kHz mono: encoding float32 (little-endian, full scale ±1) or s16le. Waits for the audio when less has arrived since the stream started. Returns data_b64, sample_rate, channels, frames, rms and captured_at.`,
  labels: READ,
  params: defineParams({
    duration_ms: integerParam({ description: 'How much audio, in milliseconds.', minimum: CAPTURE_AUDIO_MS_RANGE.min, maximum: CAPTURE_AUDIO_MS_RANGE.max, default: 1_000, unit: 'ms' }),
    encoding: enumParam(['float32', 's16le'], { description: 'Sample encoding.', default: 'float32' }),
  }),
  toEvent: (p, call) => mediaEvent(call, 'capture_audio_sample', p, { stream: true, audioInput: true }),
  timeoutMs: 15_000,
});

export const startAudioOutput = defineFunction({
  name: 'start_audio_output',
  description: 'Allow audio to be sent to the robot speaker over the media stream (on by default).',
  labels: WRITE,
  params: defineParams({}),
  toEvent: (p, call) => mediaEvent(call, 'start_audio_output', p, {}),
  timeoutMs: 2_000,
});

export const stopAudioOutput = defineFunction({
  name: 'stop_audio_output',
  description: 'Stop sending audio to the speaker: queued audio is dropped and push_audio_sample is refused until start_audio_output.',
  labels: WRITE,
  params: defineParams({}),
  toEvent: (p, call) => mediaEvent(call, 'stop_audio_output', p, {}),
  timeoutMs: 2_000,
});

export const pushAudioSample = defineFunction({
  name: 'push_audio_sample',
  description:
    'Play PCM on the robot speaker: data_b64 holds little-endian samples of dtype float32 (full scale ±1) or int16 (scaled by 1/32768), interleaved when channels > 1 (down-mixed to mono), at sample_rate 8000–48000 Hz (resampled to 48 kHz, Opus-encoded, paced in real time). Returns frames, duration_ms and queued_ms.',
  labels: WRITE,
  params: defineParams({
    data_b64: stringParam({ description: 'Base64 of the raw samples.', maxLength: MAX_PUSH_AUDIO_B64_CHARS }),
    sample_rate: integerParam({ description: 'Sample rate of data_b64.', minimum: 8_000, maximum: 48_000, default: 16_000, unit: 'Hz' }),
    channels: integerParam({ description: 'Interleaved channels.', minimum: 1, maximum: 8, default: 1 }),
    dtype: enumParam(['float32', 'int16'], { description: 'Sample type.', default: 'float32' }),
  }),
  toEvent: (p, call) => mediaEvent(call, 'push_audio_sample', p, { stream: true, audioOutput: true }),
  timeoutMs: 5_000,
});

export const playAudioFile = defineFunction({
  name: 'play_audio_file',
  description:
    'Play a sound file from the driver\'s configured sounds directory on the robot speaker (uploaded to the daemon, then played). sound_file is a name or a relative path inside that directory; absolute paths outside it, "..", hidden files, symlinks leaving it and extensions other than .wav .mp3 .ogg .oga .opus .flac .m4a .aac are refused (SoundFileRefused) before anything is read.',
  labels: WRITE,
  params: defineParams({ sound_file: stringParam({ description: 'File name inside the sounds directory.', maxLength: MAX_SOUND_FILE_CHARS }) }),
  toEvent: (p, call) => mediaEvent(call, 'play_audio_file', p, { daemon: true, notReleased: true }),
  timeoutMs: PLAY_AUDIO_TIMEOUT_MS,
});

export const detectAudioActivity = defineFunction({
  name: 'detect_audio_activity',
  description:
    'Measure microphone activity now: RMS of the last duration_ms against max(threshold, calibrated noise floor × 3), with the detector\'s state and a confidence in it. Events (audio_event) come from the background monitor, only on state changes (see set_monitors).',
  labels: READ,
  params: defineParams({
    threshold: numberParam({ description: 'RMS threshold, full scale 1.', minimum: 0, maximum: 1, default: 0.05 }),
    duration_ms: integerParam({ description: 'Window measured, in milliseconds.', minimum: 1, maximum: 10_000, default: 120, unit: 'ms' }),
  }),
  toEvent: (p, call) => mediaEvent(call, 'detect_audio_activity', p, { stream: true, audioInput: true }),
  timeoutMs: 5_000,
});

export const detectMotion = defineFunction({
  name: 'detect_motion',
  description:
    `Measure camera motion now: the fraction of a downsampled grey image that changed by more than the sensor-noise threshold since the previous measured frame, against threshold, with state and confidence. Sensor noise does not count as motion. Events (motion_event) come from the background monitor, only on state changes (see set_monitors). When the newest camera picture is older than ${DEFAULT_MAX_FRAME_AGE_MS} ms (a frozen camera stream) it answers FrameTooOld {age_ms, max_age_ms} and any motion in progress ends (motion_ended).`,
  labels: READ,
  params: defineParams({
    threshold: numberParam({ description: 'Changed-area fraction that counts as motion.', minimum: 0, maximum: 1, default: 0.02 }),
    source: stringParam({ description: 'Label copied into the result.', default: 'camera', maxLength: 64 }),
  }),
  toEvent: (p, call) => mediaEvent(call, 'detect_motion', p, STREAM),
  timeoutMs: 10_000,
});

export const setMonitors = defineFunction({
  name: 'set_monitors',
  description:
    'Turn the background detectors on or off. audio: microphone activity monitor (emits audio_event on activity start and end); motion: camera motion monitor (emits motion_event on motion start and end). Thresholds as in detect_*. Omitted fields keep their value. Returns the monitor settings.',
  labels: WRITE,
  params: defineParams({
    audio: optionalParam(booleanParam({ description: 'Run the audio activity monitor.' })),
    motion: optionalParam(booleanParam({ description: 'Run the motion monitor.' })),
    audio_threshold: optionalParam(numberParam({ description: 'Audio RMS threshold.', minimum: 0, maximum: 1 })),
    motion_threshold: optionalParam(numberParam({ description: 'Motion area threshold.', minimum: 0, maximum: 1 })),
  }),
  toEvent: (p, call) => mediaEvent(call, 'set_monitors', p, {}),
  timeoutMs: 2_000,
});

export const MEDIA_FUNCTIONS = [
  getMediaStatus,
  getMediaStreamAccess,
  releaseMediaHardware,
  acquireMediaHardware,
  captureVideoFrame,
  pushVideoFrame,
  startAudioInput,
  stopAudioInput,
  captureAudioSample,
  startAudioOutput,
  stopAudioOutput,
  pushAudioSample,
  playAudioFile,
  detectAudioActivity,
  detectMotion,
  setMonitors,
];

/** Every media call event, each with its function's decoded parameter type (a union on `function`). */
export type MediaRpcEvent = ReturnType<(typeof MEDIA_FUNCTIONS)[number]['toEvent']>;

/** The decoded parameters of each media function, by name (what its call actor receives). */
export type MediaCallParams = { readonly [E in MediaRpcEvent as E['function']]: E['params'] };
