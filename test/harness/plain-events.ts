// Events as a model test's oracle writes them: an `error` object kept by its `_tag` and fields,
// without its `message` (prose, never matched); events without an error object are as sent. Owns
// only that comparison form; what a machine emits and what the oracle expects are the tests'.
import type { EventObject } from 'xstate';

export function plainEvents(events: ReadonlyArray<EventObject>): unknown[] {
  return events.map((e) => {
    const error = (e as { error?: unknown }).error as Record<string, unknown> | string | null | undefined;
    if (!error || typeof error !== 'object') return e;
    const { message: _message, ...fields } = { ...error };
    return { ...e, error: { _tag: error['_tag'], ...fields } };
  });
}
