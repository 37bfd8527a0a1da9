// The root driver machine's children with test I/O, for model tests of the root
// (driver.model.test.ts, driver-media.model.test.ts): the real connection machine over a daemon that
// always answers; the real mesh machine, `connecting` for good (its dial never settles); the real
// media-session machine moved as the media runtime and its session actor would, recording every
// `media.call.<fn>` the root sends it (the test answers them); and the root provided with them
// (`rootWithTestChildren`). The root spawns connection and media
// without a jitter source, so their back-off jitter is fixed mid-range here: with Math.random a draw
// under ~1 % gave a 0 ms retry that fired on a zero-time flush. Owns no gate knowledge.
import { fromCallback, fromPromise, type AnyActorRef } from 'xstate';
import { connectionMachine, reconnectBackoffMs } from '../../src/machines/connection.machine.ts';
import { driverMachine } from '../../src/machines/driver.machine.ts';
import { motionMachine, type CommandAccepted, type ExecuteInput } from '../../src/machines/motion.machine.ts';
import { mediaReconnectBackoffMs, mediaSessionMachine, mediaStateName, type MediaEvent, type MediaSessionMachine } from '../../src/machines/media-session.machine.ts';
import { meshMachine, type MeshInput, type RegistrationOutput } from '../../src/machines/mesh.machine.ts';
import type { MediaCallActors } from '../../src/actors/media-call-actor.ts';
import { MEDIA_FUNCTIONS } from '../../src/rpc/media-functions.ts';

/** The back-off jitter draw of the root's connection and media children in these tests (mid-range: never a 0 ms retry). */
const CHILD_RANDOM = 0.5;

/** The daemon link over a daemon that is running (probe) and a live link that reports nothing. */
export const steadyConnection = connectionMachine.provide({
  actors: {
    probeDaemon: fromPromise<unknown>(async () => ({ state: 'running' })),
    daemonLink: fromCallback(() => () => undefined),
  },
  delays: { reconnectBackoff: ({ context }) => reconnectBackoffMs(context.attempt, () => CHILD_RANDOM) },
});

/**
 * The root with these children and a motion child whose daemon accepts every command at once (a
 * realtime target: no uuid to track) and answers a stop sweep with `stopMotion` (at once by default).
 */
export function rootWithTestChildren(stopMotion: (uuids: ReadonlyArray<string>) => Promise<ReadonlyArray<string>> = async () => []) {
  return driverMachine.provide({
    actors: {
      connection: steadyConnection,
      mesh: quietMesh,
      motion: motionMachine.provide({
        actors: {
          executeCommand: fromPromise<CommandAccepted, ExecuteInput>(async () => ({ uuid: null, expectedDurationMs: 50 })),
          stopMotion: fromPromise<ReadonlyArray<string>, { uuids: ReadonlyArray<string> }>(({ input }) => stopMotion(input.uuids)),
          stopMove: fromPromise<void, { uuid: string }>(async () => undefined),
        },
      }),
    },
  });
}

/** The mesh child's input in root tests (identity only: the quiet mesh never registers). */
export const TEST_MESH_INPUT: MeshInput = { deviceId: 'reachy-mini-test', tenant: 'test', discoveryMode: 'infra', deviceTtlS: 15, registerJitterMs: 0 };

/** The mesh machine, dialing a broker that never answers: `connecting` for the whole test. */
export const quietMesh = meshMachine.provide({
  actors: {
    connect: fromPromise<void, { deviceId: string }>(() => new Promise<void>(() => undefined)),
    registerDevice: fromPromise<RegistrationOutput, { attempt: number }>(() => new Promise<RegistrationOutput>(() => undefined)),
    drain: fromPromise<void, void>(async () => undefined),
  },
});

/** One call the root sent the media child (`media.call.<fn>`), with the means to answer it. */
export interface ReceivedCall {
  readonly fn: string;
  readonly requestId: string;
  readonly answer: (event: MediaEvent) => void;
}

/** What the controllable media logic records: calls received, and the live session actor's reporter. */
export interface MediaControl {
  readonly calls: ReceivedCall[];
  /** Sends to the media child as its session actor (null while no session actor runs). */
  report: ((event: MediaEvent) => void) | null;
}

/** The real media-session machine with recording actors (one control per root under test). */
export function controlledMedia(): { logic: MediaSessionMachine; control: MediaControl } {
  const control: MediaControl = { calls: [], report: null };
  const calls = Object.fromEntries(
    MEDIA_FUNCTIONS.map((fn) => [fn.name, fromCallback<MediaEvent, { requestId: string }>(({ input, sendBack }) => void control.calls.push({ fn: fn.name, requestId: input.requestId, answer: sendBack }))]),
  ) as unknown as MediaCallActors;
  const logic = mediaSessionMachine.provide({
    actors: {
      mediaSession: fromCallback<MediaEvent>(({ sendBack }) => {
        control.report = sendBack;
        return () => {
          if (control.report === sendBack) control.report = null;
        };
      }),
      watchReleased: fromCallback(() => () => undefined),
      ...calls,
    },
    delays: { reconnectBackoff: ({ context }) => mediaReconnectBackoffMs(context.attempt, () => CHILD_RANDOM) },
  });
  return { logic, control };
}

export type SessionTarget = 'streaming' | 'reconnecting' | 'released';

/**
 * Moves the media child to `target` as the runtime and the session actor would: the runtime starts,
 * releases, re-acquires or stops the session; the session actor reports negotiating, streaming, lost.
 * No timer fires (a reconnecting session is stopped and started again rather than waiting out its back-off).
 */
export function driveSession(media: AnyActorRef, control: MediaControl, target: SessionTarget): void {
  const state = () => mediaStateName(media.getSnapshot().value);
  if (target === 'released') {
    media.send({ type: 'media.release' });
    return;
  }
  if (state() === target) return;
  if (state() === 'reconnecting') media.send({ type: 'media.stop' });
  if (state() === 'idle' || state() === 'closed') media.send({ type: 'media.start' });
  if (state() === 'released') media.send({ type: 'media.acquire' });
  const report = control.report;
  if (report === null) throw new Error(`the media session actor is not running (session ${state()})`);
  if (target === 'reconnecting') {
    report({ type: 'media.lost', reason: 'producer left', cause: 'link-producer-ended' });
    return;
  }
  if (state() === 'signalling') report({ type: 'media.negotiating' });
  report({ type: 'media.streaming' });
}
