import type { FastifyInstance } from 'fastify';
import { auditForbiddenErrors } from '../auth/roles.js';
import type { Runtime } from '../runtime.js';
import { articlesApi } from './articles-api.js';
import { commentsApi } from './comments-api.js';
import { registerApiCors } from './cors.js';
import { profilesApi } from './profiles-api.js';
import { tagsApi } from './tags-api.js';
import { usersApi } from './users-api.js';

// The RealWorld JSON API, everything under /api. Authentication is the bearer token alone
// (src/auth/api-token-auth.ts); errors take the RealWorld shape in the shared error handler.
export async function apiRoutes(app: FastifyInstance, runtime: Runtime): Promise<void> {
  await app.register(
    async function conduitApi(api) {
      await registerApiCors(api, runtime.config);
      // Every refusal of an authenticated caller on someone else's content is an audit event.
      auditForbiddenErrors(api);
      await api.register(usersApi, runtime);
      await api.register(profilesApi, runtime);
      await api.register(articlesApi, runtime);
      await api.register(commentsApi, runtime);
      await api.register(tagsApi, runtime);
    },
    { prefix: '/api' },
  );
}
