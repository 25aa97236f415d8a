import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { registerApiTokenAuth } from '../auth/api-token-auth.js';
import { auditForbiddenErrors } from '../auth/roles.js';
import { registerErrorFace } from '../http/error-handler.js';
import type { Runtime } from '../runtime.js';
import { articlesApi } from './articles-api.js';
import { commentsApi } from './comments-api.js';
import { registerApiCors } from './cors.js';
import { profilesApi } from './profiles-api.js';
import { tagsApi } from './tags-api.js';
import { usersApi } from './users-api.js';

export interface ApiRoutesOptions {
  readonly runtime: Runtime;
  /** More routes for this face (tests; an application built on Bastion). */
  readonly extra?: FastifyPluginAsync;
}

// The RealWorld JSON API, everything under /api, in a scope of its own. What makes it the API is
// registered here and nowhere else: the bearer token as the only credential (no cookie parser,
// no session, no CSRF — SPEC §2), the RealWorld error shape and 404, and no-store on every
// answer. A request reaches these hooks only if the router matched a route (or the 404) of this
// scope, so a URL spelled to look otherwise (/%61pi/user) still gets exactly this face.
export async function apiRoutes(app: FastifyInstance, { runtime, extra }: ApiRoutesOptions): Promise<void> {
  await app.register(
    async function conduitApi(api) {
      registerErrorFace(api, runtime.config, 'api');
      // CORS first: a refusal further on still carries the headers a browser needs to read it.
      await registerApiCors(api, runtime.config);
      registerApiTokenAuth(api);
      // Every answer carries bearer-authenticated data or could: no cache keeps any of it. onSend
      // also reaches refusals raised before this scope's hooks ran (a 429 from the root limiter).
      api.addHook('onSend', function noStore(_request, reply, payload, done) {
        reply.header('cache-control', 'no-store');
        done(null, payload);
      });
      // Every refusal of an authenticated caller on someone else's content is an audit event.
      auditForbiddenErrors(api);
      await api.register(usersApi, runtime);
      await api.register(profilesApi, runtime);
      await api.register(articlesApi, runtime);
      await api.register(commentsApi, runtime);
      await api.register(tagsApi, runtime);
      if (extra) await api.register(extra);
    },
    { prefix: '/api' },
  );
}
