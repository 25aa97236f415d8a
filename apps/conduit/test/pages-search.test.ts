import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKENDS, newBrowser, registeredBrowser } from 'bastion/testing';
import { startTestApp } from './helpers/test-app.js';
import { writeArticle } from './helpers/conduit-fixtures.js';

const titles = (html: string): string[] => [...html.matchAll(/class="preview-link"[^>]*>\s*<h2>([^<]*)<\/h2>/g)].map((m) => m[1]!);
const search = (q: string): string => `/search?q=${encodeURIComponent(q)}`;

for (const backend of BACKENDS) {
  test(`[${backend}] search finds words in the title, description or body, and echoes the query escaped`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    await writeArticle(runtime, author.username, { title: 'Zebra crossings', description: 'stripes', body: 'plain' });
    await writeArticle(runtime, author.username, { title: 'Other', description: 'About the okapi', body: 'plain' });
    await writeArticle(runtime, author.username, { title: 'Third', description: 'none', body: 'A quokka appears' });
    await writeArticle(runtime, author.username, { title: 'GO west', description: 'by ox', body: 'An OX cart' });
    const visitor = newBrowser(app);
    // Words under three characters are matched without an index: in any letter case too.
    assert.deepEqual(titles((await visitor.get(search('go'))).body), ['GO west']);
    assert.deepEqual(titles((await visitor.get(search('Ox'))).body), ['GO west']);
    assert.deepEqual(titles((await visitor.get(search('zebra'))).body), ['Zebra crossings']);
    assert.deepEqual(titles((await visitor.get(search('OKAPI'))).body), ['Other']);
    assert.deepEqual(titles((await visitor.get(search('quokka'))).body), ['Third']);
    assert.deepEqual(titles((await visitor.get(search('plain'))).body), ['Other', 'Zebra crossings']);
    const echoed = await visitor.get(search('"><script>alert(1)</script>'));
    assert.equal(echoed.statusCode, 200);
    assert.ok(!echoed.body.includes('<script>alert(1)'));
    assert.match(echoed.body, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
    const empty = await visitor.get('/search');
    assert.equal(empty.statusCode, 200);
    assert.deepEqual(titles(empty.body), []);
    assert.equal((await visitor.get(`/search?q=${'a'.repeat(201)}`)).statusCode, 422, 'an over-long query is refused');
  });

  test(`[${backend}] search treats % and _ literally and shrugs off SQL injection`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    await writeArticle(runtime, author.username, { title: 'Save 100% today', body: 'x' });
    await writeArticle(runtime, author.username, { title: 'snake_case names', body: 'x' });
    await writeArticle(runtime, author.username, { title: 'Nothing special', body: 'x' });
    const visitor = newBrowser(app);
    assert.deepEqual(titles((await visitor.get(search('%'))).body), ['Save 100% today']);
    assert.deepEqual(titles((await visitor.get(search('_'))).body), ['snake_case names']);
    assert.deepEqual(titles((await visitor.get(search('100%'))).body), ['Save 100% today']);
    for (const probe of [
      "' OR '1'='1",
      "x%' OR 1=1 --",
      "'; DROP TABLE articles; --",
      '\\',
      "' UNION SELECT password_hash FROM users --",
    ]) {
      const res = await visitor.get(search(probe));
      assert.equal(res.statusCode, 200, probe);
      assert.deepEqual(titles(res.body), [], probe);
    }
    assert.equal(titles((await visitor.get('/')).body).length, 3, 'nothing was dropped');
  });

  test(`[${backend}] search results are paginated and the links keep the query`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const author = await registeredBrowser(app);
    for (let i = 1; i <= 12; i++) await writeArticle(runtime, author.username, { title: `Needle ${i}`, body: 'x' });
    const visitor = newBrowser(app);
    const first = await visitor.get(search('needle'));
    assert.equal(titles(first.body).length, 10);
    assert.match(first.body, /12 articles match/);
    assert.match(first.body, /href="\/search\?q=needle&amp;page=2"/);
    assert.deepEqual(titles((await visitor.get('/search?q=needle&page=2')).body), ['Needle 2', 'Needle 1']);
  });
}
