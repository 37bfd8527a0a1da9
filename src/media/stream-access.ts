// The `get_media_stream_access` payload (reference-driver.md §5.4): where an agent or app can get
// the robot's audio/video directly instead of through RPC — the daemon's WebRTC signalling server,
// the on-robot camera IPC socket, or the raw devices after release. Owns the payload shape and the
// "on robot" rule; the caller does the I/O (daemon status, probe, IPC socket check) and passes results.
import { PRODUCER_NAME, type ProbeResult } from './signalling/protocol.ts';

/** The daemon's camera IPC socket on the robot (reachy-daemon-api.md §9.1). */
export const CAMERA_IPC_SOCKET = '/tmp/reachymini_camera_socket';

/** Hosts that mean "the driver runs on the robot itself" (reference §5.4). */
export function isOnRobot(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '0.0.0.0' || host.startsWith('127.');
}

export interface StreamAccessInput {
  /** `simulated` for the embedded emulator, else the daemon host. */
  readonly target: string;
  readonly daemonApiUrl: string;
  readonly daemonHost: string;
  readonly signallingUrl: string;
  readonly signallingHost: string;
  readonly signallingPort: number;
  /** The daemon's `/api/media/status`, or why it could not be read. */
  readonly daemonMedia: { readonly ok: true; readonly status: Readonly<Record<string, unknown>> } | { readonly ok: false; readonly reason: string };
  readonly cameraIpcExists: boolean;
  readonly probe?: ProbeResult;
}

export function streamAccessPayload(input: StreamAccessInput): Record<string, unknown> {
  const onRobot = isOnRobot(input.daemonHost);
  const localAvailable = onRobot && input.cameraIpcExists;
  const released = input.daemonMedia.ok && input.daemonMedia.status['released'] === true;
  const daemonMedia = input.daemonMedia.ok ? { status: 'success', ...input.daemonMedia.status } : { status: 'error', reason: input.daemonMedia.reason };
  return {
    status: input.daemonMedia.ok ? 'success' : 'partial',
    ...(input.daemonMedia.ok ? {} : { warning: 'daemon media status unavailable' }),
    target: input.target,
    daemon_api_url: input.daemonApiUrl,
    recommended_backend: released ? 'direct_hardware' : localAvailable ? 'local' : 'webrtc',
    driver_on_robot: onRobot,
    daemon_media: daemonMedia,
    backends: {
      webrtc: {
        signaling_url: input.signallingUrl,
        signaling_host: input.signallingHost,
        signaling_port: input.signallingPort,
        producer_name: PRODUCER_NAME,
        protocol: 'gst-webrtc-signalling v1 (the robot offers; answer and trickle ICE as "peer" messages)',
        includes: ['video', 'audio'],
        sdk_connect: { package: 'reachy_mini', class: 'ReachyMini', kwargs: { host: input.daemonHost, media_backend: 'webrtc' } },
        client_module: 'reachy_mini.media.webrtc_client_gstreamer.GstWebRTCClient',
        ...(input.probe ? { probe: input.probe } : {}),
      },
      local: {
        available: localAvailable,
        camera_ipc: CAMERA_IPC_SOCKET,
        includes: ['video'],
        sdk_connect: { package: 'reachy_mini', class: 'ReachyMini', kwargs: { host: input.daemonHost, media_backend: 'local' } },
        client_module: 'reachy_mini.media.camera_gstreamer.GStreamerCamera',
        ...(onRobot ? (input.cameraIpcExists ? {} : { reason: `${CAMERA_IPC_SOCKET} does not exist (is the daemon's media server running?)` }) : { reason: 'local IPC is for processes on the robot only' }),
      },
      direct_hardware: {
        description: 'Release the daemon\'s camera and audio, then open /dev/video* and ALSA directly on the robot.',
        release_rpc: 'release_media_hardware',
        acquire_rpc: 'acquire_media_hardware',
        daemon_released: released,
      },
    },
    usage_notes: [
      'Do not move bulk audio/video over NATS RPC; use the WebRTC backend for streams.',
      "Use capture_video_frame(encoding='jpeg') or 'thumbnail' for stills.",
      'The signalling URL must be reachable from the consumer (port 8443 on the robot).',
    ],
  };
}
