// `npm run inspect`: a loopback relay for the Stately inspector (ecosystem §2.2). Start the driver
// with `--inspect ws://127.0.0.1:8080`, then open http://127.0.0.1:8080 in a browser that can reach
// stately.ai (the viewer UI is hosted; offline, use the settings app's live view at /live.html).
// `--host 0.0.0.0` exposes the relay to the LAN on purpose (a driver elsewhere: `--inspect
// ws://<this machine>:8080`; every URL it answers at is printed); `--port` moves it. No browser is opened.
import { parseArgs } from 'node:util';
import { RELAY_DEFAULT_HOST, RELAY_DEFAULT_PORT, startInspectorRelay } from '../src/adapters/inspector-relay.ts';

const { values } = parseArgs({ options: { host: { type: 'string' }, port: { type: 'string' } } });
const relay = await startInspectorRelay(values.host ?? RELAY_DEFAULT_HOST, Number(values.port ?? RELAY_DEFAULT_PORT));
process.stdout.write(`inspector relay on ${relay.wsUrl} (open ${relay.urls.join(' or ')}; the viewer needs stately.ai)\n`);
