// The gst-webrtc-signalling protocol v1 (reachy-daemon-api.md §9.2): JSON text frames tagged by
// `type` with camelCase fields, in both directions (server → peer, peer → server). Owns the message
// types, a strict decoder per direction that never throws (malformed input becomes a typed
// `DecodeProblem`; how strict: `decode`), encoders with a stable field order, and the robot's
// well-known port and producer name. Does not own sockets, sessions or routing
// (src/adapters/signalling/, the driver's side; src/sim/signalling-server.ts, the emulator's). Pure;
// no I/O.
import { isRecord } from '../../protocol/json-object.ts';

/** Port of webrtcsink's built-in signalling server (`run-signalling-server=true`, reference §5.4). */
export const SIGNALLING_PORT = 8443;
/** `meta.name` of the robot's producer (`webrtcsink meta=name=reachymini`, reference §5.4 `WEBRTC_PRODUCER_NAME`). */
export const PRODUCER_NAME = 'reachymini';

/** Outcome of a signalling probe (`get_media_stream_access(probe_signaling=true)`), snake_case as in the reference payload. */
export type ProbeResult =
  | { readonly reachable: true; readonly producer_name: string; readonly peer_id: string; readonly producer_count: number }
  | { readonly reachable: false; readonly reason: string };

/**
 * Peer roles. gst-plugins-rs knows `producer` and `listener`; the spec (§9.2) also lists
 * `consumer`, which newer servers use for `listConsumers`. Anything else is refused.
 */
export const PEER_ROLES = ['listener', 'producer', 'consumer'] as const;
export type PeerRole = (typeof PEER_ROLES)[number];

/** A JSON value, as `JSON.parse` gives it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Free-form peer metadata: any JSON, as the reference server takes and relays it
 * (`Option<serde_json::Value>`); `null` when a peer sent none. The robot's is `{"name":"reachymini"}`;
 * only an object can carry a name (`peerName`).
 */
export type PeerMeta = JsonValue;

/** One entry of `list` / `listConsumers`. */
export interface PeerInfo {
  readonly id: string;
  readonly meta: PeerMeta;
}

/** `meta.name` when `meta` is an object that has one (any JSON type); `undefined` for any other meta. */
export function peerName(meta: PeerMeta): JsonValue | undefined {
  return isRecord(meta) ? meta['name'] : undefined;
}

export interface SdpPayload {
  readonly type: 'offer' | 'answer';
  readonly sdp: string;
}

export interface IcePayload {
  readonly candidate: string;
  readonly sdpMLineIndex: number;
}

/** `peer`: relayed verbatim between the two sides of a session; exactly one of `sdp` / `ice`. */
export type PeerMessage =
  | { readonly type: 'peer'; readonly sessionId: string; readonly sdp: SdpPayload }
  | { readonly type: 'peer'; readonly sessionId: string; readonly ice: IcePayload };

export interface EndSessionMessage {
  readonly type: 'endSession';
  readonly sessionId: string;
}

// ---- server → peer ----------------------------------------------------------------------------

export interface WelcomeMessage {
  readonly type: 'welcome';
  readonly peerId: string;
}
export interface PeerStatusChangedMessage {
  readonly type: 'peerStatusChanged';
  readonly peerId: string;
  readonly roles: readonly PeerRole[];
  readonly meta: PeerMeta;
}
export interface ListMessage {
  readonly type: 'list';
  readonly producers: readonly PeerInfo[];
  /** Entries left out on decoding: not an object, or without a non-empty string `id` (absent when none). */
  readonly skipped?: number;
}
export interface ListConsumersMessage {
  readonly type: 'listConsumers';
  readonly consumers: readonly PeerInfo[];
  /** As in `ListMessage`. */
  readonly skipped?: number;
}
/** To the consumer: its session with producer `peerId` is `sessionId`. */
export interface SessionStartedMessage {
  readonly type: 'sessionStarted';
  readonly peerId: string;
  readonly sessionId: string;
}
/** To the producer: consumer `peerId` wants a session; `offer` when the consumer offers. */
export interface StartSessionToProducerMessage {
  readonly type: 'startSession';
  readonly peerId: string;
  readonly sessionId: string;
  readonly offer?: string;
}
export interface ErrorMessage {
  readonly type: 'error';
  readonly details: string;
}

