import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { createArticle, deleteArticle, updateArticle } from '../src/conduit/articles.js';
import { searchArticles, searchWords } from '../src/conduit/search.js';
import { seedDatabase } from '../src/seed/seed.js';
import { BACKENDS, newBrowser } from 'bastion/testing';
import { createUser } from './helpers/session-checks.js';
import { startTestApp } from './helpers/test-app.js';
import { MAX_OFFSET } from '../src/conduit/types.js';
import { conduitDb } from '../src/conduit/tables.js';

// Search at scale: 10,000 seeded articles (plus a few needles placed among them) and the answers
// of the search service and the /search page checked against a brute-force reading of every
// article: the same total, the same articles on the first, a middle and the last page, newest
// first. The time a search takes is printed for the record, never asserted (a shared machine).

const ARTICLES = 10_000;
const NOW = new Date('2026-01-15T12:00:00.000Z');
const YEAR_MS = 365 * 24 * 3600 * 1000;

interface Row {
  id: number;
  slug: string;
  title: string;
  description: string;
  body: string;
  created_at: string;
}

/** Needles: known words in known fields, some with LIKE wildcards, some sharing a timestamp. */
function needles(authorId: number): Array<Omit<Row, 'id'> & { body_html: string; author_id: number; updated_at: string }> {
  const rows = [];
  for (let i = 0; i < 33; i++) {
    const at = new Date(NOW.getTime() - YEAR_MS + Math.floor(i / 2) * (YEAR_MS / 20)).toISOString();
    const field = i % 3;
    const word = i % 2 === 0 ? 'Quetzalcoatl' : 'QUETZALCOATL';
    rows.push({
      slug: `needle-${i}`,
      title: field === 0 ? `The ${word} needle ${i}` : `Needle ${i}`,
      description: field === 1 ? `about ${word}, 50%_off` : 'plain',
      body: `${i % 2 === 0 ? 'Feathered serpent.' : 'Plain text.'}${field === 2 ? `\n\n${word} again, a_b here.` : ''}`,
      body_html: '',
      author_id: authorId,
      created_at: at,
      updated_at: at,
    });
  }
  return rows;
}

const QUERIES = [
  'quetzalcoatl',
  'QUETZALCOATL serpent',
  'feathered quetzalcoatl',
  '50%_off',
  '%',
  '_',
  'rate limiting',
  'postgresql',
  'boring guide',
  'the',
  'go',
  'zzzz-nothing-matches',
];

