// REST client of the Reachy daemon (reachy-daemon-api.md §0 transport and error shapes, §1 routes,
// §5 models; reference-driver.md §7 and §12 bug 3: never report "accepted" when the daemon
// refused). Owns one dedicated undici Agent (keep-alive, connect timeout; undici itself is loaded
// at the first call, not at start: see `loadUndici`), per-call deadlines,
// the bounded retry of idempotent GETs, and the mapping of every outcome to a typed value or a
// typed rejection (daemon-errors.ts). Does not own realtime sockets (daemon-sdk-socket.ts,
// daemon-move-updates.ts) nor any decision about what a refusal means for the robot.
import type { Agent, Dispatcher } from 'undici';
import { authHeaders, tlsTrust, type DaemonAuth } from './daemon-auth.ts';
import { isTls } from './network-cause.ts';
import { createLogger } from '../logging/logger.ts';
import {
  DaemonBackendNotRunning, DaemonCallCancelled, DaemonBadResponse, DaemonNotConnected, DaemonRejected, DaemonRequestInvalid, DaemonServerError, DaemonTimeout,
  DaemonUnreachable, describeDetail, type DaemonDetail, type DaemonHttpError, type DaemonValidationIssue,
} from './daemon-errors.ts';
import {
  decodeAntennas, decodeCameraSpecs, decodeDaemonStatus, decodeFullState, decodeMatrixPose, decodeMediaStatus, decodeMessage,
  decodeMotorsStatus, decodeNumber, decodeRunningMoves, decodeSetTargetResult, decodeSoundList, decodeStatusOk, decodeStatusText,
  decodeUploadedSound, decodeUuid, decodeXyzRpyPose, describeBadValue, parseJson, type Antennas, type CameraSpecs, type DaemonStatus, type Decoder, type FullState,
  type HeadPose, type Interpolation, type MatrixPose, type MediaStatus, type MotorMode, type SetTargetResult, type XyzRpyPose,
} from './daemon-wire.ts';
import { buildFilePartBody } from './multipart-body.ts';
import { deadlineSignal, type DaemonTransport } from './daemon-transport.ts';

const log = createLogger('daemon-http');

/**
 * Whole-call deadline (connect + headers + body). Every route used here answers at once (goto and
 * the play routes return a uuid and run in the background; stop waits only for a cancellation),
 * in milliseconds on loopback and well under a second over Wi-Fi; 5 s leaves room for a loaded
 * Pi while an RPC caller still gets a typed answer long before its own timeout (the reference
 * waited 10 s).
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/** TCP connect bound: loopback/LAN connects in < 10 ms; 2 s means the host is gone. */
export const CONNECT_TIMEOUT_MS = 2_000;
/**
 * Idle keep-alive socket lifetime. uvicorn closes idle connections after 5 s; closing ours first
 * avoids sending a request on a socket the server is closing at that instant.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 4_000;
/** Sockets per daemon: the driver issues a handful of concurrent calls at most. */
export const MAX_CONNECTIONS = 4;
/** Largest reply read (bytes): the biggest route used (camera specs) is ~1 KiB; bounds memory. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/**
 * Back-off before each retry of an idempotent GET that failed at the connection level (refused,
 * reset, closed mid-reply): rides over a reused keep-alive socket that died or a daemon restarting,
 * adds at most 250 ms before the caller learns the daemon is unreachable. POSTs are never retried:
 * a reset after the request was sent may mean the daemon already executed it.
 */
export const GET_RETRY_DELAYS_MS: readonly number[] = [50, 200];
/**
 * The daemon's cap on a sound upload's whole request body (`MAX_SOUND_UPLOAD_BYTES`,
 * routers/media.py, enforced by its MaxBodySizeMiddleware: 413 from the Content-Length, before
 * reading). A larger body is refused here instead of being sent to be cut off.
 */
export const MAX_SOUND_UPLOAD_BYTES = 25 * 1024 * 1024;
/**
 * Whole-call deadline of a sound upload: 25 MiB over a 2.4 GHz link at ~3 MB/s takes ~9 s, and the
 * daemon then probes the file with GStreamer (its own bound: 5 s); 60 s covers a weak link twice.
 */
