import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from 'bastion';
import { RENDER_EXPANSION, renderLimit, renderMarkdown, renderMarkdownBounded } from '../src/content/markdown.js';
import { MarkdownPool, markdownPool, replaceMarkdownPool } from '../src/content/markdown-pool.js';
import { BACKENDS, registeredBrowser } from 'bastion/testing';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { userId } from './helpers/conduit-fixtures.js';
import { startTestApp } from './helpers/test-app.js';
import { conduitDb } from '../src/conduit/tables.js';

// Issue 16: Markdown reference links turned a 99 KB body into 26.7 MiB of stored HTML, sent on
// every view, and a crafted 100 KB body cost 200–450 ms of the event loop to render. Now the
// HTML is bounded relative to its source when it is written (422 "body renders too large"), and
// rendering runs on a worker thread with a deadline, so it never stalls other requests.

const BODY_MAX = 100_000;
/** One long link defined once and used ~32,000 times: each 3-character use repeats the URL. */
const REFERENCE_BOMB = `[a]: https://example.com/${'x'.repeat(1_900)}\n\n${'[a]'.repeat(Math.floor((BODY_MAX - 2_000) / 3))}`;
/** The slowest honest-looking body measured: a table of one-character cells (0.6 s on an idle core). */
const SLOW_TABLE = `|a|b|\n|-|-|\n${'|a|b|\n'.repeat(Math.floor((BODY_MAX - 12) / 6))}`;

test('a reference-link body that would render to megabytes is over its bound; dense honest Markdown is within it', () => {
  assert.ok(REFERENCE_BOMB.length <= BODY_MAX);
  assert.ok(renderMarkdown(REFERENCE_BOMB).length > 25 * 1024 * 1024, 'unbounded, it renders to over 25 MiB');
  assert.equal(renderMarkdownBounded(REFERENCE_BOMB), null);
  // The densest constructs an author writes stay well within RENDER_EXPANSION times the source.
  const dense = [
    SLOW_TABLE,
    '[a link](https://example.com/page) '.repeat(2_800),
    '<&> '.repeat(25_000),
    '- [x](/a)\n'.repeat(10_000),
    'Plain prose with *emphasis*, `code` and **strength**. '.repeat(1_800),
  ];
  for (const source of dense) {
    assert.ok(source.length <= BODY_MAX);
    const html = renderMarkdownBounded(source);
    assert.ok(html !== null, `${source.slice(0, 20)}… is accepted`);
    assert.equal(html, renderMarkdown(source), 'bounded rendering is the same rendering');
    assert.ok(html.length <= renderLimit(source.length));
  }
  assert.equal(renderLimit(BODY_MAX), BODY_MAX * RENDER_EXPANSION + 16 * 1024);
});

