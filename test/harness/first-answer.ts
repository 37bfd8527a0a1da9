// When a device answers again after an outage, as a caller meets it: a new `get_status` every
// interval without waiting for the previous one, so a request sent in the instant a route or a link
// dies (forwarded to where the device was, it waits its whole timeout) does not hide a device that
// is already back. Owns only the polling; used by the fleet tests and the fleet bench.
import type { MeshClient } from '../../src/client/mesh-client.ts';

export interface FirstAnswerOptions {
  /** Between two requests (each request is its own, in flight up to `requestTimeoutMs`). */
  readonly intervalMs: number;
  readonly requestTimeoutMs: number;
  /** Gives up after this long: resolves undefined. */
  readonly giveUpMs: number;
}

/** Date.now() when the first answer arrived, or undefined when none came within `giveUpMs`. */
export function firstAnswer(client: MeshClient, deviceId: string, options: FirstAnswerOptions): Promise<number | undefined> {
  const started = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (at: number | undefined): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      resolve(at);
    };
    const ask = (): void => {
      if (Date.now() - started > options.giveUpMs) {
        finish(undefined);
        return;
      }
      // Requests still in flight when it is over are left to time out; a closed connection is no answer.
      client.invoke(deviceId, 'get_status', {}, { timeoutMs: options.requestTimeoutMs }).then(
        (answer) => answer.ok && finish(Date.now()),
        () => undefined,
      );
    };
    const timer = setInterval(ask, options.intervalMs);
    ask();
  });
}
