// The "bare echo" baseline of the RPC bench (bench/rpc.ts), run as its own process: a minimal
// JSON-RPC responder written with the same NATS library as the driver (@nats-io/transport-node,
// callback subscription, like src/adapters/nats-link.ts). Per request it parses the JSON-RPC body,
// takes its id and answers `{jsonrpc, id, result}` with a `get_status` result captured from the
// driver in the same run (so the reply has the same size). No gate, no machines, no size check.
// Usage: node bench/rpc-echo.ts <nats-url> <subject> <result-json-file>; prints "ready" once serving.
import { readFileSync } from 'node:fs';
import { connect } from '@nats-io/transport-node';

const [url, subject, resultFile] = process.argv.slice(2);
if (!url || !subject || !resultFile) throw new Error('usage: rpc-echo.ts <nats-url> <subject> <result-json-file>');
const result: unknown = JSON.parse(readFileSync(resultFile, 'utf8'));
const nc = await connect({ servers: url, name: 'bench bare echo' });
nc.subscribe(subject, {
  callback: (error, msg) => {
    if (error) return;
    let id: unknown = null;
    try {
      id = (JSON.parse(msg.string()) as { id?: unknown }).id ?? null;
    } catch {
      // Not JSON: answered with a null id, like a JSON-RPC parse error would be.
    }
    msg.respond(JSON.stringify({ jsonrpc: '2.0', id, result }));
  },
});
await nc.flush();
process.stdout.write('ready\n');
const stop = async () => {
  await nc.drain();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