for (const backend of BACKENDS) {
  test(`[${backend}] a body that renders too large is refused with 422 on both faces, and nothing is stored`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const member = await makeUser(app, runtime, 'bomber');
    // About a second of the renderer's time on an idle machine, so on a crowded one the deadline
    // may stop it first: refused either way (the bound itself is proved exactly above).
    const refusal = /^(renders too large|takes too long to render)$/;
    const created = await api(app, 'POST', '/api/articles', {
      user: member,
      body: { article: { title: 'Bomb', description: 'd', body: REFERENCE_BOMB } },
    });
    assert.equal(created.statusCode, 422);
    assert.match(created.json().errors.body.join(), refusal);

    const slug = await postArticle(app, member, { title: 'Harmless', body: 'A *fine* start.' });
    const edited = await api(app, 'PUT', `/api/articles/${slug}`, { user: member, body: { article: { body: REFERENCE_BOMB } } });
    assert.equal(edited.statusCode, 422);
    assert.match(edited.json().errors.body.join(), refusal);

    const browser = await registeredBrowser(app);
    const form = await browser.post(
      '/editor',
      { title: 'Bomb by form', description: 'kept as typed', body: REFERENCE_BOMB, tagList: '' },
      { from: '/editor' },
    );
    assert.equal(form.statusCode, 422);
    assert.match(form.body, /body (renders too large|takes too long to render)/);
    assert.match(form.body, /kept as typed/, 'the form keeps what was typed');

    const rows = await conduitDb(runtime.db).selectFrom('articles').select(['title', 'body_html']).execute();
    assert.deepEqual(
      rows.map((r) => r.title),
      ['Harmless'],
    );
    assert.match(rows[0]!.body_html, /<em>fine<\/em>/, 'the refused edit left the article as it was');
  });

  test(`[${backend}] an article stored before the bound keeps its HTML: reads never re-render`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const member = await makeUser(app, runtime, 'veteran');
    const slug = await postArticle(app, member, { title: 'Old one', body: 'short' });
    const legacy = `<p>${'stored long ago '.repeat(80_000)}</p>`;
    await conduitDb(runtime.db).updateTable('articles').set({ body_html: legacy }).where('slug', '=', slug).execute();
    const page = await app.inject({ method: 'GET', url: `/article/${slug}` });
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes(legacy));
  });

  test(`[${backend}] a render past its deadline is refused with 422 and not stored; the renderer is restarted for the next write`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    // A deadline far below what the table takes (hundreds of milliseconds): it always runs out.
    await replaceMarkdownPool(new MarkdownPool({ deadlineMs: 5 }));
    t.after(() => replaceMarkdownPool(new MarkdownPool()));
    const member = await makeUser(app, runtime, 'slowpoke');
    const res = await api(app, 'POST', '/api/articles', {
      user: member,
      body: { article: { title: 'Slow', description: 'd', body: SLOW_TABLE } },
    });
    assert.equal(res.statusCode, 422);
    assert.deepEqual(res.json().errors, { body: ['takes too long to render'] });
    assert.equal((await conduitDb(runtime.db).selectFrom('articles').select('id').execute()).length, 0, 'nothing stored');

    // The stopped thread was replaced: with an ordinary deadline the next write goes through.
    await replaceMarkdownPool(new MarkdownPool());
    const id = await userId(runtime, 'slowpoke');
    const ok = await api(app, 'POST', '/api/articles', {
      user: member,
      body: { article: { title: 'Quick', description: 'd', body: '# Quick' } },
    });
    assert.equal(ok.statusCode, 201);
    assert.equal((await conduitDb(runtime.db).selectFrom('articles').select('author_id').executeTakeFirstOrThrow()).author_id, id);
  });
}

test(
  'while the slowest body renders, /healthz keeps answering: rendering is off the event loop',
  { skip: !BACKENDS.includes('sqlite') && 'sqlite excluded' },
  async (t) => {
    const { app, runtime } = await startTestApp(t, 'sqlite');
    const member = await makeUser(app, runtime, 'writer');
    // Warm the renderer first, so what follows counts rendering, not the thread's start.
    assert.equal(
      (await api(app, 'POST', '/api/articles', { user: member, body: { article: { title: 'Warm', description: 'd', body: 'x' } } }))
        .statusCode,
      201,
    );

    let done = false;
    // A third of the slowest body: long enough to count health checks during it, short enough
    // for a crowded test machine to finish well within the deadline.
    const table = SLOW_TABLE.slice(0, 30_000);
    const write = api(app, 'POST', '/api/articles', {
      user: member,
      body: { article: { title: 'Table', description: 'd', body: table } },
    }).finally(() => (done = true));
    // Counted, not timed: health checks answered while the body was being rendered. On the event
    // loop there would be none, since nothing else runs while a render does.
    let answeredWhileRendering = 0;
    for (let round = 0; !done && round < 100_000; round++) {
      const health = await app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(health.statusCode, 200);
      if (markdownPool().rendering > 0) answeredWhileRendering++;
      // inject settles in microtasks: let the event loop take the renderer's answer between checks.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal((await write).statusCode, 201);
    assert.ok(answeredWhileRendering >= 3, `health checks answered during the render: ${answeredWhileRendering}`);
  },
);

test('the renderers queue a bounded number of writes: beyond it, 503 at once', async (t) => {
  const pool = new MarkdownPool({ threads: 1, queueLimit: 1 });
  t.after(() => pool.close());
  // Admission is decided when render() is called: the first takes the thread, the second waits.
  const running = pool.render('# runs');
  const waiting = pool.render('# waits its turn');
  await assert.rejects(pool.render('# one too many'), (err: unknown) => err instanceof AppError && err.code === 'UNAVAILABLE');
  assert.deepEqual(await running, { ok: true, html: '<h1>runs</h1>\n' });
  assert.deepEqual(await waiting, { ok: true, html: '<h1>waits its turn</h1>\n' });
});