export type ServerMessage =
  | WelcomeMessage
  | PeerStatusChangedMessage
  | ListMessage
  | ListConsumersMessage
  | SessionStartedMessage
  | StartSessionToProducerMessage
  | PeerMessage
  | EndSessionMessage
  | ErrorMessage;

// ---- peer → server ----------------------------------------------------------------------------

export interface SetPeerStatusMessage {
  readonly type: 'setPeerStatus';
  readonly roles: readonly PeerRole[];
  readonly meta: PeerMeta;
}
export interface ListRequest {
  readonly type: 'list';
}
export interface ListConsumersRequest {
  readonly type: 'listConsumers';
}
/** From a consumer: start a session with producer `peerId` (`offer` when the consumer offers). */
export interface StartSessionRequest {
  readonly type: 'startSession';
  readonly peerId: string;
  readonly offer?: string;
}
/** Optional first message of some clients (§9.2); the version is informative only. */
export interface SetProtocolVersionMessage {
  readonly type: 'setProtocolVersion';
  readonly version?: string | number;
}

export type ClientMessage =
  | SetPeerStatusMessage
  | ListRequest
  | ListConsumersRequest
  | StartSessionRequest
  | PeerMessage
  | EndSessionMessage
  | SetProtocolVersionMessage;

// ---- decoding ---------------------------------------------------------------------------------

export type DecodeProblemKind = 'malformed-json' | 'not-an-object' | 'missing-type' | 'unknown-type' | 'invalid-field';

/** Why a frame was refused; `details` is the human sentence sent back in `error.details`. */
export interface DecodeProblem {
  readonly kind: DecodeProblemKind;
  /** The frame's `type` when it had one. */
  readonly messageType: string | null;
  readonly details: string;
}

export type Decoded<M> = { readonly ok: true; readonly message: M } | { readonly ok: false; readonly problem: DecodeProblem };

/** Longest excerpt of a bad frame quoted in a problem's details (keeps logs and replies small). */
const EXCERPT_CHARS = 80;

type Json = Record<string, unknown>;

/** Thrown only inside this module and always caught by `decode`; callers never see it. */
class FieldError {
  readonly details: string;
  constructor(details: string) {
    this.details = details;
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** A wrong scalar quoted (a string cut to EXCERPT_CHARS), anything else described: never walks into a value. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(excerpt(value));
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : describe(value);
}

function id(frame: Json, field: string): string {
  const value = frame[field];
  if (typeof value !== 'string' || value.length === 0) throw new FieldError(`"${field}" must be a non-empty string, got ${describe(value)}`);
  return value;
}

function text(frame: Json, field: string): string {
  const value = frame[field];
  if (typeof value !== 'string') throw new FieldError(`"${field}" must be a string, got ${describe(value)}`);
  return value;
}

function optionalText(frame: Json, field: string): string | undefined {
  return frame[field] === undefined || frame[field] === null ? undefined : text(frame, field);
}

/** Any JSON (the value comes from `JSON.parse`); absent is `null`. */
function meta(value: unknown): PeerMeta {
  return value === undefined ? null : (value as JsonValue);
}

function roles(frame: Json): PeerRole[] {
  const value = frame['roles'];
  if (!Array.isArray(value)) throw new FieldError(`"roles" must be an array, got ${describe(value)}`);
  return value.map((role: unknown) => {
    if (typeof role !== 'string' || !(PEER_ROLES as readonly string[]).includes(role)) {
      throw new FieldError(`"roles" entries must be one of ${PEER_ROLES.join(', ')}, got ${shown(role)}`);
    }
    return role as PeerRole;
  });
}

/** The usable entries of a peer list and how many were left out (one odd entry must not hide the robot). */
function peerList(frame: Json, field: string): { peers: PeerInfo[]; skipped?: number } {
  const value = frame[field];
  if (!Array.isArray(value)) throw new FieldError(`"${field}" must be an array, got ${describe(value)}`);
  const peers: PeerInfo[] = [];
  for (const entry of value as unknown[]) {
    const entryId = isRecord(entry) ? entry['id'] : undefined;
    if (isRecord(entry) && typeof entryId === 'string' && entryId.length > 0) peers.push({ id: entryId, meta: meta(entry['meta']) });
  }
  const skipped = value.length - peers.length;
  return skipped === 0 ? { peers } : { peers, skipped };
}

function peerMessage(frame: Json): PeerMessage {
  const sessionId = id(frame, 'sessionId');
  const sdp = frame['sdp'];
  const ice = frame['ice'];
  if ((sdp === undefined) === (ice === undefined)) throw new FieldError('"peer" must carry exactly one of "sdp" or "ice"');
  if (sdp !== undefined) {
    if (!isRecord(sdp)) throw new FieldError(`"sdp" must be an object, got ${describe(sdp)}`);
    const kind = sdp['type'];
    if (kind !== 'offer' && kind !== 'answer') throw new FieldError(`"sdp.type" must be "offer" or "answer", got ${shown(kind)}`);
    const body = sdp['sdp'];
    if (typeof body !== 'string' || body.length === 0) throw new FieldError('"sdp.sdp" must be a non-empty string');
    return { type: 'peer', sessionId, sdp: { type: kind, sdp: body } };
  }
  if (!isRecord(ice)) throw new FieldError(`"ice" must be an object, got ${describe(ice)}`);
  const candidate = ice['candidate'];
  if (typeof candidate !== 'string') throw new FieldError(`"ice.candidate" must be a string, got ${describe(candidate)}`);
  const index = ice['sdpMLineIndex'];
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
    throw new FieldError(`"ice.sdpMLineIndex" must be a non-negative integer, got ${shown(index)}`);
  }
  return { type: 'peer', sessionId, ice: { candidate, sdpMLineIndex: index } };
}

