// The robot's media session (reachy-daemon-api.md §9; issue "media"): idle → session (signalling →
// negotiating → streaming, one live session actor throughout) → reconnecting with back-off → session
// …; released while the daemon's media hardware is released; closed when stopped. Every media RPC
// is gated by this machine (streaming: frames and audio available; released: MediaReleased). Owns the
// states and timing only: the session actor (signalling client + WebRTC peer) is provided by the
// composer and reports `media.negotiating`, `media.streaming` and `media.lost`.
import { assign, emit, setup } from 'xstate';
import { backoffDelayMs, type RandomSource } from '../backoff.ts';

/** Restarting producers come back in ~1 s; the issue asks for streaming again within 3 s. */
export const MEDIA_RECONNECT_BASE_MS = 250;
export const MEDIA_RECONNECT_MAX_MS = 2_000;
/** welcome → list → startSession → offer takes tens of ms on a LAN; a silent producer is a failure. */
export const SIGNALLING_TIMEOUT_MS = 5_000;
/** ICE + DTLS + the first keyframe: the robot's I-frame period is 2 s (h264-webrtc.md §5.3). */
export const NEGOTIATION_TIMEOUT_MS = 8_000;

export type MediaStateName = 'idle' | 'signalling' | 'negotiating' | 'streaming' | 'reconnecting' | 'released' | 'closed';

export interface MediaContext {
  readonly attempt: number;
  readonly lastError: string | null;
  readonly since: number;
  readonly sessions: number;
  readonly random: RandomSource;
}

export type MediaEvent =
  | { type: 'media.start' }
  | { type: 'media.stop' }
  /** The daemon's media hardware was released / acquired again (release_media_hardware…). */
  | { type: 'media.release' }
  | { type: 'media.acquire' }
  /** From the session actor. */
  | { type: 'media.negotiating' }
  | { type: 'media.streaming' }
  | { type: 'media.lost'; reason: string };

export type MediaEmitted = { type: 'media.changed'; state: MediaStateName; at: number; lastError: string | null };

/** Jitter source of the back-off (tests pass a constant); Math.random when the composer gives none. */
export interface MediaSessionInput {
  readonly random?: RandomSource;
}

/** Full-jitter back-off (src/backoff.ts) after `attempt` consecutive failures. */
export function mediaReconnectBackoffMs(attempt: number, random: RandomSource = Math.random): number {
  return backoffDelayMs({ baseMs: MEDIA_RECONNECT_BASE_MS, maxMs: MEDIA_RECONNECT_MAX_MS }, attempt, random);
}

export const mediaSessionMachine = setup({
  types: {
    context: {} as MediaContext,
    events: {} as MediaEvent,
    emitted: {} as MediaEmitted,
    input: {} as MediaSessionInput | undefined,
  },
  actors: {
    mediaSession: (() => {
      throw new Error('media session machine: the "mediaSession" actor must be provided');
    }) as unknown as import('xstate').CallbackActorLogic<MediaEvent>,
  },
  actions: {
    stamp: assign({ since: () => Date.now() }),
    announce: emit(({ context }, params: { state: MediaStateName }) => ({ type: 'media.changed' as const, state: params.state, at: context.since, lastError: context.lastError })),
    countSession: assign({ sessions: ({ context }) => context.sessions + 1 }),
    recordFailure: assign(({ context }, params: { reason: string }) => ({ attempt: context.attempt + 1, lastError: params.reason })),
    recordStreaming: assign({ attempt: 0, lastError: null }),
  },
  delays: {
    reconnectBackoff: ({ context }) => mediaReconnectBackoffMs(context.attempt, context.random),
    signallingTimeout: SIGNALLING_TIMEOUT_MS,
    negotiationTimeout: NEGOTIATION_TIMEOUT_MS,
  },
}).createMachine({
  id: 'media',
  initial: 'idle',
  context: ({ input }) => ({ attempt: 0, lastError: null, since: Date.now(), sessions: 0, random: input?.random ?? Math.random }),
  on: {
    'media.stop': { target: '.closed' },
    'media.release': { target: '.released' },
  },
  states: {
    idle: {
      entry: ['stamp', { type: 'announce', params: { state: 'idle' } }],
      on: { 'media.start': { target: 'session' } },
    },
    session: {
      entry: 'countSession',
      invoke: { id: 'mediaSession', src: 'mediaSession' },
      initial: 'signalling',
      on: {
        'media.lost': { target: 'reconnecting', actions: { type: 'recordFailure', params: ({ event }) => ({ reason: event.reason }) } },
      },
      states: {
        signalling: {
          entry: ['stamp', { type: 'announce', params: { state: 'signalling' } }],
          on: { 'media.negotiating': { target: 'negotiating' } },
          after: { signallingTimeout: { target: '#media.reconnecting', actions: { type: 'recordFailure', params: { reason: 'no answer from the signalling server / producer in time' } } } },
        },
        negotiating: {
          entry: ['stamp', { type: 'announce', params: { state: 'negotiating' } }],
          on: { 'media.streaming': { target: 'streaming', actions: 'recordStreaming' } },
          after: { negotiationTimeout: { target: '#media.reconnecting', actions: { type: 'recordFailure', params: { reason: 'the WebRTC session did not start streaming in time' } } } },
        },
        streaming: {
          tags: ['media-ready'],
          entry: ['stamp', { type: 'announce', params: { state: 'streaming' } }],
        },
      },
    },
    reconnecting: {
      entry: ['stamp', { type: 'announce', params: { state: 'reconnecting' } }],
      after: { reconnectBackoff: { target: 'session' } },
    },
    released: {
      entry: ['stamp', { type: 'announce', params: { state: 'released' } }],
      on: {
        'media.acquire': { target: 'session' },
        'media.release': {},
      },
    },
    closed: {
      entry: ['stamp', { type: 'announce', params: { state: 'closed' } }],
      on: {
        'media.start': { target: 'session' },
        'media.stop': {},
        'media.release': {},
      },
    },
  },
});

export type MediaSessionMachine = typeof mediaSessionMachine;

/** The coarse state name (`session.streaming` → `streaming`). */
export function mediaStateName(value: unknown): MediaStateName {
  if (typeof value === 'string') return value as MediaStateName;
  if (value && typeof value === 'object' && 'session' in value) return (value as { session: MediaStateName }).session;
  return 'idle';
}
