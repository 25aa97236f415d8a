import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS } from 'bastion/testing';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// SQLite re-plans a statement whose bare `LIMIT ?` is bound, on every execution; the SQLite
// dialect compiles LIMIT as `limit +?` instead (packages/bastion/src/db/sqlite-dialect.ts). The speed is the
// bench's to show; these tests hold the form of the SQL and, on both backends, that one cached
// statement run with one limit after another returns exactly the rows each asks for.

test('[sqlite] LIMIT is compiled as `limit +?`, a parameter SQLite does not re-plan on', async (t) => {
  const { runtime } = await startTestApp(t, 'sqlite');
  const db = conduitDb(runtime.db);
  const compiled = db.selectFrom('articles').select('id').orderBy('id').limit(3).offset(1).compile();
  assert.match(compiled.sql, / limit \+\? offset \?$/);
  assert.deepEqual(compiled.parameters, [3, 1], 'the limit stays a bound parameter, never text');
});

for (const backend of BACKENDS) {
  test(`[${backend}] the same list statement returns the page size each request asks for`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const jake = await makeUser(app, runtime, 'jake');
    const slugs: string[] = [];
    for (let i = 1; i <= 5; i++) slugs.push(await postArticle(app, jake, { title: `Article ${i}` }));
    const newestFirst = [...slugs].reverse();

    for (const [limit, offset] of [
      [3, 0],
      [1, 0],
      [5, 0],
      [2, 2],
      [100, 4],
      [4, 1],
    ] as const) {
      const response = await api(app, 'GET', `/api/articles?limit=${limit}&offset=${offset}`);
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.deepEqual(
        body.articles.map((a: { slug: string }) => a.slug),
        newestFirst.slice(offset, offset + limit),
        `limit=${limit} offset=${offset}`,
      );
      assert.equal(body.articlesCount, 5);
    }
    // A limit outside the schema's range is the client's mistake, not a page of another size.
    for (const limit of ['0', '101', '-1', '2.5', '1;drop']) {
      assert.equal((await api(app, 'GET', `/api/articles?limit=${encodeURIComponent(limit)}`)).statusCode, 422, `limit=${limit}`);
    }
  });
}
