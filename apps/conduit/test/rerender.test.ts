import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kysely } from 'kysely';
import { loadConfig, migrateToLatest } from 'bastion';
import { renderMarkdown } from '../src/content/markdown.js';
import { MarkdownPool } from '../src/content/markdown-pool.js';
import { rerenderArticles, staleRenderNotice } from '../src/content/rerender.js';
import { RENDERER } from '../src/content/renderer-version.js';
import { conduitMigrations } from '../src/conduit/migrations/conduit-migrations.js';
import { conduitDb, type ConduitDatabase } from '../src/conduit/tables.js';
import { BACKENDS, PG_URL, isolate, randomKey, registerUser, openDatabase } from 'bastion/testing';
import { api, makeUser, postArticle } from './helpers/conduit-api.js';
import { pauseNextCall } from './helpers/pause-next-call.js';
import { runBin } from './helpers/run-bin.js';
import { startInstance } from './helpers/server-process.js';
import { startTestApp } from './helpers/test-app.js';

// `bastion rerender` (issue 17): stored article HTML is rendered once, when written, so rows
// written under an older renderer keep its HTML. These rows are made the way an older or
// laxer sanitizer would have left them, straight in the database, and the command must replace
// that HTML with this renderer's, touch nothing else, leave an edit saved meanwhile alone, and
// have nothing to do the second time.

const OLD_RENDERER = 'markdown-it 14.3.3, sanitize-html 2.17.5, rules 1';

/** Articles as a laxer sanitizer stored them: an event handler and a javascript: link kept. */
const LEGACY = [
  {
    slug: 'handler',
    body: 'Click [here](https://example.com/a) now',
    body_html: '<p>Click <a href="https://example.com/a" onclick="steal(document.cookie)">here</a> now</p>\n',
  },
  {
    slug: 'scheme',
    body: '[run](javascript:alert(1)) and *this*',
    body_html: '<p><a href="javascript:alert(1)">run</a> and <em>this</em></p>\n',
  },
];

