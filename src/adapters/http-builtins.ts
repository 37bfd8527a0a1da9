// node:http and node:https, loaded with `require` rather than `import`. An ESM import of these two
// builtins makes Node build their ESM facade, which reads every export, including the lazy getters
// (WebSocket, EventSource…) that load Node's internal undici: ~60 ms of every start that imports
// them (the emulator under --sim, the settings app), measured with `npm run bench -- --only startup`
// and `node --cpu-prof`. Owns only that loading; types still come from `import type`.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const http = require('node:http') as typeof import('node:http');
export const https = require('node:https') as typeof import('node:https');
