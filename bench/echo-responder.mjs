// Baseline process for bench/startup.ts: the least a Device Connect responder can be — plain
// JavaScript (no type stripping), one NATS connection, one subscription on the `.cmd` subject
// answering every request with a JSON-RPC result. Its spawn → first answer is the floor the
// driver's start-up is compared with. Usage: node bench/echo-responder.mjs <nats-url> <subject>.
import { connect } from '@nats-io/transport-node';

const [url, subject] = process.argv.slice(2);
const nc = await connect({ servers: url });
nc.subscribe(subject, {
  callback: (_error, msg) => {
    const request = msg.json();
    msg.respond(JSON.stringify({ jsonrpc: '2.0', id: request.id ?? null, result: { status: 'ok' } }));
  },
});
process.once('SIGTERM', () => void nc.close().then(() => process.exit(0)));