function expected(all: readonly Row[], query: string): Row[] {
  const words = searchWords(query);
  return all
    .filter((a) => words.every((w) => [a.title, a.description, a.body].some((f) => f.toLowerCase().includes(w))))
    .sort((a, b) => (a.created_at === b.created_at ? b.id - a.id : a.created_at < b.created_at ? 1 : -1));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const backend of BACKENDS) {
  test(`[${backend}] search over 10,000 articles returns every match, correctly paginated with the right total`, async (t) => {
    // Correctness at scale, not speed: on a busy machine a full scan may take longer than the
    // deadline the app gives it (packages/bastion/src/db/scan-deadline.ts), which is not what is tested here.
    const { app, runtime } = await startTestApp(t, backend, {}, { scanTimeoutMs: 120_000 });
    const db = conduitDb(runtime.db);
    let started = performance.now();
    const seeded = await seedDatabase(runtime.db, { users: 20, articles: ARTICLES, seed: 20260115, now: NOW });
    assert.equal(seeded.articles, ARTICLES);
    const author = await db.selectFrom('users').select('id').orderBy('id').executeTakeFirstOrThrow();
    await db.insertInto('articles').values(needles(author.id)).execute();
    // What autovacuum does after a bulk load: fresh statistics and, on PostgreSQL, the GIN
    // pending lists merged into the trigram indexes.
    await (backend === 'postgres' ? sql`vacuum analyze articles` : sql`analyze`).execute(db);
    t.diagnostic(`${backend}: seeded ${ARTICLES} articles in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const all = (await db.selectFrom('articles').select(['id', 'slug', 'title', 'description', 'body', 'created_at']).execute()) as Row[];
    assert.equal(all.length, ARTICLES + 33);

    for (const query of QUERIES) {
      const want = expected(all, query);
      // Deep offsets are capped (MAX_OFFSET): the last page checked is the deepest one served.
      const offsets = [...new Set([0, Math.floor(want.length / 2), Math.max(0, want.length - 7)].map((o) => Math.min(o, MAX_OFFSET)))];
      for (const offset of offsets) {
        const page = await searchArticles(runtime.db, query, { limit: 20, offset }, null);
        assert.equal(page.total, want.length, `"${query}": total`);
        assert.deepEqual(
          page.items.map((a) => a.slug),
          want.slice(offset, offset + 20).map((a) => a.slug),
          `"${query}" at offset ${offset}`,
        );
      }
    }
    // The needles are where they were put, so the queries above had known answers to find.
    assert.equal(expected(all, 'quetzalcoatl').length, 33);
    assert.equal(expected(all, 'feathered quetzalcoatl').length, 17);
    assert.equal(expected(all, '50%_off').length, 11);

    // The page, as a visitor sees it: the count and the last page of a multi-page answer.
    const visitor = newBrowser(app);
    const want = expected(all, 'rate limiting');
    const last = Math.ceil(want.length / 10);
    const res = await visitor.get(`/search?q=rate+limiting&page=${last}`);
    assert.equal(res.statusCode, 200);
    assert.match(res.body, new RegExp(`<p class="result-count">${want.length} articles match`));
    const slugs = [...res.body.matchAll(/class="preview-link" href="\/article\/([^"]+)"/g)].map((m) => decodeURIComponent(m[1]!));
    assert.deepEqual(
      slugs,
      want.slice((last - 1) * 10).map((a) => a.slug),
    );

    // For the record: how long one search (page of 10 plus total) takes here.
    const timings: string[] = [];
    for (const query of QUERIES) {
      await searchArticles(runtime.db, query, { limit: 10, offset: 0 }, null);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        started = performance.now();
        await searchArticles(runtime.db, query, { limit: 10, offset: 0 }, null);
        times.push(performance.now() - started);
      }
      timings.push(`"${query}" ${median(times).toFixed(1)} ms (${expected(all, query).length} hits)`);
    }
    t.diagnostic(`${backend}: median search time on ${all.length} articles: ${timings.join(', ')}`);
  });

  test(`[${backend}] search follows every write: new words after an edit, nothing after a deletion, nothing after the author is removed`, async (t) => {
    const { runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const author = await createUser(runtime);
    const actor = { id: author.id, role: 'member' as const };
    const found = async (q: string) => (await searchArticles(runtime.db, q, {}, null)).items.map((a) => a.title);
    const first = await createArticle(db, author.id, { title: 'Aardvark habits', description: 'Burrowing', body: 'Termites at night.' });
    const second = await createArticle(db, author.id, { title: 'Pangolin scales', description: 'Armour', body: 'Termites too.' });
    assert.deepEqual(await found('termites'), ['Pangolin scales', 'Aardvark habits']);
    assert.deepEqual(await found('aardvark'), ['Aardvark habits']);

    await updateArticle(db, first.slug, actor, { title: 'Okapi habits', body: 'Leaves by day.' });
    assert.deepEqual(await found('aardvark'), [], 'the old title is forgotten');
    assert.deepEqual(await found('okapi leaves'), ['Okapi habits'], 'the new title and body are found');
    assert.deepEqual(await found('termites'), ['Pangolin scales']);
    await db.updateTable('articles').set({ favorites_count: 5 }).where('id', '=', second.id).execute();
    assert.deepEqual(await found('pangolin'), ['Pangolin scales'], 'a write to another column leaves the index as it was');

    await deleteArticle(db, first.slug, actor);
    assert.deepEqual(await found('okapi'), []);
    await db.deleteFrom('users').where('id', '=', author.id).execute();
    assert.deepEqual(await found('pangolin'), [], "the author's articles went with the account, out of the index too");
    const again = await createArticle(db, (await createUser(runtime)).id, { title: 'Pangolin return', description: 'x', body: 'y' });
    assert.deepEqual(await found('pangolin'), [again.title]);
  });
}
