// The live view's routes on the settings server: GET /api/live (one frame as JSON) and
// GET /api/live/stream (server-sent events: a `frame` per change, coalesced by the live view, and a
// heartbeat comment between), both behind the server's guard. Owns the stream bookkeeping and its
// limits; the frames are src/actors/live-view.ts's, the page src/settings/static/live.*.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LiveFrame, LiveView } from '../../actors/live-view.ts';
import { HttpFailure } from '../../settings/http-failure.ts';

/** Live-view streams at once (each holds a socket and gets every frame). */
export const MAX_LIVE_STREAMS = 8;
/** A comment line on the live stream this often keeps proxies and the idle socket timeout from closing it. */
const LIVE_HEARTBEAT_MS = 15_000;

export function registerLiveRoutes(app: FastifyInstance, guard: (request: FastifyRequest) => Promise<void>, live: LiveView | undefined, csp: string): void {
  let liveStreams = 0;
  const emptyFrame = (): LiveFrame => ({ at: new Date().toISOString(), actors: [], events: [] });
  app.get('/api/live', { onRequest: guard }, async () => ({ attached: live !== undefined, ...(live?.frame() ?? emptyFrame()) }));
  // Server-sent events: one `frame` message per change (coalesced by the live view), a heartbeat comment between.
  app.get('/api/live/stream', { onRequest: guard }, async (request, reply) => {
    if (liveStreams >= MAX_LIVE_STREAMS) throw new HttpFailure(503, `too many live views open (max ${MAX_LIVE_STREAMS}); close one and reload`);
    liveStreams++;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': csp,
      'x-accel-buffering': 'no',
    });
    const send = (frame: LiveFrame): void => {
      raw.write(`event: frame\ndata: ${JSON.stringify({ attached: live !== undefined, ...frame })}\n\n`);
    };
    send(live?.frame() ?? emptyFrame());
    const unsubscribe = live?.subscribe(send);
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), LIVE_HEARTBEAT_MS);
    request.raw.on('close', () => {
      liveStreams--;
      clearInterval(heartbeat);
      unsubscribe?.();
    });
  });
}