export const SOUND_UPLOAD_TIMEOUT_MS = 60_000;
/** Longest uploaded file name in UTF-8 bytes: NAME_MAX of the daemon's /tmp (longer fails there with a 500). */
export const MAX_SOUND_UPLOAD_NAME_BYTES = 255;
/** Multipart field the upload route reads (`upload_sound(file: UploadFile = File(...))`). */
const SOUND_UPLOAD_FIELD = 'file';
const SOUND_UPLOAD_ROUTE = '/api/media/sounds/upload';
/** Characters of a non-JSON or unexpected body kept in an error (enough for a FastAPI message). */
const BODY_EXCERPT_CHARS = 200;
/** A daemon's HTTPException detail is a sentence; beyond this it is cut (it becomes the caller's message). */
const DETAIL_MAX_CHARS = 1_000;
/** A 422 names one issue per bad field; a request of ours has a handful of fields: more are counted. */
const MAX_DETAIL_ISSUES = 10;
/** The 503 detail of the daemon's `get_backend` dependency (§0 "Backend gate"). */
const BACKEND_NOT_RUNNING_DETAIL = 'Backend not running';

/** Codes of failures where no reply arrived because the connection failed or died. */
const CONNECTION_FAILURE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN',
  'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export interface DaemonHttpClientOptions {
  /** `http://host:port` of the daemon (no trailing path). */
  readonly baseUrl: string;
  /** Default whole-call deadline; see DEFAULT_REQUEST_TIMEOUT_MS. */
  readonly requestTimeoutMs?: number;
  /** The byte pipe to the daemon (the fault simulation's in-memory one); TCP when absent. */
  readonly transport?: DaemonTransport;
  /** Sockets to the daemon (default MAX_CONNECTIONS); the stop lane takes more. */
  readonly connections?: number;
  /** Bearer token and TLS trust (src/adapters/daemon-auth.ts). */
  readonly auth?: DaemonAuth;
}

/** Whether a call has been handed to a socket (written); set by the `markWritten` interceptor. */
interface CallProgress {
  written: boolean;
  /** Asked right before the call is written (CallOptions.mayWrite); false drops it unwritten. */
  readonly mayWrite?: () => boolean;
  /** Set when `mayWrite` refused it. */
  refused: boolean;
}

type Undici = typeof import('undici');
interface UndiciTransport {
  readonly agent: Agent;
  readonly dispatcher: Dispatcher;
  readonly request: Undici['request'];
}
let undiciLoading: Promise<Undici> | undefined;

/**
 * undici, loaded by the first daemon call. At start it cost ~25 ms of blocked event loop on the
 * path to the first answer (it brings node:http2, zlib, assert, worker_threads and web streams with
 * it), and the first answer needs only NATS (README "Where the time goes: start-up").
 */
function loadUndici(): Promise<Undici> {
  undiciLoading ??= import('undici');
  return undiciLoading;
}

/**
 * undici interceptor: a call's `progress` (passed through its dispatch options) is marked written
 * when undici hands it to a socket (`onRequestStart`), so a cancel can tell a queued call from a sent one.
 * undici calls it synchronously right before writing and writes nothing when it aborts there: a
 * call whose `mayWrite` says no at that moment is dropped unwritten (the connection is closed).
 */
const markWritten: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const progress = (opts as { progress?: CallProgress }).progress;
  if (!progress) return dispatch(opts, handler);
  const marked = Object.create(handler) as Dispatcher.DispatchHandler;
  marked.onRequestStart = (controller, context) => {
    if (progress.mayWrite && !progress.mayWrite()) {
      progress.refused = true;
      controller.abort(new DOMException('refused right before it was written', 'AbortError'));
      return;
    }
    progress.written = true;
    handler.onRequestStart?.(controller, context);
  };
  return dispatch(opts, marked);
};

export interface CallOptions {
  /** Overrides the client's deadline for this call. */
  readonly timeoutMs?: number;
  /**
   * Cancels the call while it is still queued for a connection: it is dropped and never written (a
   * stop must not be followed by a command issued before it), and rejects with DaemonCallCancelled.
   * A call already written is not aborted: its reply (a move's uuid) still comes, so the caller can
   * undo what it started.
   */
  readonly signal?: AbortSignal;
  /**
   * Asked right before the call is written to a socket (it may have waited for a connection since
   * it was issued); false drops it unwritten and it rejects with DaemonCallCancelled. For motion:
   * the check a command passed when it was issued, applied again at the last moment.
   */
  readonly mayWrite?: () => boolean;
}

