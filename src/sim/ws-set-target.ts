// `/api/move/ws/set_target` (RM:.../routers/move.py `ws_set_target`; reachy-daemon-api.md §1.2;
// fixtures/daemon/ws1.txt): each text frame is a FullBodyTarget; success is silent, a frame that
// is not JSON or not the right shape gets `{"status":"error","detail":"<pydantic text>"}`, and a
// target sent while a goto plays is dropped silently. Gated by the backend like the REST route.
// Owns the frame handling only; validation is request-validation.ts's, motion robot-model.ts's.
import type { WebSocket } from 'ws';
import { backendNotRunning } from './fastapi-errors.ts';
import { targetValues } from './motion-record.ts';
import { checkFullBodyTarget, formatValidationError } from './request-validation.ts';
import type { SimDaemon } from './sim-daemon.ts';
import type { Admission, WsEndpoint } from './ws-gateway.ts';

export class SetTargetSocket implements WsEndpoint {
  readonly path = '/api/move/ws/set_target';
  readonly #daemon: SimDaemon;

  constructor(daemon: SimDaemon) {
    this.#daemon = daemon;
  }

  admit(): Admission {
    if (this.#daemon.backendReady) return { accept: true };
    const reply = backendNotRunning();
    return { accept: false, status: reply.status, json: 'json' in reply ? reply.json : undefined };
  }

  connect(): void {
    // Frames arrive through frame(); nothing to set up per socket.
  }

  frame(socket: WebSocket, data: Buffer, isBinary: boolean, receivedAt: number): void {
    const replyError = (detail: string): void => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ status: 'error', detail }));
    };
    if (isBinary) return;
    const raw = data.toString('utf8');
    let frame: unknown;
    try {
      frame = JSON.parse(raw);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      replyError(formatValidationError('FullBodyTarget', [{ type: 'json_invalid', loc: [], msg: `Invalid JSON: ${reason}`, input: raw }]));
      return;
    }
    const target = checkFullBodyTarget(frame, []);
    if (!target.ok) {
      replyError(formatValidationError('FullBodyTarget', target.issues));
      return;
    }
    if (!this.#daemon.backendReady || this.#daemon.robot.isMoveRunning) return;
    const reachable = this.#daemon.robot.setTargets(target.value);
    this.#daemon.motion.targetApplied('set_full_target', 'ws_set_target', receivedAt, targetValues(target.value), reachable);
  }
}
