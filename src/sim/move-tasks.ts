// Background move tasks created by the REST move routes (`create_move_task` / `stop_move_task`
// of RM:src/reachy_mini/daemon/app/routers/move.py; reachy-daemon-api.md §1.2): uuid4 per task,
// the `/api/move/running` list, cancellation, and the move_started / move_completed /
// move_failed / move_cancelled events of `/api/move/ws/updates`, and each task's entry in the
// motion record. Owns no motion (the task body drives robot-model.ts) and no socket
// (ws-move-updates.ts subscribes to the events).
import { randomUUID } from 'node:crypto';
import type { MoveUpdate, MoveUpdateType } from '../protocol/daemon-wire-types.ts';
import type { MotionLog, MoveStart } from './motion-record.ts';

export type MoveEventType = MoveUpdateType;
/** One `/api/move/ws/updates` frame (the wire contract shared with the driver); `details` is `""` or the exception text. */
export type MoveEvent = MoveUpdate;

/** The daemon's uncaught `KeyError` for an unknown or finished uuid; the route answers 500. */
export class UnknownMove extends Error {
  constructor(uuid: string) {
    super(`Running move with UUID ${uuid} not found`);
    this.name = 'UnknownMove';
  }
}

/** Abort reason of a task stopped through `/api/move/stop` (asyncio `CancelledError`). */
export class MoveCancelled extends Error {
  constructor(uuid: string) {
    super(`move ${uuid} cancelled`);
    this.name = 'MoveCancelled';
  }
}

interface RunningTask {
  readonly controller: AbortController;
  done: Promise<void>;
  /** False when the daemon is killed: a dead process notifies nobody. */
  notify: boolean;
}

/** A body resolving `stopped` was interrupted by `/ws/sdk` `stop_move` (the REST move still "completes"). */
export type MoveBody = (signal: AbortSignal) => Promise<unknown>;

/** What the motion record keeps of a task besides its uuid. */
export type MoveMeta = Omit<MoveStart, 'uuid' | 'via'>;

export class MoveTasks {
  readonly #tasks = new Map<string, RunningTask>();
  readonly #listeners = new Set<(event: MoveEvent) => void>();
  readonly #record: MotionLog;

  constructor(record: MotionLog) {
    this.#record = record;
  }

  /** Subscribes to move events; returns the unsubscribe function. */
  subscribe(listener: (event: MoveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts `body` in the background and returns its uuid at once (the route's reply). */
  start(body: MoveBody, meta: MoveMeta): string {
    const uuid = randomUUID();
    const controller = new AbortController();
    const task: RunningTask = { controller, done: Promise.resolve(), notify: true };
    const emit = (type: MoveEventType, details = ''): void => {
      if (!task.notify) return;
      for (const listener of [...this.#listeners]) listener({ type, uuid, details });
    };
    this.#tasks.set(uuid, task);
    const ended = this.#record.moveStarted({ ...meta, uuid, via: 'rest' });
    emit('move_started');
    task.done = body(controller.signal).then(
      (end) => {
        ended(end === 'stopped' ? 'stopped' : 'completed');
        emit('move_completed');
      },
      (error: unknown) => {
        const details = error instanceof Error ? error.message : String(error);
        if (controller.signal.aborted) ended(task.notify ? 'cancelled' : 'killed');
        else ended('failed', details);
        if (controller.signal.aborted) emit('move_cancelled');
        else emit('move_failed', details);
      },
    ).finally(() => {
      this.#tasks.delete(uuid);
    });
    return uuid;
  }

  /** uuids of the tasks not yet finished, in creation order. */
  running(): string[] {
    return [...this.#tasks.keys()];
  }

  /** `stop_move_task`: cancels and waits for the task; UnknownMove when absent. */
  async stop(uuid: string): Promise<string> {
    const task = this.#tasks.get(uuid);
    if (!task) throw new UnknownMove(uuid);
    this.#tasks.delete(uuid);
    task.controller.abort(new MoveCancelled(uuid));
    await task.done;
    return `Stopped move with UUID: ${uuid}`;
  }

  /** Cancels every task; with `notify` false no event is sent (the daemon process died). */
  async cancelAll(notify: boolean): Promise<void> {
    const tasks = [...this.#tasks.entries()];
    for (const [uuid, task] of tasks) {
      task.notify = notify;
      task.controller.abort(new MoveCancelled(uuid));
    }
    await Promise.all(tasks.map(([, task]) => task.done));
  }
}
