import type { FastifyInstance } from 'fastify';

// Who is calling /api: `Authorization: Token <token>` and nothing else. Registered in the /api
// scope only (packages/bastion/src/faces/api-face.ts), beside no cookie parser: a browser's ambient session cannot
// act on the API (no CSRF surface), and a page never reads a token. A missing, malformed,
// unknown, expired or revoked token leaves the request anonymous; a route declared for members
// then answers 401 (packages/bastion/src/auth/guards.ts).

const SCHEME = /^Token (\S{1,256})$/;

export function registerApiTokenAuth(api: FastifyInstance): void {
  // Callback style: a request without a token goes on at once instead of through a promise.
  api.addHook('onRequest', function authenticateApiToken(request, _reply, done) {
    const header = request.headers.authorization;
    if (header === undefined) return done();
    const match = SCHEME.exec(header.trim());
    if (!match) return done();
    api.apiTokens.authenticate(match[1]!).then((user) => {
      request.user = user;
      done();
    }, done);
  });
}
