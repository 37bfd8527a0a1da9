// POST /api/credentials/upload on the settings app: the multipart plumbing around the upload steps
// of credentials-upload.ts — a declared size over the limit refused before a byte is read, one part
// in field "file", its name checked before its content, the content read within the limit, a body
// the parser cannot read refused (400 MultipartMalformed) — and the audit record of what was stored
// (name, kind, fingerprint; never the content), then the same apply a save runs, its result as
// `applied` (in app mode a valid upload starts the driver). Owns the route and the multipart limits
// settings-server.ts registers the parser with.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpFailure } from '../../settings/http-failure.ts';
import { MAX_UPLOAD_FILE_BYTES, uploadNameProblem } from '../../settings/credentials-upload-rules.ts';
import { readLimited, storeUploadedCredentials } from './credentials-upload.ts';
import type { RequestGuard } from './request-protections.ts';
import type { SettingsAuditSink } from './settings-audit-change.ts';
import type { SettingsStore } from './settings-store.ts';

/** Multipart framing around the file: boundaries, part headers and a few small fields. */
const MULTIPART_OVERHEAD_BYTES = 16 * 1024;
/** A declared Content-Length above this is refused (413) before a single body byte is read. */
export const MAX_UPLOAD_REQUEST_BYTES = MAX_UPLOAD_FILE_BYTES + MULTIPART_OVERHEAD_BYTES;
/** Non-file form fields: the page sends none; a few are tolerated, each at most 1 KiB. */
const MAX_FORM_FIELDS = 4;
const MAX_FORM_FIELD_BYTES = 1024;
/** The multipart parser's limits: one file of at most MAX_UPLOAD_FILE_BYTES and the few fields above. */
export const MULTIPART_LIMITS = { fileSize: MAX_UPLOAD_FILE_BYTES, files: 1, fields: MAX_FORM_FIELDS, fieldSize: MAX_FORM_FIELD_BYTES, parts: MAX_FORM_FIELDS + 1 } as const;

export interface UploadRouteContext {
  readonly guard: RequestGuard;
  readonly configDir: string;
  readonly store: SettingsStore;
  /** The apply a save runs (settings-routes.ts applyAfterSave): its result is the answer's `applied`. */
  readonly runApply: () => Promise<unknown>;
  readonly onAudit?: SettingsAuditSink<'credentials_uploaded'>;
}

/**
 * A step of the multipart parser whose failure is the body's fault (no boundary, a part cut short,
 * a malformed header): 400 MultipartMalformed. The parser's own refusals (limits: 413) carry a
 * status and pass through, like our HttpFailures; before, the rest was a logged 500.
 */
async function parsed<T>(step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (error) {
    if (error instanceof HttpFailure || typeof (error as { statusCode?: unknown }).statusCode === 'number') throw error;
    throw new HttpFailure(400, 'the upload is not a well-formed multipart/form-data body: send the file in the multipart field "file"', [], 'MultipartMalformed');
  }
}

async function uploadSizeGate(request: FastifyRequest): Promise<void> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_UPLOAD_REQUEST_BYTES) throw new HttpFailure(413, 'credentials file too large (max 256 KiB)');
}

export function registerUploadRoute(app: FastifyInstance, { guard, configDir, store, runApply, onAudit }: UploadRouteContext): void {
  app.post('/api/credentials/upload', { onRequest: [guard, uploadSizeGate] }, async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>) => {
    if (!request.isMultipart()) throw new HttpFailure(415, 'expected a multipart/form-data upload with the file in field "file"');
    const part = await parsed(request.file({ preservePath: true } as Parameters<typeof request.file>[0]));
    if (!part) throw new HttpFailure(400, 'missing file: send it in the multipart field "file"');
    if (part.fieldname !== 'file') throw new HttpFailure(400, `unexpected multipart field ${JSON.stringify(part.fieldname)}: send the file in field "file"`);
    // Refuse a bad name before reading a single byte of the content.
    const nameProblem = uploadNameProblem(part.filename);
    if (nameProblem) throw new HttpFailure(400, nameProblem);
    const read = await parsed(readLimited(part.file, MAX_UPLOAD_FILE_BYTES));
    if (!read.ok) throw new HttpFailure(413, 'credentials file too large (max 256 KiB)');
    const replace = request.query.replace === '1' || request.query.replace === 'true';
    const stored = await storeUploadedCredentials({ name: part.filename, bytes: read.bytes, configDir, replace, store });
    onAudit?.({ kind: 'credentials_uploaded', reason: `credentials ${stored.stored}`, fields: { file: part.filename, kind: stored.kind, fingerprint: stored.fingerprint, stored: stored.stored, device_id: stored.device_id, tenant: stored.tenant } });
    // Like a save: the stored file is applied at once (README: the driver starts as soon as the settings are valid).
    return { ...stored, applied: await runApply() };
  });
}
