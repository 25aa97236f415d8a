import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';

// In production a request that reached the proxy over plain HTTP is sent to PUBLIC_ORIGIN
// with a 308, which keeps the method and body. request.protocol believes X-Forwarded-Proto
// only when the peer is a TRUST_PROXY address, so a client cannot fake its way out of this.
export function registerHttpsRedirect(app: FastifyInstance, config: Config): void {
  if (!config.isProduction) return;
  const origin = config.publicOrigin;
  app.addHook('onRequest', function redirectToHttps(request, reply, done) {
    if (request.protocol === 'https') return done();
    // Health probes come straight from the orchestrator over HTTP.
    if (request.url === '/healthz' || request.url === '/readyz') return done();
    const path = request.url.startsWith('/') && !request.url.startsWith('//') ? request.url : '/';
    reply
      .code(308)
      .header('location', origin + path)
      .send();
  });
}
