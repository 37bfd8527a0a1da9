// A real nats-server with JetStream on, its store in a fresh temp dir: the broker the audit trail's
// stream (DC_AUDIT) tests run against. Owns the `jetstream { store_dir }` block and the broker's
// stop at the end of the test (queued on the caller's `defer`); clients, streams and what they hold
// are the test's.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, type NatsServerHandle, type StartNatsServerOptions } from './nats-server.ts';
import type { Defer } from './test-cleanups.ts';

/** The nats-server config block that turns JetStream on, storing in a new temp dir of its own. */
export function jetStreamConfig(): string {
  return `jetstream { store_dir: ${JSON.stringify(mkdtempSync(join(tmpdir(), 'rmd-js-')))} }`;
}

/** Starts a broker with JetStream (`options.extraConfig` is appended after its block); `defer` gets its stop. */
export async function startJetStreamBroker(defer: Defer, options: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const extraConfig = [jetStreamConfig(), ...(options.extraConfig === undefined ? [] : [options.extraConfig])].join('\n');
  const server = await startNatsServer({ ...options, extraConfig });
  defer(() => server.stop());
  return server;
}
