import type { FastifyInstance } from 'fastify';
import type { Runtime } from 'bastion';
import { articlesApi } from './articles-api.js';
import { commentsApi } from './comments-api.js';
import { profilesApi } from './profiles-api.js';
import { tagsApi } from './tags-api.js';
import { usersApi } from './users-api.js';

// Conduit's RealWorld JSON API, given to Bastion's API face (packages/bastion/src/faces/api-face.ts), which
// supplies the token, the error shape, CORS and no-store around it.
export async function conduitApi(api: FastifyInstance, runtime: Runtime): Promise<void> {
  await api.register(usersApi);
  await api.register(profilesApi, runtime);
  await api.register(articlesApi, runtime);
  await api.register(commentsApi, runtime);
  await api.register(tagsApi, runtime);
}