function serverMessage(type: string, frame: Json): ServerMessage | null {
  switch (type) {
    case 'welcome':
      return { type, peerId: id(frame, 'peerId') };
    case 'peerStatusChanged':
      return { type, peerId: id(frame, 'peerId'), roles: roles(frame), meta: meta(frame['meta']) };
    case 'list': {
      const { peers, skipped } = peerList(frame, 'producers');
      return { type, producers: peers, ...(skipped === undefined ? {} : { skipped }) };
    }
    case 'listConsumers': {
      const { peers, skipped } = peerList(frame, 'consumers');
      return { type, consumers: peers, ...(skipped === undefined ? {} : { skipped }) };
    }
    case 'sessionStarted':
      return { type, peerId: id(frame, 'peerId'), sessionId: id(frame, 'sessionId') };
    case 'startSession': {
      const offer = optionalText(frame, 'offer');
      return { type, peerId: id(frame, 'peerId'), sessionId: id(frame, 'sessionId'), ...(offer === undefined ? {} : { offer }) };
    }
    case 'peer':
      return peerMessage(frame);
    case 'endSession':
      return { type, sessionId: id(frame, 'sessionId') };
    case 'error':
      return { type, details: text(frame, 'details') };
    default:
      return null;
  }
}

function clientMessage(type: string, frame: Json): ClientMessage | null {
  switch (type) {
    case 'setPeerStatus':
      return { type, roles: roles(frame), meta: meta(frame['meta']) };
    case 'list':
    case 'listConsumers':
      return { type };
    case 'startSession': {
      const offer = optionalText(frame, 'offer');
      return { type, peerId: id(frame, 'peerId'), ...(offer === undefined ? {} : { offer }) };
    }
    case 'peer':
      return peerMessage(frame);
    case 'endSession':
      return { type, sessionId: id(frame, 'sessionId') };
    case 'setProtocolVersion': {
      const version = frame['version'];
      if (version === undefined || version === null) return { type };
      if (typeof version !== 'string' && typeof version !== 'number') throw new FieldError(`"version" must be a string or a number, got ${describe(version)}`);
      return { type, version };
    }
    default:
      return null;
  }
}

function excerpt(raw: string): string {
  return raw.length > EXCERPT_CHARS ? `${raw.slice(0, EXCERPT_CHARS)}…` : raw;
}

/**
 * One frame, decoded or refused with a DecodeProblem (never throws on input). Like the Rust reference
 * (serde), unknown extra fields are ignored and a peer's `meta` may be any JSON; every other known
 * field is type-checked, except that a `list` entry without a usable id is left out (and counted:
 * `peerList`) rather than refusing the whole list.
 */
