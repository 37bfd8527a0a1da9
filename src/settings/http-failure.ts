// A refusal of the settings API as a value: the HTTP status and the `{ok:false, error, issues}`
// body every route answers with (reference-driver.md §10 used `{ok:false, error}`; `issues` names
// the fields). Owns that shape only; the routes decide which status applies.
import type { FieldIssue } from './settings-schema.ts';

export class HttpFailure extends Error {
  override readonly name = 'HttpFailure';
  readonly _tag = 'HttpFailure';
  readonly status: number;
  readonly issues: ReadonlyArray<FieldIssue>;
  constructor(status: number, message: string, issues: ReadonlyArray<FieldIssue> = []) {
    super(message);
    this.status = status;
    this.issues = issues;
  }

  body(): { ok: false; error: string; issues: ReadonlyArray<FieldIssue> } {
    return { ok: false, error: this.message, issues: this.issues };
  }
}
