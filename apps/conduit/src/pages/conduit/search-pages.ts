import type { FastifyInstance } from 'fastify';
import { SEARCH_MAX, SEARCH_WORD_MAX, SEARCH_WORDS_MAX, searchArticles, searchTerms } from '../../conduit/search.js';
import { clientGone, pageRequest, paginate, type Runtime } from 'bastion';
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

  app.get<{ Querystring: { q: string; page: number } }>(
    '/search',
    { config: { access: 'public' }, schema: { querystring: searchQuery } },
    async function searchPage(request, reply) {
      const { q, page } = request.query;
      // A word too long to be one is refused before anything is read (apps/conduit/src/conduit/search.ts).
      const { words, leftOut, tooLong } = searchTerms(q);
      const refused =
        tooLong === undefined
          ? null
          : `Words can be at most ${SEARCH_WORD_MAX} characters long; shorten “${[...tooLong].slice(0, 20).join('')}…”.`;
      const found =
        words.length === 0 || refused !== null
          ? { items: [], total: 0 }
          : await app.clientScan(request, () => searchArticles(db, q, pageRequest(page), request.user?.id ?? null, clientGone(reply)));
      if (refused !== null) reply.code(422);
      return reply.page('conduit/search', {
        refused,
        notice: leftOut > 0 ? `Only the first ${SEARCH_WORDS_MAX} words were searched for.` : null,
        title: q.trim() === '' ? 'Search' : `Search: ${q}`,
        q,
        max: SEARCH_MAX,
        total: found.total,
        articles: found.items,
        pagination: paginate('/search', page, found.total, { q }),
        back: request.url,
      });
    },
  );
}