function decode<M>(raw: string, direction: string, known: (type: string, frame: Json) => M | null): Decoded<M> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw) as unknown;
  } catch {
    return { ok: false, problem: { kind: 'malformed-json', messageType: null, details: `not JSON: ${JSON.stringify(excerpt(raw))}` } };
  }
  if (!isRecord(parsed)) return { ok: false, problem: { kind: 'not-an-object', messageType: null, details: `a message must be a JSON object, got ${describe(parsed)}` } };
  const type = parsed['type'];
  if (typeof type !== 'string') return { ok: false, problem: { kind: 'missing-type', messageType: null, details: `"type" must be a string, got ${describe(type)}` } };
  try {
    const message = known(type, parsed);
    if (message === null) return { ok: false, problem: { kind: 'unknown-type', messageType: type, details: `unknown ${direction} message type ${JSON.stringify(excerpt(type))}` } };
    return { ok: true, message };
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, problem: { kind: 'invalid-field', messageType: type, details: `invalid "${type}": ${error.details}` } };
    throw error;
  }
}

/** Decodes a frame a peer received from the server. Never throws. */
export function decodeServerMessage(raw: string): Decoded<ServerMessage> {
  return decode(raw, 'server', serverMessage);
}

/** Decodes a frame the server received from a peer. Never throws. */
export function decodeClientMessage(raw: string): Decoded<ClientMessage> {
  return decode(raw, 'peer', clientMessage);
}

// ---- encoding ---------------------------------------------------------------------------------

function encodePeer(message: PeerMessage): Json {
  return 'sdp' in message
    ? { type: 'peer', sessionId: message.sessionId, sdp: { type: message.sdp.type, sdp: message.sdp.sdp } }
    : { type: 'peer', sessionId: message.sessionId, ice: { candidate: message.ice.candidate, sdpMLineIndex: message.ice.sdpMLineIndex } };
}

function encodePeerList(peers: readonly PeerInfo[]): Json[] {
  return peers.map((peer) => ({ id: peer.id, meta: peer.meta }));
}

/** The JSON text of a server → peer message (`type` first, absent optionals left out). */
export function encodeServerMessage(message: ServerMessage): string {
  switch (message.type) {
    case 'welcome':
      return JSON.stringify({ type: message.type, peerId: message.peerId });
    case 'peerStatusChanged':
      return JSON.stringify({ type: message.type, roles: message.roles, meta: message.meta, peerId: message.peerId });
    case 'list':
      return JSON.stringify({ type: message.type, producers: encodePeerList(message.producers) });
    case 'listConsumers':
      return JSON.stringify({ type: message.type, consumers: encodePeerList(message.consumers) });
    case 'sessionStarted':
      return JSON.stringify({ type: message.type, peerId: message.peerId, sessionId: message.sessionId });
    case 'startSession':
      return JSON.stringify({
        type: message.type,
        peerId: message.peerId,
        sessionId: message.sessionId,
        ...(message.offer === undefined ? {} : { offer: message.offer }),
      });
    case 'peer':
      return JSON.stringify(encodePeer(message));
    case 'endSession':
      return JSON.stringify({ type: message.type, sessionId: message.sessionId });
    case 'error':
      return JSON.stringify({ type: message.type, details: message.details });
  }
}

/** The JSON text of a peer → server message. */
export function encodeClientMessage(message: ClientMessage): string {
  switch (message.type) {
    case 'setPeerStatus':
      return JSON.stringify({ type: message.type, roles: message.roles, meta: message.meta });
    case 'list':
    case 'listConsumers':
      return JSON.stringify({ type: message.type });
    case 'startSession':
      return JSON.stringify({ type: message.type, peerId: message.peerId, ...(message.offer === undefined ? {} : { offer: message.offer }) });
    case 'peer':
      return JSON.stringify(encodePeer(message));
    case 'endSession':
      return JSON.stringify({ type: message.type, sessionId: message.sessionId });
    case 'setProtocolVersion':
      return JSON.stringify({ type: message.type, ...(message.version === undefined ? {} : { version: message.version }) });
  }
}