export interface FullStateOptions {
  readonly withControlMode?: boolean;
  readonly withHeadPose?: boolean;
  readonly withBodyYaw?: boolean;
  readonly withAntennaPositions?: boolean;
  readonly withHeadJoints?: boolean;
  readonly withPassiveJoints?: boolean;
  readonly withDoa?: boolean;
  /** Head pose as `{"m":[16]}` instead of XYZRPY. */
  readonly usePoseMatrix?: boolean;
}

const FULL_STATE_QUERY: Readonly<Record<keyof FullStateOptions, string>> = {
  withControlMode: 'with_control_mode',
  withHeadPose: 'with_head_pose',
  withBodyYaw: 'with_body_yaw',
  withAntennaPositions: 'with_antenna_positions',
  withHeadJoints: 'with_head_joints',
  withPassiveJoints: 'with_passive_joints',
  withDoa: 'with_doa',
  usePoseMatrix: 'use_pose_matrix',
};

/** `GotoModelRequest` (§1.2). Note: the REST route ignores `interpolation` (quirk §11.1). */
export interface GotoRequest {
  readonly head_pose?: XyzRpyPose | MatrixPose;
  readonly antennas?: Antennas;
  readonly body_yaw?: number;
  /** Seconds; required by the daemon. */
  readonly duration: number;
  readonly interpolation?: Interpolation;
}

/** `FullBodyTarget` (§1.2). */
export interface SetTargetRequest {
  readonly target_head_pose?: XyzRpyPose | MatrixPose;
  readonly target_antennas?: Antennas;
  readonly target_body_yaw?: number;
}

type Method = 'GET' | 'POST' | 'DELETE';

interface CallSpec<T> {
  readonly method: Method;
  /** Path without query; also the `route` of errors. */
  readonly route: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** A non-JSON body sent as is (the multipart upload); exclusive with `body`. */
  readonly rawBody?: { readonly bytes: Buffer; readonly contentType: string };
  readonly decode: Decoder<T>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function excerpt(text: string): string {
  return text.length > BODY_EXCERPT_CHARS ? `${text.slice(0, BODY_EXCERPT_CHARS)}…` : text;
}

/** The first recognisable error code in an error, its `cause` chain or an AggregateError. */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_FAILURE_CODES.has(code) || TIMEOUT_CODES.has(code))) return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = errorCode(inner, depth + 1);
      if (found) return found;
    }
  }
  const nested = errorCode((error as { cause?: unknown }).cause, depth + 1);
  return nested ?? (typeof code === 'string' ? code : undefined);
}

function isTimeoutAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TimeoutError';
}

/** A daemon-sent value's JSON cut to BODY_EXCERPT_CHARS; its bare description when too deep to write. */
function jsonExcerpt(value: unknown): string {
  try {
    return excerpt(JSON.stringify(value) ?? describeBadValue(value));
  } catch {
    // The only throw of JSON.stringify on parsed JSON: RangeError, nesting deeper than the stack.
    return describeBadValue(value);
  }
}

/** A value of the daemon's kept as it is when its JSON is short, else as the excerpt of its JSON. */
function boundedValue(value: unknown): unknown {
  try {
    const json = JSON.stringify(value);
    if (json === undefined || json.length <= BODY_EXCERPT_CHARS) return value;
  } catch {
    // Too deep to write: described below.
  }
  return jsonExcerpt(value);
}

/** One 422 issue, each part bounded (a path of at most MAX_DETAIL_ISSUES parts, short texts, short values). */
function toIssue(item: unknown): DaemonValidationIssue {
  const issue = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
  return {
    type: typeof issue.type === 'string' ? excerpt(issue.type) : 'unknown',
    loc: Array.isArray(issue.loc) ? issue.loc.slice(0, MAX_DETAIL_ISSUES).filter((p): p is string | number => typeof p === 'number' || typeof p === 'string').map((p) => (typeof p === 'string' ? excerpt(p) : p)) : [],
    msg: typeof issue.msg === 'string' ? excerpt(issue.msg) : jsonExcerpt(item),
    ...('input' in issue ? { input: boundedValue(issue.input) } : {}),
    ...(typeof issue.ctx === 'object' && issue.ctx !== null ? { ctx: (boundedValue(issue.ctx) as Record<string, unknown>) } : {}),
  };
}

