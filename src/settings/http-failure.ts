// A refusal of the settings API as a value: the HTTP status and the `{ok:false, error, issues}`
// body every route answers with (reference-driver.md §10 used `{ok:false, error}`; `issues` names
// the fields), plus `error_tag` where a client may act on the kind of refusal (a stable name, never
// a message to match). Owns that shape only; the routes decide which status and tag apply.
import type { FieldIssue } from './settings-schema.ts';

export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  readonly _tag = 'HttpFailure';
  readonly status: number;
  readonly issues: ReadonlyArray<FieldIssue>;
  /** The kind of refusal (`MultipartMalformed`…), answered as `error_tag`; absent where the status says enough. */
  readonly errorTag: string | undefined;
  constructor(status: number, message: string, issues: ReadonlyArray<FieldIssue> = [], errorTag?: string) {
    super(message);
    this.status = status;
    this.issues = issues;
    this.errorTag = errorTag;
  }

  body(): { ok: false; error: string; issues: ReadonlyArray<FieldIssue>; error_tag?: string } {
    return { ok: false, error: this.message, issues: this.issues, ...(this.errorTag === undefined ? {} : { error_tag: this.errorTag }) };
  }
}
