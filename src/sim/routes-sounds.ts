// The daemon's sound file routes (RM:src/reachy_mini/daemon/app/routers/media.py upload_sound,
// list_sounds, delete_sound; reachy-daemon-api.md §1.6): multipart upload into the sound temp
// directory, listing, deletion. Replies follow FastAPI/Starlette: 422 `missing` without a `file`
// field, 400 `Missing boundary in multipart.` / `There was an error parsing the body`, 400 with
// the route's own details, 404 for a missing file. The 413 body cap is the dispatcher's (the
// daemon's middleware runs before the route). Storage and name rules: sound-uploads.ts.
import * as Result from 'effect/Result';
import { detail, internalServerError, okJson, validationFailed, type HttpReply } from './fastapi-errors.ts';
import type { Route } from './route-types.ts';
import { multipartBoundary, parseMultipartForm } from './multipart-form.ts';
import { checkUploadName, isValidDeleteName, looksLikeAudio } from './sound-uploads.ts';
import type { SimDaemon } from './sim-daemon.ts';

/** The multipart field `upload_sound(file: UploadFile = File(...))` reads. */
const UPLOAD_FIELD = 'file';

const missingFile = (): HttpReply => validationFailed([{ type: 'missing', loc: ['body', UPLOAD_FIELD], msg: 'Field required', input: null }]);

function uploadSound(rawBody: Buffer, contentType: string | undefined, daemon: SimDaemon): HttpReply {
  const boundary = multipartBoundary(contentType);
  if (Result.isFailure(boundary)) {
    // Starlette reads any other Content-Type as an empty form: the field is just missing.
    return boundary.failure.problem === 'not-multipart' ? missingFile() : detail(400, boundary.failure.message);
  }
  const form = parseMultipartForm(rawBody, boundary.success);
  if (Result.isFailure(form)) return detail(400, 'There was an error parsing the body');
  // Starlette's FormData.get: the last value of a repeated field.
  const part = form.success.filter((p) => p.name === UPLOAD_FIELD).at(-1);
  if (part === undefined) return missingFile();
  if (part.filename === undefined) {
    const input = part.data.toString('utf8');
    return validationFailed([
      { type: 'value_error', loc: ['body', UPLOAD_FIELD], msg: "Value error, Expected UploadFile, received: <class 'str'>", input, ctx: { error: {} } },
    ]);
  }
  const name = checkUploadName(part.filename);
  if (!name.ok) return detail(400, name.detail);
  if (!looksLikeAudio(part.data)) return detail(400, 'Unsupported or invalid audio file');
  const stored = daemon.sounds.store(name.name, part.data);
  if (!stored.ok) return internalServerError();
  return okJson({ status: 'ok', path: stored.path });
}

export const SOUND_ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/api/media/sounds/upload',
    needsBackend: false,
    body: 'multipart',
    handle: ({ rawBody, contentType }, daemon) => uploadSound(rawBody, contentType, daemon),
  },
  {
    method: 'GET',
    path: '/api/media/sounds',
    needsBackend: false,
    body: 'none',
    handle: (_request, daemon) => okJson({ files: daemon.sounds.names() }),
  },
  {
    method: 'DELETE',
    path: '/api/media/sounds/{filename}',
    needsBackend: false,
    body: 'none',
    handle: ({ params }, daemon): HttpReply => {
      const filename = params.filename ?? '';
      if (!isValidDeleteName(filename)) return detail(400, 'Invalid filename');
      if (!daemon.sounds.delete(filename)) return detail(404, `File '${filename}' not found`);
      return okJson({ status: 'ok' });
    },
  },
];