/**
 * FastAPI's `detail`, bounded whatever the daemon sends (its reply may be up to MAX_RESPONSE_BYTES,
 * and the detail becomes the caller's error message): a string cut to DETAIL_MAX_CHARS, the first
 * MAX_DETAIL_ISSUES issues of a 422 and one more counting the rest.
 */
function toDetail(json: unknown): DaemonDetail {
  if (typeof json !== 'object' || json === null || !('detail' in json)) return null;
  const detail = (json as { detail: unknown }).detail;
  if (typeof detail === 'string') return detail.length > DETAIL_MAX_CHARS ? `${detail.slice(0, DETAIL_MAX_CHARS)}…` : detail;
  if (Array.isArray(detail)) {
    const issues = detail.slice(0, MAX_DETAIL_ISSUES).map(toIssue);
    const more = detail.length - issues.length;
    return more > 0 ? [...issues, { type: 'more_issues', loc: [], msg: `and ${more} more issues` }] : issues;
  }
  return detail === null || detail === undefined ? null : jsonExcerpt(detail);
}

/** Why `name` cannot be an uploaded sound's name on the daemon, or undefined when it can. */
function uploadNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'file name is empty';
  if (name === '.' || name === '..') return `file name '${name}' is not a file`;
  if (name.includes('/') || name.includes('\u0000')) return 'file name must be a bare name (no "/" or NUL)';
  if (Buffer.byteLength(name) > MAX_SOUND_UPLOAD_NAME_BYTES) return `file name is longer than ${MAX_SOUND_UPLOAD_NAME_BYTES} bytes`;
  return undefined;
}

/** A dataset id (`owner/name`) as the `{dataset_name:path}` segment: each part encoded, slashes kept. */
function datasetPath(dataset: string): string {
  return dataset.split('/').map(encodeURIComponent).join('/');
}

export type VolumeDevice = 'speaker' | 'microphone';
/** `VolumeResponse` (§1.6). */
export interface VolumeReply {
  readonly volume: number;
  readonly platform: string;
  readonly device: string;
}

const decodeStringArray: Decoder<readonly string[]> = (json) =>
  Array.isArray(json) && json.every((item) => typeof item === 'string') ? { ok: true, value: json as string[] } : { ok: false, problem: 'expected an array of move names' };

const decodeVolume: Decoder<VolumeReply> = (json) => {
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  // A percentage (daemon-api §1.6): anything else (Infinity from 1e400, a negative) is not a volume to pass on.
  if (typeof o.volume !== 'number' || !Number.isFinite(o.volume) || o.volume < 0 || o.volume > 100) return { ok: false, problem: 'expected {volume: a number from 0 to 100}' };
  return { ok: true, value: { volume: o.volume, platform: typeof o.platform === 'string' ? o.platform : '', device: typeof o.device === 'string' ? o.device : '' } };
};

export class DaemonHttpClient {
  readonly baseUrl: string;
  readonly requestTimeoutMs: number;
  readonly #agentOptions: Agent.Options;
  /** The agent, once undici is loaded, and its dispatcher as requests use it (marks each call's progress once it is handed to a socket). */
  #transport: Promise<UndiciTransport> | undefined;
  /** The Authorization header (empty without a token); never logged. */
  readonly #authHeaders: Record<string, string>;
  #closed = false;

