// A small, bounded `multipart/form-data` parser for the emulator's sound upload route (RFC 7578,
// RFC 2046 §5.1.1 delimiters; reachy-daemon-api.md §1.6). Owns the boundary from the Content-Type,
// splitting a fully received body into parts, and each part's Content-Disposition `name` and
// `filename` (quoted strings with backslash escapes, as Python's email parser reads them). Bounds
// the part count and header size. Does not own size limits of the body (http-dispatch.ts) nor what
// the daemon does with the parts (routes-media.ts, sound-uploads.ts).
import * as Data from 'effect/Data';
import * as Result from 'effect/Result';

/** Parts read at most; the daemon's form has one, Starlette's own default limit is 1000. */
export const MAX_FORM_PARTS = 16;
/** Bytes of one part's header block at most (Starlette caps header lines too); names are ≤ 255 bytes. */
export const MAX_PART_HEADER_BYTES = 8 * 1024;
/** RFC 2046 §5.1.1: a boundary is 1 to 70 characters. */
const MAX_BOUNDARY_CHARS = 70;

export class MultipartInvalid extends Data.TaggedError('MultipartInvalid')<{
  readonly message: string;
  /** `not-multipart`: another Content-Type (FastAPI then sees no form field at all). */
  readonly problem: 'not-multipart' | 'missing-boundary' | 'malformed' | 'too-many-parts';
}> {}

export interface FormPart {
  /** Content-Disposition `name`. */
  readonly name: string;
  /** Content-Disposition `filename`; undefined for a plain field. */
  readonly filename: string | undefined;
  readonly contentType: string | undefined;
  readonly data: Buffer;
}

const invalid = (problem: MultipartInvalid['problem'], message: string): Result.Result<never, MultipartInvalid> =>
  Result.fail(new MultipartInvalid({ problem, message }));

/**
 * `key=value` parameters after the first `;` of a header value; values are tokens or quoted
 * strings whose `\x` escapes stand for `x`. Keys are lower-cased.
 */
export function parseHeaderParameters(value: string): { readonly type: string; readonly parameters: ReadonlyMap<string, string> } {
  const parameters = new Map<string, string>();
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  let i = semicolon < 0 ? value.length : semicolon + 1;
  while (i < value.length) {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t' || value[i] === ';')) i++;
    const eq = value.indexOf('=', i);
    if (eq < 0) break;
    const key = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let parsed = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        parsed += value[i];
        i++;
      }
      i++;
    } else {
      const end = value.indexOf(';', i);
      parsed = value.slice(i, end < 0 ? value.length : end).trim();
      i = end < 0 ? value.length : end;
    }
    if (key.length > 0 && !parameters.has(key)) parameters.set(key, parsed);
  }
  return { type, parameters };
}

/** The boundary of a `multipart/form-data` Content-Type. */
export function multipartBoundary(contentType: string | undefined): Result.Result<string, MultipartInvalid> {
  const { type, parameters } = parseHeaderParameters(contentType ?? '');
  if (type !== 'multipart/form-data') return invalid('not-multipart', `Content-Type is ${contentType ?? 'absent'}, not multipart/form-data`);
  const boundary = parameters.get('boundary');
  if (boundary === undefined || boundary.length === 0 || boundary.length > MAX_BOUNDARY_CHARS) {
    return invalid('missing-boundary', 'Missing boundary in multipart.');
  }
  return Result.succeed(boundary);
}

function partHeaders(block: string): Result.Result<{ name: string; filename: string | undefined; contentType: string | undefined }, MultipartInvalid> {
  let disposition: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return invalid('malformed', `malformed part header line '${line.slice(0, 60)}'`);
    const field = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (field === 'content-disposition') disposition = value;
    else if (field === 'content-type') contentType = value;
  }
  if (disposition === undefined) return invalid('malformed', 'part without Content-Disposition');
  const { type, parameters } = parseHeaderParameters(disposition);
  const name = parameters.get('name');
  if (type !== 'form-data' || name === undefined) return invalid('malformed', `Content-Disposition '${disposition.slice(0, 80)}' is not form-data with a name`);
  return Result.succeed({ name, filename: parameters.get('filename'), contentType });
}

/**
 * The parts of a complete body: optional preamble, `--boundary` CRLF, headers, blank line, data up
 * to CRLF `--boundary`, and so on until `--boundary--`. Anything else is `malformed`.
 */
export function parseMultipartForm(body: Uint8Array, boundary: string): Result.Result<readonly FormPart[], MultipartInvalid> {
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const opening = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  // The first delimiter may start the body (no preamble) or follow a preamble and its CRLF.
  let cursor: number;
  if (buffer.subarray(0, opening.length).equals(opening)) cursor = opening.length;
  else {
    const found = buffer.indexOf(delimiter);
    if (found < 0) return invalid('malformed', 'no opening boundary');
    cursor = found + delimiter.length;
  }
  const parts: FormPart[] = [];
  for (;;) {
    const after = buffer.subarray(cursor, cursor + 2).toString('latin1');
    if (after === '--') return Result.succeed(parts);
    if (after !== '\r\n') return invalid('malformed', 'boundary not followed by CRLF or "--"');
    if (parts.length >= MAX_FORM_PARTS) return invalid('too-many-parts', `more than ${MAX_FORM_PARTS} parts`);
    const headersStart = cursor + 2;
    const headersEnd = buffer.indexOf('\r\n\r\n', headersStart, 'latin1');
    if (headersEnd < 0 || headersEnd - headersStart > MAX_PART_HEADER_BYTES) return invalid('malformed', 'part headers not terminated');
    // Header values are UTF-8 in practice (browsers and Starlette decode file names as UTF-8).
    const headers = partHeaders(buffer.subarray(headersStart, headersEnd).toString('utf8'));
    if (Result.isFailure(headers)) return Result.fail(headers.failure);
    const dataStart = headersEnd + 4;
    const dataEnd = buffer.indexOf(delimiter, dataStart);
    if (dataEnd < 0) return invalid('malformed', 'part not closed by a boundary');
    parts.push({ ...headers.success, data: buffer.subarray(dataStart, dataEnd) });
    cursor = dataEnd + delimiter.length;
  }
}
