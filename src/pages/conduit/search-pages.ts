import type { FastifyInstance } from 'fastify';
import { SEARCH_MAX, searchArticles } from '../../conduit/search.js';
import type { Runtime } from '../../runtime.js';
import { paginate, pageRequest } from './paging.js';
import { pageField } from './schemas.js';

// Search through the articles service: every word must appear in the title, description or
// body; % and _ are plain characters. The query is echoed back escaped by the template.

const searchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { q: { type: 'string', maxLength: SEARCH_MAX, default: '' }, page: pageField },
} as const;

export async function searchPages(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const db = runtime.db;

  app.get<{ Querystring: { q: string; page: number } }>('/search', { config: { access: 'public' }, schema: { querystring: searchQuery } }, async function searchPage(request, reply) {
    const { q, page } = request.query;
    const found = q.trim() === '' ? { items: [], total: 0 } : await app.clientScan(request, () => searchArticles(db, q, pageRequest(page), request.user?.id ?? null));
    return reply.page('conduit/search', {
      title: q.trim() === '' ? 'Search' : `Search: ${q}`,
      q,
      max: SEARCH_MAX,
      total: found.total,
      articles: found.items,
      pagination: paginate('/search', page, found.total, { q }),
      back: request.url,
    });
  });
}