  constructor(options: DaemonHttpClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`daemon baseUrl must be http(s), got ${options.baseUrl}`);
    this.baseUrl = url.origin;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const transport = options.transport;
    this.#authHeaders = authHeaders(options.auth);
    this.#agentOptions = {
      connect: transport ? (_options, callback) => transport.connect((error, socket) => (error ? callback(error, null) : callback(null, socket as never))) : { timeout: CONNECT_TIMEOUT_MS, ...tlsTrust(options.auth) },
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connections: options.connections ?? MAX_CONNECTIONS,
      maxResponseSize: MAX_RESPONSE_BYTES,
      allowH2: false,
    };
  }

  /** The agent, made at the first call (undici loaded then). */
  #open(): Promise<UndiciTransport> {
    this.#transport ??= loadUndici().then((undici) => {
      const agent = new undici.Agent(this.#agentOptions);
      return { agent, dispatcher: agent.compose(markWritten), request: undici.request };
    });
    return this.#transport;
  }

  /** `GET /api/daemon/status` — answers even while the backend is stopped. */
  daemonStatus(options?: CallOptions): Promise<DaemonStatus> {
    return this.#call({ method: 'GET', route: '/api/daemon/status', decode: decodeDaemonStatus }, options);
  }

  /** `GET /api/state/full`; flags left out keep the daemon's defaults. */
  fullState(flags: FullStateOptions = {}, options?: CallOptions): Promise<FullState> {
    const query: Record<string, string> = {};
    for (const [key, name] of Object.entries(FULL_STATE_QUERY) as [keyof FullStateOptions, string][]) {
      const value = flags[key];
      if (value !== undefined) query[name] = String(value);
    }
    return this.#call({ method: 'GET', route: '/api/state/full', query, decode: decodeFullState }, options);
  }

  /** `GET /api/state/present_head_pose`, XYZRPY or (`usePoseMatrix`) the row-major matrix. */
  presentHeadPose(flags?: { readonly usePoseMatrix?: false }, options?: CallOptions): Promise<XyzRpyPose>;
  presentHeadPose(flags: { readonly usePoseMatrix: true }, options?: CallOptions): Promise<MatrixPose>;
  presentHeadPose(flags: { readonly usePoseMatrix?: boolean } = {}, options?: CallOptions): Promise<HeadPose> {
    const route = '/api/state/present_head_pose';
    return flags.usePoseMatrix
      ? this.#call({ method: 'GET', route, query: { use_pose_matrix: 'true' }, decode: decodeMatrixPose }, options)
      : this.#call({ method: 'GET', route, decode: decodeXyzRpyPose }, options);
  }

  /** `GET /api/state/present_body_yaw` — a bare JSON number (rad). */
  presentBodyYaw(options?: CallOptions): Promise<number> {
    return this.#call({ method: 'GET', route: '/api/state/present_body_yaw', decode: decodeNumber }, options);
  }

  /** `GET /api/state/present_antenna_joint_positions` — `[right, left]` rad. */
  presentAntennas(options?: CallOptions): Promise<Antennas> {
    return this.#call({ method: 'GET', route: '/api/state/present_antenna_joint_positions', decode: decodeAntennas }, options);
  }

  motorsStatus(options?: CallOptions): Promise<{ readonly mode: MotorMode }> {
    return this.#call({ method: 'GET', route: '/api/motors/status', decode: decodeMotorsStatus }, options);
  }

  /** `POST /api/motors/set_mode/{mode}`; `status` is the daemon's text (`motors changed to MotorControlMode.X mode`). */
  setMotorMode(mode: MotorMode, options?: CallOptions): Promise<{ readonly status: string }> {
    return this.#call({ method: 'POST', route: `/api/motors/set_mode/${encodeURIComponent(mode)}`, decode: decodeStatusText }, options);
  }

  /** `POST /api/move/goto` — resolves with the move's uuid as soon as the daemon started it. */
  goto(body: GotoRequest, options?: CallOptions): Promise<{ readonly uuid: string }> {
    return this.#call({ method: 'POST', route: '/api/move/goto', body, decode: decodeUuid }, options);
  }

  /** `POST /api/move/set_target` — `ignored` (HTTP 200) while a move holds the lock; never reported as ok. */
  setTarget(body: SetTargetRequest, options?: CallOptions): Promise<SetTargetResult> {
    return this.#call({ method: 'POST', route: '/api/move/set_target', body, decode: decodeSetTargetResult }, options);
  }

  playWakeUp(options?: CallOptions): Promise<{ readonly uuid: string }> {
    return this.#call({ method: 'POST', route: '/api/move/play/wake_up', decode: decodeUuid }, options);
  }

  /** Ends with the motors disabled (§1.2). */
  playGotoSleep(options?: CallOptions): Promise<{ readonly uuid: string }> {
    return this.#call({ method: 'POST', route: '/api/move/play/goto_sleep', decode: decodeUuid }, options);
  }

  /** `GET /api/move/recorded-move-datasets/list/{dataset}` (§1.2): move names; 404 unknown dataset, 500 hub offline. */
  listRecordedMoves(dataset: string, options?: CallOptions): Promise<readonly string[]> {
    return this.#call({ method: 'GET', route: `/api/move/recorded-move-datasets/list/${datasetPath(dataset)}`, decode: decodeStringArray }, options);
  }

  /** `POST /api/move/play/recorded-move-dataset/{dataset}/{move}` (§1.2): the move's uuid; 404 `Move X not found…`. */
  playRecordedMove(dataset: string, move: string, options?: CallOptions): Promise<{ readonly uuid: string }> {
    return this.#call({ method: 'POST', route: `/api/move/play/recorded-move-dataset/${datasetPath(dataset)}/${encodeURIComponent(move)}`, decode: decodeUuid }, options);
  }

  /** `GET /api/volume/current` or `/api/volume/microphone/current` (§1.6); 500 when the host has no volume control. */
  volume(device: VolumeDevice, options?: CallOptions): Promise<VolumeReply> {
    return this.#call({ method: 'GET', route: device === 'speaker' ? '/api/volume/current' : '/api/volume/microphone/current', decode: decodeVolume }, options);
  }

  /** `POST /api/volume/set` or `/api/volume/microphone/set` `{volume}` 0..100 (§1.6; the speaker's also plays a test sound). */
  setVolume(device: VolumeDevice, volume: number, options?: CallOptions): Promise<VolumeReply> {
    return this.#call({ method: 'POST', route: device === 'speaker' ? '/api/volume/set' : '/api/volume/microphone/set', body: { volume }, decode: decodeVolume }, options);
  }

  /** uuids of the REST moves still running. */
  runningMoves(options?: CallOptions): Promise<readonly string[]> {
    return this.#call({ method: 'GET', route: '/api/move/running', decode: decodeRunningMoves }, options);
  }

  /**
   * `POST /api/move/stop`. An unknown or already finished uuid makes the daemon answer a plain
   * 500 (uncaught KeyError, quirk §11.3): that rejects with `DaemonServerError` (status 500,
   * route `/api/move/stop`) and the caller decides whether "already over" is fine.
   */
  stopMove(uuid: string, options?: CallOptions): Promise<{ readonly message: string }> {
    return this.#call({ method: 'POST', route: '/api/move/stop', body: { uuid }, decode: decodeMessage }, options);
  }

  mediaStatus(options?: CallOptions): Promise<MediaStatus> {
    return this.#call({ method: 'GET', route: '/api/media/status', decode: decodeMediaStatus }, options);
  }

  mediaRelease(options?: CallOptions): Promise<{ readonly status: 'ok' }> {
    return this.#call({ method: 'POST', route: '/api/media/release', decode: decodeStatusOk }, options);
  }

  mediaAcquire(options?: CallOptions): Promise<{ readonly status: 'ok' }> {
    return this.#call({ method: 'POST', route: '/api/media/acquire', decode: decodeStatusOk }, options);
  }

  /** `POST /api/media/play_sound` — `file` is a daemon-side path or asset name (`wake_up.wav`). */
  playSound(file: string, options?: CallOptions): Promise<{ readonly status: 'ok' }> {
    return this.#call({ method: 'POST', route: '/api/media/play_sound', body: { file }, decode: decodeStatusOk }, options);
  }

  /**
   * `POST /api/media/sounds/upload` (multipart field `file`): stores `bytes` as
   * `/tmp/reachy_mini_sounds/<name>` on the daemon, overwriting a file of that name, and resolves
   * with that path for `playSound`. The daemon answers 400 for an extension outside its list or
   * content it cannot decode (DaemonRejected). Refused before sending (DaemonRequestInvalid): a
   * name that is empty, `.`/`..`, holds `/` or NUL, or exceeds MAX_SOUND_UPLOAD_NAME_BYTES, and a
   * body over MAX_SOUND_UPLOAD_BYTES. Default deadline SOUND_UPLOAD_TIMEOUT_MS; never retried.
   */
  async uploadSound(name: string, bytes: Uint8Array, options?: CallOptions): Promise<{ readonly path: string }> {
    const problem = uploadNameProblem(name);
    if (problem) throw this.#invalid('POST', SOUND_UPLOAD_ROUTE, problem);
    const multipart = buildFilePartBody(SOUND_UPLOAD_FIELD, name, bytes);
    if (multipart.body.length > MAX_SOUND_UPLOAD_BYTES) {
      throw this.#invalid('POST', SOUND_UPLOAD_ROUTE, `upload body of ${multipart.body.length} bytes exceeds the daemon's ${MAX_SOUND_UPLOAD_BYTES}`);
    }
    return this.#call(
      { method: 'POST', route: SOUND_UPLOAD_ROUTE, rawBody: { bytes: multipart.body, contentType: multipart.contentType }, decode: decodeUploadedSound },
      { ...options, timeoutMs: options?.timeoutMs ?? SOUND_UPLOAD_TIMEOUT_MS },
    );
  }

  /** `GET /api/media/sounds` — names of the uploaded sounds, sorted by the daemon. */
  listSounds(options?: CallOptions): Promise<readonly string[]> {
    return this.#call({ method: 'GET', route: '/api/media/sounds', decode: decodeSoundList }, options);
  }

  /** `DELETE /api/media/sounds/{name}` — 404 (DaemonRejected) when there is no such upload. */
  deleteSound(name: string, options?: CallOptions): Promise<{ readonly status: 'ok' }> {
    const route = `/api/media/sounds/${encodeURIComponent(name)}`;
    const problem = uploadNameProblem(name);
    if (problem) return Promise.reject(this.#invalid('DELETE', route, problem));
    return this.#call({ method: 'DELETE', route, decode: decodeStatusOk }, options);
  }

  cameraSpecs(options?: CallOptions): Promise<CameraSpecs> {
    return this.#call({ method: 'GET', route: '/api/camera/specs', decode: decodeCameraSpecs }, options);
  }

  /** Aborts in-flight calls and closes every socket; later calls reject with DaemonNotConnected. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A client that never made a call has no agent: nothing to close, and no undici to load for it.
    if (this.#transport) await (await this.#transport).agent.destroy();
  }

  #invalid(method: Method, route: string, problem: string): DaemonRequestInvalid {
    return new DaemonRequestInvalid({ message: `${method} ${route} not sent: ${problem}`, method, route, problem });
  }

  async #call<T>(spec: CallSpec<T>, options?: CallOptions): Promise<T> {
    const delays = spec.method === 'GET' ? GET_RETRY_DELAYS_MS : [];
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#attempt(spec, options?.timeoutMs ?? this.requestTimeoutMs, options?.signal, options?.mayWrite);
      } catch (error) {
        const delay = delays[attempt];
        if (!(error instanceof DaemonUnreachable) || delay === undefined || this.#closed) throw error;
        log.debug('GET failed at the connection level, retrying', { route: spec.route, code: error.code, attempt: attempt + 1, delayMs: delay });
        await sleep(delay);
      }
    }
  }

  async #attempt<T>(spec: CallSpec<T>, timeoutMs: number, cancel?: AbortSignal, mayWrite?: () => boolean): Promise<T> {
    if (this.#closed) {
      throw new DaemonNotConnected({ message: `daemon client for ${this.baseUrl} is closed`, url: this.baseUrl, state: 'closed' });
    }
    const query = spec.query && Object.keys(spec.query).length > 0 ? `?${new URLSearchParams(spec.query).toString()}` : '';
    const url = `${this.baseUrl}${spec.route}${query}`;
    let status: number;
    let raw: string;
    if (cancel?.aborted) throw new DaemonCallCancelled({ message: `${spec.method} ${spec.route} cancelled before it was sent`, method: spec.method, route: spec.route });
    const deadline = deadlineSignal(timeoutMs);
    const progress: CallProgress = { written: false, refused: false, ...(mayWrite ? { mayWrite } : {}) };
    const unsent = new AbortController();
    const onCancel = () => {
      if (!progress.written) unsent.abort(new DOMException('cancelled while queued', 'AbortError'));
    };
    cancel?.addEventListener('abort', onCancel);
    try {
      // `progress` rides in the dispatch options to the markWritten interceptor (undici passes them through).
      const { dispatcher, request } = await this.#open();
      const response = await request(url, {
        dispatcher,
        method: spec.method,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: cancel ? AbortSignal.any([deadline.signal, unsent.signal]) : deadline.signal,
        ...({ progress } as object),
        ...(spec.rawBody !== undefined
          ? { body: spec.rawBody.bytes, headers: { ...this.#authHeaders, 'content-type': spec.rawBody.contentType } }
          : spec.body === undefined ? { headers: this.#authHeaders } : { body: JSON.stringify(spec.body), headers: { ...this.#authHeaders, 'content-type': 'application/json' } }),
      });
      status = response.statusCode;
      // Always consume the body, so the keep-alive socket is reusable and nothing leaks.
      raw = await response.body.text();
    } catch (error) {
      if (unsent.signal.aborted && !deadline.signal.aborted) throw new DaemonCallCancelled({ message: `${spec.method} ${spec.route} cancelled before it was sent`, method: spec.method, route: spec.route });
      if (progress.refused) throw new DaemonCallCancelled({ message: `${spec.method} ${spec.route} not sent: refused right before it would have been written`, method: spec.method, route: spec.route });
      throw this.#transportFailure(error, spec, url, timeoutMs);
    } finally {
      deadline.clear();
      cancel?.removeEventListener('abort', onCancel);
    }
    return this.#interpret(spec, status, raw);
  }

  #transportFailure(error: unknown, spec: CallSpec<unknown>, url: string, timeoutMs: number): DaemonHttpError {
    const code = errorCode(error);
    if (isTimeoutAbort(error) || (code !== undefined && TIMEOUT_CODES.has(code))) {
      return new DaemonTimeout({
        message: `daemon did not answer ${spec.method} ${spec.route} within ${timeoutMs} ms`,
        method: spec.method,
        route: spec.route,
        timeoutMs,
      });
    }
    if (this.#closed) {
      return new DaemonNotConnected({ message: `daemon client for ${this.baseUrl} was closed during ${spec.route}`, url: this.baseUrl, state: 'closed' });
    }
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
      return new DaemonBadResponse({
        message: `daemon reply to ${spec.method} ${spec.route} exceeds ${MAX_RESPONSE_BYTES} bytes`,
        method: spec.method,
        route: spec.route,
        status: 200,
        problem: 'reply too large',
        bodyExcerpt: '',
      });
    }
    // A TLS failure (untrusted certificate) is reported by the link notice with its advice, once.
    if (code === undefined || (!CONNECTION_FAILURE_CODES.has(code) && !isTls(code))) {
      // Not a network failure we know: still the daemon did not answer; keep the code for diagnosis.
      log.warn('unexpected transport failure', { route: spec.route, error });
    }
    return new DaemonUnreachable({
      message: `daemon at ${this.baseUrl} unreachable (${code ?? 'unknown'}) during ${spec.method} ${spec.route}`,
      url,
      code: code ?? 'unknown',
    });
  }

  #interpret<T>(spec: CallSpec<T>, status: number, raw: string): T {
    const parsed = parseJson(raw);
    const where = `${spec.method} ${spec.route}`;
    if (status >= 200 && status < 300) {
      if (!parsed) {
        throw new DaemonBadResponse({ message: `daemon reply to ${where} is not JSON`, method: spec.method, route: spec.route, status, problem: 'not JSON', bodyExcerpt: excerpt(raw) });
      }
      const decoded = spec.decode(parsed.json);
      if (decoded.ok) return decoded.value;
      throw new DaemonBadResponse({
        message: `daemon reply to ${where} has an unexpected shape: ${decoded.problem}`,
        method: spec.method,
        route: spec.route,
        status,
        problem: decoded.problem,
        bodyExcerpt: excerpt(raw),
      });
    }
    const detail = parsed ? toDetail(parsed.json) : null;
    if (status === 503 && detail === BACKEND_NOT_RUNNING_DETAIL) {
      throw new DaemonBackendNotRunning({ message: `daemon backend not running (${where})`, method: spec.method, route: spec.route });
    }
    if (status >= 400 && status < 500) {
      const shown = detail ?? (raw.length > 0 ? excerpt(raw) : null);
      throw new DaemonRejected({
        message: `daemon rejected ${where} (${status}): ${describeDetail(shown)}`,
        status,
        method: spec.method,
        route: spec.route,
        detail: shown,
      });
    }
    if (status >= 500) {
      throw new DaemonServerError({
        message: `daemon failed ${where} (${status}): ${excerpt(raw) || 'empty body'}`,
        status,
        method: spec.method,
        route: spec.route,
        bodyExcerpt: excerpt(raw),
      });
    }
    throw new DaemonBadResponse({ message: `daemon answered ${where} with HTTP ${status}`, method: spec.method, route: spec.route, status, problem: `unexpected status ${status}`, bodyExcerpt: excerpt(raw) });
  }
}