let made = 0;
/** Stores an article row directly, as an older release would have, with `rendered_with` as given ('' = before migration 008). */
async function storeLegacy(
  db: Kysely<ConduitDatabase>,
  authorId: number,
  row: { slug: string; body: string; body_html: string },
  renderedWith = '',
): Promise<number> {
  const at = new Date(Date.UTC(2024, 0, 1, 0, 0, made++)).toISOString();
  const { id } = await db
    .insertInto('articles')
    .values({
      slug: row.slug,
      title: `Title of ${row.slug}`,
      description: `About ${row.slug}`,
      body: row.body,
      body_html: row.body_html,
      rendered_with: renderedWith,
      author_id: authorId,
      created_at: at,
      updated_at: at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

const everything = (db: Kysely<ConduitDatabase>) => db.selectFrom('articles').selectAll().orderBy('id').execute();

for (const backend of BACKENDS) {
  test(`[${backend}] rerender replaces HTML an older sanitizer let through, and changes no other column`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const jake = await makeUser(app, runtime, 'jake');
    await storeLegacy(db, jake.id, LEGACY[0]!);
    await storeLegacy(db, jake.id, LEGACY[1]!, OLD_RENDERER);
    // Rendered by an older release, identical to what this one renders: only its mark is stale.
    await storeLegacy(db, jake.id, { slug: 'same', body: 'Plain *text*', body_html: renderMarkdown('Plain *text*') });
    // Written by this release through the API: already this renderer's, not looked at.
    const fresh = await postArticle(app, jake, { title: 'Fresh', body: 'New **text**', tagList: ['kept'] });
    await api(app, 'POST', `/api/articles/${fresh}/favorite`, { user: jake });
    const before = await everything(db);
    assert.deepEqual(
      before.map((r) => r.rendered_with),
      ['', OLD_RENDERER, '', RENDERER],
      'the API records the renderer it wrote with',
    );
    assert.match(
      (await staleRenderNotice(runtime.db)) ?? '',
      /^3 articles store HTML made by another Markdown renderer .*run `bastion rerender`/,
    );

    const report = await rerenderArticles(runtime.db, { batchSize: 2 });
    assert.deepEqual(
      { ...report, refused: report.refused.length },
      { renderer: RENDERER, examined: 3, changed: 2, skipped: 0, refused: 0 },
    );

    const after = await everything(db);
    for (const [i, row] of after.entries()) {
      assert.equal(row.body_html, renderMarkdown(row.body), `${row.slug}: the HTML is this renderer's rendering of its body`);
      assert.doesNotMatch(
        row.body_html,
        /onclick|href="javascript:/i,
        `${row.slug}: no handler, no script link (the text may still say it)`,
      );
      assert.equal(row.rendered_with, RENDERER);
      const { body_html: _h, rendered_with: _r, ...rest } = row;
      const { body_html: _hb, rendered_with: _rb, ...restBefore } = before[i]!;
      assert.deepEqual(rest, restBefore, `${row.slug}: every other column (updated_at, tags, favorites …) as it was`);
    }
    assert.equal(after[3]!.body_html, before[3]!.body_html);
    assert.equal(await staleRenderNotice(runtime.db), null, 'nothing left for the start-up warning');
    // What readers get is the new HTML.
    const page = await app.inject({ method: 'GET', url: '/article/handler' });
    assert.equal(page.statusCode, 200);
    assert.doesNotMatch(page.body, /onclick/);
    assert.match(page.body, /<a href="https:\/\/example\.com\/a" rel="nofollow noopener noreferrer">here<\/a>/);
  });

  test(`[${backend}] a second rerender examines nothing and changes nothing; with --all it examines every article and still changes nothing`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const jake = await makeUser(app, runtime, 'jake');
    for (const row of LEGACY) await storeLegacy(db, jake.id, row);
    for (let i = 0; i < 5; i++)
      await storeLegacy(
        db,
        jake.id,
        { slug: `more-${i}`, body: `Item ${i}: [x](javascript:void(0))`, body_html: '<p>old</p>' },
        OLD_RENDERER,
      );
    const first = await rerenderArticles(runtime.db, { batchSize: 3 });
    assert.deepEqual([first.examined, first.changed], [7, 7]);
    const once = await everything(db);

    const second = await rerenderArticles(runtime.db, { batchSize: 3 });
    assert.deepEqual(
      { ...second, refused: second.refused.length },
      { renderer: RENDERER, examined: 0, changed: 0, skipped: 0, refused: 0 },
    );
    const all = await rerenderArticles(runtime.db, { batchSize: 3, all: true });
    assert.deepEqual([all.examined, all.changed, all.skipped], [7, 0, 0]);
    assert.deepEqual(await everything(db), once, 'not a byte of any row changed');
  });

  test(`[${backend}] an edit saved while its article is being re-rendered is not overwritten with HTML of the older body`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const jake = await makeUser(app, runtime, 'jake');
    await storeLegacy(db, jake.id, LEGACY[0]!);
    await storeLegacy(db, jake.id, LEGACY[1]!);
    // The run's own renderers: its first render waits, with the old body in hand, until the edit is saved.
    const pool = new MarkdownPool({ threads: 1 });
    t.after(() => pool.close());
    const paused = pauseNextCall(t, pool, 'render');
    const run = rerenderArticles(runtime.db, { pool });
    await paused.started;
    const edit = await api(app, 'PUT', '/api/articles/handler', { user: jake, body: { article: { body: 'The **edited** body' } } });
    assert.equal(edit.statusCode, 200);
    const edited = await db.selectFrom('articles').selectAll().where('slug', '=', 'handler').executeTakeFirstOrThrow();
    paused.release();
    const report = await run;
    assert.deepEqual([report.examined, report.changed, report.skipped], [2, 1, 1]);

    assert.deepEqual(
      await db.selectFrom('articles').selectAll().where('slug', '=', 'handler').executeTakeFirstOrThrow(),
      edited,
      'the edit stands as saved',
    );
    assert.equal(edited.body_html, renderMarkdown('The **edited** body'));
    const other = await db
      .selectFrom('articles')
      .select(['body_html', 'rendered_with'])
      .where('slug', '=', 'scheme')
      .executeTakeFirstOrThrow();
    assert.deepEqual(other, { body_html: renderMarkdown(LEGACY[1]!.body), rendered_with: RENDERER }, 'the rest of the batch was done');
  });

  test(`[${backend}] an article this renderer refuses keeps its HTML and stays marked as another renderer's`, async (t) => {
    const { app, runtime } = await startTestApp(t, backend);
    const db = conduitDb(runtime.db);
    const jake = await makeUser(app, runtime, 'jake');
    // A reference used thousands of times: this renderer's bound refuses it (apps/conduit/src/content/markdown.ts).
    const bomb = `[a]: https://example.com/${'x'.repeat(1_900)}\n\n${'[a]'.repeat(20_000)}`;
    const id = await storeLegacy(db, jake.id, { slug: 'bomb', body: bomb, body_html: '<p>stored long ago</p>' }, OLD_RENDERER);
    await storeLegacy(db, jake.id, LEGACY[0]!);
    const report = await rerenderArticles(runtime.db);
    assert.deepEqual(report.refused, [{ id, slug: 'bomb', reason: 'too-large' }]);
    assert.deepEqual([report.examined, report.changed], [2, 1]);
    const kept = await db.selectFrom('articles').select(['body_html', 'rendered_with']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(kept, { body_html: '<p>stored long ago</p>', rendered_with: OLD_RENDERER });
    assert.match((await staleRenderNotice(runtime.db)) ?? '', /^1 article stores HTML made by another/);
  });

  test(`[${backend}] a server warns at start of HTML from another renderer; \`bastion rerender\` through the real CLI, while it serves, exits 0 with the counts, has nothing to do the second time, and exits 2 on a bad flag`, async (t) => {
    const iso = await isolate(backend);
    t.after(() => iso.cleanup());
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      SECRET_KEY: randomKey(),
      LOG_LEVEL: 'silent',
      DATA_DIR: iso.dataDir,
    };
    // The CLI has no search-path option; libpq's `options` puts it in the test's own schema.
    if (iso.searchPath) env.DATABASE_URL = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${iso.searchPath}`)}`;
    const { config } = loadConfig({ env: { ...env, DATABASE_URL: iso.searchPath ? PG_URL : '' }, dotenvPath: null });
    const database = openDatabase(config, iso.searchPath ? { searchPath: iso.searchPath } : {});
    t.after(() => database.close());
    await migrateToLatest(database, conduitMigrations);
    const db = conduitDb(database);
    const author = await registerUser(db, { username: 'jake', email: 'jake@example.com', password: 'violet-kettle-Tr0mbone-47' });
    for (const row of LEGACY) await storeLegacy(db, author.id, row);
    const cli = (args: string[]) => runBin(args, env);

    const server = await startInstance(t, {
      env: { SECRET_KEY: env.SECRET_KEY!, ...iso.env },
      ...(iso.searchPath ? { searchPath: iso.searchPath } : {}),
      ...(iso.redisPrefix ? { redisPrefix: iso.redisPrefix } : {}),
    });
    assert.match(
      server.logs(),
      /2 articles store HTML made by another Markdown renderer than this one \(markdown-it [^)]+\): run `bastion rerender`/,
    );
    assert.match(await (await fetch(`${server.url}/article/handler`)).text(), /onclick/, 'served as stored');

    const first = await cli(['rerender', '--batch', '1']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `rendered with ${RENDERER}: examined 2 articles, changed 2, skipped 0 (edited meanwhile), refused 0\n`);
    for (const row of await everything(db)) assert.equal(row.body_html, renderMarkdown(row.body));
    const page = await fetch(`${server.url}/article/handler`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(await page.text(), /onclick/, 'the running server serves the new HTML');
    const second = await cli(['rerender']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /examined 0 articles, changed 0,/);

    const wrong = await cli(['rerender', '--batch', '0']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--batch must be a whole number from 1 to 1000\nusage: bastion rerender/);
    const help = await cli(['--help']);
    assert.match(help.stdout + help.stderr, /rerender +\[--all\] \[--batch N\]/);
  });
}
