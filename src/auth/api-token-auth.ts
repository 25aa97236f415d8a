import type { FastifyInstance } from 'fastify';
import { isApiRequest } from '../http/error-handler.js';

// Who is calling /api: `Authorization: Token <token>` and nothing else. Cookies are never read
// here, so a browser's ambient session cannot act on the API (no CSRF surface). A missing,
// malformed, unknown, expired or revoked token leaves the request anonymous; routes that need a
// user answer 401 through requireApiUser.

const SCHEME = /^Token ([^\s]{1,256})$/;

export function registerApiTokenAuth(app: FastifyInstance): void {
  // Callback style: a request without a token (every page, every anonymous call) goes on at
  // once instead of through a promise.
  app.addHook('onRequest', function authenticateApiToken(request, _reply, done) {
    if (!isApiRequest(request)) return done();
    const header = request.headers.authorization;
    if (header === undefined) return done();
    const match = SCHEME.exec(header.trim());
    if (!match) return done();
    app.apiTokens.authenticate(match[1]!).then((user) => {
      request.user = user;
      done();
    }, done);
  });
}
