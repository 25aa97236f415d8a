import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';

const homeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { page: { type: 'integer', minimum: 1, maximum: 100000, default: 1 } },
} as const;

const PAGE_SIZE = 10;

export async function homeRoutes(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db.kysely;
  app.get<{ Querystring: { page: number } }>('/', { schema: { querystring: homeQuery } }, async (request, reply) => {
    const page = request.query.page;
    const articles = await db
      .selectFrom('articles')
      .innerJoin('users', 'users.id', 'articles.author_id')
      .select(['articles.slug', 'articles.title', 'articles.description', 'articles.created_at', 'articles.favorites_count', 'users.username', 'users.image'])
      .orderBy('articles.created_at', 'desc')
      .orderBy('articles.id', 'desc')
      .limit(PAGE_SIZE)
      .offset((page - 1) * PAGE_SIZE)
      .execute();
    return reply.page('home', { title: 'Home', articles, page });
  });
}
