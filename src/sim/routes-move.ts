// `/api/move/*` routes (RM:src/reachy_mini/daemon/app/routers/move.py; reachy-daemon-api.md §1.2,
// §7, §11; fixtures/daemon/move1.txt, move2.txt, overlap.txt, recorded.txt): goto (uuid at once,
// runs in the background, min-jerk whatever `interpolation` says unless configured otherwise),
// set_target (`ignored` while a goto plays; unreachable poses `ok` and dropped), wake_up /
// goto_sleep, running, stop (500 on an unknown uuid), and the offline recorded-move routes.
// Does not own motion (robot-model.ts, move-sequences.ts) nor task bookkeeping (move-tasks.ts).
import { detail, internalServerError, okJson, validationFailed, type HttpReply } from './fastapi-errors.ts';
import { LOCAL_DATASETS, playKeyframes } from './recorded-moves.ts';
import type { Route } from './route-types.ts';
import { gotoSleep, wakeUp } from './move-sequences.ts';
import { moveTarget, targetValues } from './motion-record.ts';
import { UnknownMove } from './move-tasks.ts';
import { checkFullBodyTarget, checkGotoRequest, checkMoveUuid } from './request-validation.ts';

export const MOVE_ROUTES: readonly Route[] = [
  {
    method: 'GET',
    path: '/api/move/running',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => okJson(daemon.moves.running().map((uuid) => ({ uuid }))),
  },
  {
    method: 'POST',
    path: '/api/move/goto',
    needsBackend: true,
    body: 'required',
    handle: ({ body, receivedAt }, daemon): HttpReply => {
      const checked = checkGotoRequest(body, ['body']);
      if (!checked.ok) return validationFailed(checked.issues);
      const request = checked.value;
      // Quirk §11.1: the route never forwards `interpolation`; every REST goto is min-jerk.
      const method = daemon.honourRestInterpolation ? request.interpolation : 'minjerk';
      const uuid = daemon.moves.start(
        (signal) => daemon.robot.goto({ head: request.head, antennas: request.antennas, bodyYaw: request.bodyYaw, duration: request.duration, method }, signal),
        { kind: 'goto', target: moveTarget(request, request.duration), receivedAt },
      );
      return okJson({ uuid });
    },
  },
  {
    method: 'POST',
    path: '/api/move/play/wake_up',
    needsBackend: true,
    body: 'none',
    handle: ({ receivedAt }, daemon) =>
      okJson({ uuid: daemon.moves.start((signal) => wakeUp(daemon.sequenceContext(signal)), { kind: 'wake_up', target: null, receivedAt }) }),
  },
  {
    method: 'POST',
    path: '/api/move/play/goto_sleep',
    needsBackend: true,
    body: 'none',
    handle: ({ receivedAt }, daemon) =>
      okJson({ uuid: daemon.moves.start((signal) => gotoSleep(daemon.sequenceContext(signal)), { kind: 'goto_sleep', target: null, receivedAt }) }),
  },
  {
    method: 'POST',
    path: '/api/move/stop',
    needsBackend: false,
    body: 'required',
    handle: async ({ body }, daemon): Promise<HttpReply> => {
      const checked = checkMoveUuid(body, ['body']);
      if (!checked.ok) return validationFailed(checked.issues);
      try {
        return okJson({ message: await daemon.moves.stop(checked.value) });
      } catch (error) {
        if (error instanceof UnknownMove) return internalServerError();
        throw error;
      }
    },
  },
  {
    method: 'POST',
    path: '/api/move/set_target',
    needsBackend: true,
    body: 'required',
    handle: ({ body, receivedAt }, daemon): HttpReply => {
      const checked = checkFullBodyTarget(body, ['body']);
      if (!checked.ok) return validationFailed(checked.issues);
      if (daemon.robot.isMoveRunning) return okJson({ status: 'ignored', reason: 'move_running' });
      const reachable = daemon.robot.setTargets(checked.value);
      daemon.motion.targetApplied('set_full_target', 'rest', receivedAt, targetValues(checked.value), reachable);
      return okJson({ status: 'ok' });
    },
  },
  {
    // No Hugging Face hub here: local datasets are listed; any other answers as offline (plain 500).
    method: 'GET',
    path: '/api/move/recorded-move-datasets/list/{dataset_name:path}',
    needsBackend: false,
    body: 'none',
    handle: ({ params }) => {
      const dataset = LOCAL_DATASETS[params.dataset_name ?? ''];
      return dataset ? okJson(Object.keys(dataset)) : internalServerError();
    },
  },
  {
    method: 'POST',
    path: '/api/move/play/recorded-move-dataset/{dataset_name:path}/{move_name}',
    needsBackend: true,
    body: 'none',
    handle: ({ params, receivedAt }, daemon) => {
      const name = params.dataset_name ?? '';
      const dataset = LOCAL_DATASETS[name];
      if (!dataset) return internalServerError();
      const frames = dataset[params.move_name ?? ''];
      if (!frames) return detail(404, `Move ${params.move_name ?? ''} not found in recorded moves library ${name}`);
      return okJson({ uuid: daemon.moves.start((signal) => playKeyframes(daemon.robot, frames, signal), { kind: 'recorded', target: null, receivedAt }) });
    },
  },
];
