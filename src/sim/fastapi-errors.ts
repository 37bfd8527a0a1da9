// Reply values of the emulated HTTP API and FastAPI's default error shapes (reachy-daemon-api.md
// §0 "Error shapes", §1): 422 `{"detail":[issue...]}`, `HTTPException` → `{"detail":"..."}`,
// unhandled exception → 500 plain text `Internal Server Error`, the 503 backend gate, 404/405.
// Owns no validation rules (request-validation.ts) and no routing (http-routes.ts).

/** One pydantic validation issue, as FastAPI puts it under `detail`. */
export interface ValidationIssue {
  readonly type: string;
  readonly loc: readonly (string | number)[];
  readonly msg: string;
  readonly input: unknown;
  readonly ctx?: Readonly<Record<string, unknown>>;
}

export type HttpReply =
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly text: string; readonly contentType: string };

export const okJson = (json: unknown): HttpReply => ({ status: 200, json });

export const detail = (status: number, message: string): HttpReply => ({ status, json: { detail: message } });

export const validationFailed = (issues: readonly ValidationIssue[]): HttpReply => ({ status: 422, json: { detail: issues } });

/** Starlette's reply for a path no route matches. */
export const notFound = (): HttpReply => detail(404, 'Not Found');

/** A path that exists with another method. */
export const methodNotAllowed = (): HttpReply => detail(405, 'Method Not Allowed');

/** `get_backend` dependency while the backend is absent or not ready (§0 "Backend gate"). */
export const backendNotRunning = (): HttpReply => detail(503, 'Backend not running');

/** Uvicorn's answer to an uncaught exception (e.g. the KeyError of `/api/move/stop`). */
export const internalServerError = (): HttpReply => ({
  status: 500,
  text: 'Internal Server Error',
  contentType: 'text/plain; charset=utf-8',
});
