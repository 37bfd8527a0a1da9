// `npm run inspect`: a loopback relay for the Stately inspector (ecosystem §2.2). Start the driver
// with `--inspect ws://127.0.0.1:8080`, then open http://127.0.0.1:8080 in a browser that can reach
// stately.ai (the viewer UI is hosted). No browser is opened from here (headless hosts).
import { createInspectorServer } from '@statelyai/inspect/server';

/** Relay port; the driver's `--inspect` URL must match it. */
const RELAY_PORT = 8080;
createInspectorServer({ port: RELAY_PORT, autoOpen: false });
process.stdout.write(`inspector relay on ws://127.0.0.1:${RELAY_PORT} (open http://127.0.0.1:${RELAY_PORT})\n`);
