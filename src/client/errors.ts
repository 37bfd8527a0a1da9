// Failures the mesh client reports, as tagged values (Effect `Data.TaggedError`, `_tag` is stable).
// Owns the client-side vocabulary: a JSON-RPC error reply (device-connect-protocol.md §2.3), the two
// broker failures of a request (no responders vs. timeout, §2.13), a device absent from discovery
// (§2.9/§2.10) and a reply that is not a JSON-RPC response. Does not own the device-side error
// mapping (src/errors.ts) nor any retry policy. Callers switch on `_tag`, never on `message`.
import * as Data from 'effect/Data';

/** The device (or registry) answered with `{"error":{code,message[,data]}}`. */
export class RpcError extends Data.TaggedError('RpcError')<{
  readonly message: string;
  readonly code: number;
  /** `error.data` as sent; our TS device puts `_tag` and fields here, the Python device sends none. */
  readonly data: unknown;
  /** Subject the request went to (`…<id>.cmd` or `….discovery`). */
  readonly subject: string;
  readonly method: string;
}> {}

/** Nobody is subscribed to the subject: the broker said so at once (device offline, wrong tenant/id). */
export class NoResponders extends Data.TaggedError('NoResponders')<{
  readonly message: string;
  readonly subject: string;
  readonly method: string;
}> {}

/** Someone is subscribed but no reply came in time (busy device, dropped notification-like request). */
export class RequestTimeout extends Data.TaggedError('RequestTimeout')<{
  readonly message: string;
  readonly subject: string;
  readonly method: string;
  readonly timeoutMs: number;
}> {}

/** Discovery (registry or D2D presence) does not know this device id. */
export class DeviceNotFound extends Data.TaggedError('DeviceNotFound')<{
  readonly message: string;
  readonly deviceId: string;
  readonly discoveryMode: 'infra' | 'd2d' | 'auto';
}> {}

/** A reply arrived but is not JSON, or is JSON without `result`/`error`. */
export class MalformedReply extends Data.TaggedError('MalformedReply')<{
  readonly message: string;
  readonly subject: string;
  readonly method: string;
  /** First characters of the body, for the operator. */
  readonly excerpt: string;
}> {}

/** Every way a request/reply exchange can fail. */
export type RequestFailure = RpcError | NoResponders | RequestTimeout | MalformedReply;
export type ClientError = RequestFailure | DeviceNotFound;

export function isClientError(value: unknown): value is ClientError {
  return (
    value instanceof RpcError ||
    value instanceof NoResponders ||
    value instanceof RequestTimeout ||
    value instanceof DeviceNotFound ||
    value instanceof MalformedReply
  );
}
