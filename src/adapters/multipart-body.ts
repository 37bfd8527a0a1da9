// A `multipart/form-data` body with one file part, built in memory with its exact length (RFC 7578;
// the daemon's `POST /api/media/sounds/upload` reads the part named `file`, reachy-daemon-api.md
// §1.6). Owns the boundary choice and the quoting of the file name as browsers do it (WHATWG
// HTML "multipart/form-data encoding algorithm": `"` → %22, CR → %0D, LF → %0A), so no name can
// break the part headers. Does not own the HTTP call (daemon-http.ts) nor which names are allowed.
import { randomBytes } from 'node:crypto';

/** Random bytes in a boundary: 96 bits, so a collision with the payload is never expected. */
const BOUNDARY_RANDOM_BYTES = 12;
/** Attempts at a boundary absent from the payload (checked) before giving up. */
const BOUNDARY_ATTEMPTS = 4;

export interface MultipartBody {
  readonly body: Buffer;
  /** `multipart/form-data; boundary=...`, the request's Content-Type. */
  readonly contentType: string;
}

/** WHATWG escaping of a name or filename inside a quoted Content-Disposition parameter. */
export function escapeDispositionValue(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** One-part form: field `field` carrying `bytes` as file `filename`. */
export function buildFilePartBody(field: string, filename: string, bytes: Uint8Array, partContentType = 'application/octet-stream'): MultipartBody {
  const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let attempt = 0; attempt < BOUNDARY_ATTEMPTS; attempt++) {
    const boundary = `----reachy-driver-${randomBytes(BOUNDARY_RANDOM_BYTES).toString('hex')}`;
    if (payload.includes(boundary)) continue;
    const head = Buffer.from(
      `--${boundary}\r\n` +
        `Content-Disposition: form-data; name="${escapeDispositionValue(field)}"; filename="${escapeDispositionValue(filename)}"\r\n` +
        `Content-Type: ${partContentType}\r\n\r\n`,
      'utf8',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
    return { body: Buffer.concat([head, payload, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
  }
  throw new Error('no multipart boundary absent from the payload was found');
}
