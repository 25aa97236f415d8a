import type { FastifyInstance } from 'fastify';
import { AppError } from './app-error.js';

// While the server drains (SIGTERM → app.close()), a request that still arrives on an open
// keep-alive connection is answered 503 through our own error handler — with the security
// headers, Retry-After and a request id — and told to close the connection, so the client's
// next try goes to another instance. (Fastify's own return503OnClosing writes a bare answer
// that skips every hook.)
export function registerDraining(app: FastifyInstance): void {
  let draining = false;
  app.addHook('preClose', async function startDraining() {
    draining = true;
  });
  // Callback style: on every request this is one boolean check, not a promise.
  app.addHook('onRequest', function refuseWhileDraining(_request, reply, done) {
    if (!draining) return done();
    reply.header('connection', 'close');
    done(new AppError('UNAVAILABLE'));
  });
}
