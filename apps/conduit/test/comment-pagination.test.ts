import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { COMMENTS_API_LIMIT } from '../src/api/comments-api.js';
import { COMMENTS_PER_PAGE } from '../src/conduit/comments.js';
import type { Runtime } from 'bastion';
import { BACKENDS } from 'bastion/testing';
import { api, makeUser } from './helpers/conduit-api.js';
import { userId, writeArticle } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// Issue 16: with 500 comments of `<&"` on one article, one anonymous GET /article/:slug returned
// 49 MiB (every comment loaded, rendered and escaped), and comments past the 500th never showed.
// Now both faces read a bounded page of the newest comments, and every comment is reachable by
// walking back from a cursor.

const commentIds = (html: string): number[] => [...html.matchAll(/id="comment-(\d+)"/g)].map((m) => Number(m[1]));
const link = (html: string, rel: 'prev' | 'next'): string | null => {
  const match = new RegExp(`<a href="([^"]+)" rel="${rel}">[^<]*comments`).exec(html);
  return match ? match[1]!.replaceAll('&amp;', '&') : null;
};

/** `count` comments on `slug`, written straight to the table (the write limits are the HTTP faces'); their ids, oldest first. */
async function seedComments(
  runtime: Runtime,
  slug: string,
  authorId: number,
  count: number,
  body: (i: number) => string = (i) => `comment ${i}`,
): Promise<number[]> {
  const db = conduitDb(runtime.db);
  const { id: articleId } = await db.selectFrom('articles').select('id').where('slug', '=', slug).executeTakeFirstOrThrow();
  const now = new Date().toISOString();
  for (let start = 0; start < count; start += 50) {
    const rows = Array.from({ length: Math.min(50, count - start) }, (_, k) => ({
      article_id: articleId,
      author_id: authorId,
      body: body(start + k),
      created_at: now,
      updated_at: now,
    }));
    await db.insertInto('comments').values(rows).execute();
  }
  const ids = await db.selectFrom('comments').select('id').where('article_id', '=', articleId).orderBy('id').execute();
  return ids.map((r) => r.id);
}

/** Every comment id the article page shows, following "Older comments" from the first page. */
async function walkOlder(app: FastifyInstance, slug: string): Promise<{ ids: number[]; pages: string[] }> {
  const ids: number[] = [];
  const pages: string[] = [];
  let url: string | null = `/article/${slug}`;
  while (url !== null && pages.length < 100) {
    const res: { statusCode: number; body: string } = await app.inject({ method: 'GET', url: url.split('#')[0]! });
    assert.equal(res.statusCode, 200, url);
    pages.push(res.body);
    ids.push(...commentIds(res.body));
    url = link(res.body, 'next');
  }
  return { ids, pages };
}

