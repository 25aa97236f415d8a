import type { FastifyInstance } from 'fastify';
import { popularTags } from '../conduit/tags.js';
import type { Runtime } from 'bastion';
import { tagsResponse } from './response-schemas.js';
import { noQuery } from './schemas.js';
import { conduitDb } from '../conduit/tables.js';

// GET /tags: the tags in use, most used first.
export async function tagsApi(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = conduitDb(runtime.db);
  app.get('/tags', { config: { access: 'public' }, schema: { querystring: noQuery, response: { 200: tagsResponse } } }, async () => ({
    tags: await popularTags(db),
  }));
}
