import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { AccessLogController } from '../../packages/bastion/src/http/access-log.js';
import { loggerOptions } from '../../packages/bastion/src/http/logger.js';
import { headerSetter } from '../../packages/bastion/src/http/security-headers.js';
import { clientKey } from '../../packages/bastion/src/security/client-key.js';
import { readSpec, serveIpc } from './child-ipc.js';
import { TRIVIAL_PATH } from './paths.js';

// Child process: the floor. The least that any layer meeting the SPEC's defaults must do on the
// trivial route, and nothing more: the app's response headers and a request id, a count of each
// client's requests in this process (300 a minute, one Map lookup), and the one access-log line
// with the request id, through the app's own logger options, at the default level. No session,
// token, CSRF, input or HTTPS check, no shared store. Where this row is already under 85% of bare
// Fastify, no layer that keeps the SPEC's defaults can meet the trivial route's budget line there.

readSpec<Record<string, never>>();
const PER_MINUTE = 300;

const app = Fastify({
  logger: loggerOptions({ logLevel: 'info' }),
  logController: new AccessLogController(),
  genReqId: () => randomUUID(),
  requestIdHeader: false,
  trustProxy: 'loopback',
});
// The app's own header hook: the same headers and request id, set the same way.
const setHeaders = headerSetter({ isProduction: true });
let window = new Map<string, number>();
setInterval(() => {
  window = new Map();
}, 60_000).unref();
app.addHook('onRequest', (request, reply, done) => {
  setHeaders(request, reply);
  const client = clientKey(request.ip);
  const used = (window.get(client) ?? 0) + 1;
  window.set(client, used);
  if (used > PER_MINUTE) return reply.code(429).send({ errors: { request: ['too many requests'] } });
  done();
});
app.get(TRIVIAL_PATH, async () => ({ status: 'ok' }));

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
serveIpc(typeof address === 'object' && address ? address.port : 0, async () => {
  await app.close();
});