for (const backend of BACKENDS) {
  test(`[${backend}] the article page shows ${COMMENTS_PER_PAGE} comments at a time, newest first, and "Older" reaches every one`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await makeUser(app, runtime, 'author');
    const slug = await writeArticle(runtime, author.username);
    const ids = await seedComments(runtime, slug, author.id, 2 * COMMENTS_PER_PAGE + 5);
    const newestFirst = [...ids].reverse();

    const { ids: seen, pages } = await walkOlder(app, slug);
    assert.equal(pages.length, 3);
    assert.deepEqual(seen, newestFirst, 'each comment once, newest first');
    assert.deepEqual(commentIds(pages[0]!), newestFirst.slice(0, COMMENTS_PER_PAGE));
    assert.equal(link(pages[0]!, 'prev'), null, 'the first page has nothing newer');

    // "Newer" from the last page leads back to the page before it.
    const newer = link(pages[2]!, 'prev');
    assert.ok(newer);
    const back = await app.inject({ method: 'GET', url: newer.split('#')[0]! });
    assert.deepEqual(commentIds(back.body), newestFirst.slice(COMMENTS_PER_PAGE, 2 * COMMENTS_PER_PAGE));

    // A page's link keeps showing the same comments when new ones are posted meanwhile.
    const older = link(pages[0]!, 'next')!;
    await seedComments(runtime, slug, author.id, 3);
    assert.deepEqual(commentIds((await app.inject({ method: 'GET', url: older.split('#')[0]! })).body), commentIds(pages[1]!));
  });

  test(`[${backend}] 520 comments of <&" at the size limit: the newest shows, and an anonymous page stays a few megabytes`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await makeUser(app, runtime, 'author');
    const slug = await writeArticle(runtime, author.username);
    const heavy = '<&"'.repeat(6_666);
    const ids = await seedComments(runtime, slug, author.id, 520, (i) => (i === 519 ? 'the very newest' : heavy));

    const page = await app.inject({ method: 'GET', url: `/article/${slug}` });
    assert.equal(page.statusCode, 200);
    assert.equal(commentIds(page.body)[0], ids[519], 'the 520th comment is on the first page');
    assert.match(page.body, /the very newest/);
    assert.equal(commentIds(page.body).length, COMMENTS_PER_PAGE);
    // 20 comments of 20,000 characters escaped: about 2 MB, where 500 of them were 49 MiB.
    assert.ok(page.body.length < 3 * 1024 * 1024, `page of ${page.body.length} bytes`);

    const listed = await api(app, 'GET', `/api/articles/${slug}/comments`);
    assert.equal(listed.statusCode, 200);
    const comments = listed.json().comments as { id: number; body: string }[];
    assert.equal(comments.length, COMMENTS_API_LIMIT);
    assert.equal(comments[0]!.id, ids[519]);
    assert.ok(listed.body.length < 8 * 1024 * 1024, `API answer of ${listed.body.length} bytes`);
  });

  test(`[${backend}] GET /api/articles/:slug/comments: newest ${COMMENTS_API_LIMIT} first, ?before= pages back to the oldest, ?limit= asks for fewer`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await makeUser(app, runtime, 'author');
    const slug = await writeArticle(runtime, author.username);
    const ids = await seedComments(runtime, slug, author.id, COMMENTS_API_LIMIT + 7);
    const newestFirst = [...ids].reverse();

    const seen: number[] = [];
    let before: number | undefined;
    for (let round = 0; round < 10; round++) {
      const res = await api(app, 'GET', `/api/articles/${slug}/comments${before === undefined ? '' : `?before=${before}`}`);
      assert.equal(res.statusCode, 200);
      const page = (res.json().comments as { id: number }[]).map((c) => c.id);
      if (page.length === 0) break;
      seen.push(...page);
      before = page[page.length - 1];
    }
    assert.deepEqual(seen, newestFirst);

    const few = await api(app, 'GET', `/api/articles/${slug}/comments?limit=3`);
    assert.deepEqual(
      (few.json().comments as { id: number }[]).map((c) => c.id),
      newestFirst.slice(0, 3),
    );
    for (const query of [
      `limit=${COMMENTS_API_LIMIT + 1}`,
      'limit=0',
      'limit=1e400',
      'before=0',
      'before=-1',
      'before=Infinity',
      'before=1.5',
      'before=0x10',
      'before=99999999999999999999',
    ]) {
      const res = await api(app, 'GET', `/api/articles/${slug}/comments?${query}`);
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${query}: ${res.statusCode}`);
    }
  });

  test(`[${backend}] hostile comment cursors on the article page are a 4xx, never a 500 or a hang`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const slug = await writeArticle(runtime, (await makeUser(app, runtime, 'author')).username);
    for (const query of ['before=1e400', 'after=NaN', 'before=-0', 'after=1.5', 'before=99999999999999999999', 'after=0x10', 'before=']) {
      const res = await app.inject({ method: 'GET', url: `/article/${slug}?${query}` });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${query}: ${res.statusCode}`);
    }
    // A cursor past every comment is an empty page that leads back to the newest.
    const id = await userId(runtime, 'author');
    await seedComments(runtime, slug, id, 2);
    const past = await app.inject({ method: 'GET', url: `/article/${slug}?before=1` });
    assert.equal(past.statusCode, 200);
    assert.deepEqual(commentIds(past.body), []);
    assert.equal(link(past.body, 'prev'), `/article/${slug}#comments`);
  });
}
