// The shape of one emulated daemon route and the request it receives: method, FastAPI path
// template, backend dependency, body kind and handler (reachy-daemon-api.md §1). Shared by
// http-routes.ts (which matches them) and every routes-*.ts module (which declares them), so the
// route table and its routers import this, not each other. Types only; no I/O.
import type { HttpReply } from './fastapi-errors.ts';
import type { SimDaemon } from './sim-daemon.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Parsed JSON body; undefined when the request had none (and for `multipart` routes). */
  readonly body: unknown;
  /** The body as received (`multipart` routes parse it themselves). */
  readonly rawBody: Buffer;
  /** The request's Content-Type header. */
  readonly contentType: string | undefined;
  /** Emulator wall ms at which the request reached the emulator (before injected delays or a pause). */
  readonly receivedAt: number;
}

export interface Route {
  readonly method: HttpMethod;
  /** FastAPI path template, e.g. `/api/motors/set_mode/{mode}`. */
  readonly path: string;
  /** Depends on `get_backend`: 503 `Backend not running` before any parameter validation. */
  readonly needsBackend: boolean;
  /**
   * `none`: the body is ignored; `required`: a pydantic model body (422 `missing` when absent);
   * `multipart`: a form with `File(...)` parameters, parsed by the handler from `rawBody`.
   */
  readonly body: 'none' | 'required' | 'multipart';
  readonly handle: (request: RouteRequest, daemon: SimDaemon) => HttpReply | Promise<HttpReply>;
}
